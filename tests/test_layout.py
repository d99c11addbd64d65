"""The folders show the architecture: imports run one way (ui -> assistant -> index),
each third-party boundary is crossed by one package, and the root of `assistant/` keeps
only what every answer passes through. Lazy imports inside functions count too."""

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
