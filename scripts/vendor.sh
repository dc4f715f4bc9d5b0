#!/usr/bin/env bash
# Refresh the self-hosted front-end libraries in static/vendor from the npm registry
# (pinned versions), and rewrite their checksums. Maintainers run this; set-up only verifies.
set -euo pipefail
cd "$(dirname "$0")/.."
LEAFLET=1.9.4
SUPERCLUSTER=9.1.0
KDBUSH=4.1.0  # bundled inside supercluster's dist; packed only for its licence
OPENING_HOURS=3.15.0  # "open now" in the browser (issue 17), loaded only when a point has hours
SUNCALC=2.0.2  # opening_hours' one dependency (sunrise/sunset)
TERSER=5.36.0  # minifies opening_hours' 1.2 MB module: 121 -> 89 KB with brotli for a slow phone
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
(cd "$work" && npm pack --silent "leaflet@$LEAFLET" "supercluster@$SUPERCLUSTER" "kdbush@$KDBUSH" \
  "opening_hours@$OPENING_HOURS" "suncalc@$SUNCALC" >/dev/null)
mkdir -p "$work/l" "$work/s" "$work/k" "$work/o" "$work/c"
tar xzf "$work/leaflet-$LEAFLET.tgz" -C "$work/l"
tar xzf "$work/supercluster-$SUPERCLUSTER.tgz" -C "$work/s"
tar xzf "$work/kdbush-$KDBUSH.tgz" -C "$work/k"
tar xzf "$work/opening_hours-$OPENING_HOURS.tgz" -C "$work/o"
tar xzf "$work/suncalc-$SUNCALC.tgz" -C "$work/c"
rm -rf static/vendor/leaflet static/vendor/supercluster static/vendor/leaflet.markercluster \
  static/vendor/opening_hours static/vendor/suncalc
mkdir -p static/vendor/leaflet static/vendor/supercluster static/vendor/opening_hours static/vendor/suncalc
cp -r "$work/l/package/dist/"{leaflet.js,leaflet.css,images} "$work/l/package/LICENSE" static/vendor/leaflet/
cp "$work/s/package/dist/supercluster.min.js" "$work/s/package/LICENSE" static/vendor/supercluster/
cp "$work/k/package/LICENSE" static/vendor/supercluster/LICENSE.kdbush
# The ES module build, its bare import of suncalc pointed at our copy (no import map, no bundler).
sed "s#^import { getTimes } from 'suncalc';\$#import { getTimes } from '../suncalc/suncalc.js';#" \
  "$work/o/package/build/opening_hours.esm.mjs" > static/vendor/opening_hours/opening_hours.js
grep -q "^import { getTimes } from '../suncalc/suncalc.js';$" static/vendor/opening_hours/opening_hours.js
(cd "$work" && npm install --silent --no-save --no-package-lock "terser@$TERSER" >/dev/null)
"$work/node_modules/.bin/terser" static/vendor/opening_hours/opening_hours.js --module --compress --mangle \
  --output "$work/opening_hours.min.js"
mv "$work/opening_hours.min.js" static/vendor/opening_hours/opening_hours.js
grep -q "from\"../suncalc/suncalc.js\"" static/vendor/opening_hours/opening_hours.js
cp "$work/o/package/LICENSES/LGPL-3.0-only.txt" static/vendor/opening_hours/LICENSE
cp -r "$work/o/package/REUSE.toml" "$work/o/package/LICENSES" static/vendor/opening_hours/  # which file is under which
cp "$work/c/package/index.js" static/vendor/suncalc/suncalc.js
cp "$work/c/package/LICENSE" static/vendor/suncalc/LICENSE
printf 'leaflet %s\nsupercluster %s\nkdbush %s (in supercluster.min.js)\nopening_hours %s (build/opening_hours.esm.mjs, its suncalc import path rewritten, minified by terser %s)\nsuncalc %s (index.js)\n' \
  "$LEAFLET" "$SUPERCLUSTER" "$KDBUSH" "$OPENING_HOURS" "$TERSER" "$SUNCALC" > static/vendor/VERSIONS
(cd static/vendor && find . -type f ! -name SHA256SUMS | sort | xargs sha256sum > SHA256SUMS)
echo "static/vendor refreshed"
