"""Shared fixtures. The real model is loaded once per session; unit tests use FakeEmbedder."""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("ANONYMIZED_TELEMETRY", "False")
os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")

from assistant.service import Assistant  # noqa: E402
from assistant.settings import Settings  # noqa: E402
from tests.fakes import FakeEmbedder  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
SEEDS = ROOT / "seeds"
DATA = Path(__file__).resolve().parent / "data"
SEED_FILE = SEEDS / "000_f4236742e42e32f8.txt"


def make_settings(home: Path, **overrides: object) -> Settings:
    """Settings isolated in `home`, ignoring the developer's own NEWSQA_* variables."""
    for key in [k for k in os.environ if k.startswith("NEWSQA_")]:
        os.environ.pop(key)
    return Settings(home=home, **overrides)  # type: ignore[arg-type]


@pytest.fixture
def fake_embedder() -> FakeEmbedder:
    return FakeEmbedder()


@pytest.fixture
def fake_bot(tmp_path: Path, fake_embedder: FakeEmbedder) -> Assistant:
    """An assistant with an empty index in a temporary home and the fake embedder."""
    return Assistant(make_settings(tmp_path / "home"), embedder=fake_embedder)


@pytest.fixture(scope="session")
def model_home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One data home per test session, so the ONNX export of the real model is made once."""
    return tmp_path_factory.mktemp("model-home")


@pytest.fixture(scope="session")
def real_embedder(model_home: Path):  # type: ignore[no-untyped-def]
    """The packaged all-MiniLM-L6-v2 with the default backend, loaded once per session."""
    from index.embed import make_embedder

    settings = make_settings(model_home)
    return make_embedder(settings.embedding, settings.model_dir)


@pytest.fixture(scope="session")
def seed_bot(tmp_path_factory: pytest.TempPathFactory, model_home: Path, real_embedder):  # type: ignore[no-untyped-def]
    """The real assistant with seeds/ indexed (shared by the end-to-end tests)."""
    home = tmp_path_factory.mktemp("seed-home")
    # reuse the exported model
    shutil.copytree(model_home / "models", home / "models", dirs_exist_ok=True)
    bot = Assistant(make_settings(home), embedder=real_embedder)
    report = bot.ingest([SEEDS])
    assert report.ok and report.added >= 1
    return bot


@pytest.fixture
def articles_dir(tmp_path: Path) -> Iterator[Path]:
    d = tmp_path / "articles"
    d.mkdir()
    yield d
