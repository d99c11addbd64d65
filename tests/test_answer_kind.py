"""Answers of the kind asked (issue 31, point 2, in part): money has a currency, a
percentage a "%", a date a calendar word; the reader's likeliest answer of the right
kind comes first when its top one is of the wrong kind, with its own (lower) confidence.
"How much did the tram line cost?" was answered "7.5" (the line's length); "When was
Andrew Mountbatten-Windsor arrested?" put the dateline "LONDON − British police" first."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from assistant.question import analyse
from assistant.reader.kind import kind_first, of_kind, with_unit
from assistant.reader.reading import Span, Window
from assistant.service import Assistant
from tests.conftest import make_settings


@pytest.mark.parametrize(("question", "text", "expected"), [
    ("How much did the tram line cost?", "180 million euros", True),
    ("How much did the tram line cost?", "7.5", False),
    ("How much did the tram line cost?", "$1.34 billion", True),
    ("What percentage of voters backed it?", "52%", True),
    ("What percentage of voters backed it?", "52", False),
    ("When was he arrested?", "Feb. 19", True),
    ("When was he arrested?", "LONDON − British police", False),
    ("When did the war start?", "2022", True),
    ("Who leads HTS?", "al-Jolani", None),  # no unit settles a person
    # places, from the gazetteer: a state is no city, a city no country
    ("Which city will host the 2028 Olympics?", "Los Angeles", True),
    ("Which city will host the 2028 Olympics?", "California", False),
    ("Which city is building the crossing?", "New York", True),  # a city and a state
    ("Which country hosted the summit?", "the U.S.", True),
    ("Which country hosted the summit?", "Georgia", True),  # a country and a state
    ("Which country hosted the summit?", "Paris", False),
    ("Which state passed the law?", "Louisiana", True),
    ("Which state passed the law?", "United States", False),
    ("Which continent did the team come from?", "Africa", True),
    ("Which city was the film set in?", "Gotham", None),  # unknown: not judged
    ("Which island did the tourists visit?", "Indonesia", None),  # islands: not known
])
def test_the_kind_a_unit_or_calendar_word_settles(question: str, text: str,
                                                  expected: bool | None) -> None:
    assert of_kind(analyse(question), text) is expected


def _read(texts: list[str], beliefs: list[float]) -> tuple[list[Span], list[Window]]:
    """Each text as an answer in its own window, written with a space either side."""
    windows = [Window(article_id="a", start=0, end=len(t) + 2, head_end=len(t) + 2,
                      text=f" {t} ", relevance=1.0, passage_rank=0, date=None)
               for t in texts]
    spans = [Span(window=i, start=1, end=1 + len(t), text=t, score=1.0, belief=b)
             for i, (t, b) in enumerate(zip(texts, beliefs, strict=True))]
    return spans, windows


def test_the_likeliest_answer_of_the_right_kind_comes_first_with_its_own_belief() -> None:
    q = analyse("How much did the tram line cost?")
    answers, windows = _read(["7.5", "12", "180 million euros", "€2 million"],
                             [0.6, 0.2, 0.15, 0.05])
    first = kind_first(q, answers, windows, least=0.10)
    assert [a.text for a in first] == ["180 million euros", "7.5", "12", "€2 million"]
    assert first[0].belief == 0.15  # its own: the confidence knows the top answer was other
    # Nothing of the right kind with enough belief: the order stands.
    assert kind_first(q, answers[:2], windows, least=0.10) == answers[:2]
    assert kind_first(analyse("Who leads HTS?"), answers, windows, least=0.10) == answers


def test_a_city_comes_before_the_state_it_lies_in() -> None:
    q = analyse("Which city is constructing the world's largest wildlife crossing?")
    answers, windows = _read(["California", "Los Angeles", "Agoura Hills"], [0.6, 0.3, 0.1])
    assert [a.text for a in kind_first(q, answers, windows, least=0.10)] == [
        "Los Angeles", "California", "Agoura Hills"]


def test_a_count_counts_the_thing_asked() -> None:
    q = analyse("How many astronauts flew on Artemis II?")
    assert q.counted == "astronaut"
    texts = [" 184 people worked in launch control ", " 10 days ", " four NASA astronauts "]
    windows = [Window(article_id="a", start=0, end=len(t), head_end=len(t), text=t,
                      relevance=1.0, passage_rank=0, date=None) for t in texts]
    spans = [Span(window=i, start=1, end=1 + len(t.split()[0]), text=t.split()[0], score=1.0,
                  belief=b) for i, (t, b) in enumerate(zip(texts, [0.5, 0.3, 0.15],
                                                                 strict=True))]
    assert [a.text for a in kind_first(q, spans, windows, least=0.10)] == [
        "four", "184", "10"]
    # "How many people ...?" counts people: 184 stands
    people = analyse("How many people worked in launch control?")
    assert kind_first(people, spans, windows, least=0.10) == spans
    # nothing counts what is asked: the order stands
    assert kind_first(q, spans[:2], windows, least=0.10) == spans[:2]


def test_a_currency_sign_beside_the_mention_counts() -> None:
    q = analyse("How much did the card sell for?")
    windows = [Window(article_id="a", start=0, end=40, head_end=40,
                      text="It sold for $12,600,000 and $6.6 million.", relevance=1.0,
                      passage_rank=0, date=None)]
    answers = [Span(window=0, start=13, end=23, text="12,600,000", score=1.0, belief=0.5),
               Span(window=0, start=28, end=39, text="$6.6 million", score=1.0, belief=0.2)]
    assert kind_first(q, answers, windows, least=0.10) == answers


def _unit(question: str, window: str, mention: str) -> str:
    """The shown text of `mention` (its first occurrence in `window`)."""
    w = Window(article_id="a", start=100, end=100 + len(window), head_end=100 + len(window),
               text=window, relevance=1.0, passage_rank=0, date=None)
    at = 100 + window.index(mention)
    shown = with_unit(analyse(question), Span(window=0, start=at, end=at + len(mention),
                                              text=mention, score=1.0, belief=0.5), [w])
    assert shown.text == window[shown.start - 100:shown.end - 100]  # still verbatim
    return shown.text


@pytest.mark.parametrize(("question", "window", "mention", "shown"), [
    ("How much does a gallon of gas cost?", "Gas cost $5 a gallon.", "5", "$5"),
    ("How much did the bridge cost?", "It cost 100 billion dollars in all.", "100 billion",
     "100 billion dollars"),
    ("How much did the bridge cost?", "It cost £1.2 billion.", "1.2", "£1.2 billion"),
    ("How much did the bridge cost?", "It cost $5 million in all.", "$5", "$5 million"),
    ("How much did the bridge cost?", "It cost 5 million dollars in all.", "5 million dollars",
     "5 million dollars"),
    ("What percentage of staff were harassed?", "Some 78% of them said so.", "78", "78%"),
    ("What percentage of staff were harassed?", "Some 78 percent said so.", "78", "78 percent"),
    # the unit already shown, another kind asked, or no unit beside it: as found
    ("What percentage of staff were harassed?", "Some 78% said so.", "78%", "78%"),
    ("How many days did Truss last?", "Truss left after 45 days in office.", "45", "45"),
    ("How much did the bridge cost?", "It cost 300 and more.", "300", "300"),
    ("Who paid for the bridge?", "It cost $5 million.", "5 million", "5 million"),
])
def test_an_amount_is_shown_with_the_unit_written_beside_it(
        question: str, window: str, mention: str, shown: str) -> None:
    assert _unit(question, window, mention) == shown


ARTICLES = [
    {"id": "tram-1", "title": "New tram line opens", "date": "2026-09-14",
     "text": "The city's new tram line opened on Monday. The line runs 7.5 km from the "
             "central station to the harbour and has 12 stops. The project cost 180 million "
             "euros, the mayor said, and took four years to build. About 40 percent of the "
             "line runs underground."},
    {"id": "arrest-1", "title": "Former prince arrested", "date": "2026-02-20",
     "text": "LONDON − British police arrested Andrew Mountbatten-Windsor on Feb. 19 on "
             "suspicion of misconduct in public office, officers said. He was released "
             "under investigation later that day."},
    {"id": "bridge-1", "title": "Harbour bridge shut", "date": "2026-03-06",
     "text": "The harbour bridge was closed on Wednesday after inspectors found cracks in "
             "two of its cables. Engineers expect repairs to take six weeks."},
]


def _bot_with(articles: list[dict[str, str]], tmp_path: Path, model_home: Path,
              embedder: object) -> Assistant:
    """A fresh home with the real model, holding `articles`."""
    home = tmp_path / "home"
    shutil.copytree(model_home / "models", home / "models", dirs_exist_ok=True)
    bot = Assistant(make_settings(home), embedder=embedder)  # type: ignore[arg-type]
    path = tmp_path / "articles.jsonl"
    path.write_text("\n".join(json.dumps(a) for a in articles) + "\n")
    assert bot.ingest([path]).ok
    return bot


@pytest.mark.integration
def test_cost_and_date_questions_lead_with_an_answer_of_their_kind(
        tmp_path: Path, model_home: Path, real_embedder) -> None:  # type: ignore[no-untyped-def]
    bot = _bot_with(ARTICLES, tmp_path, model_home, real_embedder)
    cost = bot.ask("How much did the tram line cost?").short_answer
    assert cost is not None and cost.text == "180 million euros"
    when = bot.ask("When was Andrew Mountbatten-Windsor arrested?").short_answer
    assert when is not None and "Feb. 19" in when.text
    share = bot.ask("What percentage of the tram line runs underground?").short_answer
    assert share is not None and share.text == "40 percent"
    length = bot.ask("How long is the tram line?").short_answer
    assert length is not None and "7.5" in length.text  # a length is still a length
    # A weekday is shown with the day it means (the article is of Friday 2026-03-06).
    closed = bot.ask("When was the harbour bridge closed?").short_answer
    assert closed is not None and closed.text == "Wednesday"
    assert closed.on is not None and closed.on.isoformat() == "2026-03-04"


@pytest.mark.integration
def test_a_count_of_the_thing_asked_comes_first(
        tmp_path: Path, model_home: Path, real_embedder) -> None:  # type: ignore[no-untyped-def]
    bot = _bot_with([{
        "id": "artemis-1", "title": "Artemis II returns", "date": "2026-04-11",
        "text": "NASA said 184 people flew to Florida to watch Artemis II launch. The rocket "
                "flew four astronauts around the moon."}], tmp_path, model_home, real_embedder)
    crew = bot.ask("How many astronauts flew on Artemis II?").short_answer
    assert crew is not None and crew.text == "four"  # the reader alone said "184"
    fans = bot.ask("How many people flew to Florida to watch the launch?").short_answer
    assert fans is not None and fans.text == "184"
