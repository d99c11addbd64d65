"""Evaluation building blocks on hand-made cases: normalisation (curly quotes, dashes),
answer metrics, retrieval metrics (duplicates, empty gold lists), percentiles, the
multiple-choice rule (ties, no evidence) and question files with bad lines."""

from __future__ import annotations

from dataclasses import replace
from datetime import date
from pathlib import Path

import numpy as np
import pytest

from assistant.answer import Answer, Citation
from assistant.choice import evidence_scores, is_exclusion, match, pick_choice
from assistant.evaluation import metrics as m
from assistant.evaluation.case import EvalError, load_questions, parse_line
from assistant.question import analyse
from index.retrieve import Passage
from tests.fakes import FakeEmbedder

# -- normalisation ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("“Squid Game”", "squid game"),
        ('"Squid Game"', "squid game"),
        ("Denmark’s King Frederik", "denmarks king frederik"),
        ("Denmark's King Frederik", "denmarks king frederik"),
        ("Al-Nusra Front", "al nusra front"),
        ("Al–Nusra — Front", "al nusra front"),  # en and em dash
        ("The U.S. Senate", "us senate"),
        ("  A   cat\n\tand an owl ", "cat and owl"),
        ("ＦＩＦＡ ２０２２", "fifa 2022"),  # full-width: NFKC
        ("«Bonjour» ‹x›", "bonjour x"),
        ("50%", "50"),
        ("", ""),
    ],
)
def test_normalize(raw: str, expected: str) -> None:
    assert m.normalize(raw) == expected


def test_normalize_is_idempotent() -> None:
    s = "“The” Al–Nusra’s U.S. F-15, 2019!"
    assert m.normalize(m.normalize(s)) == m.normalize(s)


def test_strip_markers() -> None:
    assert m.strip_markers("IS cells are in Badia. [1] They attack. [2]") == (
        "IS cells are in Badia. They attack."
    )


# -- answer metrics ---------------------------------------------------------------------


def test_exact_match_ignores_curly_quotes_case_and_articles() -> None:
    assert m.exact_match('the "squid game"', ["“Squid Game”"]) == 1.0
    assert m.exact_match("Squid Games", ["“Squid Game”"]) == 0.0


def test_token_f1_known_value_and_best_gold() -> None:
    # pred tokens [cat, sat]; gold [cat, sat, down]: P = 1, R = 2/3, F1 = 0.8
    assert m.token_f1("The cat sat", ["cat sat down"]) == pytest.approx(0.8)
    assert m.token_f1("The cat sat", ["dog", "cat sat"]) == pytest.approx(1.0)
    assert m.token_f1("nothing shared", ["cat"]) == 0.0
    assert m.token_f1("", ["cat"]) == 0.0


def test_token_f1_counts_repeated_tokens_once_each() -> None:
    # pred [syria, syria], gold [syria]: common 1, P = 0.5, R = 1
    assert m.token_f1("Syria Syria", ["Syria"]) == pytest.approx(2 / 3)


def test_contains_is_whole_words_and_unicode_aware() -> None:
    assert m.contains("Cells remain in central and eastern Syria.", ["central and eastern Syria"])
    assert m.contains("The rule applies in Europe from 2024", ["Europe"]) == 1.0
    assert m.contains("The European Union decided", ["Europe"]) == 0.0
    assert m.contains("the hit show 'Squid Game' returns", ["“Squid Game”"]) == 1.0
    assert m.contains("Denmark’s King", ["Denmark's King"]) == 1.0


@pytest.mark.parametrize("golds", [[], [""], ["—"], ["“ ”"]])
def test_metrics_without_gold_do_not_apply(golds: list[str]) -> None:
    assert m.exact_match("x", golds) is None
    assert m.token_f1("x", golds) is None
    assert m.contains("x", golds) is None
    assert m.contains_any(["x"], golds) is None
    assert m.support_at_k(["x"], golds, 5) is None


def test_contains_any_and_support_at_k() -> None:
    chunks = ["nothing here", "still nothing", "the Badia desert, along the border"]
    assert m.support_at_k(chunks, ["Badia desert"], 1) == 0.0
    assert m.support_at_k(chunks, ["Badia desert"], 2) == 0.0
    assert m.support_at_k(chunks, ["Badia desert"], 3) == 1.0
    assert m.support_at_k(chunks, ["Badia desert"], 10) == 1.0
    assert m.contains_any([], ["x"]) == 0.0


# -- retrieval metrics ------------------------------------------------------------------


def test_hit_and_mrr_rank_articles_not_chunks() -> None:
    ranked = ["a", "a", "b", "a", "c"]  # chunks of a, a, b, a, c -> articles a, b, c
    assert m.first_hit_rank(ranked, ["c"]) == 3
    assert m.hit_at_k(ranked, ["c"], 1) == 0.0
    assert m.hit_at_k(ranked, ["c"], 3) == 1.0
    assert m.mrr_at_k(ranked, ["c"], 10) == pytest.approx(1 / 3)
    assert m.mrr_at_k(ranked, ["c"], 2) == 0.0


def test_hit_and_mrr_use_the_first_of_several_gold_ids() -> None:
    ranked = ["x", "g2", "g1"]
    assert m.first_hit_rank(ranked, ["g1", "g2"]) == 2
    assert m.mrr_at_k(ranked, ["g1", "g2"]) == 0.5


def test_empty_gold_list_does_not_count() -> None:
    assert m.hit_at_k(["a"], [], 10) is None
    assert m.mrr_at_k(["a"], [], 10) is None
    assert m.first_hit_rank(["a"], []) is None
    assert m.mean([None, 1.0, 0.0, None]) == 0.5
    assert m.count([None, 1.0, 0.0, None]) == 2
    assert m.mean([None, None]) is None


def test_missing_gold_scores_zero() -> None:
    assert m.hit_at_k([], ["g"], 10) == 0.0
    assert m.mrr_at_k(["a", "b"], ["g"], 10) == 0.0


def test_percentile_interpolates_like_numpy() -> None:
    values = [120.0, 80.0, 300.0, 95.0, 101.0, 2000.0]
    for q in (0, 50, 95, 100):
        assert m.percentile(values, q) == pytest.approx(float(np.percentile(values, q)))
    assert m.percentile([7.0], 95) == 7.0
    assert m.percentile([], 50) is None
    with pytest.raises(ValueError):
        m.percentile([1.0], 101)


# -- multiple choice ----------------------------------------------------------------------


def _passage(i: int, text: str, article: str | None = None, title: str = "t") -> Passage:
    return Passage(
        chunk_id=f"c{i}", article_id=article or f"a{i}", text=text, start=0, end=len(text),
        score=0.5, title=title, date=None, url=None, source=None,
    )


def _answer(texts: list[str], quotes: tuple[str, ...] = (),
            titles: list[str] | None = None) -> Answer:
    passages = tuple(_passage(i, t, title=(titles or [])[i] if titles else "t")
                     for i, t in enumerate(texts))
    cites = tuple(
        Citation(n=i + 1, article_id="a0", title="t", date=None, url=None, quote=q,
                 start=0, end=len(q), chunk_id="c0")
        for i, q in enumerate(quotes)
    )
    return Answer(question="q", text="", abstained=not quotes, citations=cites,
                  retrieved=passages)


def test_choice_with_curly_quotes_matches_straight_quotes_in_text() -> None:
    answer = _answer(['Netflix renewed "Squid Game" for a second season.',
                      "Friends is a sitcom from the nineties."])
    choices = ["“Game of Thrones”", "“Squid Game”", "“Breaking Bad”", "“Friends”"]
    pick = pick_choice("Which show was green lit?", choices, answer, FakeEmbedder())
    assert pick.index == 1
    assert pick.method == "evidence"
    # rank 1 phrase match = 1/1; "Friends" at rank 2 = 1/2
    assert pick.scores == pytest.approx((0.0, 1.0, 0.0, 0.5))


def test_choice_partial_match_and_quote_bonus() -> None:
    q = "Which measure did lawmakers leave out of the gun deal?"
    text = "The deal leaves out a ban on assault weapons but funds school security."
    assert match("Ban on military-style assault weapons", text) == pytest.approx(
        0.5 * 3 / 5  # ban, assault, weapon of ban, military, style, assault, weapon
    )
    answer = _answer(["unrelated passage", text], quotes=(text,))
    scores = evidence_scores(q, ["Funding to improve school security",
                                 "Ban on military-style assault weapons"], answer)
    # both partially in the rank-2 passage (weight 1/2) and in the quote (bonus 1.0)
    assert scores[0] == pytest.approx(1.5 * 0.5 * 3 / 4)  # fund(s), school, security of 4
    assert scores[1] == pytest.approx(1.5 * 0.5 * 3 / 5)


def test_choice_words_repeated_from_the_question_do_not_count() -> None:
    answer = _answer(["Denmark's King Frederik took the throne."])
    choices = ["Norway's King Harald", "Denmark's Queen Margrethe"]
    # "king" is in the question, so it is not evidence for Norway's King Harald
    scores = evidence_scores("Which King abdicated?", choices, answer)
    assert scores[0] == 0.0
    assert scores[1] == pytest.approx(0.5 * 1 / 3)


class _RomeEmbedder:
    """Queries mentioning Rome point the same way as every passage; others do not."""

    def embed_documents(self, texts: list[str]) -> np.ndarray:
        return np.tile(np.array([1.0, 0.0], dtype=np.float32), (len(texts), 1))

    def embed_query(self, text: str) -> np.ndarray:
        return np.array([1.0, 0.0] if "Rome" in text else [0.0, 1.0], dtype=np.float32)


def test_choice_tie_is_broken_by_similarity() -> None:
    answer = _answer(["Both Paris and Rome were mentioned."])
    pick = pick_choice("Which city?", ["Paris", "Rome"], answer, _RomeEmbedder())  # type: ignore[arg-type]
    assert pick.scores == (1.0, 1.0)
    assert (pick.index, pick.method) == (1, "similarity")
    # only the tied options compete: a third option without evidence cannot win
    pick = pick_choice("Which city?", ["Paris", "Oslo", "Rome"],
                       _answer(["Paris and Rome"]), _RomeEmbedder())  # type: ignore[arg-type]
    assert (pick.index, pick.method) == (2, "similarity")
    pick = pick_choice("Which city?", ["Paris", "Rome", "Romeo"],
                       _answer(["Paris and Rome"]), _RomeEmbedder())  # type: ignore[arg-type]
    assert pick.index == 1  # "Romeo" has no evidence: whole words only


def test_choice_reads_the_headline_of_each_passage() -> None:
    # the body of the only passage never names the winner; its headline does
    answer = _answer(["The world champion, for a second straight time, is from Bern."],
                     titles=["Swiss gruyere named world's best cheese again"])
    pick = pick_choice("Which cheese was named the world's best?",
                       ["Cheddar", "Gruyere", "Brie"], answer, FakeEmbedder())
    assert (pick.index, pick.method) == (1, "evidence")


@pytest.mark.parametrize(("question", "expected"), [
    ("Which of these celebs was not invited to join the Academy?", True),
    ("She appeared in all these films except:", True),
    ("He coached at all of these schools except:", True),
    ("Which of these Fleetwood Mac hits did she not write?", True),
    ("Which virus is not included in the tripledemic?", True),
    ("Which of these is not one of the cereals returning to shelves?", True),
    ("Which Tory MP is not reported to be on the resignation honours list?", True),
    ("Which airport says it has not lost a single bag in 30 years?", False),
    ("Which former prime minister said Brexit is not going to be reversed?", False),
    ("In an interview, Martin Sheen said he regrets not using his birth name. What is it?",
     False),
    ("Which show was green lit for a new season?", False),
])
def test_exclusion_questions_are_recognised(question: str, expected: bool) -> None:
    assert is_exclusion(question) is expected


def test_exclusion_question_picks_the_option_the_articles_do_not_support() -> None:
    answer = _answer(["RSV, flu and COVID-19 make up the tripledemic this winter."])
    choices = ["RSV", "Flu", "Strep throat", "COVID-19"]
    pick = pick_choice("Which virus is not included in the tripledemic?", choices, answer,
                       FakeEmbedder())
    assert (pick.index, pick.method) == (2, "exclusion")
    # the same passage for the positive question picks one of the named ones
    pick = pick_choice("Which virus is included in the tripledemic?", choices, answer,
                       FakeEmbedder())
    assert pick.index != 2


def test_the_quiz_rule_reads_exclusion_from_the_analysed_question() -> None:
    """`analyse` recognises the exclusion question once (`Question.exclusion`); the rule
    takes it from there: with the field cleared, the supported option wins."""
    answer = _answer(["RSV, flu and COVID-19 make up the tripledemic this winter."])
    choices = ["RSV", "Flu", "Strep throat", "COVID-19"]
    q = analyse("Which virus is not included in the tripledemic?")
    assert q.exclusion and is_exclusion(q)
    assert pick_choice(q, choices, answer, FakeEmbedder()).index == 2
    pick = pick_choice(replace(q, exclusion=False), choices, answer, FakeEmbedder())
    assert pick.method != "exclusion" and pick.index != 2


def test_choice_without_evidence_uses_similarity_and_without_passages_guesses() -> None:
    answer = _answer(["The colosseum arena is a Roman landmark."])
    pick = pick_choice("Where is the colosseum arena?", ["Lima", "Oslo"], answer, FakeEmbedder())
    assert pick.method == "similarity"
    assert pick.scores == (0.0, 0.0)
    empty = _answer([])
    pick = pick_choice("Where?", ["Lima", "Oslo"], empty, FakeEmbedder())
    assert (pick.index, pick.method) == (0, "guess")


# -- question files ----------------------------------------------------------------------


def test_question_lines_bench_and_minimal_forms() -> None:
    bench = parse_line(
        '{"id": "rtqa-1", "question": "Which show?", "date": "2022-06-16", '
        '"choices": ["“Game of Thrones”", "“Squid Game”"], "answers": ["“Squid Game”"], '
        '"supporting_ids": [], "gold_ids": ["rtqa-5b"], "source": "CNN"}'
    )
    assert bench.date == date(2022, 6, 16)
    assert bench.gold_choice == 1
    assert bench.is_answerable is None  # bench line, supporting_ids empty: unknown
    minimal = parse_line('{"id": 7, "question": "Who leads HTS?", "answers": ["al-Jolani"]}')
    assert minimal.id == "7" and minimal.choices is None and minimal.gold_choice is None
    assert minimal.is_answerable is True
    assert parse_line('{"id": "x", "question": "Bananas?", "answers": []}').is_answerable is False
    assert parse_line('{"id": "x", "question": "q", "answers": ["a"], "supporting_ids": ["s"]}'
                      ).is_answerable is True
    assert parse_line('{"id": "x", "question": "q", "answers": ["a"], "answerable": false}'
                      ).is_answerable is False


def test_bad_question_lines_are_reported_with_line_numbers(tmp_path: Path) -> None:
    lines = [
        '{"id": "ok1", "question": "Who leads HTS?", "answers": ["al-Jolani"]}',
        "{not json",
        "",
        '["a", "list"]',
        '{"id": "no-question", "answers": []}',
        '{"id": "blank", "question": "   ", "answers": []}',
        '{"id": "ok1", "question": "Repeated id?", "answers": []}',
        '{"id": "mc", "question": "Q?", "choices": ["A", "B"], "answers": ["C"]}',
        '{"id": "date", "question": "Q?", "date": "yesterday"}',
        '{"id": "one", "question": "Q?", "choices": ["A"], "answers": ["A"]}',
        '{"id": "ok2", "question": "Which?", "choices": ["A", "B"], "answers": ["b"]}',
    ]
    path = tmp_path / "eval_q.jsonl"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    qf = load_questions(path)
    assert [q.id for q in qf.questions] == ["ok1", "ok2"]
    assert qf.questions[1].gold_choice == 1  # "b" matches "B" after normalisation
    by_line = {e.line: e.reason for e in qf.errors}
    assert sorted(by_line) == [2, 4, 5, 6, 7, 8, 9, 10]
    assert "not valid JSON" in by_line[2]
    assert "expected a JSON object" in by_line[4]
    assert "question" in by_line[5]
    assert "blank" in by_line[6]
    assert "repeats line 1" in by_line[7]
    assert "choices" in by_line[8]
    assert "date" in by_line[9]
    assert "two options" in by_line[10]
    assert str(qf.errors[0]).startswith(f"{path}:2: ")


def test_missing_question_file_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(EvalError, match="no question file"):
        load_questions(tmp_path / "nope.jsonl")
