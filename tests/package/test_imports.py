"""The package's import graph, read from the source (every ``import`` statement, those inside
functions included; ``if TYPE_CHECKING:`` blocks left out, they never run): arrows only
downward (docs/DESIGN.md).

- no circular import, lazy imports included;
- the readers (``inputs``, ``rasters``) reach no phase rule (``chain``, the pipeline, the
  array API of the chain, the site table);
- only the ``cli`` package imports click;
- only ``products`` spells the parts of a run's file names (``_GSOCseq_``, ``Map030``, ...):
  every other module asks it. (Text for people, a message or a comment written into a file,
  may name the pattern: it has spaces, and no file name has.)
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import pytest

import gsocseq

PACKAGE = Path(gsocseq.__file__).resolve().parent
#: what the readers must not reach
PHASE_RULES = ("gsocseq.chain", "gsocseq.pipeline", "gsocseq.pixels", "gsocseq.site")
READERS = ("gsocseq.inputs", "gsocseq.rasters")
#: the parts of a run's file names (gsocseq.products)
NAME_PARTS = ("_GSOCseq", "Map030", "MC030")


def _modules() -> dict[str, Path]:
    out = {}
    for path in sorted(PACKAGE.rglob("*.py")):
        parts = list(path.relative_to(PACKAGE.parent).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts.pop()
        out[".".join(parts)] = path
    return out


MODULES = _modules()
KNOWN = set(MODULES) | {"gsocseq._core"}


def _runtime_nodes(tree: ast.AST) -> Iterator[ast.AST]:
    """Every node that can run: the bodies of ``if TYPE_CHECKING:`` left out."""
    for node in ast.iter_child_nodes(tree):
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            yield from (n for child in node.orelse for n in [child, *_runtime_nodes(child)])
            continue
        yield node
        yield from _runtime_nodes(node)


def _imports(name: str, path: Path) -> set[str]:
    """The modules ``name`` imports (of gsocseq: the submodule when a name is one; others by
    their top-level package)."""
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    out = set()
    for node in _runtime_nodes(ast.parse(path.read_text(encoding="utf-8"), str(path))):
        if isinstance(node, ast.Import):
            out.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")[: len(package.split(".")) - node.level + 1]
                module = ".".join(base + ([node.module] if node.module else []))
            else:
                module = node.module or ""
            for alias in node.names:
                sub = f"{module}.{alias.name}"
                out.add(sub if sub in KNOWN else module)
    return out


IMPORTS = {name: _imports(name, path) for name, path in MODULES.items()}


def _edges(name: str) -> set[str]:
    """The modules of gsocseq that ``name`` imports, its own packages left out (Python runs a
    package's ``__init__`` before any of its modules anyway)."""
    if name not in MODULES:  # the compiled core imports no Python module
        return set()
    parts = name.split(".")
    ancestors = {".".join(parts[:i]) for i in range(1, len(parts))}
    return {m for m in IMPORTS[name] if m in KNOWN and m != name and m not in ancestors}


def _reach(start: str) -> set[str]:
    seen, todo = set(), [start]
    while todo:
        for m in _edges(todo.pop()) - seen:
            seen.add(m)
            if m in MODULES:
                todo.append(m)
    return seen


def test_the_graph_is_read() -> None:
    # the reading itself: known arrows are found, a lazy one included
    assert "gsocseq.chain" in _edges("gsocseq.pipeline.plan")
    assert "gsocseq.pipeline.dask" in _edges("gsocseq.pipeline")  # inside run()
    assert "click" in IMPORTS["gsocseq.cli.options"]
    assert len(MODULES) > 40


def _cycle(name: str) -> list[str]:
    """The shortest chain of imports from ``name`` back to itself (none: [])."""
    paths = {m: [name, m] for m in _edges(name)}
    todo = list(paths)
    while todo:
        m = todo.pop(0)
        if m == name:
            return paths[m]
        for nxt in sorted(_edges(m)):
            if nxt not in paths:
                paths[nxt] = [*paths[m], nxt]
                todo.append(nxt)
    return []


def test_no_circular_import() -> None:
    cycles = [" -> ".join(c) for c in map(_cycle, MODULES) if c]
    assert not cycles, "circular imports:\n" + "\n".join(cycles)


@pytest.mark.parametrize("reader", READERS)
def test_readers_reach_no_phase_rule(reader: str) -> None:
    reached = _reach(reader)
    bad = sorted(m for m in reached if m.startswith(PHASE_RULES))
    assert not bad, f"{reader} imports {bad}"


def test_only_the_cli_imports_click() -> None:
    bad = sorted(
        name
        for name, imported in IMPORTS.items()
        if not name.startswith("gsocseq.cli") and any(m.split(".")[0] == "click" for m in imported)
    )
    assert not bad, f"click imported outside gsocseq.cli by {bad}"


def test_only_products_spells_a_run_file_name() -> None:
    bad = []
    for name, path in MODULES.items():
        if name == "gsocseq.products":
            continue
        tree = ast.parse(path.read_text(encoding="utf-8"))
        docstrings = {
            id(node.body[0].value)
            for node in ast.walk(tree)
            if isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef))
            and node.body
            and isinstance(node.body[0], ast.Expr)
            and isinstance(node.body[0].value, ast.Constant)
        }
        for node in ast.walk(tree):
            if (
                isinstance(node, ast.Constant)
                and isinstance(node.value, str)
                and id(node) not in docstrings
                and any(part in node.value for part in NAME_PARTS)
                and not any(c.isspace() for c in node.value)
            ):
                bad.append(f"{path.name}:{node.lineno}: {node.value!r}")
    assert not bad, "file-name parts outside gsocseq.products:\n" + "\n".join(bad)
