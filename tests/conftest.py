"""Shared fixtures. The real model is loaded once per session; unit tests use FakeEmbedder."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import threading
import time
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


def run_cli(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    """`newsqa ARGV...` in process: (exit code, stdout, stderr)."""
    from ui import cli

    code = cli.main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def free_port() -> int:
    """A TCP port nothing listens on now (for test servers)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="module")
def chroma_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A real Chroma server (`chroma run`) on loopback, for the tests of one module."""
    exe = shutil.which("chroma") or str(Path(sys.executable).parent / "chroma")
    port = free_port()
    data = tmp_path_factory.mktemp("chroma-server")
    proc = subprocess.Popen(
        [exe, "run", "--path", str(data), "--host", "127.0.0.1", "--port", str(port)],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}"
    deadline = time.time() + 60
    while time.time() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
            break
        except OSError:
            if proc.poll() is not None:
                pytest.fail(f"chroma run exited with {proc.returncode}")
            time.sleep(0.3)
    yield url
    proc.terminate()
    proc.wait(timeout=20)


def hold_writer_lock(home: Path) -> threading.Event:
    """Another writer (say a terminal `newsqa ingest`) takes the data home's writer lock in
    a thread and keeps it until the returned event is set (or 30 s pass)."""
    from index.lock import WriterLock

    held, release = threading.Event(), threading.Event()

    def hold() -> None:
        with WriterLock(home).hold("ingest"):
            held.set()
            release.wait(30)

    threading.Thread(target=hold, daemon=True).start()
    assert held.wait(10)
    return release
