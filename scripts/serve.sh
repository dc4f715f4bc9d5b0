#!/usr/bin/env bash
# Set everything up (virtualenv, dependencies, database seeded from data/points.geojson when
# empty) and serve the site on http://127.0.0.1:${PORT:-5000} with gunicorn.
source "$(dirname "${BASH_SOURCE[0]}")/bootstrap.sh"
ensure_venv
install_requirements requirements.txt
check_vendor_assets
PORT="${PORT:-5000}"
export PORT
# gunicorn preloads the app in its master (scripts/gunicorn.conf.py): the schema is created and
# an empty database seeded once, before the workers fork.
echo "Serving on http://127.0.0.1:${PORT}"
exec .venv/bin/gunicorn --config scripts/gunicorn.conf.py app:app
