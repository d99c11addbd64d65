"""One story across its copies (issue 32, point 3), with the fake embedder: a reprint or
a republished update joins the first article's story at ingest, `newsqa info` counts the
stories, and an answer quotes one copy and names the others as *also published by*."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from assistant.service import Assistant
from index.story import SAME_STORY_AT, fingerprint
from tests.conftest import make_settings, run_cli
from tests.fakes import FakeEmbedder

TEXT = ("The Harbour Authority on Monday named Maria Okafor as its chief executive. Okafor, "
        "a former port engineer who spent a decade running the container terminal, takes "
        "over at a time of record cargo volumes. The board said she would lead the "
        "expansion of the northern quay, a project expected to double capacity by 2030. "
        "Unions welcomed the appointment, and the city council praised the choice.")
WIRE = {"id": "ap-1", "title": "Harbour names chief", "date": "2026-10-01", "source": "AP",
        "text": TEXT}
REPRINT = {"id": "dock-1", "title": "Okafor to head harbour", "date": "2026-10-02",
           "source": "Daily Dock", "url": "https://dock.example.com/okafor",
           "text": TEXT + " Shares of port operators rose on the news."}
OTHER = {"id": "tram", "title": "Tram line opens", "date": "2026-10-02", "source": "City Desk",
         "text": "The new tram line opened in Grenoble on Saturday. The project cost 180 "
                 "million euros and took four years to build, the city said."}
Q = "Who leads the Harbour Authority?"


def write(path: Path, *articles: dict[str, str]) -> Path:
    path.write_text("".join(json.dumps(a) + "\n" for a in articles), encoding="utf-8")
    return path


def test_fingerprints_tell_copies_from_other_articles() -> None:
    wire, reprint, other = (fingerprint(a["text"]) for a in (WIRE, REPRINT, OTHER))
    assert wire.similarity(fingerprint(TEXT)) == 1.0
    assert wire.similarity(reprint) >= SAME_STORY_AT  # one sentence added
    assert wire.similarity(other) < 0.2
    assert len(wire.bands()) == 16 and wire.bands() == fingerprint(TEXT).bands()


@pytest.fixture
def bot(tmp_path: Path) -> Assistant:
    b = Assistant(make_settings(tmp_path / "home"), embedder=FakeEmbedder())
    assert b.ingest([write(tmp_path / "first.jsonl", WIRE, OTHER)]).ok
    return b


def test_a_reprint_joins_the_story_and_the_answer_names_it(bot: Assistant,
                                                           tmp_path: Path) -> None:
    assert bot.ingest([write(tmp_path / "reprint.jsonl", REPRINT)], drop_missing=False).ok
    assert bot.story_count() == 2  # 3 articles, one of them a copy
    answer = bot.ask(Q)
    cited = {c.article_id: c for c in answer.citations}
    assert "ap-1" in cited or "dock-1" in cited
    first = cited.get("ap-1") or cited["dock-1"]
    other = "dock-1" if first.article_id == "ap-1" else "ap-1"
    assert [a.article_id for a in first.also] == [other]
    as_json = answer.to_json()["citations"][0]["also"]
    assert as_json and as_json[0]["article_id"] == other and as_json[0]["source"]
    assert all(not c.also for c in answer.citations if c.article_id == "tram")


def test_copies_in_one_batch_and_after_the_first_is_removed(tmp_path: Path) -> None:
    b = Assistant(make_settings(tmp_path / "home"), embedder=FakeEmbedder())
    third = {**REPRINT, "id": "port-1", "source": "Port Weekly",
             "text": TEXT + " The appointment takes effect in November."}
    assert b.ingest([write(tmp_path / "all.jsonl", WIRE, REPRINT, OTHER)]).ok
    assert b.story_count() == 2
    b.remove(["ap-1"])  # the story's first article goes; its copies stay one story
    assert b.ingest([write(tmp_path / "third.jsonl", third)], drop_missing=False).ok
    assert b.story_count() == 2
    members = b.store.story_members(["ap-1"])["ap-1"]
    assert sorted(a.id for a in members) == ["dock-1", "port-1"]
    # the home's band table (what ingest looks copies up in) followed the removal
    from index.bands import BandTable

    table = BandTable(b.settings.home)
    assert {k: sorted(v) for k, v in table.members(["ap-1", "tram"]).items()} == {
        "ap-1": ["dock-1", "port-1"]}  # a story of one article is not listed
    assert {m.article_id for m in table.candidates(fingerprint(TEXT).bands())} == {
        "dock-1", "port-1"}


def test_an_identical_passage_is_read_once(tmp_path: Path) -> None:
    b = Assistant(make_settings(tmp_path / "home", ingest={"stories": False}),
                  embedder=FakeEmbedder())
    same = {**WIRE, "id": "copy", "source": "Copy Times", "date": "2026-10-03"}
    assert b.ingest([write(tmp_path / "a.jsonl", WIRE, same, OTHER)]).ok
    assert b.story_count() == 3  # grouping off: each its own
    answer = b.ask(Q)
    texts = [p.text for p in answer.retrieved]
    assert len(texts) == len(set(texts))  # the copy gave its place to another passage
    assert {p.article_id for p in answer.retrieved} >= {"tram"}
    first = answer.citations[0]
    assert [a.article_id for a in first.also] in (["copy"], ["ap-1"])
    # The evaluation counts the copy as read: its text was, under the other id.
    from assistant.evaluation.run import seen_as

    dropped = "copy" if "copy" not in {p.article_id for p in answer.retrieved} else "ap-1"
    assert dropped in seen_as(answer, [dropped])
    assert answer.to_json()["retrieved"][0]["copies"] == [dropped]


def test_info_counts_the_stories(bot: Assistant, tmp_path: Path,
                                 capsys: pytest.CaptureFixture[str],
                                 monkeypatch: pytest.MonkeyPatch) -> None:
    from ui import cli

    bot.ingest([write(tmp_path / "reprint.jsonl", REPRINT)], drop_missing=False)
    monkeypatch.setattr(cli, "_open", lambda args: Assistant(bot.settings,
                                                              embedder=FakeEmbedder()))
    code, out, _ = run_cli(capsys, "info")
    assert code == 0 and "stories: 2 (1 article(s) are copies of another)" in out
    code, out, _ = run_cli(capsys, "ask", Q)
    assert "also published by: " in out


def test_the_sources_panel_names_the_copies(bot: Assistant, tmp_path: Path) -> None:
    from ui.render import sources_html

    bot.ingest([write(tmp_path / "reprint.jsonl", REPRINT)], drop_missing=False)
    answer = bot.ask(Q)
    html = sources_html(answer)
    assert "Also published by: " in html
    assert ("Daily Dock, 2026-10-02" in html) or ("AP, 2026-10-01" in html)


def test_check_repair_makes_the_lookup_table_again(bot: Assistant, tmp_path: Path) -> None:
    """A lost `stories.sqlite` (it is no backup) comes back from the article records."""
    from index.bands import FILE, BandTable

    bot.ingest([write(tmp_path / "reprint.jsonl", REPRINT)], drop_missing=False)
    (bot.settings.home / FILE).unlink()
    assert BandTable(bot.settings.home).members(["ap-1"]) == {}
    bot.check(repair=True)
    assert {k: sorted(v) for k, v in BandTable(bot.settings.home).members(["ap-1"]).items()} \
        == {"ap-1": ["ap-1", "dock-1"]}
    assert bot.ask(Q).citations[0].also  # copies named again
