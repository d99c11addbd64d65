"""Asks run on several threads at once; writers elsewhere are followed without blocking
them; the keyword index is swapped whole, never seen half-updated."""

from __future__ import annotations

import json
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

import assistant.writing as writing
from assistant.service import Assistant
from index.chunk import Chunk
from index.keyword import KeywordIndex
from tests.conftest import SEED_FILE, make_settings
from tests.fakes import FakeEmbedder

QUESTIONS = [
    "Where are remaining IS cells?",
    "Who attacks the truffle hunters?",
    "When did the Oslo tram strike end?",
    "Which glaciers retreat faster than forecast?",
    "What do Zanzibar spice farmers expect?",
    "Who leads HTS?",
]


def _corpus(tmp_path: Path) -> Path:
    f = tmp_path / "more.jsonl"
    f.write_text("\n".join(json.dumps(r) for r in [
        {"id": "oslo", "date": "2024-03-01",
         "text": "The Oslo tram strike ended on Friday after talks with the city."},
        {"id": "ice", "text": "Glaciers in Patagonia retreat faster than forecast, "
                              "scientists in Chile said."},
        {"id": "clove", "text": "Zanzibar spice farmers expect a record clove harvest "
                                "this year."},
    ]) + "\n")
    return f


def _view(answer) -> tuple:  # type: ignore[no-untyped-def]
    short = answer.short_answer.text if answer.short_answer else None
    return (answer.text, short, tuple((c.article_id, c.start, c.end) for c in answer.citations))


def test_parallel_asks_give_the_answers_of_asking_one_at_a_time(
    fake_bot: Assistant, tmp_path: Path
) -> None:
    fake_bot.ingest([SEED_FILE, _corpus(tmp_path)])
    alone = [_view(fake_bot.ask(q)) for q in QUESTIONS]
    fresh = Assistant(fake_bot.settings, embedder=FakeEmbedder())  # nothing loaded yet
    with ThreadPoolExecutor(max_workers=8) as pool:  # first asks race to load the parts
        together = list(pool.map(lambda q: _view(fresh.ask(q)), QUESTIONS * 4))
    assert together == alone * 4


def test_searches_during_keyword_updates_see_a_whole_version(tmp_path: Path) -> None:
    index = KeywordIndex(tmp_path / "kw")
    base = [(Chunk(f"a{i}:0", f"a{i}", 0, f"harbour report number {i}", 0, 24), 0)
            for i in range(200)]
    index.update(base, [], "g0")
    errors: list[BaseException] = []
    stop = threading.Event()

    def search() -> None:
        while not stop.is_set():
            try:
                hits = index.search("harbour report", 500)
                # Every version holds the 200 base chunks, plus all or none of the batch.
                assert len(hits) in (200, 250), len(hits)
                index.date_keys_of([cid for cid, _ in hits])
            except BaseException as exc:  # reported below
                errors.append(exc)
                return

    readers = [threading.Thread(target=search) for _ in range(2)]
    for t in readers:
        t.start()
    extra = [(Chunk(f"x{i}:0", f"x{i}", 0, f"harbour report extra {i}", 0, 22), 20240101)
             for i in range(50)]
    for n in range(15):  # add the batch, remove it, add it ...
        if n % 2 == 0:
            index.update(extra, [], f"g{n + 1}")
        else:
            index.update([], [f"x{i}" for i in range(50)], f"g{n + 1}")
    stop.set()
    for t in readers:
        t.join()
    assert not errors, errors[0]
    assert len(KeywordIndex(tmp_path / "kw")) == 250  # the last version, as saved


def test_a_running_assistant_follows_another_writer_without_blocking_asks(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(writing, "FOLLOW_SECONDS", 0.0)
    settings = make_settings(tmp_path / "home")
    chat = Assistant(settings, embedder=FakeEmbedder())
    chat.ingest([SEED_FILE])
    assert not any(p.article_id == "oslo" for p in chat.ask(QUESTIONS[2]).retrieved)
    terminal = Assistant(settings, embedder=FakeEmbedder())  # say, `newsqa ingest` elsewhere
    terminal.ingest([_corpus(tmp_path)])
    deadline = time.monotonic() + 20
    while True:  # the chat notices on an ask and catches up in the background
        answer = chat.ask(QUESTIONS[2])
        if any(p.article_id == "oslo" for p in answer.retrieved):
            break
        assert time.monotonic() < deadline, "the new article never became findable"
        time.sleep(0.1)
    assert "Friday" in answer.text
    assert chat.keyword.search("tram strike Oslo", 3)[0][0] == "oslo:0"  # by keyword too
    assert len(chat.keyword) == chat.info()["chunks"]
