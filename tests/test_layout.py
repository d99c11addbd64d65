"""The folders show the architecture: imports run one way (ui -> assistant -> index, and
no two modules import each other), each third-party boundary is crossed by one package,
and the root of `assistant/` keeps only what every answer passes through. Lazy imports
inside functions count too."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("assistant", "index", "ui")


def _imports(path: Path) -> set[str]:
    """Every module `path` imports, anywhere in the file."""
    out: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            out.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            out.add(node.module)
            out.update(f"{node.module}.{alias.name}" for alias in node.names)
    return out


def _modules(package: str) -> dict[Path, set[str]]:
    return {p: _imports(p) for p in sorted((ROOT / package).rglob("*.py"))}


def _top(name: str) -> str:
    return name.split(".")[0]


@pytest.mark.parametrize(("package", "forbidden"), [
    ("index", {"assistant", "ui"}),
    ("assistant", {"ui"}),
])
def test_no_import_runs_upward(package: str, forbidden: set[str]) -> None:
    upward = {f"{p.relative_to(ROOT)}: {name}" for p, names in _modules(package).items()
              for name in names if _top(name) in forbidden}
    assert not upward


@pytest.mark.parametrize(("library", "home"), [
    ("chromadb", "index/store.py"),
    ("spacy", "assistant/reader/"),
    ("llama_index.llms", "assistant/llm/"),
    ("feedparser", "index/web/"),
])
def test_each_dependency_boundary_is_crossed_in_one_place(library: str, home: str) -> None:
    users = {str(p.relative_to(ROOT)) for package in PACKAGES
             for p, names in _modules(package).items()
             if any(n == library or n.startswith(library + ".") for n in names)}
    assert users and all(u.startswith(home) for u in users), users


def test_assistant_root_keeps_at_most_12_modules() -> None:
    root = [p.stem for p in (ROOT / "assistant").glob("*.py") if p.stem != "__init__"]
    assert len(root) <= 12, sorted(root)
    assert {"reader", "llm", "evaluation"} <= {p.name for p in (ROOT / "assistant").iterdir()
                                               if (p / "__init__.py").exists()}


def test_shipped_reader_weights_are_package_data() -> None:
    """The weights travel with the package that reads them (pyproject's package-data)."""
    from importlib import resources

    shipped = ("weights.json", "calibration.json", "span.onnx", "span.json")
    for name in shipped:
        assert resources.files("assistant.reader").joinpath(name).is_file()
    listed = ", ".join(f'"{n}"' for n in shipped)
    assert f'"assistant.reader" = [{listed}]' in (ROOT / "pyproject.toml").read_text()


def _module_name(path: Path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _import_graph() -> dict[str, set[str]]:
    """Module -> the project modules it imports (`from a.b import c` names a.b.c when c
    is a module), over every package, lazy and TYPE_CHECKING imports included."""
    files = {_module_name(p): names for package in PACKAGES
             for p, names in _modules(package).items()}
    return {m: {n for n in names if n in files and n != m} for m, names in files.items()}


def _cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The import cycles: each strongly connected group of two or more modules
    (Tarjan's algorithm, iterative)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []
    for root in sorted(graph):
        if root in index:
            continue
        work = [(root, iter(sorted(graph[root])))]
        index[root] = low[root] = len(index)
        stack.append(root)
        on_stack.add(root)
        while work:
            node, targets = work[-1]
            target = next(targets, None)
            if target is not None:
                if target not in index:
                    index[target] = low[target] = len(index)
                    stack.append(target)
                    on_stack.add(target)
                    work.append((target, iter(sorted(graph[target]))))
                elif target in on_stack:
                    low[node] = min(low[node], index[target])
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[node])
            if low[node] == index[node]:
                group = []
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    group.append(member)
                    if member == node:
                        break
                if len(group) > 1:
                    found.append(sorted(group))
    return found


def test_the_cycle_check_finds_cycles() -> None:
    graph = {"a": {"b"}, "b": {"a"}, "c": {"d"}, "d": {"e"}, "e": {"c"}, "f": {"a"}}
    assert _cycles(graph) == [["a", "b"], ["c", "d", "e"]]
    assert _cycles({"a": {"b"}, "b": set()}) == []


def test_no_modules_import_each_other() -> None:
    """Imports run one way inside the packages too: no two modules import each other,
    directly or through others (`calibration` and `report` once did: the figure they
    share is `assistant/evaluation/figure.py`)."""
    graph = _import_graph()
    assert "assistant.choice" in graph["assistant.service"]  # a lazy import counts
    assert not _cycles(graph)
