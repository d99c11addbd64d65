"""Date and source filters (`ask --since/--until/--source`, the same fields in /api/ask,
the chat's filter): an answer cites only articles inside the filter, whatever the
retrieval mode, and `newsqa info` lists the sources to filter by."""

from __future__ import annotations

import json
import random
from datetime import date, timedelta
from pathlib import Path

import pytest

from assistant.errors import ScopeError
from assistant.service import Assistant
from index.hybrid import HybridRetriever
from index.scope import Scope
from tests.conftest import make_settings
from tests.fakes import FakeEmbedder
from ui import cli

SOURCES = ["Reuters", "AP News", "BBC"]
TOPICS = ["flood", "election", "harbour", "wildfire", "strike", "vaccine"]
START = date(2024, 1, 1)


def corpus(n: int = 90, seed: int = 7) -> list[dict[str, str]]:
    rng = random.Random(seed)
    out = []
    for i in range(n):
        topic = TOPICS[i % len(TOPICS)]
        rec = {"id": f"a{i}", "title": f"{topic.title()} report {i}",
               "text": f"The {topic} in Springfield was reported on day {i}. Officials said "
                       f"the {topic} affected {rng.randint(10, 900)} people and that help "
                       f"for the {topic} victims was on its way."}
        if i % 10:  # every tenth article undated and without source
            rec["date"] = (START + timedelta(days=rng.randint(0, 120))).isoformat()
            rec["source"] = SOURCES[rng.randrange(len(SOURCES))]
        out.append(rec)
    return out


@pytest.fixture(scope="module", params=["hybrid", "dense", "bm25", "hybrid-few"])
def bot(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Assistant:
    home = tmp_path_factory.mktemp("scope")
    path = home / "news.jsonl"
    path.write_text("\n".join(json.dumps(r) for r in corpus()) + "\n")
    # hybrid-few: so few candidates that the nearest chunks over-fetched without the filter
    # leave too few inside a narrow one, and the store's exact filter is used instead
    mode, _, few = request.param.partition("-")
    retrieval: dict[str, object] = {"mode": mode, **({"candidates": 3} if few else {})}
    b = Assistant(make_settings(home / "home", retrieval=retrieval), embedder=FakeEmbedder())
    assert b.ingest([path]).added == 90
    return b


def test_every_citation_and_passage_is_inside_the_filter(bot: Assistant) -> None:
    rng = random.Random(11)
    meta = {r["id"]: r for r in corpus()}
    checked = 0
    for _ in range(30):
        since = START + timedelta(days=rng.randint(0, 90)) if rng.random() < 0.7 else None
        until = (since or START) + timedelta(days=rng.randint(0, 60)) if rng.random() < 0.7 \
            else None
        sources = tuple(rng.sample(SOURCES, rng.randint(0, 2)))
        scope = bot.resolve_scope(since, until, [s.lower() for s in sources])
        answer = bot.ask(f"How many people did the {rng.choice(TOPICS)} affect?", scope=scope)
        want = Scope(since=since, until=until, sources=sources)
        for aid in [c.article_id for c in answer.citations] + \
                [p.article_id for p in answer.retrieved]:
            rec = meta[aid]
            day = date.fromisoformat(rec["date"]) if "date" in rec else None
            assert want.admits(day, rec.get("source")), (want, rec)
            checked += 1
    assert checked > 50  # the filters left something to answer from


def test_a_filter_that_matches_nothing_abstains(bot: Assistant) -> None:
    scope = bot.resolve_scope(date(2030, 1, 1), None, [])
    answer = bot.ask("How many people did the flood affect?", scope=scope)
    assert answer.abstained and not answer.citations


def test_unknown_sources_and_empty_ranges_are_named(bot: Assistant) -> None:
    with pytest.raises(ScopeError, match="no articles from source 'Fox'.*AP News, BBC, Reuters"):
        bot.resolve_scope(None, None, ["Fox"])
    with pytest.raises(ScopeError, match="is after the end date"):
        bot.resolve_scope(date(2024, 3, 1), date(2024, 2, 1), [])
    assert bot.resolve_scope(None, None, []) is None


def test_info_lists_sources_with_counts_and_date_ranges(bot: Assistant) -> None:
    sources = {s.name: s for s in bot.sources()}
    assert set(sources) == {*SOURCES, ""}
    assert sources[""].articles == 9 and sources[""].first is None
    assert sum(s.articles for s in sources.values()) == 90
    assert all(START <= s.first <= s.last for n, s in sources.items() if n)  # type: ignore[operator]


def test_cli_filters_and_info(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                              capsys: pytest.CaptureFixture[str]) -> None:
    home = tmp_path / "home"
    monkeypatch.setattr(cli, "_open", lambda args: Assistant(make_settings(home),
                                                              embedder=FakeEmbedder()))
    path = tmp_path / "news.jsonl"
    path.write_text("\n".join(json.dumps(r) for r in corpus()) + "\n")
    assert cli.main(["ingest", "--quiet", str(path)]) == 0
    capsys.readouterr()
    assert cli.main(["info"]) == 0
    out = capsys.readouterr().out
    assert "sources: 4" in out and "(no source): 9 article(s), undated" in out
    code = cli.main(["ask", "--json", "--source", "bbc", "--since", "2024-02-01",
                     "How many people did the wildfire affect?"])
    answer = json.loads(capsys.readouterr().out)
    assert code == 0 and answer["citations"]
    meta = {r["id"]: r for r in corpus()}
    for c in answer["citations"]:
        assert meta[c["article_id"]]["source"] == "BBC" and c["date"] >= "2024-02-01"
    assert cli.main(["ask", "--since", "2031-01-01", "How many people did the flood affect?"]) == 0
    out = capsys.readouterr().out
    assert "don't say anything" in out and "(Only articles from 2031-01-01 were searched.)" in out
    assert cli.main(["ask", "--source", "Fox", "flood?"]) == 2
    assert "no articles from source 'Fox'" in capsys.readouterr().err


def test_bad_filter_dates_are_named(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                    capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setattr(cli, "_open", lambda args: Assistant(make_settings(tmp_path / "h"),
                                                              embedder=FakeEmbedder()))
    with pytest.raises(SystemExit) as exited:
        cli.main(["ask", "--since", "last week", "flood?"])
    assert exited.value.code == 2
    assert "'last week' is not a date like 2024-12-10" in capsys.readouterr().err


def test_sources_follow_what_is_indexed_and_removed(fake_bot: Assistant, tmp_path: Path) -> None:
    for aid, source in (("a", "Harbour Herald"), ("b", "Bridge Bulletin")):
        path = tmp_path / f"{aid}.jsonl"
        path.write_text(json.dumps({"id": aid, "source": source, "date": "2024-01-01",
                                    "text": f"The {source} reported the reopening."}) + "\n")
        fake_bot.ingest([path])
        assert source in [s.name for s in fake_bot.sources()]
    fake_bot.remove(["a"])
    assert [s.name for s in fake_bot.sources()] == ["Bridge Bulletin"]
    with pytest.raises(ScopeError, match="Harbour Herald"):
        fake_bot.resolve_scope(None, None, ["Harbour Herald"])


def test_dense_ranking_within_a_scope_is_the_exact_filtered_one(tmp_path: Path) -> None:
    """Over-fetching unfiltered neighbours and keeping those inside the scope gives the
    same dense ranking as Chroma's exact filter, whether many or few survive."""
    path = tmp_path / "news.jsonl"
    path.write_text("\n".join(json.dumps(r) for r in corpus()) + "\n")
    b = Assistant(make_settings(tmp_path / "home"), embedder=FakeEmbedder())
    b.ingest([path])
    hybrid = b.retriever
    assert isinstance(hybrid, HybridRetriever)
    vector = b.ask_embedder.embed_query("How many people did the flood affect?")
    similarity = {c: round(x, 5) for c, x in b.store.nearest(vector, 1000)}
    for scope in (Scope(sources=("Reuters", "BBC")), Scope(sources=("AP News",),
                  since=START + timedelta(days=30), until=START + timedelta(days=40))):
        articles = b.store.article_ids(scope)
        for n in (3, 10):
            exact = [round(x, 5) for _, x in b.store.nearest(vector, n, None, scope)]
            got = hybrid.dense_ids(vector, n, None, articles, scope)
            assert {c.split(":")[0] for c in got} <= articles
            assert [similarity[c] for c in got] == exact  # the same, up to ties


def test_a_filter_kept_across_questions_sees_new_articles(fake_bot: Assistant,
                                                          tmp_path: Path) -> None:
    """The articles inside a scope are remembered between asks, until the index changes:
    an article of that source ingested meanwhile is found with the same filter."""
    path = tmp_path / "a.jsonl"
    path.write_text(json.dumps({"id": "a", "source": "Harbour Herald", "date": "2024-01-01",
                                "text": "The harbour reopened on Monday."}) + "\n")
    fake_bot.ingest([path])
    scope = fake_bot.resolve_scope(None, None, ["Harbour Herald"])
    assert {p.article_id for p in fake_bot.ask("When did the harbour reopen?",
                                               scope=scope).retrieved} == {"a"}
    later = tmp_path / "b.jsonl"
    later.write_text(json.dumps({"id": "b", "source": "Harbour Herald", "date": "2024-02-01",
                                 "text": "The harbour closed again in February."}) + "\n")
    fake_bot.ingest([later])
    assert {p.article_id for p in fake_bot.ask("When did the harbour close again?",
                                               scope=scope).retrieved} == {"a", "b"}
