#!/usr/bin/env bash
# Set everything up (virtualenv, dependencies, database seeded from data/points.geojson when
# empty) and serve the site on http://127.0.0.1:${PORT:-5000} with gunicorn.
source "$(dirname "${BASH_SOURCE[0]}")/bootstrap.sh"
ensure_venv
install_requirements requirements.txt
check_vendor_assets
PORT="${PORT:-5000}"
export PORT
# Create the schema and seed the database once, before the workers start.
.venv/bin/python -c "from locator import create_app; create_app()"
echo "Serving on http://127.0.0.1:${PORT}"
exec .venv/bin/gunicorn --config scripts/gunicorn.conf.py app:app
