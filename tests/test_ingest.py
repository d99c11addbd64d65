"""Incremental, interrupt-safe ingest into Chroma (fake embedder: the model doesn't matter)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from assistant.service import Assistant
from index.chunk import Chunker
from index.errors import ModelMismatch
from index.parse import parse_file
from index.settings import ChunkingSettings
from tests.conftest import SEED_FILE, make_settings
from tests.fakes import FakeEmbedder


def write_jsonl(path: Path, texts: dict[str, str]) -> None:
    path.write_text("\n".join(json.dumps({"id": k, "title": k, "text": v})
                              for k, v in texts.items()) + "\n")


def chunk_ids(bot: Assistant) -> set[str]:
    return {c.id for c, _ in bot.store.iter_chunks()}


LONG = " ".join(f"Sentence number {i} talks about topic {i % 7} in the valley." for i in range(80))


def test_chunk_spans_map_back_to_the_article_text() -> None:
    (art,) = [a for a in parse_file(SEED_FILE)]
    chunker = Chunker(ChunkingSettings(chunk_size=64, chunk_overlap=16), FakeEmbedder().token_ids)
    chunks = chunker.chunk(art)  # type: ignore[arg-type]
    assert len(chunks) > 5
    for c in chunks:
        assert art.text[c.start:c.end] == c.text  # type: ignore[union-attr]
    assert chunks[0].start == 0
    assert [c.index for c in chunks] == list(range(len(chunks)))
    # together the chunks cover the whole article
    assert max(c.end for c in chunks) == len(art.text)  # type: ignore[union-attr]


def test_reingest_unchanged_embeds_nothing(fake_bot: Assistant, articles_dir: Path) -> None:
    shutil.copy(SEED_FILE, articles_dir)
    first = fake_bot.ingest([articles_dir])
    assert first.added == 1 and first.chunks_embedded > 0
    before = chunk_ids(fake_bot)
    again = fake_bot.ingest([articles_dir])
    assert (again.added, again.updated, again.unchanged, again.chunks_embedded) == (0, 0, 1, 0)
    assert "nothing new to embed" in again.summary()
    assert chunk_ids(fake_bot) == before


def test_changed_article_replaces_its_chunks(fake_bot: Assistant, articles_dir: Path) -> None:
    f = articles_dir / "c.jsonl"
    write_jsonl(f, {"a": LONG, "b": "Short text about bees in the garden."})
    fake_bot.ingest([f])
    old = {c for c in chunk_ids(fake_bot) if c.startswith("a:")}
    assert len(old) > 1
    write_jsonl(f, {"a": "Now a single sentence about owls.", "b": "Short text about bees in "
                    "the garden."})
    report = fake_bot.ingest([f])
    assert (report.updated, report.unchanged) == (1, 1)
    texts = {c.text for c, _ in fake_bot.store.iter_chunks() if c.article_id == "a"}
    assert texts == {"Now a single sentence about owls."}  # no stale chunk left
    assert fake_bot.info()["articles"] == 2


def test_article_dropped_from_a_file_is_removed(fake_bot: Assistant, articles_dir: Path) -> None:
    f = articles_dir / "c.jsonl"
    write_jsonl(f, {"a": "Alpha text about rivers.", "b": "Beta text about mountains."})
    fake_bot.ingest([f])
    write_jsonl(f, {"a": "Alpha text about rivers."})
    report = fake_bot.ingest([f])
    assert report.removed == 1
    assert fake_bot.info()["articles"] == 1
    assert {c.article_id for c, _ in fake_bot.store.iter_chunks()} == {"a"}


def test_prune_removes_articles_whose_file_is_gone(fake_bot: Assistant, articles_dir: Path) -> None:
    shutil.copy(SEED_FILE, articles_dir / "seed.txt")
    (articles_dir / "other.txt").write_text("Owls hunt at night in the forest near the lake.")
    fake_bot.ingest([articles_dir])
    (articles_dir / "seed.txt").unlink()
    kept = fake_bot.ingest([articles_dir])
    assert kept.removed == 0 and fake_bot.info()["articles"] == 2  # no --prune: kept
    pruned = fake_bot.ingest([articles_dir], prune=True)
    assert pruned.removed == 1 and fake_bot.info()["articles"] == 1


def test_bad_file_among_good_ones(fake_bot: Assistant, articles_dir: Path) -> None:
    shutil.copy(SEED_FILE, articles_dir)
    (articles_dir / "broken.jsonl").write_text('{"text": "Good line about tides."}\n{oops\n')
    (articles_dir / "broken.txt.gz").write_bytes(b"not gzip")
    report = fake_bot.ingest([articles_dir])
    assert report.added == 2  # the seed and the good JSONL line
    assert not report.ok
    problems = sorted(str(f) for f in report.failures)
    assert any("broken.jsonl:2" in p for p in problems)
    assert any("broken.txt.gz" in p for p in problems)


def test_partly_broken_file_keeps_its_other_articles(
    fake_bot: Assistant, articles_dir: Path
) -> None:
    f = articles_dir / "c.jsonl"
    write_jsonl(f, {"a": "Alpha text about rivers.", "b": "Beta text about mountains."})
    fake_bot.ingest([f])
    f.write_text('{"id": "a", "title": "a", "text": "Alpha text about rivers."}\n{broken\n')
    report = fake_bot.ingest([f])
    assert report.removed == 0  # 'b' may sit on the unreadable line: don't lose it
    assert fake_bot.info()["articles"] == 2


def test_repeated_boilerplate_is_embedded_once(tmp_path: Path, articles_dir: Path) -> None:
    emb = FakeEmbedder()
    bot = Assistant(make_settings(tmp_path / "h", chunking={"title_in_embedding": False}),
                    embedder=emb)
    boiler = "Subscribe to our newsletter for the latest news."
    write_jsonl(articles_dir / "c.jsonl", {f"n{i}": boiler for i in range(5)})
    report = bot.ingest([articles_dir])
    assert report.added == 5 and report.chunks_embedded == 1 and report.chunks_reused == 4
    assert bot.info()["chunks"] == 5


def test_other_model_is_refused_with_reindex_hint(tmp_path: Path) -> None:
    settings = make_settings(tmp_path / "h")
    Assistant(settings, embedder=FakeEmbedder()).ingest([SEED_FILE])
    other = Assistant(settings, embedder=FakeEmbedder(dimension=64, model_id="other@test"))
    with pytest.raises(ModelMismatch, match="--rebuild"):
        other.ask("Where are remaining IS cells?")
    with pytest.raises(ModelMismatch):
        other.ingest([SEED_FILE])
    report = other.ingest([SEED_FILE], rebuild=True)
    assert report.added == 1
    assert other.info()["embedding_model"] == "other@test"


def test_changed_chunking_is_refused_for_ingest(tmp_path: Path) -> None:
    Assistant(make_settings(tmp_path / "h"), embedder=FakeEmbedder()).ingest([SEED_FILE])
    bot = Assistant(make_settings(tmp_path / "h", chunking={"chunk_size": 100}),
                    embedder=FakeEmbedder())
    with pytest.raises(ModelMismatch, match="chunking"):
        bot.ingest([SEED_FILE])


class Interrupting(FakeEmbedder):
    """Raises KeyboardInterrupt on the n-th embedding call, like Ctrl-C mid-ingest."""

    def __init__(self, fail_on_call: int) -> None:
        super().__init__()
        self.fail_on_call = fail_on_call

    def embed_documents(self, texts):  # type: ignore[no-untyped-def]
        if self.calls + 1 == self.fail_on_call:
            self.calls += 1
            raise KeyboardInterrupt
        return super().embed_documents(texts)


def test_interrupted_ingest_answers_and_resumes_without_duplicates(
    tmp_path: Path, articles_dir: Path
) -> None:
    texts = {f"art{i}": f"Article {i} reports that the harbour of town{i} flooded. " * 30
             for i in range(12)}
    write_jsonl(articles_dir / "c.jsonl", texts)
    settings = make_settings(tmp_path / "h", embedding={"batch_size": 1},
                             ingest={"store_batch": 8})
    bot = Assistant(settings, embedder=Interrupting(fail_on_call=3))
    # small batches, so the interrupt falls in the middle of the run
    from index.chunk import Chunker
    from index.ingest import Ingestor

    bot.store.open(bot.expected_manifest(), create=True)
    ingestor = Ingestor(bot.store, bot.embedder, Chunker(settings.chunking, bot.embedder.token_ids),
                        batch_chunks=8, progress=False)
    with pytest.raises(KeyboardInterrupt):
        ingestor.ingest([articles_dir])
    partial = Assistant(settings, embedder=FakeEmbedder())
    n_done = partial.info()["articles"]
    assert 0 < n_done < 12
    answer = partial.ask("Which harbour flooded?")
    assert answer.citations  # the index opens and answers
    report = partial.ingest([articles_dir])
    assert report.unchanged == n_done and report.added == 12 - n_done
    ids = [c.id for c, _ in partial.store.iter_chunks()]
    assert len(ids) == len(set(ids))
    per_article = {}
    for c, _ in partial.store.iter_chunks():
        per_article[c.article_id] = per_article.get(c.article_id, 0) + 1
    assert len(per_article) == 12 and len(set(per_article.values())) == 1


class Poisoned(FakeEmbedder):
    """Fails on any batch holding a text with POISON in it, like a model choking on one
    article's odd content."""

    def embed_documents(self, texts):  # type: ignore[no-untyped-def]
        if any("POISON" in t for t in texts):
            raise RuntimeError("model failed on this text")
        return super().embed_documents(texts)


def test_an_article_that_breaks_embedding_is_skipped_alone(
    tmp_path: Path, articles_dir: Path
) -> None:
    texts = {f"ok{i}": f"Story {i} about the harbour of town{i}." for i in range(6)}
    texts["bad"] = "This article has POISON in it."
    write_jsonl(articles_dir / "c.jsonl", texts)
    bot = Assistant(make_settings(tmp_path / "h"), embedder=Poisoned())
    report = bot.ingest([articles_dir])
    assert report.added == 6 and len(report.failures) == 1
    assert "article bad: cannot embed or store" in str(report.failures[0])
    assert "c.jsonl" in str(report.failures[0])
    assert set(bot.store.records()) == {f"ok{i}" for i in range(6)}
    assert bot.check().ok


def test_an_article_that_breaks_the_splitter_is_skipped_alone(
    fake_bot: Assistant, articles_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from index.chunk import Chunker

    real = Chunker.chunk

    def chunk(self, article):  # type: ignore[no-untyped-def]
        if "TIMEOUT" in article.text:
            raise TimeoutError("sentence splitting took too long")
        return real(self, article)

    monkeypatch.setattr(Chunker, "chunk", chunk)
    write_jsonl(articles_dir / "c.jsonl", {"a": "Fine text about owls.",
                                           "b": "Text that makes the splitter TIMEOUT.",
                                           "c": "Fine text about bees."})
    report = fake_bot.ingest([articles_dir])
    assert report.added == 2 and "article b: cannot split" in str(report.failures[0])
    assert set(fake_bot.store.records()) == {"a", "c"}
