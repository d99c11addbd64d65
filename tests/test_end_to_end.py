"""End to end on seeds/ with the real packaged model (loaded once per session)."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from assistant.service import Assistant
from tests.conftest import ROOT

pytestmark = pytest.mark.integration


def test_seed_question_cites_central_eastern_syria_and_badia(seed_bot: Assistant) -> None:
    answer = seed_bot.ask("Where are remaining IS cells?")
    assert not answer.abstained
    quotes = " ".join(c.quote for c in answer.citations)
    assert "central and eastern Syria" in quotes
    assert "Badia desert" in quotes
    for c in answer.citations:
        assert c.title.startswith("The so-called Islamic State")
        assert c.date is not None and c.date.isoformat() == "2024-12-10"
        article = seed_bot.article(c.article_id)
        assert article is not None and article.text[c.start:c.end] == c.quote
        assert f"[{c.n}]" in answer.text


@pytest.mark.parametrize("question", [
    "What is the price of bananas in Peru?",
    "Who won the football World Cup in 2022?",
    "How is the weather in Oslo today?",
])
def test_unrelated_questions_abstain(seed_bot: Assistant, question: str) -> None:
    answer = seed_bot.ask(question)
    assert answer.abstained and not answer.citations


def test_follow_up_uses_the_conversation(seed_bot: Assistant) -> None:
    first = "Where are remaining IS cells?"
    answer = seed_bot.ask("Who attacks the truffle hunters there?", history=[first])
    assert "Badia" in answer.query or first in answer.query
    assert any("truffles" in c.quote for c in answer.citations)


def test_cli_ask_json_in_a_fresh_process(seed_bot: Assistant) -> None:
    env = {**os.environ, "NEWSQA_HOME": str(seed_bot.settings.home), "HF_HUB_OFFLINE": "1"}
    proc = subprocess.run(
        [sys.executable, "-m", "ui.cli", "ask", "--json", "Where are remaining IS cells?"],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=120,
    )
    assert proc.returncode == 0, proc.stderr
    data = json.loads(proc.stdout)
    assert not data["abstained"]
    assert any("Badia desert" in c["quote"] for c in data["citations"])


def _fact_questions() -> list[dict[str, object]]:
    rows = [json.loads(line) for line in
            (ROOT / "seeds" / "questions.jsonl").read_text(encoding="utf-8").splitlines()
            if line.strip()]
    return [r for r in rows if str(r["id"]).startswith("fact-")]


def test_seed_file_has_ten_fact_questions_two_answered_by_the_next_sentence() -> None:
    facts = [r for r in _fact_questions() if not r.get("known_failure")]
    assert len(facts) >= 10
    assert sum(bool(r.get("next_sentence")) for r in facts) >= 2


@pytest.mark.parametrize("row", [
    pytest.param(r, marks=pytest.mark.xfail(
        reason="known reader failure (known_failure in seeds/questions.jsonl)", strict=True))
    if r.get("known_failure") else r for r in _fact_questions()
], ids=lambda r: str(r["id"]))
def test_fact_question_gets_its_short_answer_located_verbatim(
    seed_bot: Assistant, row: dict[str, object]
) -> None:
    answer = seed_bot.ask(str(row["question"]))
    short = answer.short_answer
    assert not answer.abstained and short is not None
    assert short.text.casefold() in {str(a).casefold() for a in row["answers"]}  # type: ignore[attr-defined]
    article = seed_bot.article(short.article_id)
    assert article is not None and article.text[short.start:short.end] == short.text
    cited = answer.citations[short.n - 1]
    assert cited.start <= short.start and short.end <= cited.end
    assert article.text[cited.start:cited.end] == cited.quote


def test_no_text_is_quoted_twice_in_one_answer(seed_bot: Assistant) -> None:
    # "Here, the organization called itself the Al-Nusra Front." continues into "Its
    # commander, Abu Mohammed al-Jolani, ..."; both sentences match: one quote, not two
    # quotes that repeat the second sentence.
    for question in ["Who leads HTS?", *(str(r["question"]) for r in _fact_questions())]:
        cites = seed_bot.ask(question).citations
        for i, a in enumerate(cites):
            for b in cites[i + 1:]:
                assert a.article_id != b.article_id or a.end <= b.start or b.end <= a.start, (
                    question, a.quote, b.quote)


def test_a_question_is_analysed_once_for_every_stage(seed_bot: Assistant, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    """Retrieval's follow-up rule, the answerer, the reader and the quiz rule all receive
    the one analysed question; only earlier turns are analysed besides it."""
    import assistant.followup
    import assistant.question
    import assistant.service

    analysed: list[str] = []
    real = assistant.question.analyse

    def counting(text: str) -> assistant.question.Question:
        analysed.append(text)
        return real(text)

    for module in (assistant.question, assistant.service, assistant.followup):
        monkeypatch.setattr(module, "analyse", counting)
    answer = seed_bot.ask("Which desert do IS cells hide in?", history=["Who leads HTS?"],
                          choices=["Badia desert", "Sahara", "Gobi"])
    assert answer.choice is not None and not answer.abstained
    assert analysed.count("Which desert do IS cells hide in?") == 1
    assert set(analysed) <= {"Which desert do IS cells hide in?", "Who leads HTS?"}
