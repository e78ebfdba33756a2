"""Import contracts, read from the source (AST), lazy imports inside functions included.

- domain modules (everything but ``cli``, ``__main__`` and ``tui``) import neither Textual, the
  app nor the CLI;
- ``report`` (the CSV contract) imports neither the CLI nor the workbench;
- no module imports another that imports it back, directly or through others.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "tlexplorer"
FRONT_ENDS = ("tlexplorer.cli", "tlexplorer.__main__", "tlexplorer.tui")


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(PACKAGE.parent).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _imports(path: Path) -> set[str]:
    """Every module ``path`` imports, anywhere in the file, as absolute dotted names."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    package = _module_name(path).rsplit(".", 0 if path.name == "__init__.py" else 1)[0]
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                base = base[: len(base) - node.level + 1]
                module = ".".join(base + ([node.module] if node.module else []))
            else:
                module = node.module or ""
            found.add(module)
            # ``from tlexplorer import session`` imports the module tlexplorer.session
            found.update(f"{module}.{alias.name}" for alias in node.names)
    return found


def _graph() -> dict[str, set[str]]:
    modules = {_module_name(p): p for p in PACKAGE.rglob("*.py")}
    graph = {}
    for name, path in modules.items():
        graph[name] = {m for m in _imports(path) if m in modules and m != name}
    return graph


GRAPH = _graph()


def _is_front_end(module: str) -> bool:
    return any(module == f or module.startswith(f + ".") for f in FRONT_ENDS)


@pytest.mark.parametrize("module", sorted(m for m in GRAPH if not _is_front_end(m)))
def test_domain_modules_import_no_front_end(module):
    path = next(p for p in PACKAGE.rglob("*.py") if _module_name(p) == module)
    imported = _imports(path)
    bad = sorted(m for m in imported if _is_front_end(m) or m.split(".")[0] == "textual")
    assert not bad, f"{module} imports {bad}"


def test_report_is_only_the_csv_contract():
    assert not GRAPH["tlexplorer.report"] & {"tlexplorer.cli", "tlexplorer.workbench"}


def _cycle(graph: dict[str, set[str]]) -> list[str] | None:
    state: dict[str, int] = {}
    stack: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = 1
        stack.append(node)
        for nxt in sorted(graph.get(node, ())):
            if state.get(nxt) == 1:
                return stack[stack.index(nxt):] + [nxt]
            if nxt not in state and (found := visit(nxt)):
                return found
        stack.pop()
        state[node] = 2
        return None

    for node in sorted(graph):
        if node not in state and (found := visit(node)):
            return found
    return None


def test_no_import_circle():
    # a package's __init__ importing nothing of its own is the rule here: drop the edges from a
    # module to the packages above it, which Python imports first anyway
    graph = {m: {d for d in deps if not m.startswith(d + ".")} for m, deps in GRAPH.items()}
    cycle = _cycle(graph)
    assert cycle is None, " → ".join(cycle or [])


def test_the_checker_sees_circles_and_front_ends():
    """The checks above can fail: a made-up circle and a made-up front-end import are found."""
    assert _cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert _cycle({"a": {"b"}, "b": set()}) is None
    assert _is_front_end("tlexplorer.tui.app") and not _is_front_end("tlexplorer.tuition")
    assert "tlexplorer.workbench" in GRAPH["tlexplorer.cli"]
    assert "tlexplorer.session" in GRAPH["tlexplorer.workbench"]
