"""Retention (`newsqa prune`, `Assistant.prune`, NEWSQA_INGEST__KEEP_DAYS after a feed
poll): old articles go by their date, undated ones by when they were indexed, none of
unknown age, and the index is consistent afterwards (`newsqa check`)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from pathlib import Path
from types import SimpleNamespace

import pytest

import index.store as store_module
from assistant.service import Assistant
from index.record import article_meta
from tests.conftest import make_settings, run_cli
from tests.fakes import FakeEmbedder
from tests.webserver import Route, WebServer, page, rss
from ui import cli

NOW = datetime.now(UTC)
LOOPBACK = {"allowed_hosts": ["127.0.0.1"], "read_timeout_s": 1.0}


def days_ago(n: int) -> str:
    return (NOW - timedelta(days=n)).date().isoformat()


def corpus(path: Path, rows: list[tuple[str, str | None]]) -> Path:
    """A JSONL file of articles (id, date or None), each with words of its own."""
    path.write_text("".join(json.dumps({
        "id": aid, "title": f"Council report {aid}",
        "text": f"The council of {aid} met about the harbour of {aid} on Monday. " * 6,
        **({"date": day} if day else {})}) + "\n" for aid, day in rows))
    return path


def titles(bot: Assistant) -> set[str]:
    bot.open()
    return {a.title for a in bot.store.articles(list(bot.store.records())).values()}


def test_prune_removes_exactly_the_articles_published_before_the_cutoff(
        fake_bot: Assistant, tmp_path: Path) -> None:
    fake_bot.ingest([corpus(tmp_path / "a.jsonl", [
        ("ancient", "2019-05-01"), ("gone", days_ago(182)), ("edge", days_ago(178)),
        ("fresh", days_ago(3)), ("undated", None)])])
    report = fake_bot.prune(180)
    assert report.dated == ("ancient", "gone") and report.undated == () and not report.stamped
    assert report.lines()[0].startswith("pruned 2 article(s) older than 180 day(s): 2 "
                                        f"published before {days_ago(180)}, 0 undated")
    assert set(fake_bot.store.records()) == {"edge", "fresh", "undated"}
    assert fake_bot.check().ok  # chunks, vectors and keyword entries went with them
    assert not {p.article_id for p in fake_bot.retriever.retrieve("harbour of ancient", 8)} \
        & {"ancient", "gone"}
    assert fake_bot.prune(180).removed == ()


def test_undated_articles_go_by_when_they_were_indexed(
        fake_bot: Assistant, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    with monkeypatch.context() as m:  # indexed 40 days ago
        m.setattr(store_module, "time", SimpleNamespace(time=lambda: NOW.timestamp() - 40 * 86400))
        fake_bot.ingest([corpus(tmp_path / "old.jsonl", [("stale", None)])])
    fake_bot.ingest([corpus(tmp_path / "new.jsonl", [("recent", None), ("dated", days_ago(1))])])
    report = fake_bot.prune(30)
    assert report.undated == ("stale",) and report.dated == ()
    assert set(fake_bot.store.records()) == {"recent", "dated"}
    later = fake_bot.prune(30, now=NOW + timedelta(days=31))  # a month on, all have aged
    assert set(later.removed) == {"recent", "dated"} and fake_bot.check().ok


def test_articles_of_unknown_age_are_never_pruned_but_age_from_the_first_prune(
        fake_bot: Assistant, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def legacy(art, chunks, ingested, *rest):  # type: ignore[no-untyped-def]
        return {k: v for k, v in article_meta(art, chunks, ingested, *rest).items()
                if k != "ingested"}

    with monkeypatch.context() as m:  # records as written before ingest times were kept
        m.setattr(store_module, "article_meta", legacy)
        fake_bot.ingest([corpus(tmp_path / "a.jsonl", [("legacy", None), ("old", "2019-01-01")])])
    dry = fake_bot.prune(30, dry_run=True)
    assert dry.removed == ("old",) and dry.stamped == 1 and "would count" in dry.lines()[1]
    assert fake_bot.prune(30, dry_run=True).stamped == 1  # a dry run stamps nothing
    first = fake_bot.prune(30, now=NOW + timedelta(days=400))
    assert first.removed == ("old",) and first.stamped == 1 and "now count" in first.lines()[1]
    assert set(fake_bot.store.records()) == {"legacy"}  # its age starts at that prune
    assert fake_bot.prune(30, now=NOW + timedelta(days=420)).removed == ()
    assert fake_bot.prune(30, now=NOW + timedelta(days=431)).undated == ("legacy",)


def test_a_dry_run_changes_nothing(fake_bot: Assistant, tmp_path: Path) -> None:
    fake_bot.ingest([corpus(tmp_path / "a.jsonl", [("old", "2019-01-01"), ("new", days_ago(1))])])
    before = (fake_bot.store.counts(), fake_bot.store.generation(), fake_bot.keyword.chunk_ids)
    report = fake_bot.prune(180, dry_run=True)
    assert report.dry_run and report.removed == ("old",)
    assert report.lines()[0].startswith("would prune 1 article(s)")
    assert (fake_bot.store.counts(), fake_bot.store.generation(),
            fake_bot.keyword.chunk_ids) == before


def test_an_age_must_be_positive(fake_bot: Assistant) -> None:
    from assistant.errors import SettingsError

    with pytest.raises(SettingsError, match="more than 0 days"):
        fake_bot.prune(0)


# -- the command line --------------------------------------------------------------------

def cli_bot(home: Path, **settings: object) -> Assistant:
    return Assistant(make_settings(home, **settings), embedder=FakeEmbedder())


@pytest.fixture
def cli_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    home = tmp_path / "home"
    monkeypatch.setattr(cli, "_open", lambda args: cli_bot(home))
    return home


def test_newsqa_prune_dry_run_then_prune_then_check(cli_home: Path, tmp_path: Path,
                                                    capsys: pytest.CaptureFixture[str]) -> None:
    path = corpus(tmp_path / "a.jsonl", [("old", "2019-01-01"), ("older", "2018-01-01"),
                                         ("new", days_ago(1)), ("undated", None)])
    assert run_cli(capsys, "ingest", "--quiet", str(path))[0] == 0
    code, out, _ = run_cli(capsys, "prune", "--older-than", "26w", "--dry-run")
    assert code == 0 and out.startswith("would prune 2 article(s) older than 182 day(s)")
    assert run_cli(capsys, "info")[1].startswith("articles: 4")
    code, out, _ = run_cli(capsys, "prune", "--older-than", "180d", "--no-wait")
    assert code == 0 and out.startswith("pruned 2 article(s) older than 180 day(s)")
    code, out, _ = run_cli(capsys, "check")
    assert code == 0 and out.startswith("2 article(s)"), out


@pytest.mark.parametrize("age", ["6m", "180", "0d", "-5d", "1.5d", "soon", ""])
def test_a_bad_age_exits_2_naming_the_flag_and_an_example(
        age: str, cli_home: Path, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exited:
        cli.main(["prune", f"--older-than={age}"])
    err = capsys.readouterr().err
    assert exited.value.code == 2
    assert "argument --older-than:" in err and "like 180d (days) or 12w (weeks)" in err, err


def test_prune_without_an_age_uses_keep_days_or_says_what_to_give(
        cli_home: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    path = corpus(tmp_path / "a.jsonl", [("old", "2019-01-01"), ("new", days_ago(1))])
    assert run_cli(capsys, "ingest", "--quiet", str(path))[0] == 0
    code, _, err = run_cli(capsys, "prune")
    assert code == 2 and "--older-than 180d" in err and "NEWSQA_INGEST__KEEP_DAYS" in err
    monkeypatch.setattr(cli, "_open", lambda args: cli_bot(cli_home, ingest={"keep_days": 90}))
    code, out, _ = run_cli(capsys, "prune", "--dry-run")
    assert code == 0 and out.startswith("would prune 1 article(s) older than 90 day(s)")


# -- following feeds ------------------------------------------------------------------------

@pytest.fixture
def feed() -> Iterator[tuple[WebServer, str]]:
    """A feed with an item published years ago and one published yesterday."""
    web = WebServer()
    items = []
    for name, when in (("Ancient", datetime(2019, 4, 1, 9, tzinfo=UTC)),
                       ("Recent", NOW - timedelta(days=1))):
        path = f"/{name.lower()}.html"
        web.route(path, Route(body=page(f"{name} story", [
            f"The {name.lower()} harbour of Springfield reopened on Monday, officials said.",
            f"Visitors praised the {name.lower()} harbour's new design."])))
        items.append({"title": f"{name} story", "link": web.url(path), "guid": name,
                      "pubDate": format_datetime(when, usegmt=True)})
    web.route("/feed.xml", Route(body=rss("News", items), etag=True,
                                 content_type="application/rss+xml"))
    yield web, web.url("/feed.xml")
    web.close()


def follow_bot(home: Path, keep_days: float | None = 365) -> Assistant:
    return Assistant(make_settings(home, fetch=LOOPBACK, ingest={"keep_days": keep_days}),
                     embedder=FakeEmbedder())


def test_follow_prunes_after_each_poll_when_keep_days_is_set(
        feed: tuple[WebServer, str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    home = tmp_path / "home"
    monkeypatch.setattr(cli, "_open", lambda args: follow_bot(home))
    code, out, err = run_cli(capsys, "follow", "--once", "--quiet", feed[1])
    assert code == 0, err
    assert "2 added, 0 updated, 0 unchanged; 1 pruned (older than 365 days)" in out
    assert titles(follow_bot(home)) == {"Recent story"}
    code, out, _ = run_cli(capsys, "follow", "--once", "--quiet", feed[1])
    assert "0 added, 0 updated, 0 unchanged; 0 pruned" in out  # seen: not fetched again
    assert run_cli(capsys, "check")[0] == 0
    monkeypatch.setattr(cli, "_open", lambda args: follow_bot(home, keep_days=None))
    assert "pruned" not in run_cli(capsys, "follow", "--once", "--quiet", feed[1])[1]


def test_a_fetched_file_goes_when_all_its_articles_are_pruned(
        feed: tuple[WebServer, str], tmp_path: Path) -> None:
    bot = follow_bot(tmp_path / "home")
    _, fetched = bot.ingest_urls([feed[1]])
    assert fetched.path is not None and fetched.path.exists()
    assert len(bot.prune(365).removed) == 1 and fetched.path.exists()  # Recent is in it
    assert len(bot.prune(365, now=NOW + timedelta(days=400)).removed) == 1
    assert not fetched.path.exists() and bot.check().ok


def test_the_server_poller_prunes_through_the_ingest_worker(
        feed: tuple[WebServer, str], tmp_path: Path) -> None:
    from ui.follow import FeedPoller
    from ui.worker import IngestWorker

    bot = follow_bot(tmp_path / "home")
    worker = IngestWorker(bot)
    worker.start()
    try:
        poller = FeedPoller(bot, worker, [feed[1]], every_s=3600)
        poller.poll()
        assert poller.status.to_json()["last_pruned"] == 1
        jobs = {j.kind: j for j in worker.recent()}
        assert set(jobs) == {"follow", "prune"} and jobs["follow"].added == 2
        assert jobs["prune"].state == "done" and jobs["prune"].removed == 1
        assert jobs["prune"].summary() == "done: 1 article(s) pruned"
        assert titles(bot) == {"Recent story"} and bot.check().ok
        poller.poll()  # nothing new, nothing old: no job at all
        assert poller.status.last_pruned == 0 and len(worker.recent()) == 2
    finally:
        worker.stop()


def test_a_prune_job_cut_short_by_a_restart_runs_again() -> None:
    from ui.jobs import Job, interrupted

    job = interrupted(Job("0" * 32, "running", "prune", "articles older than 90 day(s)", ()))
    assert job.state == "queued" and job.resumed == 1  # no input file to lose
