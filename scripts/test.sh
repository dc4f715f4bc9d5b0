#!/usr/bin/env bash
# Install what the tests need (Python packages, Debian's chromium for the browser tests, Debian's
# PostgreSQL server and PostGIS for tests/pg_fixtures.py's throwaway clusters)
# and run the whole suite: lint, format check, pytest. Exit code 5 (no tests) is a failure.
source "$(dirname "${BASH_SOURCE[0]}")/bootstrap.sh"
ensure_venv
install_requirements requirements-test.txt
check_vendor_assets
if ! command -v chromium >/dev/null && [ ! -x /usr/bin/chromium ]; then
  echo "installing Debian's chromium for the browser tests" >&2
  apt_install chromium
fi
ensure_postgres
.venv/bin/ruff check .
.venv/bin/ruff format --check .
set +e
.venv/bin/python -m pytest -n "${PYTEST_WORKERS:-2}" "$@"
status=$?
set -e
if [ "$status" = 5 ]; then
  echo "pytest collected no tests: that is a failure here" >&2
  exit 1
fi
exit "$status"
