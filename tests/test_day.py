"""A relative date answer is shown with the day it means (issue 31, point 2): "Thursday"
in an article of Friday 2026-02-20 is 2026-02-19, resolved against the article's date,
in JSON (`short_answer.on`), the CLI and the chat."""

from __future__ import annotations

from datetime import date

import pytest

from assistant.answer import Answer, Citation, ShortAnswer
from assistant.reader.day import day_meant
from ui import cli, render

FRIDAY = date(2026, 2, 20)


@pytest.mark.parametrize(("text", "before", "expected"), [
    ("Thursday", "Police arrested him on ", date(2026, 2, 19)),
    ("on Thursday", "", date(2026, 2, 19)),
    ("late Monday night", "", date(2026, 2, 16)),
    ("Friday", "", FRIDAY),  # the article's own weekday: that day
    ("last Friday", "", date(2026, 2, 13)),
    ("yesterday", "", date(2026, 2, 19)),
    ("Today", "", FRIDAY),
    ("this morning", "", FRIDAY),
    ("tomorrow", "", date(2026, 2, 21)),
    ("next Tuesday", "", date(2026, 2, 24)),
    ("Tuesday", "The council will vote on the plan on ", date(2026, 2, 24)),
    ("Monday", "The trial is scheduled to begin ", date(2026, 2, 23)),
    ("Friday", "Ministers are expected to meet on ", date(2026, 2, 27)),
    ("Wednesday", "He said on Monday that they met on ", date(2026, 2, 18)),
])
def test_a_relative_day_is_read_against_the_articles_date(text: str, before: str,
                                                          expected: date) -> None:
    assert day_meant(text, FRIDAY, before) == expected


@pytest.mark.parametrize("text", ["Feb. 19", "Thursday, Feb. 19", "2024", "March", "the week",
                                  "Monday and Tuesday", "Lindqvist", "on Thursday the board "
                                  "of the port authority met"])
def test_absolute_or_other_answers_are_left_as_they_are(text: str) -> None:
    assert day_meant(text, FRIDAY) is None


def test_nothing_is_resolved_without_the_articles_date() -> None:
    assert day_meant("Thursday", None) is None


def test_the_day_is_shown_with_the_answer_and_carried_in_json() -> None:
    quote = "British police arrested Andrew Mountbatten-Windsor on Thursday."
    at = quote.index("Thursday")
    c = Citation(n=1, article_id="arrest", title="Arrest", date=FRIDAY, url=None,
                 quote=quote, start=0, end=len(quote), chunk_id="arrest:0")
    short = ShortAnswer(text="Thursday", n=1, article_id="arrest", start=at, end=at + 8,
                        score=2.0, belief=0.9, confidence=0.9, on=date(2026, 2, 19))
    a = Answer(question="When was Andrew Mountbatten-Windsor arrested?", text=f"{quote} [1]",
               abstained=False, citations=(c,), short_answer=short)
    assert cli.format_answer(a, 0.5).splitlines()[0] == "Answer: Thursday (2026-02-19) [1]"
    assert render.answer_markdown(a, confident_at=0.5).startswith(
        "**Thursday \\(2026\\-02\\-19\\)** **\\[1\\]**")  # escaped Markdown
    assert a.to_json()["short_answer"]["on"] == "2026-02-19"
    assert a.to_json()["short_answer"]["text"] == "Thursday"  # the text stays verbatim
