"""The article catalog (`index.catalog`): `newsqa info` and the source filters count
sources and stories from a table that follows the store's change log, reading only the
articles a write named, never every record once it mirrors the store."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path
from typing import Any

import pytest

from assistant.service import Assistant
from index.catalog import FILE, Catalog
from index.store import Store
from tests.conftest import make_settings
from tests.fakes import FakeEmbedder


def article(aid: str, source: str, day: str, text: str = "") -> dict[str, str]:
    return {"id": aid, "source": source, "date": day, "title": f"Story {aid}",
            "text": text or f"Report {aid} from {source}: the council met on budgets, "
                            f"item {aid} of the agenda, and voted on the {aid} motion."}


def write(path: Path, *arts: dict[str, str]) -> Path:
    path.write_text("".join(json.dumps(a) + "\n" for a in arts), encoding="utf-8")
    return path


def counted(bot: Assistant) -> dict[str, tuple[int, date | None, date | None]]:
    return {s.name: (s.articles, s.first, s.last) for s in bot.sources()}


class Reads:
    """Which articles the catalog read from the store: each call's ids (None: all)."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.calls: list[list[str] | None] = []
        real = Store.catalog_rows

        def spy(store: Store, ids: list[str] | None = None) -> Any:
            self.calls.append(None if ids is None else sorted(ids))
            return real(store, ids)

        monkeypatch.setattr(Store, "catalog_rows", spy)


def test_counts_follow_adds_changes_and_removals_reading_only_what_changed(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    bot = Assistant(make_settings(tmp_path / "home"), embedder=FakeEmbedder())
    feed = tmp_path / "a.jsonl"
    bot.ingest([write(feed, article("a1", "AP", "2026-01-05"), article("a2", "AP", "2026-03-01"),
                      article("r1", "Reuters", "2026-02-10"))], drop_missing=False)
    assert counted(bot) == {"AP": (2, date(2026, 1, 5), date(2026, 3, 1)),
                            "Reuters": (1, date(2026, 2, 10), date(2026, 2, 10))}
    reads = Reads(monkeypatch)
    assert counted(bot) == counted(bot)  # nothing written: nothing read
    assert reads.calls == []
    bot.ingest([write(tmp_path / "b.jsonl", article("a2", "Reuters", "2026-04-02"),
                      article("u1", "", "2026-05-01"))], drop_missing=False)
    assert counted(bot) == {"AP": (1, date(2026, 1, 5), date(2026, 1, 5)),
                            "Reuters": (2, date(2026, 2, 10), date(2026, 4, 2)),
                            "": (1, date(2026, 5, 1), date(2026, 5, 1))}
    assert reads.calls == [["a2", "u1"]]  # the two articles the write named, by id
    info = bot.info()  # its totals moved by what the write changed
    assert (info["articles"], info["chunks"]) == bot.store.counts()
    bot.remove(["a1"])
    assert "AP" not in counted(bot)
    assert reads.calls[-1] == []  # a removal reads no record
    assert bot.story_count() == 3
    info = bot.info()
    assert (info["articles"], info["chunks"]) == bot.store.counts() and info["articles"] == 3


def test_another_process_write_and_a_lost_or_foreign_catalog(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    home = tmp_path / "home"
    first = Assistant(make_settings(home), embedder=FakeEmbedder())
    first.ingest([write(tmp_path / "a.jsonl", article("a1", "AP", "2026-01-05"))])
    assert counted(first) == {"AP": (1, date(2026, 1, 5), date(2026, 1, 5))}
    other = Assistant(make_settings(home), embedder=FakeEmbedder())  # say, a terminal ingest
    other.ingest([write(tmp_path / "b.jsonl", article("b1", "BBC", "2026-02-01"))],
                 drop_missing=False)
    reads = Reads(monkeypatch)
    assert set(counted(Assistant(make_settings(home), embedder=FakeEmbedder()))) == {"AP", "BBC"}
    assert reads.calls == [["b1"]]
    (home / FILE).unlink()  # lost: made again from every record, once
    assert set(counted(Assistant(make_settings(home), embedder=FakeEmbedder()))) == {"AP", "BBC"}
    assert reads.calls[-1] is None
    # a rebuilt index is another index: its records, not the old catalog's rows
    other.ingest([write(tmp_path / "c.jsonl", article("c1", "CNN", "2026-03-01"))],
                 rebuild=True)
    fresh = Assistant(make_settings(home), embedder=FakeEmbedder())
    assert set(counted(fresh)) == {"CNN"}
    assert reads.calls[-1] is None


def test_a_write_the_log_does_not_name_is_found_by_the_count(tmp_path: Path) -> None:
    bot = Assistant(make_settings(tmp_path / "home"), embedder=FakeEmbedder())
    bot.ingest([write(tmp_path / "a.jsonl", article("a1", "AP", "2026-01-05"),
                      article("a2", "AP", "2026-01-06"))])
    catalog = Catalog(tmp_path / "home")
    assert catalog.sync(bot.store) == 2  # first use: every record
    assert catalog.sync(bot.store) == 0  # mirrors the store: nothing read
    bot.store._articles.delete(ids=["a2"])  # behind the log's back (a repair)
    assert catalog.sync(bot.store) == 1  # the count differs: every record read again
    assert [s.articles for s in catalog.sources()] == [1]


def test_info_counts_without_reading_the_vector_index(tmp_path: Path,
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    """Counting an embedded store's chunks loads its whole vector index (2 GB at 900k
    chunks): `info` counts them from the article records instead."""
    home = tmp_path / "home"
    bot = Assistant(make_settings(home), embedder=FakeEmbedder())
    bot.ingest([write(tmp_path / "a.jsonl", article("a1", "AP", "2026-01-05"),
                      article("a2", "AP", "2026-01-06", "Short. " * 400))])
    articles, chunks = bot.store.counts()
    assert chunks > articles == 2

    def refuse(_store: Store) -> tuple[int, int]:
        raise AssertionError("counted every chunk")

    monkeypatch.setattr(Store, "counts", refuse)
    info = Assistant(make_settings(home), embedder=FakeEmbedder()).info()
    assert (info["articles"], info["chunks"]) == (articles, chunks)
