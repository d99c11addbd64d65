"""A short answer's confidence is a probability: fitted by an isotonic map from the reader's
belief and its article's age (assistant/reader/confidence.py), carried in JSON with the
next best answers, and an answer below NEWSQA_ANSWER__CONFIDENT_AT is hedged, not stated
as a fact."""

from __future__ import annotations

import json
from dataclasses import replace

import numpy as np
import pytest

from assistant.answer import Answer, Citation, ShortAnswer
from assistant.evaluation.calibration import (
    expected_calibration_error,
    metrics,
    precision_at_coverage,
)
from assistant.reader.confidence import Calibration, fit, fit_isotonic
from ui import cli, render

QUOTE_1 = "Officials said the Lakers beat the Celtics in overtime on Sunday."
QUOTE_2 = "Fans of the Warriors celebrated in the streets of Oakland."


def answer(confidence: float | None, alternatives: bool = True) -> Answer:
    c1 = Citation(n=1, article_id="a", title="Game", date=None, url=None, quote=QUOTE_1,
                  start=0, end=len(QUOTE_1), chunk_id="a:0")
    c2 = Citation(n=2, article_id="b", title="Fans", date=None, url=None, quote=QUOTE_2,
                  start=10, end=10 + len(QUOTE_2), chunk_id="b:0")
    at = QUOTE_1.index("Lakers")
    short = ShortAnswer(text="Lakers", n=1, article_id="a", start=at, end=at + 6, score=2.0,
                        belief=0.5, confidence=confidence)
    w = 10 + QUOTE_2.index("Warriors")
    alt = ShortAnswer(text="Warriors", n=2, article_id="b", start=w, end=w + 8, score=1.0,
                      belief=0.3, confidence=0.2)
    return Answer(question="Who won the game?", text=f"{QUOTE_1} [1] {QUOTE_2} [2]",
                  abstained=False, citations=(c1, c2), short_answer=short,
                  alternatives=(alt,) if alternatives else ())


def test_a_confident_answer_is_stated_and_an_unsure_one_hedged_with_the_next() -> None:
    assert cli.format_answer(answer(0.8), 0.5).splitlines()[0] == "Answer: Lakers [1]"
    hedged = cli.format_answer(answer(0.3), 0.5).splitlines()[0]
    assert hedged == "Not sure; the articles suggest Lakers [1] or Warriors [2]"
    alone = cli.format_answer(answer(0.3, alternatives=False), 0.5).splitlines()[0]
    assert alone == "Not sure; the articles suggest Lakers [1]"
    # both named answers stand verbatim inside the quotes they cite
    a = answer(0.3)
    for named in [a.short_answer, *a.alternatives]:
        assert named is not None
        c = a.citations[named.n - 1]
        assert c.quote[named.start - c.start:named.end - c.start] == named.text
    md = render.answer_markdown(answer(0.3), confident_at=0.5)
    assert md.startswith("*Not sure; the articles suggest* **Lakers** \\[1\\] or "
                         "**Warriors** \\[2\\]")
    assert render.answer_markdown(answer(0.9), confident_at=0.5).startswith("**Lakers**")
    # an answer no reader judged (a picked quiz option) is stated as before
    assert cli.format_answer(answer(None), 0.5).startswith("Answer: Lakers [1]")


def test_json_always_carries_confidence_and_alternatives() -> None:
    data = json.loads(json.dumps(answer(0.3).to_json()))
    assert data["short_answer"]["confidence"] == 0.3 and data["short_answer"]["belief"] == 0.5
    assert [a["text"] for a in data["alternatives"]] == ["Warriors"]


def test_isotonic_fit_is_monotone_and_each_step_rests_on_enough_answers() -> None:
    rng = np.random.default_rng(0)
    beliefs = rng.random(2000)
    right = (rng.random(2000) < beliefs ** 2).astype(float)  # over-confident reader
    cal = fit(beliefs, np.zeros(2000), right, min_count=50, use_age=False)
    assert list(cal.ys) == sorted(cal.ys) and len(cal.xs) >= 4 and cal.age_weight == 0.0
    assert abs(cal.probability(0.9) - 0.81) < 0.1 and cal.probability(0.1) < 0.1
    conf = np.array([cal.probability(b) for b in beliefs])
    assert expected_calibration_error(conf, right) < expected_calibration_error(beliefs, right)
    again = Calibration.load(json.dumps(cal.to_json()))
    assert again.probability(0.5) == pytest.approx(cal.probability(0.5), abs=1e-5)
    # the isotonic step alone, over any score
    steps = fit_isotonic(beliefs, right, min_count=50)
    assert list(steps.ys) == sorted(steps.ys) and min(np.diff(steps.xs)) > 0


def test_an_answer_from_an_older_article_gets_a_lower_confidence() -> None:
    # Answers read in articles weeks behind the newest one are right less often at the
    # same belief: the fit finds that, and says so in its weight.
    rng = np.random.default_rng(1)
    beliefs = rng.random(4000)
    ages = rng.choice([0.0, 1.0, 3.0, 30.0, 300.0], size=4000)
    right = (rng.random(4000) < beliefs / (1.0 + np.log1p(ages))).astype(float)
    cal = fit(beliefs, ages, right, min_count=50)
    assert cal.age_weight < -0.3
    assert cal.probability(0.8, age_days=0) > cal.probability(0.8, age_days=30) + 0.1
    assert cal.probability(0.8, age_days=-5) == cal.probability(0.8)  # newer counts as 0
    blind = fit(beliefs, ages, right, min_count=50, use_age=False)
    old = ages >= 30  # the belief alone over-states these answers; with the age it doesn't
    with_age = np.array([cal.probability(b, a) for b, a in zip(beliefs, ages, strict=True)])
    without = np.array([blind.probability(b) for b in beliefs])
    assert without[old].mean() - right[old].mean() > 0.1
    assert abs(with_age[old].mean() - right[old].mean()) < 0.03
    again = Calibration.load(json.dumps(cal.to_json()))
    assert again.age_weight == pytest.approx(cal.age_weight, abs=1e-6)
    assert again.probability(0.8, 30) == pytest.approx(cal.probability(0.8, 30), abs=1e-5)


def test_the_newer_rival_is_a_different_answer_from_a_newer_article() -> None:
    from datetime import date

    from assistant.reader.reading import Span, Window
    from assistant.reader.span import newer_rival

    def window(day: int) -> Window:
        return Window(article_id=f"a{day}", start=0, end=10, head_end=10, text="x" * 10,
                      relevance=1.0, passage_rank=0, date=date(2026, 3, day))

    windows = [window(10), window(20), window(5)]
    okafor = Span(window=0, start=0, end=6, text="Maria Okafor", score=2.0, belief=0.5)
    lindqvist = Span(window=1, start=0, end=6, text="Tomas Lindqvist", score=1.0,
                     belief=0.3)
    title = Span(window=1, start=0, end=6, text="chief executive Maria Okafor", score=1.0,
                 belief=0.4)
    older = Span(window=2, start=0, end=6, text="Harbour Board", score=1.0, belief=0.45)
    tail = Span(window=1, start=0, end=6, text="Tuesday", score=0.1, belief=0.01)
    assert newer_rival(okafor, [okafor, title, older, lindqvist, tail], windows) == \
        pytest.approx(0.6)  # Lindqvist's belief over Okafor's; her own variant is no rival
    assert newer_rival(lindqvist, [okafor, lindqvist], windows) == 0.0  # nothing newer
    assert newer_rival(okafor, [okafor, tail], windows) == 0.0  # the long tail is left out
    undated = [replace(w, date=None) for w in windows]
    assert newer_rival(okafor, [okafor, lindqvist], undated) == 0.0
    # capped at 1: a newer answer believed more than this one
    assert newer_rival(older, [older, replace(lindqvist, belief=0.9)], windows) == 1.0


def test_the_shipped_calibration_loads_and_says_what_made_it() -> None:
    cal = Calibration.load()
    assert list(cal.ys) == sorted(cal.ys) and 0 <= min(cal.ys) <= max(cal.ys) <= 1
    assert cal.about.get("script") == "training/calibrate_confidence.py"
    assert set(cal.about["data"]) >= {"rtqa-2022", "rtqa-2023"}
    assert "rtqa-2024" not in json.dumps(cal.about["data"])  # the check year is never fitted
    with pytest.raises(ValueError, match="xs ascending"):
        Calibration.load('{"xs": [0.5, 0.1], "ys": [0.1, 0.2]}')
    # a map of the older format (xs are beliefs) is refused, not misread as scores
    with pytest.raises(ValueError, match="no age_weight.*refit it with training/calibrate"):
        Calibration.load('{"xs": [0.1, 0.5], "ys": [0.1, 0.2]}')


def test_calibration_metrics() -> None:
    conf = np.array([0.9, 0.8, 0.2, 0.1])
    right = np.array([1.0, 0.0, 0.0, 0.0])
    assert precision_at_coverage(conf, right, 0.5) == 0.5
    assert precision_at_coverage(conf, right, 0.25) == 1.0
    # bins: 0.9 -> |0.9-1|, 0.8 -> |0.8-0|, 0.2 -> 0.2, 0.1 -> 0.1, each a quarter
    assert expected_calibration_error(conf, right) == pytest.approx((0.1 + 0.8 + 0.2 + 0.1) / 4)
    rows = [{"answerable": True, "answers": ["x"], "scores": {"short_exact_match": r},
             "short_answer": {"confidence": c} if c else None, "confident": c >= 0.5}
            for c, r in zip(conf, right, strict=True)]
    rows.append({**rows[0], "answerable": False})  # not counted
    got = metrics(rows)
    assert got["confidence_n"] == 4 and got["stated_coverage"] == 0.5
    assert got["stated_precision"] == 0.5


def test_the_reader_gives_its_answer_a_calibrated_confidence(fake_bot) -> None:  # type: ignore[no-untyped-def]
    from tests.conftest import SEED_FILE

    fake_bot.ingest([SEED_FILE])
    got = fake_bot.ask("Who leads HTS?")
    sa = got.short_answer
    assert sa is not None and sa.belief is not None and 0 < sa.belief <= 1
    cal = Calibration.load()
    assert cal.age_weight < 0  # an answer from an older article is less sure
    dated = {p.article_id: p.date for p in got.retrieved if p.date is not None}
    age = (max(dated.values()) - dated[sa.article_id]).days if sa.article_id in dated else 0
    assert sa.confidence == pytest.approx(cal.probability(sa.belief, age))
    for alt in got.alternatives:  # each alternative is inside the quote it cites
        c = got.citations[alt.n - 1]
        assert c.quote[alt.start - c.start:alt.end - c.start] == alt.text
    hedged = replace(got, short_answer=replace(sa, confidence=0.0))
    assert cli.format_answer(hedged, 0.5).startswith("Not sure; the articles suggest")
