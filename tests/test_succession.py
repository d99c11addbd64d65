"""The newest holder of a role wins (issue 32, point 1): two invented articles, the first
naming Maria Okafor chief executive of a harbour authority, the second, three weeks
later, saying in several phrasings that Tomas Lindqvist took over. "Who leads the Harbour
Authority?" answers Lindqvist, with and without an as-of date after both; before the
change, Okafor."""

from __future__ import annotations

import json
import shutil
from datetime import date
from pathlib import Path

import pytest

from assistant.question import analyse
from assistant.reader.succession import role
from assistant.service import Assistant
from tests.conftest import make_settings

FIRST = {"id": "harbour-1", "title": "Harbour Authority names new chief executive",
         "date": "2026-10-01",
         "text": "The Harbour Authority on Monday named Maria Okafor as its chief executive. "
                 "Okafor, a former port engineer who spent a decade running the container "
                 "terminal, takes over at a time of record cargo volumes. The authority's "
                 "board said she would lead the expansion of the northern quay."}
CHANGES = {
    "appointed to lead": "Maria Okafor resigned as chief executive of the Harbour Authority "
                         "on Friday, citing a dispute with the board over the quay budget. "
                         "The board appointed Tomas Lindqvist, its finance director, to lead "
                         "the authority.",
    "replaced by": "Maria Okafor was replaced by Tomas Lindqvist as chief executive of the "
                   "Harbour Authority on Friday after a dispute over the quay budget.",
    "succeeded": "Tomas Lindqvist succeeded Maria Okafor as chief executive of the Harbour "
                 "Authority on Friday, after she quit over the quay budget.",
    "took over": "Maria Okafor stepped down as head of the Harbour Authority on Friday. "
                 "Tomas Lindqvist, the finance director, took over as chief executive.",
}


@pytest.mark.parametrize(("sentence", "name", "expected"), [
    ("Maria Okafor resigned as chief executive.", "Maria Okafor", "outgoing"),
    ("The board appointed Tomas Lindqvist to lead the authority.", "Tomas Lindqvist",
     "incoming"),
    ("Okafor was replaced by Tomas Lindqvist.", "Okafor", "outgoing"),
    ("Okafor was replaced by Tomas Lindqvist.", "Tomas Lindqvist", "incoming"),
    ("Tomas Lindqvist succeeded Maria Okafor.", "Tomas Lindqvist", "incoming"),
    ("Tomas Lindqvist succeeded Maria Okafor.", "Maria Okafor", "outgoing"),
    ("Lindqvist, the finance director, took over.", "Lindqvist", "incoming"),
    ("Okafor met Lindqvist at the quay.", "Okafor", None),
])
def test_the_role_a_change_of_hands_gives_a_name(sentence: str, name: str,
                                                 expected: str | None) -> None:
    at = sentence.index(name)
    assert role(sentence, at, at + len(name)) == expected


@pytest.mark.parametrize(("question", "present"), [
    ("Who leads the Harbour Authority?", True),
    ("Who is the chief executive of the Harbour Authority?", True),
    ("Who runs the port now?", True),
    ("Who led the restoration of the lighthouse?", False),
    ("Who did the board appoint in October?", False),
])
def test_questions_about_a_present_state(question: str, present: bool) -> None:
    assert analyse(question).present is present


def _bot(tmp_path: Path, model_home: Path, embedder, second: str) -> Assistant:  # type: ignore[no-untyped-def]
    home = tmp_path / "home"
    shutil.copytree(model_home / "models", home / "models", dirs_exist_ok=True)
    bot = Assistant(make_settings(home), embedder=embedder)
    articles = tmp_path / "harbour.jsonl"
    later = {"id": "harbour-2", "title": "Harbour Authority changes chief",
             "date": "2026-10-22", "text": second}
    articles.write_text("\n".join(json.dumps(a) for a in (FIRST, later)) + "\n")
    assert bot.ingest([articles]).ok
    return bot


@pytest.mark.integration
@pytest.mark.parametrize("phrasing", sorted(CHANGES))
def test_the_newer_holder_is_the_answer(tmp_path: Path, model_home: Path, real_embedder,  # type: ignore[no-untyped-def]
                                        phrasing: str) -> None:
    bot = _bot(tmp_path, model_home, real_embedder, CHANGES[phrasing])
    for question in ("Who leads the Harbour Authority?",
                     "Who is the chief executive of the Harbour Authority?"):
        for as_of in (None, date(2026, 11, 1)):
            answer = bot.ask(question, as_of=as_of)
            assert answer.short_answer is not None, (phrasing, question, as_of)
            assert "Lindqvist" in answer.short_answer.text, (phrasing, question, as_of,
                                                             answer.short_answer.text)
            # the older holder is at most the hedge's alternative
            assert all("Lindqvist" not in a.text for a in answer.alternatives)
    # Before the change, the first holder.
    before = bot.ask("Who leads the Harbour Authority?", as_of=date(2026, 10, 10))
    assert before.short_answer is not None and "Okafor" in before.short_answer.text
