"""The same ingest and ask against a real Chroma server (`chroma run`) on loopback."""

from __future__ import annotations

import json
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from assistant.service import Assistant
from index.errors import StoreUnavailable
from index.store import Store
from tests.conftest import SEED_FILE, make_settings
from tests.fakes import FakeEmbedder

pytestmark = pytest.mark.server


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="module")
def chroma_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
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


def test_ingest_and_ask_through_a_chroma_server(tmp_path: Path, chroma_url: str) -> None:
    settings = make_settings(tmp_path / "home", store={"chroma_url": chroma_url})
    bot = Assistant(settings, embedder=FakeEmbedder())
    report = bot.ingest([SEED_FILE])
    assert report.added == 1
    assert not (tmp_path / "home" / "chroma").exists()  # nothing stored locally
    again = Assistant(settings, embedder=FakeEmbedder())
    assert again.ingest([SEED_FILE]).chunks_embedded == 0
    answer = again.ask("Where are remaining IS cells?")
    assert answer.citations and "Badia desert" in answer.text
    article = again.article(answer.citations[0].article_id)
    assert article is not None
    c = answer.citations[0]
    assert article.text[c.start:c.end] == c.quote
    assert again.info()["store"] == chroma_url


def test_unreachable_server_is_a_clear_error(tmp_path: Path) -> None:
    url = f"http://127.0.0.1:{free_port()}"
    bot = Assistant(make_settings(tmp_path / "h", store={"chroma_url": url}),
                    embedder=FakeEmbedder())
    with pytest.raises(StoreUnavailable, match="chroma run"):
        bot.ingest([SEED_FILE])


def test_a_second_server_follows_a_push_by_reading_only_what_changed(
    tmp_path: Path, chroma_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Two app servers (each its own data home) on one Chroma server: the keyword index
    of one follows the other's new article by fetching that article alone."""
    store = {"chroma_url": chroma_url, "collection": "follow"}
    one = Assistant(make_settings(tmp_path / "one", store=store), embedder=FakeEmbedder())
    one.ingest([SEED_FILE])
    two = Assistant(make_settings(tmp_path / "two", store=store), embedder=FakeEmbedder())
    assert two.ask("Where are remaining IS cells?").citations
    extra = tmp_path / "oslo.jsonl"
    extra.write_text(json.dumps({"id": "oslo", "text": "The Oslo tram strike ended on "
                                 "Friday after talks with the city."}) + "\n")
    one.ingest([extra])
    fetched: list[list[str]] = []
    real = Store.chunks_of

    def spy(self: Store, ids: list[str]) -> list:  # type: ignore[type-arg]
        fetched.append(sorted(ids))
        return real(self, ids)

    monkeypatch.setattr(Store, "chunks_of", spy)
    monkeypatch.setattr(Store, "iter_chunks",
                        lambda self: pytest.fail("followed by reading every chunk"))
    assert two.follow()
    assert fetched == [["oslo"]]
    assert two.keyword.search("tram strike Oslo", 3)[0][0] == "oslo:0"
    answer = two.ask("When did the Oslo tram strike end?")
    assert any(c.article_id == "oslo" for c in answer.citations)
    assert not two.follow()  # nothing new since
