"""Sources that agree or differ (issue 32, point 4): a short answer names the independent
outlets that state it (a story's copies once), and two values of one kind from different
outlets, believed nearly alike, are shown as "Sources differ", newest first."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import pytest

from assistant.answer import Answer, Citation, ShortAnswer
from assistant.question import analyse
from assistant.service import Assistant
from assistant.sources.agreement import agreement, comparable, stating, value
from index.retrieve import Passage
from tests.conftest import make_settings
from tests.fakes import FakeEmbedder
from ui.cli import format_answer

Q = analyse("How many people died in the Arnsdorf floods?")
AP = "The death toll in the Arnsdorf floods rose to 18, officials said on Wednesday."
REUTERS = "At least 17 people died in the Arnsdorf floods, the regional government said."


def passage(pid: str, text: str, source: str | None, day: str, story: str = "",
            url: str | None = None) -> Passage:
    return Passage(chunk_id=f"{pid}#0", article_id=pid, text=text, start=0, end=len(text),
                   score=0.5, title=pid, date=date.fromisoformat(day), url=url,
                   source=source, story=story or pid)


def answer_of(passages: list[Passage], short: tuple[str, str, float],
              alternatives: list[tuple[str, str, float]]) -> Answer:
    cites = tuple(Citation(n=i + 1, article_id=p.article_id, title=p.title, date=p.date,
                           url=p.url, quote=p.text, start=0, end=len(p.text),
                           chunk_id=p.chunk_id) for i, p in enumerate(passages))
    n_of = {p.article_id: i + 1 for i, p in enumerate(passages)}

    def span(text: str, aid: str, belief: float) -> ShortAnswer:
        at = next(p.text for p in passages if p.article_id == aid).index(text)
        return ShortAnswer(text=text, n=n_of[aid], article_id=aid, start=at,
                           end=at + len(text), score=1.0, belief=belief, confidence=belief)

    return Answer(question="How many died in the Arnsdorf floods?", text="", abstained=False,
                  citations=cites, retrieved=tuple(passages), short_answer=span(*short),
                  alternatives=tuple(span(*a) for a in alternatives))


def test_two_outlets_two_numbers_differ_newest_first() -> None:
    ps = [passage("reuters-1", REUTERS, "Reuters", "2024-04-23"),
          passage("ap-1", AP, "AP", "2024-04-24")]
    got = agreement(answer_of(ps, ("17", "reuters-1", 0.45), [("18", "ap-1", 0.40)]), Q)
    assert [(s.text, s.sources, s.date.isoformat() if s.date else None) for s in got.differ] \
        == [("18", ("AP",), "2024-04-24"), ("17", ("Reuters",), "2024-04-23")]
    assert got.short_answer is not None and got.short_answer.sources == ("Reuters",)
    assert format_answer(got).splitlines()[0] == \
        "Sources differ: 18 (AP, 2024-04-24) [2] · 17 (Reuters, 2024-04-23) [1]"
    assert got.to_json()["differ"][0] == {"text": "18", "n": 2, "sources": ["AP"],
                                          "date": "2024-04-24"}


@pytest.mark.parametrize(("alternative", "belief", "why"), [
    ("18", 0.10, "believed far less"),
    ("Arnsdorf", 0.40, "another kind: a place, not a number"),
])
def test_no_difference_without_a_close_rival_of_the_same_kind(alternative: str, belief: float,
                                                              why: str) -> None:
    ps = [passage("reuters-1", REUTERS, "Reuters", "2024-04-23"),
          passage("ap-1", AP, "AP", "2024-04-24")]
    got = agreement(answer_of(ps, ("17", "reuters-1", 0.45), [(alternative, "ap-1", belief)]), Q)
    assert got.differ == (), why


def test_one_outlet_giving_two_numbers_is_not_sources_differing() -> None:
    both = "17 deaths were confirmed, and officials expect the toll to reach 18."
    ps = [passage("ap-1", both, "AP", "2024-04-24")]
    got = agreement(answer_of(ps, ("17", "ap-1", 0.45), [("18", "ap-1", 0.40)]), Q)
    assert got.differ == ()


def test_a_storys_copies_count_once() -> None:
    ps = [passage("ap-1", AP, "AP", "2024-04-24"),
          passage("dock-1", AP, "Daily Dock", "2024-04-25", story="ap-1"),  # a reprint
          passage("local", "The toll rose to 18 in Arnsdorf.", None, "2024-04-25",
                  url="https://www.local.example/floods")]
    assert stating("18", ps) == ["AP", "local.example"]


def test_a_real_ask_names_its_sources(tmp_path: Path) -> None:
    rows = [{"id": "ap-1", "title": "Floods", "date": "2024-04-24", "source": "AP", "text": AP},
            {"id": "rt-1", "title": "Floods", "date": "2024-04-23", "source": "Reuters",
             "text": REUTERS}]
    path = tmp_path / "floods.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    bot = Assistant(make_settings(tmp_path / "home"), embedder=FakeEmbedder())
    assert bot.ingest([path]).ok
    got = bot.ask("How many people died in the Arnsdorf floods?")
    short = got.short_answer
    assert short is not None and short.text in ("17", "18", "At least 17")
    assert short.sources == (("AP",) if "18" in short.text else ("Reuters",))
    as_json = got.to_json()
    assert as_json["short_answer"]["sources"] == 1
    assert "differ" in as_json
    # The question's words are Reuters' ("people died"): the reader believes its number
    # far more than AP's, so there is no difference to show, only the answer's outlet.
    assert short.text == "17" and short.belief is not None and short.belief > 0.9
    assert got.differ == () and as_json["differ"] is None


def test_the_chat_leads_with_the_difference() -> None:
    from ui.render import answer_markdown

    ps = [passage("reuters-1", REUTERS, "Reuters", "2024-04-23"),
          passage("ap-1", AP, "AP", "2024-04-24")]
    got = agreement(answer_of(ps, ("17", "reuters-1", 0.45), [("18", "ap-1", 0.40)]), Q)
    first = answer_markdown(got).splitlines()[0]
    # (markdown-escaped: the hyphens of a date stay text)
    assert first == ("*Sources differ:* **18** (AP, 2024\\-04\\-24) \\[2\\] · **17** (Reuters, "
                     "2024\\-04\\-23) \\[1\\]")


@pytest.mark.parametrize(("question", "a", "b", "same"), [
    ("How many customers were without power?", "2.5 million", "2.1 million", True),
    ("How many book titles were banned?", "2,532", "2,500", True),
    ("How much is Musk's pay package worth?", "$50.9 billion", "$55 billion", True),
    ("Who leads the Harbour Authority?", "Maria Okafor", "Tomas Lindqvist", True),
    # the reader confusing two facts (rtqa-2022's flagged cases)
    ("What percentage of Lloyds customers have savings of less than £500?", "400,000",
     "2.1 percent", False),
    ("By what percentage has the number of flying insects plunged?", "71%", "25%", False),
    ("What percentage of California is at risk for wildfires?", "2 million acres",
     "2.7 million", False),
    ("Which holiday product do parents place around the house?", "Pottery Barn",
     "Blue Christmas", False),
])
def test_two_values_of_what_is_asked(question: str, a: str, b: str, same: bool) -> None:
    assert comparable(analyse(question), a, b) is same


def test_values_read_with_scale_and_unit() -> None:
    assert value("2.5 million") == (2.5e6, frozenset())
    assert value("about 2 million acres") == (2e6, frozenset({"acres"}))
    assert value("$50.9 billion")[0] == 50.9e9  # type: ignore[index]
    assert value("Iraq") is None


def test_articles_far_apart_in_time_do_not_differ() -> None:
    ps = [passage("reuters-1", REUTERS, "Reuters", "2024-01-10"),
          passage("ap-1", AP, "AP", "2024-04-24")]
    got = agreement(answer_of(ps, ("17", "reuters-1", 0.45), [("18", "ap-1", 0.40)]), Q)
    assert got.differ == ()  # more than 90 days apart: another moment's figure
