"""Watched questions (issue 32, point 2), with the fake embedder: a question asked again
after the writes that could change its answer, each change recorded once with the old and
new answers and the new dated citations; an unrelated article asks nothing again."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import pytest

from assistant.errors import EmptyQuestion, ScopeError, TooManyWatches, WatchNotFound
from assistant.service import Assistant
from assistant.watch.record import Snapshot, reasons
from assistant.watch.store import WatchStore
from tests.conftest import make_settings
from tests.fakes import FakeEmbedder

Q = "Who leads the Harbour Authority?"
FIRST = {"id": "harbour-1", "title": "Harbour Authority names new chief executive",
         "date": "2026-10-01", "source": "Port News",
         "text": "The Harbour Authority on Monday named Maria Okafor as its chief executive. "
                 "Okafor, a former port engineer who spent a decade running the container "
                 "terminal, takes over at a time of record cargo volumes."}
CHANGE = {"id": "harbour-2", "title": "Harbour Authority changes chief", "date": "2026-10-22",
          "source": "Daily Dock",
          "text": "Maria Okafor resigned as chief executive of the Harbour Authority on "
                  "Friday, citing a dispute with the board over the quay budget. The board "
                  "appointed Tomas Lindqvist, its finance director, to lead the authority."}
UNRELATED = {"id": "tram", "title": "Tram line opens", "date": "2026-10-23",
             "source": "City Desk",
             "text": "The new tram line opened in Grenoble on Saturday. The project cost 180 "
                     "million euros and took four years to build."}


def write(path: Path, *articles: dict[str, str]) -> Path:
    path.write_text("".join(json.dumps(a) + "\n" for a in articles), encoding="utf-8")
    return path


@pytest.fixture
def bot(tmp_path: Path) -> Assistant:
    b = Assistant(make_settings(tmp_path / "home"), embedder=FakeEmbedder())
    assert b.ingest([write(tmp_path / "first.jsonl", FIRST)]).ok
    return b


def test_a_new_holder_is_one_change_with_old_and_new_answers(bot: Assistant,
                                                             tmp_path: Path) -> None:
    watch, new = bot.watcher.add(Q)
    assert new and watch.answer is not None and watch.answer.short == "Maria Okafor"
    assert bot.watcher.changes() == []
    bot.ingest([write(tmp_path / "change.jsonl", CHANGE)], drop_missing=False)
    assert bot.last_recheck is not None and bot.last_recheck.asked == 1
    changes = bot.watcher.changes()
    assert len(changes) == 1
    change = changes[0]
    assert change.watch_id == watch.id and change.reasons == ("answer",)
    assert change.old.short == "Maria Okafor" and change.new.short == "Tomas Lindqvist"
    assert change.old.confidence is not None and change.new.confidence is not None
    cited = [c for c in change.new.citations if c.article_id == "harbour-2"]
    assert cited and cited[0].date == "2026-10-22" and cited[0].source == "Daily Dock"
    assert "Lindqvist" in change.summary() and "Okafor" in change.summary()
    assert bot.watcher.get(watch.id).answer.short == "Tomas Lindqvist"  # type: ignore[union-attr]
    # The same article again is no write; nothing is asked, nothing recorded.
    bot.ingest([write(tmp_path / "again.jsonl", CHANGE)], drop_missing=False)
    assert len(bot.watcher.changes()) == 1


def test_an_unrelated_article_asks_no_watch_again(bot: Assistant, tmp_path: Path) -> None:
    bot.watcher.add(Q)
    asked = bot.watcher.asks
    bot.ingest([write(tmp_path / "tram.jsonl", UNRELATED)], drop_missing=False)
    assert bot.watcher.asks == asked  # not re-asked at all
    assert bot.last_recheck is not None and bot.last_recheck.read == 1
    assert bot.last_recheck.asked == 0 and bot.watcher.changes() == []


def test_an_article_outside_the_watchs_sources_asks_nothing(bot: Assistant,
                                                            tmp_path: Path) -> None:
    watch, _ = bot.watcher.add(Q, sources=["port news"])  # any case, stored as indexed
    assert watch.sources == ("Port News",)
    asked = bot.watcher.asks
    bot.ingest([write(tmp_path / "change.jsonl", CHANGE)], drop_missing=False)  # Daily Dock
    assert bot.watcher.asks == asked and bot.watcher.changes() == []


def test_removing_a_cited_article_asks_again(bot: Assistant, tmp_path: Path) -> None:
    watch, _ = bot.watcher.add(Q)
    bot.ingest([write(tmp_path / "change.jsonl", CHANGE)], drop_missing=False)
    assert bot.remove(["harbour-2"]) == ["harbour-2"]
    changes = bot.watcher.changes(watch.id)
    assert [c.new.short for c in changes] == ["Maria Okafor", "Tomas Lindqvist"]  # newest first


def test_watches_and_changes_survive_a_restart(bot: Assistant, tmp_path: Path) -> None:
    watch, _ = bot.watcher.add(Q)
    bot.ingest([write(tmp_path / "change.jsonl", CHANGE)], drop_missing=False)
    again = Assistant(make_settings(bot.settings.home), embedder=FakeEmbedder())
    assert [w.id for w in again.watcher.watches()] == [watch.id]
    assert again.watcher.watches()[0].changes == 1
    assert again.watcher.changes(watch.id)[0].new.short == "Tomas Lindqvist"


def test_the_same_question_is_watched_once(bot: Assistant) -> None:
    first, new = bot.watcher.add(Q)
    second, again = bot.watcher.add("  who leads the harbour   authority? ")
    assert new and not again and second.id == first.id
    assert len(bot.watcher.watches()) == 1
    third, new3 = bot.watcher.add(Q, since=date(2026, 10, 1))
    assert new3 and third.id != first.id  # another scope is another watch


def test_bad_watches_are_refused_with_what_to_do(tmp_path: Path) -> None:
    b = Assistant(make_settings(tmp_path / "home", watch={"max_watches": 1}),
                  embedder=FakeEmbedder())
    assert b.ingest([write(tmp_path / "first.jsonl", FIRST)]).ok
    with pytest.raises(EmptyQuestion):
        b.watcher.add("   ")
    with pytest.raises(ScopeError, match="Port News"):
        b.watcher.add(Q, sources=["Nowhere Times"])
    b.watcher.add(Q)
    with pytest.raises(TooManyWatches, match="NEWSQA_WATCH__MAX_WATCHES"):
        b.watcher.add("Who named Maria Okafor?")
    with pytest.raises(WatchNotFound, match="newsqa watch list"):
        b.watcher.remove("nope")
    assert len(b.watcher.watches()) == 1  # nothing lost


def test_a_home_without_watches_pays_nothing_after_a_write(bot: Assistant,
                                                          tmp_path: Path) -> None:
    bot.ingest([write(tmp_path / "change.jsonl", CHANGE)], drop_missing=False)
    assert bot.last_recheck is None
    assert not WatchStore(bot.settings.home).exists()


def _snap(short: str | None, stated: bool = True, newest: str = "2026-10-01",
          abstained: bool = False, quote: str = "Maria Okafor leads it, Okafor said.",
          ) -> Snapshot:
    from assistant.watch.record import Cited

    cite = Cited(n=1, article_id="a", title="t", date=newest, source=None, url=None,
                 quote=quote)
    return Snapshot(text="", short=short, confidence=0.9, stated=stated, abstained=abstained,
                    citations=(cite,), asked="2026-12-01T00:00:00Z")


@pytest.mark.parametrize(("old", "new", "expected"), [
    (_snap("Maria Okafor"), _snap("Tomas Lindqvist"), ("answer",)),
    (_snap("Michael Erik Kurilla"), _snap("General Michael Erik Kurilla"), ()),  # one answer
    (_snap("six"), _snap("6"), ()),
    (_snap("Okafor"), _snap("Okafor", stated=False), ("stated",)),
    (_snap("Okafor"), _snap("Okafor", newest="2026-11-02"), ("newer",)),
    # a newer article is cited, but its quote does not state the answer: no support
    (_snap("Okafor"), _snap("Okafor", newest="2026-11-02", quote="Lindqvist took over."), ()),
    (_snap(None), _snap(None, newest="2026-11-02"), ("newer",)),  # why-questions: newer quotes
    (_snap(None), _snap(None), ()),
    (_snap("Okafor"), _snap(None, abstained=True), ("answer",)),
])
def test_what_counts_as_a_change(old: Snapshot, new: Snapshot,
                                 expected: tuple[str, ...]) -> None:
    assert reasons(old, new) == expected


def test_the_watch_commands(bot: Assistant, tmp_path: Path, capsys: pytest.CaptureFixture[str],
                            monkeypatch: pytest.MonkeyPatch) -> None:
    from tests.conftest import run_cli
    from ui import cli

    monkeypatch.setattr(cli, "_open", lambda args: Assistant(bot.settings,
                                                              embedder=FakeEmbedder()))
    code, out, _ = run_cli(capsys, "watch", "list")
    assert code == 0 and "no watches" in out
    code, out, _ = run_cli(capsys, "watch", "add", "Who", "leads", "the", "Harbour",
                           "Authority?")
    assert code == 0 and out.startswith("watching: ") and "Maria Okafor" in out
    watch_id = out.split()[1]
    code, out, _ = run_cli(capsys, "ingest", "--quiet", str(write(tmp_path / "c.jsonl", CHANGE)))
    assert code == 0 and "watches: 1 re-checked, 1 change(s)" in out
    assert "Maria Okafor (0." in out and "-> Tomas Lindqvist" in out
    code, out, _ = run_cli(capsys, "watch", "changes", "--json")
    rows = [json.loads(line) for line in out.splitlines()]
    assert [(r["watch_id"], r["new"]["short"]) for r in rows] == [(watch_id, "Tomas Lindqvist")]
    code, out, _ = run_cli(capsys, "watch", "changes", watch_id)
    assert "Daily Dock, 2026-10-22" in out  # the new citation, with source and date
    code, out, _ = run_cli(capsys, "watch", "list")
    assert f"{watch_id}  {Q}  -> Tomas Lindqvist" in out and "1 change(s)" in out
    code, _, err = run_cli(capsys, "watch", "remove", "nope")
    assert code == 2 and "no watch 'nope'" in err
    code, out, _ = run_cli(capsys, "watch", "remove", watch_id)
    assert code == 0 and run_cli(capsys, "watch", "list")[1].startswith("no watches")


def test_with_rechecks_off_only_watch_check_asks_again(tmp_path: Path,
                                                       capsys: pytest.CaptureFixture[str],
                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    from tests.conftest import run_cli
    from ui import cli

    b = Assistant(make_settings(tmp_path / "home", watch={"on_write": False}),
                  embedder=FakeEmbedder())
    assert b.ingest([write(tmp_path / "first.jsonl", FIRST)]).ok
    watch, _ = b.watcher.add(Q)
    b.ingest([write(tmp_path / "change.jsonl", CHANGE)], drop_missing=False)
    assert b.last_recheck is None and b.watcher.changes() == []  # the write asked nothing
    monkeypatch.setattr(cli, "_open", lambda args: Assistant(b.settings,
                                                              embedder=FakeEmbedder()))
    code, out, _ = run_cli(capsys, "watch", "check")
    assert code == 0 and out.startswith("watches: 1 re-checked, 1 change(s)")
    assert [c.new.short for c in b.watcher.changes(watch.id)] == ["Tomas Lindqvist"]
