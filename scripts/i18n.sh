#!/usr/bin/env bash
# Message catalogues (docs/development.md, "Languages"). The msgids are the Ukrainian strings themselves.
#   scripts/i18n.sh extract FILE.pot  every marked string of locator/ and templates/ into FILE.pot
#   scripts/i18n.sh update            extract, then merge new and changed strings into every .po
#   scripts/i18n.sh compile           .po -> .mo (commit both: tests/test_i18n.py fails on a stale .mo)
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
PYBABEL="${PYBABEL:-.venv/bin/pybabel}"
CATALOGUES=locator/translations

extract() {  # $1: the .pot to write
  "$PYBABEL" --quiet extract -F babel.cfg --add-location=file --no-wrap \
    -k _l -k lazy_gettext -k lazy_ngettext:1,2 -k plural_forms:1,2 \
    --project="Points of Invincibility locator" --copyright-holder="" --msgid-bugs-address="" \
    -o "$1" .
}

case "${1:-}" in
  extract) extract "${2:?which .pot file to write}" ;;
  update)
    pot="$(mktemp --suffix=.pot)"
    trap 'rm -f "$pot"' EXIT
    extract "$pot"
    "$PYBABEL" --quiet update -i "$pot" -d "$CATALOGUES" --no-wrap --ignore-obsolete --ignore-pot-creation-date
    ;;
  compile) "$PYBABEL" --quiet compile -d "$CATALOGUES" ;;
  *) echo "usage: $0 extract FILE.pot | update | compile" >&2; exit 2 ;;
esac
