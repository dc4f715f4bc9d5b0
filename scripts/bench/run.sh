#!/usr/bin/env bash
# The benchmarks of issue 5, in one command:
#
#   ./scripts/bench/run.sh            # full run, 11-14 minutes on 2 cores; rewrites docs/benchmarks.md
#   ./scripts/bench/run.sh --quick    # short runs to try the harness; prints the table only
#
# Installs what it needs (wrk and chromium from Debian when missing, as root or with sudo; the
# test requirements into .venv), generates the data sets (cached in $BENCH_DATA_DIR, default
# /tmp/locator-bench), then runs each piece of scripts/bench/ (import, nearest in process, HTTP
# side by side with bare Flask, writes under read load, the map in headless Chromium, SQLite and
# PostgreSQL side by side in a throwaway cluster) and prints one table of targets, measured
# figures and ratios. All load goes to 127.0.0.1 only, bounded in
# time. A piece that crashes is reported as such and makes the exit code 1; a missed target
# does not (these are measurements, not tests).
source "$(dirname "${BASH_SOURCE[0]}")/../bootstrap.sh"
ensure_venv
install_requirements requirements-test.txt
check_vendor_assets
if ! command -v wrk >/dev/null; then
  echo "installing wrk (the HTTP load tool)" >&2
  apt_install wrk
fi
ensure_postgres  # PostgreSQL and PostGIS from Debian when missing, for backends_bench.py
if [ ! -x /usr/bin/chromium ]; then
  echo "installing Debian's chromium for the map benchmark" >&2
  apt_install chromium
fi

DATA_DIR="${BENCH_DATA_DIR:-/tmp/locator-bench}"
QUICK=()
[ "${1:-}" = "--quick" ] && QUICK=(--quick)
mkdir -p "$DATA_DIR/results"
rm -f "$DATA_DIR"/results/*.json
started="$(date +%s)"
.venv/bin/python scripts/bench/report.py --data-dir "$DATA_DIR" --calibrate start
failed=()
# import first: the 100,000-point database it times becomes the seed the other pieces copy.
for piece in import_bench nearest_bench http_bench writes_under_load map_bench phone_bench backends_bench planner_bench; do
  echo "== $piece" >&2
  if ! .venv/bin/python "scripts/bench/$piece.py" --data-dir "$DATA_DIR" "${QUICK[@]}"; then
    failed+=("$piece")
    echo "!! $piece failed" >&2
  fi
done
.venv/bin/python scripts/bench/report.py --data-dir "$DATA_DIR" --calibrate end
WRITE=(--write docs/benchmarks.md)
[ ${#QUICK[@]} -gt 0 ] && WRITE=()
.venv/bin/python scripts/bench/report.py --data-dir "$DATA_DIR" --started "$started" "${WRITE[@]}"
if [ ${#failed[@]} -gt 0 ]; then
  echo "pieces that failed: ${failed[*]}" >&2
  exit 1
fi
