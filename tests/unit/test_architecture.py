"""The house's rules, checked on the source: no import cycle between the kit's modules
(imports inside functions count too), each room imports only the rooms its door allows,
and the bundled suite talks to the kit only through `prodcon.session.kit`.
"""

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[2] / "conformance"
REFERENCE = Path(__file__).resolve().parents[2] / "reference"
SHARED = {"errors", "verdict", "items", "settings", "contract", "processes",
          "bursts", "one_core"}
DOORS = {"plugin", "cli", "__init__"}

#: room -> the rooms it may import ("shared": the modules at the package's top), as
#: each room's door says it.
ALLOWED = {
    "shared": {"shared", "reference"},
    "history": {"shared"},
    "engine": {"shared", "history", "reference"},
    "controlled": {"shared", "engine", "aio"},
    "isolation": {"shared", "reference", "engine", "aio"},
    "grading": {"shared"},
    "bench": {"shared"},
    "aio": {"shared", "engine", "history", "reference"},
    "session": {"shared", "engine", "history", "controlled", "isolation", "aio"},
    "doors": {"shared", "session", "history", "grading", "bench"},
    "reference": set(),
}


def _modules() -> dict[str, Path]:
    found = {}
    for root, name in ((PACKAGE, "prodcon"), (REFERENCE, "prodcon.reference")):
        for path in root.rglob("*.py"):
            parts = path.relative_to(root).with_suffix("").parts
            if parts[-1] == "__init__":
                parts = parts[:-1]
            found[".".join((name, *parts))] = path
    return found


MODULES = _modules()


def _imports(module: str, path: Path) -> set[str]:
    """Every prodcon module `module` imports, anywhere in its code."""
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    out = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[:len(package.split(".")) - node.level + 1]
                base = ".".join([*anchor, *([base] if base else [])])
            names = [base] + [f"{base}.{alias.name}" for alias in node.names]
        else:
            continue
        out.update(name for name in names if name in MODULES and name != module)
    # a module imports its package's door too; the door of the package itself is no edge
    return {name for name in out if not module.startswith(name + ".")}


GRAPH = {module: _imports(module, path) for module, path in MODULES.items()}


def _room(module: str) -> str:
    parts = module.split(".")
    if parts[1:2] == ["reference"]:
        return "reference"
    if len(parts) == 1 or parts[1] in DOORS:
        return "doors"
    if parts[1] in SHARED:
        return "shared"
    return parts[1]


def test_no_import_cycle():
    done, on_path, path = set(), set(), []

    def visit(module):
        if module in on_path:
            cycle = path[path.index(module):] + [module]
            pytest.fail("import cycle: " + " -> ".join(cycle))
        if module in done:
            return
        on_path.add(module)
        path.append(module)
        for target in sorted(GRAPH[module]):
            visit(target)
        path.pop()
        on_path.discard(module)
        done.add(module)

    for module in sorted(GRAPH):
        visit(module)


@pytest.mark.parametrize("module", sorted(m for m in GRAPH if _room(m) != "suite"))
def test_rooms_import_only_what_their_door_allows(module):
    room = _room(module)
    allowed = ALLOWED[room] | {room}
    wrong = sorted(t for t in GRAPH[module] if _room(t) not in allowed)
    assert not wrong, f"{module} ({room}) may import only {sorted(allowed)}, not {wrong}"


@pytest.mark.parametrize("module", sorted(m for m in GRAPH if _room(m) == "suite"))
def test_the_suite_uses_one_surface(module):
    assert GRAPH[module] <= {"prodcon.session.kit"}, GRAPH[module]


def test_the_checker_sees_the_house():
    """The rules above judge real edges: the graph holds the imports we know of."""
    assert "prodcon.session.kit" in GRAPH["prodcon.suite.test_queue_join"]
    assert "prodcon.engine.harness" in GRAPH["prodcon.session.kit"]
    assert len(MODULES) > 40


def test_every_package_is_shipped():
    """pyproject.toml lists the packages by name (its package-dir maps conformance/ to
    prodcon): a new room left out of the list would be missing from the wheel."""
    try:
        import tomllib
    except ImportError:  # Python 3.10
        import tomli as tomllib

    listed = set(tomllib.loads((PACKAGE.parent / "pyproject.toml").read_text())
                 ["tool"]["setuptools"]["packages"])
    found = {name for name, path in MODULES.items() if path.name == "__init__.py"}
    assert found == listed
