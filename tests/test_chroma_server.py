"""The same ingest and ask against a real Chroma server (`chroma run`) on loopback."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from assistant.service import Assistant
from index.errors import StoreUnavailable
from index.store import Store
from tests.conftest import SEED_FILE, free_port, make_settings
from tests.fakes import FakeEmbedder

pytestmark = pytest.mark.server


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
