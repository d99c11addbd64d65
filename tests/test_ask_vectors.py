"""Warm asks embed as little as they can: the question once, only the shortlisted
sentences, and nothing already embedded by this process (issue 12, point 3)."""

from __future__ import annotations

import threading
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from assistant.extractive import ExtractiveAnswerer
from assistant.service import Assistant
from assistant.settings import AnswerSettings
from index.embed import CachedEmbedder
from index.retrieve import Passage
from tests.conftest import SEED_FILE, make_settings
from tests.fakes import FakeEmbedder

QUESTIONS = [
    "Where are remaining IS cells?",
    "Who leads the new government?",
    "What did the officials say about the economy?",
    "How warm will the Arctic summer get?",
]


class RecordingEmbedder(FakeEmbedder):
    """FakeEmbedder that remembers every text that reached the model."""

    def __init__(self) -> None:
        super().__init__()
        self.seen: list[str] = []

    def embed_documents(self, texts: Sequence[str]) -> np.ndarray:
        self.seen.extend(texts)
        return super().embed_documents(texts)

    def embed_query(self, text: str) -> np.ndarray:
        self.seen.append(text)
        return super().embed_query(text)


def _seeded(tmp_path: Path, name: str, **overrides: object) -> tuple[Assistant, RecordingEmbedder]:
    embedder = RecordingEmbedder()
    bot = Assistant(make_settings(tmp_path / name, **overrides), embedder=embedder)
    assert bot.ingest([SEED_FILE]).ok
    return bot, embedder


def test_cache_gives_the_models_vectors_and_embeds_each_text_once() -> None:
    fake = RecordingEmbedder()
    cache = CachedEmbedder(fake, 100)
    got = cache.embed_documents(["rebels took Aleppo", "the vote was delayed",
                                 "rebels took Aleppo"])
    assert np.array_equal(got, FakeEmbedder().embed_documents(
        ["rebels took Aleppo", "the vote was delayed", "rebels took Aleppo"]))
    assert fake.seen == ["rebels took Aleppo", "the vote was delayed"]
    again = cache.embed_documents(["the vote was delayed", "a new text"])
    assert fake.seen[2:] == ["a new text"]
    assert np.array_equal(again[0], got[1])
    assert np.array_equal(cache.embed_documents(["rebels took Aleppo"])[0], got[0])
    assert len(fake.seen) == 3
    cache.embed_query("rebels took Aleppo")  # a query vector is its own (E5-style models)
    assert len(fake.seen) == 4
    assert cache.model_id == fake.model_id and cache.dimension == fake.dimension


def test_cache_forgets_the_least_recently_used_beyond_its_size() -> None:
    fake = RecordingEmbedder()
    cache = CachedEmbedder(fake, 2)
    cache.embed_documents(["one text", "two text"])
    cache.embed_documents(["one text"])  # now the most recently used
    cache.embed_documents(["three text"])  # evicts "two text"
    assert len(cache) == 2
    fake.seen.clear()
    cache.embed_documents(["one text", "three text", "two text"])
    assert fake.seen == ["two text"]


def test_cache_of_size_zero_keeps_nothing() -> None:
    fake = RecordingEmbedder()
    cache = CachedEmbedder(fake, 0)
    cache.embed_query("same question")
    cache.embed_query("same question")
    assert fake.seen == ["same question", "same question"] and len(cache) == 0


def test_cache_is_safe_from_many_threads() -> None:
    cache = CachedEmbedder(FakeEmbedder(), 50)
    texts = [f"article {i} about topic {i % 7}" for i in range(120)]
    expected = FakeEmbedder().embed_documents(texts)
    wrong: list[int] = []

    def work(offset: int) -> None:
        for n in range(200):
            i = (offset * 31 + n * 7) % len(texts)
            batch = [texts[i], texts[(i + 1) % len(texts)]]
            got = cache.embed_documents(batch)
            if not (np.allclose(got[0], expected[i])
                    and np.allclose(got[1], expected[(i + 1) % len(texts)])):
                wrong.append(i)
            if not np.allclose(cache.embed_query(texts[i]), expected[i]):
                wrong.append(i)

    threads = [threading.Thread(target=work, args=(t,)) for t in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert wrong == [] and len(cache) <= 50


def test_an_ask_embeds_its_question_once(tmp_path: Path) -> None:
    bot, embedder = _seeded(tmp_path, "home")
    embedder.seen.clear()
    bot.ask(QUESTIONS[0])
    assert embedder.seen.count(QUESTIONS[0]) == 1  # retrieval's vector serves the answerer


def test_asking_again_embeds_nothing_new(tmp_path: Path) -> None:
    bot, embedder = _seeded(tmp_path, "home")
    first = bot.ask(QUESTIONS[0])
    embedder.seen.clear()
    again = bot.ask(QUESTIONS[0])
    assert embedder.seen == []
    assert again == first


def test_the_cache_never_changes_an_answer(tmp_path: Path) -> None:
    cached, _ = _seeded(tmp_path, "cached")
    plain, _ = _seeded(tmp_path, "plain", embedding={"ask_cache": 0})
    for q in QUESTIONS + QUESTIONS[::-1]:  # asked again, from the cache this time
        assert cached.ask(q) == plain.ask(q), q
    quiz = ["Syria", "Iraq", "Libya"]
    assert (cached.ask(QUESTIONS[0], choices=quiz) == plain.ask(QUESTIONS[0], choices=quiz))


def _passage(text: str) -> Passage:
    return Passage(chunk_id="a:0", article_id="a", text=text, start=0, end=len(text),
                   score=0.5, title="t", date=None, url=None, source=None)


def test_only_the_shortlisted_sentences_are_embedded_and_the_best_one_is_kept() -> None:
    filler = [f"Filler sentence number {i} talks about the weather in general terms."
              for i in range(12)]
    answer_sentence = "The Danube bridge in Novi Sad reopened on Tuesday after repairs."
    text = " ".join(filler[:6] + [answer_sentence] + filler[6:])
    embedder = RecordingEmbedder()
    answerer = ExtractiveAnswerer(embedder, AnswerSettings(embedded_sentences=3))
    question = "When did the Danube bridge in Novi Sad reopen?"
    answer = answerer.answer(question, [_passage(text)])
    sentences = [t for t in embedder.seen if t != question]
    assert len(sentences) == 3 and answer_sentence in sentences
    assert answer.citations[0].quote == answer_sentence
