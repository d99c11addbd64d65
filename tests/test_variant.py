"""One answer, one entry (issue 31, point 3): a hedge's alternative names a different
answer, never a variant of the short answer ("General Michael Erik Kurilla" beside
"Michael Erik Kurilla", "six" beside "6")."""

from __future__ import annotations

import json

import numpy as np
import pytest

from assistant.reader.span import ALTERNATIVE_BELIEF, Span, choose, different
from assistant.reader.variant import pool, same_answer
from assistant.service import Assistant
from tests.conftest import SEEDS


@pytest.mark.parametrize(("a", "b"), [
    ("Michael Erik Kurilla", "General Michael Erik Kurilla"),
    ("Marta Quillon", "engineer Marta Quillon"),
    ("Maria Okafor", "chief executive Maria Okafor"),  # any lower-case role
    ("Bashar Assad", "Syrian dictator Bashar Assad"),  # described up to a lower-case word
    ("Okafor", "port authority chief Maria Okafor"),
    ("Kurilla", "Michael Erik Kurilla"),
    ("Biden", "President Joe Biden"),
    ("al-Jolani", "Abu Mohammed al-Jolani"),
    ("six", "6"),
    ("cows", "cow"),
    ("IS", "Islamic State"),
    ("HTS", "Hayat Tahrir al-Sham"),
    ("the Islamic State", "Islamic State"),
])
def test_variants_name_the_same_answer(a: str, b: str) -> None:
    assert same_answer(a, b) and same_answer(b, a)


@pytest.mark.parametrize(("a", "b"), [
    ("Iraq", "Islamic State of Iraq"),  # a place inside an organisation's name
    ("IS", "Iraq and Syria"),
    ("Syria", "northern Syria"),
    ("Joe Biden", "Michael Erik Kurilla"),
    ("Bashar Assad", "al-Jolani"),
    ("6", "16"),
    ("Maria Okafor", "chief executive Tomas Lindqvist"),
])
def test_different_answers_stay_apart(a: str, b: str) -> None:
    assert not same_answer(a, b)


def test_variants_pool_into_one_answer_and_ambiguous_short_names_stay_apart() -> None:
    texts = ["Kurilla", "General Michael Erik Kurilla", "Michael Kurilla", "six", "6", "Biden",
             "Joe Biden", "Jill Biden", "IS", "Islamic State", "Iraq", "Islamic State of Iraq"]
    people = [t[:1].isupper() and " " in t and "State" not in t for t in texts]
    group = pool(texts, people)
    named = {t: texts[g] for t, g in zip(texts, group, strict=True)}
    assert named["Kurilla"] == named["Michael Kurilla"] == "General Michael Erik Kurilla"
    assert named["6"] == "six"
    assert named["IS"] == "Islamic State"
    # two longer names end in "Biden": which one is meant is not known
    assert len({named["Biden"], named["Joe Biden"], named["Jill Biden"]}) == 3
    assert named["Iraq"] == "Iraq" and named["Islamic State of Iraq"] == "Islamic State of Iraq"
    # a name ending another is the same thing only for persons
    assert pool(["Virginia", "West Virginia"], [False, False]) == [0, 1]
    assert pool(["Kurilla", "Michael Kurilla"], [True, False]) == [0, 1]


def test_the_answer_pools_its_variants_belief_and_shows_the_most_complete_name() -> None:
    # Scored alone, "Joe Biden" (0.40) beats "Kurilla" (0.30); pooled with its two other
    # forms (0.30 + 0.15 + 0.15), Kurilla's name wins, shown in full, without the title.
    texts = ["Joe Biden", "Kurilla", "General Michael Erik Kurilla", "Michael Erik Kurilla"]
    p = np.array([0.40, 0.30, 0.15, 0.15])
    people = [True, True, True, True]
    assert texts[choose(texts, np.log(p), people)] == "Michael Erik Kurilla"
    assert texts[choose(texts[:2], np.log(p[:2] / p[:2].sum()), people[:2])] == "Joe Biden"
    # not known to be persons: only the same words pool, and "Joe Biden" stays first
    assert texts[choose(texts, np.log(p))] == "Joe Biden"


def _span(text: str, belief: float) -> Span:
    return Span(window=0, start=0, end=len(text), text=text, score=1.0, belief=belief)


def test_alternatives_skip_variants_and_take_the_next_different_answer() -> None:
    top = _span("Michael Erik Kurilla", 0.5)
    rest = [_span("General Michael Erik Kurilla", 0.2), _span("Kurilla", 0.15),
            _span("Joe Biden", 0.12), _span("Biden", 0.11), _span("Wieland", 0.05)]
    assert [a.text for a in different(top, rest)] == ["Joe Biden"]
    assert all(a.belief >= ALTERNATIVE_BELIEF for a in different(top, rest))


@pytest.mark.integration
def test_no_seed_answer_offers_a_variant_of_itself(seed_bot: Assistant) -> None:
    questions = [json.loads(line)["question"]
                 for line in (SEEDS / "questions.jsonl").read_text().splitlines()
                 if line.strip()]
    questions += ["Who said the US would not allow ISIS to reconstitute?", "Who leads HTS?"]
    for question in questions:
        answer = seed_bot.ask(question)
        if answer.short_answer is None:
            continue
        for alt in answer.alternatives:
            assert not same_answer(alt.text, answer.short_answer.text), (question, alt.text)
