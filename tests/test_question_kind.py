"""Question kinds (issue 31, point 1): only a factoid question gets a short answer; a why,
what-happened or yes/no question leads with its quotes, no bold fact, no "Not sure"."""

from __future__ import annotations

import json

import pytest

from assistant.evaluation.case import Case
from assistant.evaluation.run import aggregate, result_row, score_question
from assistant.question import analyse
from assistant.question.kind import question_kind
from assistant.service import Assistant
from tests.conftest import ROOT, run_cli

SAMPLE = ROOT / "bench" / "question_kinds.jsonl"


@pytest.mark.parametrize(("question", "kind"), [
    # The cases.
    ("What is happening with the Islamic State in Syria?", "explanation"),
    ("Why is IS still a threat in Syria?", "explanation"),
    ("Why did the FAA shut down the airspace over El Paso?", "explanation"),
    ("Was Andrew Mountbatten-Windsor arrested?", "yesno"),
    ("How much did the tram line cost?", "factoid"),
    ("Who led the restoration of the lighthouse?", "factoid"),
    ("When was Andrew Mountbatten-Windsor arrested?", "factoid"),
    ("How many astronauts flew on Artemis II?", "factoid"),
    # Quiz questions ask in their last sentence; a wh-word before the cue asks for a fact.
    ("Yellowstone partially reopened on Wednesday. Why was it shut down?", "explanation"),
    ("The broadcast of the debate was cut short when what happened?", "explanation"),
    ("Which senator explained why the bill failed?", "factoid"),
    ("A sculpture honouring Martin Luther King Jr. was created by which US artist?",
     "factoid"),
    ("This former prime minister was shot during a campaign speech:", "factoid"),
    # Yes/no: an auxiliary first, no alternatives offered; relative clauses are no wh-question.
    ("True or false: the ceasefire was extended.", "yesno"),
    ("Did the man who stole the car get caught?", "yesno"),
    ("Was it the mayor or the governor who ordered the evacuation?", "factoid"),
    ("Do you know who leads the harbour authority?", "factoid"),
    ("How did the prisoner escape?", "explanation"),
    ("How long is the new tram line?", "factoid"),
    ("What is HTS?", "explanation"),
    ("What is the capital of the new province?", "factoid"),
    ("What caused the 70-vehicle crash?", "factoid"),  # a phrase answers it: "a dust storm"
    ("Tell me about the floods in Valencia.", "explanation"),
])
def test_question_kinds(question: str, kind: str) -> None:
    assert question_kind(question) == kind
    assert analyse(question).kind == kind


def test_the_hand_labelled_chat_questions_are_classified_as_labelled() -> None:
    rows = [json.loads(line) for line in SAMPLE.read_text().splitlines() if line.strip()]
    chat = [r for r in rows if "question" in r]
    assert len(chat) == 100
    wrong = [(r["question"], r["kind"]) for r in chat if question_kind(r["question"]) != r["kind"]]
    assert wrong == []


def _case(question: str) -> Case:
    return Case(id="q1", question=question, answers=["Badia desert"], supporting_ids=["a"])


def test_eval_scores_short_answers_over_factoid_questions_only(fake_bot: Assistant) -> None:
    fake_bot.ingest([ROOT / "seeds"])
    rows = []
    for question in ("Where are the remaining IS cells?", "Why are IS cells still active?"):
        answer = fake_bot.ask(question)
        scored = score_question(_case(question), answer, lambda _: None, fake_bot.embedder)
        rows.append(result_row(_case(question), answer, 1.0, scored, None))
    assert [r["question_kind"] for r in rows] == ["factoid", "explanation"]
    assert rows[0]["scores"]["short_exact_match"] is not None
    assert rows[1]["scores"]["short_exact_match"] is None
    metrics = aggregate(rows, k=10)
    assert metrics["short_n"] == 1 and metrics["answer_n"] == 2


@pytest.mark.integration
def test_an_account_question_leads_with_quotes_and_states_no_fact(
        seed_bot: Assistant, capsys: pytest.CaptureFixture[str]) -> None:
    question = "What is happening with the Islamic State in Syria?"
    answer = seed_bot.ask(question)
    assert not answer.abstained and answer.citations
    assert answer.question_kind == "explanation"
    assert answer.short_answer is None and answer.alternatives == ()
    assert answer.to_json()["question_kind"] == "explanation"
    code, out, _ = run_cli(capsys, "--home", str(seed_bot.settings.home), "ask", question)
    assert code == 0
    assert "Answer:" not in out and "Not sure" not in out
    assert out.lstrip().startswith(answer.citations[0].quote[:20])
    # The same question asked for one fact still gets one.
    fact = seed_bot.ask("Where are remaining IS cells?")
    assert fact.question_kind == "factoid" and fact.short_answer is not None


@pytest.mark.integration
def test_fifty_chat_questions_that_want_no_fact_get_none(seed_bot: Assistant) -> None:
    rows = [json.loads(line) for line in SAMPLE.read_text().splitlines() if line.strip()]
    asked = [r["question"] for r in rows if "question" in r and r["kind"] != "factoid"]
    assert len(asked) == 50
    answered = [seed_bot.ask(q) for q in asked]
    assert [a.question for a in answered if a.short_answer is not None] == []
    # Some are about the seed's story and are answered with quotes, not abstained.
    assert sum(not a.abstained for a in answered) >= 3
