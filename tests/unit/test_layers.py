"""The layers of core/ (core/__init__.py): no Streamlit, packages import only those above them, no cycles.

Every import counts, also one inside a function: a lazy import hides a cycle, it does not remove it.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from core.settings import ROOT

CORE = ROOT / "core"
# Lowest first; a package may import its own modules and those of the packages before it.
LAYERS = ("foundation", "auth", "data", "query", "figures", "explainer", "ingest")
FOUNDATION = {"core.settings", "core.i18n", "core.pages", "core.disclosure", "core.shared_state"}
ALIASES = {"core.pivot": "core.query.pivot"}  # the old public name, a re-export


def _module(path: Path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


MODULES = {_module(p): p for p in sorted(CORE.rglob("*.py"))}


def _imports(path: Path) -> set[str]:
    """The modules `path` imports, anywhere in the file (a `from core.x import name` of a submodule counts
    as that submodule)."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found |= {a.name for a in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            subs = {f"{node.module}.{a.name}" for a in node.names} & MODULES.keys()
            found |= subs or {node.module}
    return found


def _layer(module: str) -> str:
    module = ALIASES.get(module, module)
    if module in FOUNDATION or module == "core":
        return "foundation"
    return module.split(".")[1]


def _core_imports(module: str) -> set[str]:
    return {ALIASES.get(m, m) for m in _imports(MODULES[module]) if m == "core" or m.startswith("core.")} - {module}


def test_every_core_module_is_in_a_layer():
    assert {_layer(m) for m in MODULES} <= set(LAYERS)


@pytest.mark.parametrize("module", sorted(MODULES))
def test_core_has_no_streamlit(module):
    assert not {m for m in _imports(MODULES[module]) if m.split(".")[0] == "streamlit"}


@pytest.mark.parametrize("module", sorted(m for m in MODULES if m not in ALIASES))
def test_a_package_imports_only_the_layers_above_it(module):
    mine = LAYERS.index(_layer(module))
    below = {m for m in _core_imports(module) if LAYERS.index(_layer(m)) > mine}
    assert not below, f"{module} imports {sorted(below)}, which sit below it in core/__init__.py's layers"


def test_no_import_cycles():
    graph = {m: {i for i in _core_imports(m) if i in MODULES and not MODULES[i].name == "__init__.py"}
             for m in MODULES if m not in ALIASES}
    state: dict[str, int] = {}  # 1 on the path, 2 done

    def visit(node: str, path: list[str]) -> None:
        state[node] = 1
        for nxt in sorted(graph.get(node, ())):
            if state.get(nxt) == 1:
                pytest.fail("import cycle: " + " -> ".join(path[path.index(nxt):] + [node, nxt]))
            if nxt not in state:
                visit(nxt, path + [node])
        state[node] = 2

    for module in sorted(graph):
        if module not in state:
            visit(module, [])


def test_the_public_api_is_re_exported():
    import core.pivot
    import core.query
    import core.query.pivot
    import core.query.tables

    assert set(core.query.tables.__all__) <= set(dir(core.query))
    assert core.pivot.build is core.query.pivot.build
