#!/usr/bin/env bash
# Refresh axe-core (tests only: it never ships to citizens, so it lives here, not in static/vendor)
# from the npm registry at the pinned version, and rewrite its checksum. The accessibility test
# (tests/test_accessibility_browser.py) checks axe.min.js against SHA256SUMS before injecting it.
set -euo pipefail
cd "$(dirname "$0")"
AXE=4.14.1
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
(cd "$work" && npm pack --silent "axe-core@$AXE" >/dev/null)
tar xzf "$work/axe-core-$AXE.tgz" -C "$work"
cp "$work/package/axe.min.js" axe.min.js
cp "$work/package/LICENSE" LICENSE-axe-core
printf 'axe-core %s\n' "$AXE" > VERSIONS
sha256sum axe.min.js > SHA256SUMS
echo "tests/vendor refreshed: axe-core $AXE"
