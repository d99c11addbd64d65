"""Extractive answers: verbatim quotes at their offsets, stable numbering, abstention."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from assistant.errors import EmptyQuestion
from assistant.extractive import ExtractiveAnswerer, novelty
from assistant.question import analyse
from assistant.sentence import keywords, split_sentences
from assistant.service import Assistant
from assistant.settings import AnswerSettings
from index.retrieve import Passage
from tests.conftest import SEED_FILE
from tests.fakes import FakeEmbedder


@pytest.fixture
def seeded(fake_bot: Assistant) -> Assistant:
    fake_bot.ingest([SEED_FILE])
    return fake_bot


def test_every_quote_is_verbatim_at_its_offsets(seeded: Assistant) -> None:
    for q in ["Where are remaining IS cells?", "Who leads HTS?", "What did Biden say?"]:
        answer = seeded.ask(q)
        assert answer.citations
        for c in answer.citations:
            article = seeded.article(c.article_id)
            assert article is not None
            assert article.text[c.start:c.end] == c.quote


def test_markers_resolve_to_citations_in_order(seeded: Assistant) -> None:
    answer = seeded.ask("Where are remaining IS cells?")
    assert [c.n for c in answer.citations] == list(range(1, len(answer.citations) + 1))
    for c in answer.citations:
        assert f"{c.quote} [{c.n}]" in answer.text
    assert len({(c.article_id, c.start) for c in answer.citations}) == len(answer.citations)


def test_unrelated_question_abstains_and_cites_nothing(seeded: Assistant) -> None:
    answer = seeded.ask("What is the price of bananas in Peru?")
    assert answer.abstained
    assert answer.citations == ()
    assert "don't say" in answer.text


def test_empty_question_is_refused(seeded: Assistant) -> None:
    with pytest.raises(EmptyQuestion):
        seeded.ask("   ")


def test_json_shape_matches_the_cli_contract(seeded: Assistant) -> None:
    data = seeded.ask("Where are remaining IS cells?").to_json()
    assert {"question", "answer", "abstained", "citations", "retrieved"} <= data.keys()
    cit = data["citations"][0]
    assert {"n", "article_id", "title", "date", "url", "quote", "start", "end"} <= cit.keys()
    assert cit["date"] == "2024-12-10"
    assert {"article_id", "chunk_id", "score"} <= data["retrieved"][0].keys()


def test_sentence_splitter_keeps_closing_quotes_and_offsets() -> None:
    text = 'He said: "There are cells in Syria." Then he left.\nNew line here'
    spans = [text[s:e] for s, e in split_sentences(text)]
    assert spans == ['He said: "There are cells in Syria."', "Then he left.", "New line here"]


def test_abbreviations_do_not_cut_a_quote_in_two() -> None:
    # A quote that ends "... her portrayal of Lt." hides the answer in the next one.
    text = ("Nichols, best known for her portrayal of Lt. Nyota Uhura, has died. "
            "Florida Gov. Ron DeSantis spoke on Jan. 6 at the U.S. Capitol in St. Louis. "
            "George W. Bush left at 8 p.m. ET on Friday. He lives in the U.S. The end.\n\n"
            "He met Dr.\n\nA new paragraph.")
    spans = [text[s:e] for s, e in split_sentences(text)]
    assert spans == [
        "Nichols, best known for her portrayal of Lt. Nyota Uhura, has died.",
        "Florida Gov. Ron DeSantis spoke on Jan. 6 at the U.S. Capitol in St. Louis.",
        "George W. Bush left at 8 p.m. ET on Friday.",
        "He lives in the U.S.", "The end.", "He met Dr.", "A new paragraph.",
    ]


def test_keywords_keep_acronyms_that_spell_stopwords() -> None:
    assert "is#" in keywords("Where are remaining IS cells?")
    assert "is" not in keywords("this is it")
    assert keywords("attacks") == keywords("attack")


def test_answer_refers_to_as_of_when_given(tmp_path: Path, seeded: Assistant) -> None:
    from datetime import date

    answer = seeded.ask("Where are remaining IS cells?", as_of=date(2024, 12, 31))
    assert answer.as_of == date(2024, 12, 31) and answer.citations
    before = seeded.ask("Where are remaining IS cells?", as_of=date(2024, 1, 1))
    assert before.abstained  # the only article was published later


def test_hard_wrapped_lines_do_not_cut_sentences() -> None:
    text = ("The council approved the budget, which is paid for by\na new harbour tax. "
            "Work starts in May.\n\nA second paragraph")
    spans = [text[s:e] for s, e in split_sentences(text)]
    assert spans[0] == "The council approved the budget, which is paid for by\na new harbour tax."
    assert spans[1:] == ["Work starts in May.", "A second paragraph"]


def test_quiz_options_pick_the_supported_one_and_quote_it(seeded: Assistant) -> None:
    answer = seeded.ask("In which desert did IS cells stay intact?",
                        choices=["Sahara", "Badia desert", "Gobi", "Atacama"])
    assert answer.choice == 1 and answer.choice_method == "evidence"
    # The picked option leads as the short answer, located verbatim in the quote naming it.
    short = answer.short_answer
    assert short is not None and short.text == "Badia desert"
    quote = answer.citations[short.n - 1]
    assert quote.quote[short.start - quote.start:short.end - quote.start] == "Badia desert"
    data = answer.to_json()
    assert data["choice"] == 1 and data["choice_text"] == "Badia desert"
    assert "choice" not in seeded.ask("Who leads HTS?").to_json()


class _SameEmbedder:
    """Every text points the same way: meaning ties, so keywords and names decide."""

    def embed_query(self, text: str) -> np.ndarray:
        return np.array([1.0, 0.0], dtype=np.float32)

    def embed_documents(self, texts: list[str]) -> np.ndarray:
        return np.tile(np.array([1.0, 0.0], dtype=np.float32), (len(texts), 1))


def _passage(text: str) -> Passage:
    return Passage(chunk_id="c0", article_id="a0", text=text, start=0, end=len(text),
                   score=0.5, title="t", date=None, url=None, source=None)


def test_the_sentence_that_names_the_answer_is_quoted_before_a_restatement() -> None:
    text = ("Phone makers will have to fit one common charger, the bloc said. "
            "The European Union will require one common charger for every phone.")
    settings = AnswerSettings(max_sentences=1)
    answer = ExtractiveAnswerer(_SameEmbedder(), settings).answer(  # type: ignore[arg-type]
        "Which bloc will require a common phone charger?", [_passage(text)])
    assert [c.quote for c in answer.citations] == [
        "The European Union will require one common charger for every phone."]
    assert novelty("Which bloc will require a common phone charger?",
                   ExtractiveAnswerer(_SameEmbedder(), settings).candidates(  # type: ignore[arg-type]
                       [_passage(text)])).tolist() == [0.0, 1.0]
    # The question's words come from its analysis (`Question.lower_words`), not the text:
    # a question that had named the EU would make the second sentence say nothing new.
    q = analyse("Which bloc will require a common phone charger?")
    cands = ExtractiveAnswerer(_SameEmbedder(), settings).candidates(  # type: ignore[arg-type]
        [_passage(text)])
    assert novelty(q, cands).tolist() == [0.0, 1.0]
    named_eu = replace(q, lower_words=q.lower_words | {"the", "european", "union"})
    assert novelty(named_eu, cands).tolist() == [0.0, 0.0]


def test_naming_something_does_not_turn_an_abstention_into_an_answer() -> None:
    text = "Officials in Lima, Peru, met the IMF in 2023 to discuss a new loan program."
    answer = ExtractiveAnswerer(FakeEmbedder(), AnswerSettings()).answer(
        "How warm will the Arctic summer get?", [_passage(text)])
    assert answer.abstained and answer.citations == ()
