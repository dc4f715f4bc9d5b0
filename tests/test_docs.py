"""The README documents every setting and every CLI command: docs drift fails the build."""

from pathlib import Path

import pytest

from locator import cli, config

README = (Path(__file__).resolve().parent.parent / "README.md").read_text(encoding="utf-8")


@pytest.mark.parametrize("setting", config.SETTINGS, ids=lambda s: s.env)
def test_every_setting_is_in_the_readme_with_its_default(setting):
    rows = [line for line in README.splitlines() if line.startswith(f"| `{setting.env}` |")]
    assert rows, f"{setting.env} is missing from the README's configuration table"
    assert f"`{setting.default}`" in rows[0], f"README gives the wrong default for {setting.env}"


@pytest.mark.parametrize(
    "command",
    [f"points {name}" for name in sorted(cli.points_cli.commands)]
    + [f"users {name}" for name in sorted(cli.users_cli.commands)]
    + [f"db {name}" for name in sorted(cli.db_cli.commands)],
)
def test_every_cli_command_is_in_the_readme(command):
    assert f"flask --app app {command}" in README


def test_readme_starts_with_the_two_commands():
    first_block = README.split("```sh", 1)[1].split("```", 1)[0]
    assert "./scripts/serve.sh" in first_block and "./scripts/test.sh" in first_block
    assert "scripts/test.sh" in (Path(__file__).resolve().parent.parent / ".ci" / "run").read_text()
