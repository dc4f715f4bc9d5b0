"""The house's shape, enforced by reading the imports (docs/architecture.md, issue 15).

Layers as folders under locator/: a module may import its own layer and the layers below it,
never one above. domain/ imports nothing of the project outside itself; nothing in domain/,
search/, store/ or io/ imports Flask; no import cycles; no module over MAX_LINES; and after
create_app() no geopandas, pandas, pyogrio, fiona or shapely is loaded (a web worker starts
without them).
"""

from __future__ import annotations

import ast
import os
import subprocess
import sys
from pathlib import Path

import pytest

PROJECT = Path(__file__).resolve().parent.parent
PACKAGE = PROJECT / "locator"
MAX_LINES = 400  # "about 400": a module past this is split (STYLE.md)
# Lower layers first. A module may import from its own layer and any layer of a lower rank.
RANK = {
    "domain": 0,
    "config": 0,
    "config_values": 0,
    "search": 1,
    "store": 1,
    "io": 1,
    "services": 2,
    "http": 3,
    "web": 4,
    "console": 4,
    "cli": 5,
    "cli_users": 5,
    "cli_db": 5,
    "server": 5,
    "__init__": 6,
}
FLASK_FREE = ("domain", "search", "store", "io")
FLASK_MODULES = ("flask", "flask_babel", "flask_wtf", "flask_compress", "werkzeug", "jinja2")
HEAVY = ("geopandas", "pandas", "pyogrio", "fiona", "shapely")


def _modules() -> dict[str, Path]:
    found = {}
    for path in sorted(PACKAGE.rglob("*.py")):
        parts = path.relative_to(PROJECT).with_suffix("").parts
        if parts[-1] == "__init__":
            parts = parts[:-1]
        found[".".join(parts)] = path
    return found


MODULES = _modules()


def _layer(module: str) -> str:
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else "__init__"


def _imports(path: Path, module: str, *, top_level_only: bool) -> set[str]:
    """Modules this one imports (absolute names); top_level_only skips imports inside functions
    and `if TYPE_CHECKING:` blocks, which cannot take part in an import cycle at load time."""
    tree = ast.parse(path.read_text(), str(path))
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    nodes = tree.body if top_level_only else list(ast.walk(tree))
    found: set[str] = set()
    for node in nodes:
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")[: len(package.split(".")) - node.level + 1]
                target = ".".join(base + ([node.module] if node.module else []))
            else:
                target = node.module or ""
            for alias in node.names:  # a submodule by name, else a name from the module itself
                submodule = f"{target}.{alias.name}"
                found.add(submodule if submodule in MODULES else target)
    return found


def _project_imports(module: str, *, top_level_only: bool = False) -> set[str]:
    names = _imports(MODULES[module], module, top_level_only=top_level_only)
    return {name for name in names if name in MODULES and name != module}


@pytest.mark.parametrize("module", sorted(m for m in MODULES if _layer(m) == "domain"))
def test_the_domain_imports_nothing_of_the_project_outside_itself(module):
    outside = {name for name in _project_imports(module) if _layer(name) != "domain"}
    assert not outside, f"{module} imports {sorted(outside)}"


@pytest.mark.parametrize("module", sorted(m for m in MODULES if _layer(m) in FLASK_FREE))
def test_lower_layers_do_not_import_flask(module):
    names = _imports(MODULES[module], module, top_level_only=False)
    flask = sorted(name for name in names if name.split(".")[0] in FLASK_MODULES)
    assert not flask, f"{module} imports {flask}"


@pytest.mark.parametrize("module", sorted(MODULES))
def test_no_module_imports_a_layer_above_its_own(module):
    rank = RANK[_layer(module)]
    above = sorted(name for name in _project_imports(module) if RANK[_layer(name)] > rank)
    assert not above, f"{module} ({_layer(module)}) imports {above}"


def test_there_are_no_import_cycles():
    graph = {module: _project_imports(module, top_level_only=True) for module in MODULES}
    cycles: list[list[str]] = []
    state: dict[str, int] = {}  # 1: on the current path, 2: done

    def visit(module: str, path: list[str]) -> None:
        state[module] = 1
        for name in sorted(graph[module]):
            # A package's __init__ imported for a submodule is the parent, not a cycle of its own.
            if module.startswith(name + "."):
                continue
            if state.get(name) == 1:
                cycles.append(path[path.index(name) :] + [name])
            elif name not in state:
                visit(name, path + [name])
        state[module] = 2

    for module in sorted(graph):
        if module not in state:
            visit(module, [module])
    assert not cycles, "import cycles: " + "; ".join(" -> ".join(cycle) for cycle in cycles)


SOURCES = sorted(
    [*PACKAGE.rglob("*.py"), *(PROJECT / "static" / "js").glob("*.js")],
)


@pytest.mark.parametrize("path", SOURCES, ids=lambda path: str(path.relative_to(PROJECT)))
def test_no_module_is_longer_than_about_400_lines(path):
    lines = len(path.read_text().splitlines())
    assert lines <= MAX_LINES, f"{path.relative_to(PROJECT)} has {lines} lines: split it by job"


def test_create_app_loads_no_geopandas_pandas_or_gdal(tmp_path):
    """A web worker starts without the file-import stack (a separate interpreter, so nothing
    another test imported counts)."""
    script = (
        "import sys\n"
        "from locator import create_app\n"
        f"app = create_app({{'DATABASE': {str(tmp_path / 'x.db')!r}, 'SEED_FILE': 'data/points.geojson'}})\n"
        "app.test_client().get('/api/v1/nearest?lat=50&lon=30')\n"
        f"print(sorted({{m.split('.')[0] for m in sys.modules}} & {set(HEAVY)!r}))\n"
    )
    env = {**os.environ, "PYTHONPATH": str(PROJECT)}
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, env=env, timeout=120
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "[]", f"loaded at start: {done.stdout.strip()}"


def test_the_rules_can_fail(tmp_path):
    """The checks above see a forbidden import: a domain module importing Flask and the store."""
    fake = tmp_path / "bad.py"
    fake.write_text("from flask import g\nfrom locator.store import Store\n\ndef f():\n    import pandas\n")
    names = _imports(fake, "locator.domain.bad", top_level_only=False)
    assert "flask" in names and "locator.store" in names and "pandas" in names
    assert "pandas" not in _imports(fake, "locator.domain.bad", top_level_only=True)
