"""The package layout: no import circle, nothing imports upward, every module stays small.

docs/development.md ("Where code goes") is the map these tests hold the tree to.
"""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parent.parent / "src"
PACKAGE = SRC / "taintsigma"
MAX_LINES = 600

# Top-level part of taintsigma -> the parts it may import (lazily or not). Two flows over one
# rule model: rules -> convert -> export, and logs -> evaluate -> scan; ruletest and cli on top.
ALLOWED: dict[str, set[str]] = {
    "errors": set(),
    "resources": set(),
    "rules": {"errors", "resources"},
    "convert": {"errors", "resources", "rules"},
    "logs": {"errors"},
    "evaluate": {"errors", "rules"},
    "export": {"errors", "resources", "rules", "convert"},
    "scan": {"errors", "resources", "rules", "convert", "logs", "evaluate"},
    "ruletest": {"errors", "resources", "rules", "convert", "logs", "evaluate", "scan"},
    "cli": {
        "errors", "resources", "rules", "convert", "export", "logs", "evaluate", "scan", "ruletest",
    },
}  # fmt: skip


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(SRC).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _modules() -> dict[str, Path]:
    return {_module_name(p): p for p in sorted(PACKAGE.rglob("*.py"))}


MODULES = _modules()


def _imports(name: str, path: Path) -> set[str]:
    """Every taintsigma module ``name`` imports, at any depth (lazy and TYPE_CHECKING included)."""
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        targets: list[str] = []
        if isinstance(node, ast.Import):
            targets = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                base = ".".join([*package.split(".")[: len(package.split(".")) - node.level + 1],
                                 *([base] if base else [])])  # fmt: skip
            # `from taintsigma.x import y` imports the module x.y when y is one.
            targets = [f"{base}.{a.name}" if f"{base}.{a.name}" in MODULES else base
                       for a in node.names]  # fmt: skip
        found.update(t for t in targets if t.startswith("taintsigma"))
    found.discard(name)
    return found


GRAPH = {name: _imports(name, path) for name, path in MODULES.items()}


def _part(module: str) -> str:
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else "__init__"


def test_every_import_names_an_existing_module() -> None:
    missing = {f"{m} -> {t}" for m, targets in GRAPH.items() for t in targets if t not in MODULES}
    assert not missing


def test_no_import_circle() -> None:
    """Tarjan's strongly connected components over the import graph: each must be one module."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    circles: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for succ in sorted(GRAPH.get(node, ())):
            if succ not in index:
                visit(succ)
                low[node] = min(low[node], low[succ])
            elif succ in on_stack:
                low[node] = min(low[node], index[succ])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                circles.append(sorted(component))

    for node in sorted(GRAPH):
        if node not in index:
            visit(node)
    assert not circles, f"import circles: {circles}"


def test_nothing_imports_upward() -> None:
    wrong = []
    for module, targets in GRAPH.items():
        part = _part(module)
        if part == "__init__":
            continue  # the public API imports lazily from everywhere
        allowed = ALLOWED[part] | {part}
        wrong += [f"{module} -> {t}" for t in sorted(targets) if _part(t) not in allowed]
    assert not wrong, "imports against the flow:\n" + "\n".join(wrong)


def test_every_part_has_a_rule() -> None:
    assert {_part(m) for m in MODULES} - {"__init__"} <= set(ALLOWED)


@pytest.mark.parametrize("name", sorted(MODULES), ids=str)
def test_module_is_small(name: str) -> None:
    lines = MODULES[name].read_text(encoding="utf-8").count("\n")
    assert lines <= MAX_LINES, f"{name} has {lines} lines; split it (docs/development.md)"


def test_each_module_imports_alone() -> None:
    """Import every module first, with no other taintsigma module loaded: a circle would fail."""
    code = (
        "import importlib, sys\n"
        "failed = []\n"
        f"for name in {sorted(MODULES)!r}:\n"
        "    for loaded in [m for m in sys.modules if m == 'taintsigma' or m.startswith('taintsigma.')]:\n"
        "        del sys.modules[loaded]\n"
        "    try:\n"
        "        importlib.import_module(name)\n"
        "    except Exception as err:\n"
        "        failed.append(f'{name}: {type(err).__name__}: {err}')\n"
        "print('\\n'.join(failed))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=False, timeout=300
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == ""
