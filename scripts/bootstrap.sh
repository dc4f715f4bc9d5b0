# Sourced by serve.sh and test.sh: make .venv and install a requirements file into it.
# Re-running is cheap: pip runs only when the requirements file changed since the last install.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
PYTHON="${PYTHON:-python3}"

as_root() {
  if [ "$(id -u)" = 0 ]; then "$@"; elif command -v sudo >/dev/null; then sudo "$@"; else
    echo "need root to run: $*" >&2; return 1; fi
}

apt_install() {
  export DEBIAN_FRONTEND=noninteractive
  as_root apt-get update -q
  as_root apt-get install -y -q "$@"
}

ensure_venv() {
  if [ ! -x .venv/bin/python ]; then
    if ! "$PYTHON" -m venv .venv 2>/dev/null; then
      rm -rf .venv
      echo "python3 venv module missing: installing python3-venv" >&2
      apt_install python3-venv
      "$PYTHON" -m venv .venv
    fi
    .venv/bin/python -m pip install -q --upgrade pip
  fi
}

install_requirements() {  # $1: requirements file
  local stamp=".venv/.installed-$(basename "$1")"
  local digest
  digest="$(cat requirements*.txt | sha256sum | cut -d' ' -f1)"
  if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$digest" ]; then
    .venv/bin/python -m pip install -q --disable-pip-version-check -r "$1"
    echo "$digest" > "$stamp"
  fi
}

check_vendor_assets() {  # the self-hosted front-end files the pages load, pinned by checksum
  if ! (cd static/vendor && sha256sum --quiet -c SHA256SUMS); then
    echo "static/vendor does not match static/vendor/SHA256SUMS; run scripts/vendor.sh" >&2
    return 1
  fi
}

newest_postgres_major() {  # the newest PostgreSQL server installed from Debian's packages, or nothing
  local initdb
  initdb="$(ls -d /usr/lib/postgresql/*/bin/initdb 2>/dev/null | sort -t/ -k5,5n | tail -n 1 || true)"
  if [ -n "$initdb" ]; then basename "$(dirname "$(dirname "$initdb")")"; fi
}

ensure_postgres() {  # the server and PostGIS for it; the tests start their own clusters on free ports
  local major
  major="$(newest_postgres_major)"
  if [ -z "$major" ]; then
    # postgresql-postgis is PostGIS for Debian's default server, whatever its version. Where systemd
    # runs, this also starts Debian's own cluster on 5432: the tests never use it.
    echo "installing Debian's PostgreSQL server and PostGIS for the database tests" >&2
    apt_install postgresql postgresql-postgis
  elif [ ! -f "/usr/share/postgresql/$major/extension/postgis.control" ]; then
    echo "installing PostGIS for PostgreSQL $major for the database tests" >&2
    apt_install "postgresql-$major-postgis-3"
  fi
}
