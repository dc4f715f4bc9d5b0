"""Write the settings table of docs/configuration.md from locator/config.py SETTINGS.

The table is generated so that it cannot drift from the code: tests/test_docs.py fails when the
file differs from what this script writes. After adding or changing a setting, run

    .venv/bin/python scripts/settings_table.py            # rewrites the table in place
    .venv/bin/python scripts/settings_table.py --check    # exit 1 if the file is out of date
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Iterable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))  # run as a script from anywhere

from locator.config import SETTINGS, Setting  # noqa: E402

CONFIGURATION_DOC = ROOT / "docs" / "configuration.md"
BEGIN = "<!-- settings table: generated from locator/config.py by scripts/settings_table.py; do not edit -->"
END = "<!-- end of the generated settings table -->"
EMPTY_DEFAULT = "*(empty)*"


def _cell(text: str) -> str:
    """Plain text in a Markdown table cell: a pipe would end the cell, a star start emphasis."""
    return text.replace("|", "\\|").replace("*", "\\*")


def default_cell(setting: Setting) -> str:
    return f"`{setting.default}`" if setting.default else EMPTY_DEFAULT


def render(settings: Iterable[Setting] = SETTINGS) -> str:
    """The table, between its markers, one row per setting in the order config.py declares them."""
    lines = [BEGIN, "| Variable | Default | Accepts | Meaning |", "|---|---|---|---|"]
    for setting in settings:
        lines.append(
            f"| `{setting.env}` | {default_cell(setting)} | {_cell(setting.accepts)} | {_cell(setting.doc)} |"
        )
    lines.append(END)
    return "\n".join(lines)


def current_block(document: str) -> str:
    """The generated part of the document as it stands (empty when the markers are missing)."""
    start, end = document.find(BEGIN), document.find(END)
    if start < 0 or end < start:
        return ""
    return document[start : end + len(END)]


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--check", action="store_true", help="only say whether the table is up to date")
    args = parser.parse_args()
    document = CONFIGURATION_DOC.read_text(encoding="utf-8")
    block = current_block(document)
    if not block:
        sys.exit(f"{CONFIGURATION_DOC}: the markers of the settings table are missing")
    wanted = render()
    if block == wanted:
        print(f"{CONFIGURATION_DOC.relative_to(ROOT)}: up to date")
        return
    if args.check:
        sys.exit(f"{CONFIGURATION_DOC.relative_to(ROOT)}: out of date; run scripts/settings_table.py")
    CONFIGURATION_DOC.write_text(document.replace(block, wanted), encoding="utf-8")
    print(f"{CONFIGURATION_DOC.relative_to(ROOT)}: table rewritten")


if __name__ == "__main__":
    main()
