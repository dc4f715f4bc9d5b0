#!/usr/bin/env bash
# Refresh the self-hosted front-end libraries in static/vendor from the npm registry
# (pinned versions), and rewrite their checksums. Maintainers run this; set-up only verifies.
set -euo pipefail
cd "$(dirname "$0")/.."
LEAFLET=1.9.4
MARKERCLUSTER=1.5.3
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
(cd "$work" && npm pack --silent "leaflet@$LEAFLET" "leaflet.markercluster@$MARKERCLUSTER" >/dev/null)
mkdir -p "$work/l" "$work/m"
tar xzf "$work/leaflet-$LEAFLET.tgz" -C "$work/l"
tar xzf "$work/leaflet.markercluster-$MARKERCLUSTER.tgz" -C "$work/m"
rm -rf static/vendor/leaflet static/vendor/leaflet.markercluster
mkdir -p static/vendor/leaflet static/vendor/leaflet.markercluster
cp -r "$work/l/package/dist/"{leaflet.js,leaflet.css,images} "$work/l/package/LICENSE" static/vendor/leaflet/
cp "$work/m/package/dist/"{leaflet.markercluster.js,MarkerCluster.css,MarkerCluster.Default.css} \
   "$work/m/package/MIT-LICENCE.txt" static/vendor/leaflet.markercluster/
printf 'leaflet %s\nleaflet.markercluster %s\n' "$LEAFLET" "$MARKERCLUSTER" > static/vendor/VERSIONS
(cd static/vendor && find . -type f ! -name SHA256SUMS | sort | xargs sha256sum > SHA256SUMS)
echo "static/vendor refreshed"
