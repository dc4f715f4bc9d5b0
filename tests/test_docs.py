"""The docs follow the code: every setting and every CLI command is documented, the settings table
is the one generated from locator/config.py, and every relative link leads somewhere.

README.md is the front door; the guides live in docs/. Docs drift fails the build.
"""

from __future__ import annotations

import importlib.util
import re
import unicodedata
from pathlib import Path

import click
import pytest

from locator import cli, config

ROOT = Path(__file__).resolve().parent.parent
README = ROOT / "README.md"
DOCS = sorted((ROOT / "docs").glob("*.md"))
PAGES = [README, *DOCS]
CONFIGURATION = ROOT / "docs" / "configuration.md"
# Where the server's own settings are read (the gunicorn configuration and the worker's code).
SERVER_SOURCES = [*ROOT.glob("scripts/gunicorn*.py"), *ROOT.glob("locator/server/*.py")]
README_MAX_LINES = 80  # the front door: a newcomer sees all of it in a few screens

# [text](target) and ![alt](target), and src="target" in inline HTML; fenced code is skipped.
MARKDOWN_LINK = re.compile(r"!?\[[^\]]*\]\(([^)\s]+)(?:\s+\"[^\"]*\")?\)")
HTML_SOURCE = re.compile(r"""\b(?:src|href)="([^"]+)\"""")
FENCE = re.compile(r"^```.*?^```", re.MULTILINE | re.DOTALL)
SETTING_NAME = re.compile(r"\bLOCATOR_[A-Z0-9_]*[A-Z0-9]\b(?!\*)")


def _text(path: Path) -> str:
    return path.read_text(encoding="utf-8")


def _all_docs() -> str:
    return "\n".join(_text(page) for page in PAGES)


def _settings_table():
    """scripts/settings_table.py, loaded from its file (scripts/ is not a package)."""
    spec = importlib.util.spec_from_file_location("settings_table", ROOT / "scripts" / "settings_table.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _commands(group: click.Group, prefix: str) -> list[str]:
    found = []
    for name, command in sorted(group.commands.items()):
        if isinstance(command, click.Group):
            found += _commands(command, f"{prefix} {name}")
        else:
            found.append(f"{prefix} {name}")
    return found


def _cli_commands() -> list[str]:
    """Every command of every group locator/cli.py defines, as `flask --app app` spells it."""
    groups = [value for value in vars(cli).values() if isinstance(value, click.Group)]
    return sorted(command for group in groups for command in _commands(group, group.name))


def _slug(heading: str) -> str:
    """The anchor GitHub gives a heading: lower case, punctuation dropped, spaces to hyphens."""
    text = heading.strip().lower()
    text = "".join(c for c in text if c in "-_ " or unicodedata.category(c)[0] in "LN")
    return text.replace(" ", "-")


def _anchors(path: Path) -> set[str]:
    text = FENCE.sub("", _text(path))
    return {_slug(line.lstrip("#")) for line in text.splitlines() if re.match(r"#{1,6} ", line)}


def _links(path: Path) -> list[str]:
    text = FENCE.sub("", _text(path))
    return MARKDOWN_LINK.findall(text) + HTML_SOURCE.findall(text)


# -- settings ------------------------------------------------------------------------------------


def test_the_settings_table_is_the_generated_one():
    table = _settings_table()
    assert table.current_block(_text(CONFIGURATION)) == table.render(config.SETTINGS), (
        "docs/configuration.md's settings table is out of date: run scripts/settings_table.py"
    )


@pytest.mark.parametrize("setting", config.SETTINGS, ids=lambda s: s.env)
def test_every_setting_is_documented_with_its_default(setting):
    rows = [line for line in _text(CONFIGURATION).splitlines() if line.startswith(f"| `{setting.env}` |")]
    assert rows, f"{setting.env} is missing from docs/configuration.md"
    default = _settings_table().default_cell(setting)
    assert rows[0].split(" | ")[1] == default, f"docs/configuration.md: wrong default for {setting.env}"


def _gunicorn_variables() -> list[str]:
    reads = re.compile(r"os\.environ\.get\(\s*[\"']([A-Z_]+)[\"']")
    return sorted({name for source in SERVER_SOURCES for name in reads.findall(_text(source))})


def test_the_variables_gunicorn_reads_are_found():
    assert "WEB_CONCURRENCY" in _gunicorn_variables()


@pytest.mark.parametrize("variable", _gunicorn_variables())
def test_every_variable_gunicorn_reads_is_documented(variable):
    assert f"| `{variable}` |" in _text(CONFIGURATION), f"{variable} is missing from docs/configuration.md"


def test_the_docs_name_no_setting_that_does_not_exist():
    known = {setting.env for setting in config.SETTINGS}
    named = {name for page in PAGES for name in SETTING_NAME.findall(_text(page))}
    assert named - known == set(), "the docs name settings locator/config.py does not have"


# -- the command line ----------------------------------------------------------------------------


def test_the_cli_commands_are_found():
    """The parametrisation below is not empty: the groups are still found in locator/cli.py."""
    assert {"points import", "users create", "db backup"} <= set(_cli_commands())


@pytest.mark.parametrize("command", _cli_commands())
def test_every_cli_command_is_documented(command):
    assert f"flask --app app {command}" in _all_docs(), f"`flask --app app {command}` is in no docs page"


# -- the front door and the links ----------------------------------------------------------------


def test_readme_starts_with_the_two_commands():
    first_block = _text(README).split("```sh", 1)[1].split("```", 1)[0]
    assert "./scripts/serve.sh" in first_block and "./scripts/test.sh" in first_block
    assert "scripts/test.sh" in _text(ROOT / ".ci" / "run")


def test_readme_is_short_and_shows_the_phone_screenshots():
    readme = _text(README)
    assert len(readme.splitlines()) <= README_MAX_LINES
    for picture in ("docs/img/map-phone.png", "docs/img/console-phone.png"):
        assert picture in _links(README), f"README.md does not show {picture}"


def test_every_docs_page_is_linked_from_the_readme():
    linked = {(README.parent / link.split("#")[0]).resolve() for link in _links(README)}
    assert [page.name for page in DOCS if page.resolve() not in linked] == []


@pytest.mark.parametrize("page", PAGES, ids=lambda p: str(p.relative_to(ROOT)))
def test_every_relative_link_leads_to_a_file_and_heading_that_exist(page):
    broken = []
    for link in _links(page):
        if re.match(r"[a-z]+:", link):  # https:, mailto:, ...: not ours to check here
            continue
        target, _, anchor = link.partition("#")
        path = (page.parent / target).resolve() if target else page
        if not path.exists():
            broken.append(f"{link}: no such file")
        elif anchor and path.suffix == ".md" and anchor not in _anchors(path):
            broken.append(f"{link}: no such heading in {path.relative_to(ROOT)}")
    assert broken == []
