"""The BM25 keyword index stays in step with the store: added, replaced, pruned, and
rebuilt when someone else changed the store."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

from assistant.service import Assistant
from index.keyword import KeywordIndex
from tests.conftest import SEED_FILE, make_settings
from tests.fakes import FakeEmbedder

CLOVES_AND_GLACIERS = [
    {"id": "a", "text": "Zanzibar spice farmers expect a record clove harvest."},
    {"id": "b", "text": "Glaciers in Patagonia retreat faster than forecast."},
]


def write_jsonl(path: Path, recs: list[dict[str, str]]) -> None:
    path.write_text("\n".join(json.dumps(r) for r in recs) + "\n")


def keyword_ids(bot: Assistant) -> set[str]:
    return set(KeywordIndex(bot.keyword.folder).chunk_ids)  # as saved on disk


def test_keyword_index_follows_adds_changes_and_removals(
    fake_bot: Assistant, tmp_path: Path
) -> None:
    f = tmp_path / "c.jsonl"
    write_jsonl(f, CLOVES_AND_GLACIERS)
    fake_bot.ingest([f])
    store_ids = {c.id for c, _ in fake_bot.store.iter_chunks()}
    assert keyword_ids(fake_bot) == store_ids
    hits = fake_bot.keyword.search("clove harvest Zanzibar", 5)
    assert hits and hits[0][0].startswith("a:")
    write_jsonl(f, [{"id": "a", "text": "Zanzibar now exports vanilla instead of cloves."}])
    fake_bot.ingest([f])
    assert keyword_ids(fake_bot) == {c.id for c, _ in fake_bot.store.iter_chunks()}
    assert fake_bot.keyword.search("Patagonia glaciers", 5) == []  # removed article
    assert fake_bot.keyword.search("vanilla", 5)[0][0].startswith("a:")


def test_keyword_only_match_is_found_by_hybrid_retrieval(
    fake_bot: Assistant, tmp_path: Path
) -> None:
    f = tmp_path / "c.jsonl"
    write_jsonl(f, [{"id": f"n{i}", "text": f"Ordinary story number {i} about city budgets."}
                    for i in range(30)]
                + [{"id": "x", "text": "The XK-9 drone crashed near Lillehammer on Monday."}])
    fake_bot.ingest([f])
    answer = fake_bot.ask("What happened to the XK-9 drone?", k=3)
    assert answer.retrieved[0].article_id == "x"


def test_stale_keyword_index_is_rebuilt_from_the_store(tmp_path: Path) -> None:
    settings = make_settings(tmp_path / "h")
    Assistant(settings, embedder=FakeEmbedder()).ingest([SEED_FILE])
    # Another writer (say, a second machine on a shared Chroma server) adds an article
    # without this data home's keyword index seeing it.
    other = Assistant(make_settings(tmp_path / "h2", store={"collection": "newsqa"}),
                      embedder=FakeEmbedder())
    other.store = Assistant(settings, embedder=FakeEmbedder()).store  # same Chroma data
    other.ingest([_article(tmp_path, "The Oslo tram strike ended on Friday after talks.")])
    bot = Assistant(settings, embedder=FakeEmbedder())
    answer = bot.ask("When did the Oslo tram strike end?")
    assert any("tram strike" in p.text for p in answer.retrieved)
    assert len(bot.keyword) == bot.info()["chunks"]


def test_as_of_hides_later_articles_in_both_rankings(
    fake_bot: Assistant, tmp_path: Path
) -> None:
    f = tmp_path / "c.jsonl"
    write_jsonl(f, [{"id": "old", "date": "2022-01-10", "text": "Heron Bay ferry fares rose."},
                    {"id": "new", "date": "2022-03-10", "text": "Heron Bay ferry fares fell."},
                    {"id": "undated", "text": "Heron Bay ferry history in brief."}])
    fake_bot.ingest([f])
    passages = fake_bot.retriever.retrieve("Heron Bay ferry fares", 5, as_of=date(2022, 2, 1))
    assert {p.article_id for p in passages} == {"old", "undated"}


def _article(tmp_path: Path, text: str) -> Path:
    p = tmp_path / "extra.txt"
    p.write_text(text)
    return p


def test_every_retrieval_mode_finds_the_seed_passage(tmp_path: Path) -> None:
    for mode in ("dense", "bm25", "hybrid"):
        bot = Assistant(make_settings(tmp_path / mode, retrieval={"mode": mode}),
                        embedder=FakeEmbedder())
        bot.ingest([SEED_FILE])
        answer = bot.ask("Where are remaining IS cells?")
        assert any("Badia desert" in c.quote for c in answer.citations), mode
        assert all(-1.0 <= p.score <= 1.0 for p in answer.retrieved)


def test_keyword_index_claiming_the_current_generation_but_missing_chunks_is_rebuilt(
    tmp_path: Path,
) -> None:
    """The failure of two unlocked writers: the keyword index marked itself up to date
    while missing one writer's chunks. Its recorded chunk count gives it away."""
    settings = make_settings(tmp_path / "h")
    f = tmp_path / "c.jsonl"
    write_jsonl(f, CLOVES_AND_GLACIERS)
    bot = Assistant(settings, embedder=FakeEmbedder())
    bot.ingest([f])
    bot.keyword.update([], ["b"], bot.store.generation())  # drops b, keeps the generation
    fresh = Assistant(settings, embedder=FakeEmbedder())
    answer = fresh.ask("Which glaciers retreat faster than forecast?")
    assert any(p.article_id == "b" for p in answer.retrieved)
    assert len(fresh.keyword) == fresh.info()["chunks"] == 2
    assert fresh.keyword.search("Patagonia glaciers", 5)[0][0].startswith("b:")


def test_a_follower_reads_the_change_log_not_every_record(
        tmp_path: Path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    """A second process's keyword index catches up with another writer's add, update and
    removal from the store's change log (issue 34, point 3): it never reads every
    article's hash."""
    from index.store import Store

    settings = make_settings(tmp_path / "h")
    f = tmp_path / "c.jsonl"
    write_jsonl(f, CLOVES_AND_GLACIERS)
    writer = Assistant(settings, embedder=FakeEmbedder())
    writer.ingest([f])
    follower = Assistant(settings, embedder=FakeEmbedder())
    follower.open()
    assert len(follower.keyword) == 2
    assert follower.keyword._state.log_seq == follower.store.log_position() == 2

    write_jsonl(f, [{"id": "a", "text": "Zanzibar now exports vanilla instead of cloves."},
                    {"id": "c", "text": "A new ferry links Lamu and Mombasa twice a week."}])
    writer.ingest([f], drop_missing=False)  # a changed, c added
    writer.remove(["b"])

    def every_record(self):  # type: ignore[no-untyped-def]
        raise AssertionError("the follower read every record")

    monkeypatch.setattr(Store, "records", every_record)
    fresh = Store(settings.store, settings.chroma_dir)
    fresh.open()
    assert fresh.changes_since(2, fresh.log_position()) == [
        ("a", fresh.articles(["a"])["a"].hash), ("c", fresh.articles(["c"])["c"].hash),
        ("b", "")]
    assert follower.keyword.sync(fresh)
    assert {c.split(":")[0] for c in follower.keyword.chunk_ids} == {"a", "c"}
    assert follower.keyword.search("vanilla", 5)[0][0].startswith("a:")
    assert follower.keyword.search("Patagonia glaciers", 5) == []
    assert follower.keyword.mirrors(fresh)
