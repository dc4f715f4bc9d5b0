#!/usr/bin/env bash
# Set everything up (virtualenv, dependencies, database seeded from data/points.geojson when
# empty) and serve the site on http://127.0.0.1:${PORT:-5000} with gunicorn.
source "$(dirname "${BASH_SOURCE[0]}")/bootstrap.sh"
ensure_venv
install_requirements requirements.txt
check_vendor_assets
PORT="${PORT:-5000}"
export PORT
# An empty database gets the demo points (LOCATOR_SEED_FILE) here, once: the app itself never
# imports data, so a web worker does not load geopandas. gunicorn then preloads the app in its
# master (scripts/gunicorn.conf.py): the schema is checked once, before the workers fork.
.venv/bin/flask --app app points seed
echo "Serving on http://127.0.0.1:${PORT}"
exec .venv/bin/gunicorn --config scripts/gunicorn.conf.py app:app
