"""The follow-up rule (assistant/followup.py): unit tests, and the two-turn example over
the seed with the real model."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest

from assistant.followup import context_questions, needs_context, refers_back
from assistant.question import analyse
from assistant.sentence import names
from assistant.service import Assistant
from tests.conftest import SEEDS, make_settings

Q1 = "Where are remaining IS cells?"
Q2 = "Who attacks the truffle hunters there?"
TRUFFLE = "especially against those hunting for truffles in the area"


@pytest.mark.parametrize("question", [
    Q2,                                   # place word "there"
    "What did they do in 2019?",          # pronoun
    "Why did that happen?",               # weak reference, nothing named
    "And in Iraq?",                       # continuation
    "What about Iraq?",                   # continuation
    "Why?",                               # no keywords of its own
    "How many were killed?",              # one keyword
])
def test_questions_that_lean_on_the_conversation(question: str) -> None:
    assert needs_context(question)


@pytest.mark.parametrize("question", [
    Q1,
    "Who leads HTS?",                     # short, but names something
    "Who is the man that leads HTS?",     # relative "that" with a name: stands alone
    "How many people did IS kill in the Badia desert in 2024?",
    "Which US aircraft struck ISIS camps in central Syria?",
])
def test_questions_that_stand_alone(question: str) -> None:
    assert not needs_context(question)


def test_only_back_references_narrow_to_the_conversation_focus() -> None:
    assert refers_back(Q2) and refers_back("What did they do in 2019?")
    # a continuation naming something new moves on: no focus on the earlier articles
    assert not refers_back("And in Iraq?") and not refers_back("What about Iraq?")


def test_the_rule_reads_the_cues_analysed_once_into_the_question() -> None:
    """`analyse` reads the cues (rules 1a, 1b) into the Question; the rule takes them from
    there, not from the text again: flipping a field flips the verdict."""
    q = analyse(Q2)
    assert q.refers_back and not q.continues and not q.weak_reference
    assert analyse("And in Iraq?").continues and not analyse("And in Iraq?").refers_back
    assert analyse("Why did that happen?").weak_reference
    alone = analyse("Who is the man that leads HTS?")  # "that" is weak, HTS is named
    assert alone.weak_reference and not needs_context(alone)
    assert needs_context(replace(alone, names=()))
    assert needs_context(replace(alone, continues=True))
    assert refers_back(replace(alone, refers_back=True))
    assert not refers_back(replace(q, refers_back=False))


def test_names() -> None:
    assert names("Where are remaining IS cells in 2024?") == ["IS", "2024"]
    assert names("Who leads the Hayat Tahrir al-Sham?") == ["Hayat", "Tahrir"]
    assert names("Where is it?") == []


def test_context_questions_two_turns() -> None:
    assert context_questions(Q1, []) == []
    assert context_questions(Q2, [Q1]) == [Q1]


def test_context_questions_topic_change_is_not_polluted() -> None:
    assert context_questions("Who leads HTS?", [Q1, Q2]) == []


def test_context_questions_keep_the_standalone_question_in_long_chains() -> None:
    history = ["Who leads HTS?", Q1, Q2, "How many were killed?"]
    # walks back to Q1 (the last standalone question), keeps it and the latest follow-up
    assert context_questions("And in Iraq?", history) == [Q1, "How many were killed?"]


def test_context_questions_ignore_blank_history() -> None:
    assert context_questions(Q2, ["", "   "]) == []
    assert context_questions(Q2, ["  Where are   remaining IS cells? "]) == [Q1]


# -- over the seed, with the real model ------------------------------------------------------
@pytest.mark.integration
def test_two_turns_over_the_seed(seed_bot: Assistant) -> None:
    first = seed_bot.ask(Q1)
    assert not first.abstained and "Badia desert" in first.text
    second = seed_bot.ask(Q2, history=[Q1])
    assert second.query == f"{Q1} {Q2}"
    assert not second.abstained
    assert any(TRUFFLE in c.quote for c in second.citations), second.text
    assert [c.n for c in second.citations] == list(range(1, len(second.citations) + 1))


DISTRACTOR = """date 2024-11-20
title: Truffle season opens in Piedmont

Truffle hunters in Piedmont, Italy, say thieves attack them in the woods at night.
Local police said that gangs attack the truffle hunters and poison their dogs to steal
the white truffles, which sell for thousands of euros per kilo.
"""


@pytest.mark.integration
def test_history_beats_an_on_topic_distractor(tmp_path: Path, real_embedder: object) -> None:
    """With a second article about attacks on truffle hunters (in Italy), the follow-up
    should still quote the Syrian ones: "there" means where the IS cells are."""
    articles = tmp_path / "articles"
    articles.mkdir()
    (articles / "piedmont.txt").write_text(DISTRACTOR, encoding="utf-8")
    bot = Assistant(make_settings(tmp_path / "home"), embedder=real_embedder)  # type: ignore[arg-type]
    assert bot.ingest([SEEDS, articles]).ok
    with_history = bot.ask(Q2, history=[Q1])
    # The Syrian sentence is quoted and nothing from Piedmont is. (Quotes are shown in
    # article order, so the short answer's window may come before it.)
    assert any(TRUFFLE in c.quote for c in with_history.citations)
    assert all("Piedmont" not in c.title for c in with_history.citations)
    alone = bot.ask(Q2)
    assert alone.citations and "Piedmont" in alone.citations[0].title


def test_a_back_reference_the_focus_cannot_answer_falls_back_to_all_articles(
    tmp_path: Path, fake_bot: Assistant
) -> None:
    articles = tmp_path / "articles"
    articles.mkdir()
    (articles / "piedmont.txt").write_text(DISTRACTOR, encoding="utf-8")
    assert fake_bot.ingest([SEEDS, articles]).ok
    # "their" points back to the IS conversation, but only Piedmont prices truffles
    answer = fake_bot.ask("How many euros per kilo do their white truffles sell for?",
                          history=[Q1])
    assert not answer.abstained
    assert any("per kilo" in c.quote for c in answer.citations), answer.text
