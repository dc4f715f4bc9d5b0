#!/usr/bin/env bash
# Refresh the self-hosted front-end libraries in static/vendor from the npm registry
# (pinned versions), and rewrite their checksums. Maintainers run this; set-up only verifies.
set -euo pipefail
cd "$(dirname "$0")/.."
LEAFLET=1.9.4
SUPERCLUSTER=9.1.0
KDBUSH=4.1.0  # bundled inside supercluster's dist; packed only for its licence
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
(cd "$work" && npm pack --silent "leaflet@$LEAFLET" "supercluster@$SUPERCLUSTER" "kdbush@$KDBUSH" >/dev/null)
mkdir -p "$work/l" "$work/s" "$work/k"
tar xzf "$work/leaflet-$LEAFLET.tgz" -C "$work/l"
tar xzf "$work/supercluster-$SUPERCLUSTER.tgz" -C "$work/s"
tar xzf "$work/kdbush-$KDBUSH.tgz" -C "$work/k"
rm -rf static/vendor/leaflet static/vendor/supercluster static/vendor/leaflet.markercluster
mkdir -p static/vendor/leaflet static/vendor/supercluster
cp -r "$work/l/package/dist/"{leaflet.js,leaflet.css,images} "$work/l/package/LICENSE" static/vendor/leaflet/
cp "$work/s/package/dist/supercluster.min.js" "$work/s/package/LICENSE" static/vendor/supercluster/
cp "$work/k/package/LICENSE" static/vendor/supercluster/LICENSE.kdbush
printf 'leaflet %s\nsupercluster %s\nkdbush %s (in supercluster.min.js)\n' "$LEAFLET" "$SUPERCLUSTER" "$KDBUSH" \
  > static/vendor/VERSIONS
(cd static/vendor && find . -type f ! -name SHA256SUMS | sort | xargs sha256sum > SHA256SUMS)
echo "static/vendor refreshed"
