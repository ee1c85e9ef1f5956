"""The package's layout: one subpackage per stage, each importing only earlier stages and the leaf modules,
function-local imports included, with no import cycle anywhere."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

import cookbook_hub

PACKAGE = Path(cookbook_hub.__file__).parent
STAGES = [
    *("tokens", "templates", "generation", "recipes", "dataset", "card"),
    *("hub", "train", "eval", "align", "mix", "cli"),
]
LEAVES = ["errors", "bounded", "fs", "folders", "models", "plots"]
MAX_LINES = 450


def module_name(path: Path) -> str:
    parts = list(path.relative_to(PACKAGE.parent).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


MODULES = {module_name(path): path for path in sorted(PACKAGE.rglob("*.py"))}


def imported_modules(path: Path) -> set[str]:
    """The package modules a file imports anywhere in it (the longest module each imported name lives in)."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            names = [node.module, *(f"{node.module}.{alias.name}" for alias in node.names)]
        else:
            continue
        for name in names:
            parts = name.split(".")
            for k in range(len(parts), 1, -1):
                if ".".join(parts[:k]) in MODULES:
                    found.add(".".join(parts[:k]))
                    break
    return found - {module_name(path)}


def rank(module: str) -> int:
    """-1 for the package and its leaf modules, else the stage's position in the data flow."""
    parts = module.split(".")
    return STAGES.index(parts[1]) if len(parts) > 2 or (len(parts) == 2 and parts[1] in STAGES) else -1


def test_every_module_belongs_to_a_stage_or_is_a_leaf():
    top = {name.split(".")[1] for name in MODULES if name.count(".") >= 1}
    assert top == set(STAGES) | set(LEAVES)
    assert len([name for name in MODULES if name.count(".") == 1 and name.split(".")[1] in LEAVES]) <= 10


@pytest.mark.parametrize("module", sorted(MODULES))
def test_imports_go_to_earlier_stages_only(module):
    mine = rank(module)
    later = sorted(other for other in imported_modules(MODULES[module]) if rank(other) > mine)
    assert not later, f"{module} (stage {mine}) imports a later stage: {later}"
    if mine == -1 and module != "cookbook_hub":
        assert all(other.split(".")[1] in LEAVES for other in imported_modules(MODULES[module]))


def test_no_import_cycles():
    graph = {module: imported_modules(path) for module, path in MODULES.items()}
    state: dict[str, int] = {}

    def visit(module: str, trail: list[str]) -> None:
        state[module] = 1
        for other in graph[module]:
            if other == "cookbook_hub" or module.startswith(other + "."):
                continue
            if state.get(other) == 1:
                raise AssertionError("import cycle: " + " -> ".join([*trail, module, other]))
            if other not in state:
                visit(other, [*trail, module])
        state[module] = 2

    for module in graph:
        if module not in state:
            visit(module, [])


@pytest.mark.parametrize("module", sorted(MODULES))
def test_modules_stay_small(module):
    lines = len(MODULES[module].read_text(encoding="utf-8").splitlines())
    assert lines <= MAX_LINES, f"{module} has {lines} lines: split it by job"
