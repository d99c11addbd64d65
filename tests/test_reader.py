"""The short-answer reader: question typing, candidate spans located verbatim (also after
non-ASCII text), sentence windows that carry the fact, and the answer that shows it."""

from __future__ import annotations

from dataclasses import replace
from datetime import date

import pytest

from assistant.extractive import ExtractiveAnswerer
from assistant.question import analyse
from assistant.reader.span import Span, SpanReader, Weights, Window, continues
from assistant.settings import AnswerSettings
from index.retrieve import Passage
from tests.fakes import FakeEmbedder


@pytest.mark.parametrize(("question", "kind", "focus"), [
    ("Who leads the Hayat Tahrir al-Sham (HTS) militia?", "person", None),
    ("Which US general said ISIS would not be allowed to reconstitute?", "person", "general"),
    ("Which Middle East expert did DW speak to?", "person", "expert"),
    ("Where are the remaining Islamic State cells?", "place", None),
    ("Which country announced new sanctions this week?", "place", "country"),
    ("In which city did the protests start?", "place", "city"),
    ("When was Islamic State forced to concede its territory?", "date", None),
    ("In what year did the group start spreading through Syria?", "date", "year"),
    ("How many people were killed in the attacks?", "number", None),
    ("How old is the new prime minister?", "number", None),
    ("How much did Musk pay for Twitter?", "money", None),
    ("What percentage of voters backed the plan?", "percent", None),
    ("Which company bought Activision Blizzard?", "organisation", "company"),
    ("Which team won the Super Bowl?", "organisation", "team"),
    ("What did the organization call itself in Syria?", "thing", None),
    ("What language was the article first published in?", "thing", "language"),
    # Modifiers before the noun, "this <noun>" without a wh-word, partitives.
    ("This former Japanese prime minister was assassinated during a speech.", "person",
     "minister"),
    ("In October, Elon Musk officially purchased this company for $44 billion.",
     "organisation", "company"),
    ("Which wildly popular show was green lit for a new season?", "thing", "show"),
    ("Which of the following grocery items has seen the biggest price rise?", "thing",
     "items"),
    ("Which menu item did KFC roll out this week?", "thing", "item"),
    ("Which popular US tourist attraction reopened for tours?", "place", "attraction"),
    ("The GOP's most outspoken critic lost her seat. What is her name?", "person", None),
    ("What happened in Kyiv this week?", "thing", None),
    # The wh-word opens the question's last sentence.
    ("Justice Ketanji Brown Jackson made history this week, becoming the first Black woman "
     "to sit on the Supreme Court. Whose seat is she filling?", "person", "seat"),
])
def test_question_typing(question: str, kind: str, focus: str | None) -> None:
    q = analyse(question)
    assert q.answer_type == kind
    if focus is not None:
        assert q.focus == focus


def test_question_knows_the_label_its_noun_names_and_the_words_after_it() -> None:
    show = analyse("Which wildly popular show was green lit for a new season?")
    assert show.focus_label == "WORK_OF_ART"
    bought = analyse("Which company bought Activision Blizzard?")
    assert bought.after == {"bought", "activision", "blizzard"}
    assert bought.asks_subject


def test_question_keywords_are_computed_once_into_a_frozen_value() -> None:
    q = analyse("Where are remaining IS cells?")
    assert "is#" in q.keywords and "cell" in q.keywords
    with pytest.raises(AttributeError):
        q.answer_type = "person"  # type: ignore[misc]


@pytest.mark.parametrize(("sentence", "expected"), [
    ("It was then called the Al-Nusra Front.", True),
    ("They attacked truffle hunters.", True),
    ("Here, the organization called itself the Al-Nusra Front.", True),
    ('"Several dozen people have been killed," he said.', True),
    ("Wieland said that they often carried out attacks on the rural population.", True),
    ("According to the police, they fled north.", True),
    ("Apple said it would reopen the store.", False),
    ("Officials said they would reopen the road.", False),
    ("The minister resigned on Monday.", False),
    ("Wieland said that the cells often carried out attacks.", False),
    ("The mayor said Italy won the match.", False),
    ("Italy won the match.", False),
])
def test_continuation_sentences(sentence: str, expected: bool) -> None:
    assert continues(sentence) is expected


def _window(article: str, sentence: str, relevance: float = 0.6, rank: int = 0) -> Window:
    start = article.index(sentence)
    return Window(article_id="a1", start=start, end=start + len(sentence),
                  head_end=start + len(sentence), text=sentence, relevance=relevance,
                  passage_rank=rank, date=date(2024, 12, 10))


def _choosing() -> SpanReader:
    """The reader without its threshold: which candidate wins, however short the text
    (a one-sentence article gives the reader little to be sure of)."""
    return SpanReader(weights=Weights(Weights.load().weights, threshold=-1e9, source="test"))


class _Flat:
    """No span model: every span scores alike, the hand features decide."""

    def prefetch(self, question, texts):  # type: ignore[no-untyped-def]
        pass

    def score(self, question, texts, spans):  # type: ignore[no-untyped-def]
        return [[0.0] * len(s) for s in spans]


def _read_alone(question: str, article: str) -> Span | None:
    """The reader's answer from one window holding the whole article."""
    return SpanReader().read(analyse(question), [_window(article, article)], [("a1", article)])


def test_span_is_located_verbatim_after_unicode_text() -> None:
    # Non-ASCII letters, curly quotes and an em dash before the answer: offsets must still
    # point at the right characters of the article.
    article = ("ZÜRICH — «Die Zeit» reported on Ünterstraße. The mayor of Zürich, "
               "Corine Mauch, said the “plan” would cost 40 million francs.")
    sentence = article[article.index("The mayor"):]
    span = SpanReader().read(analyse("Who is the mayor of Zürich?"), [_window(article, sentence)],
                             [("a1", article)])
    assert span is not None and span.text == "Corine Mauch"
    assert article[span.start:span.end] == span.text


_FOUNDED = ("Founded in Iraq in the context of the 2003 US invasion, the so-called Islamic "
            "State started spreading through Syria in 2012 amid the chaos of civil war.")


def test_reader_prefers_the_typed_answer_over_names_from_the_question() -> None:
    year = _read_alone("In which year did Islamic State start spreading through Syria?",
                       _FOUNDED)
    assert year is not None and year.text == "2012"


def test_reader_picks_the_country_the_verb_points_at() -> None:
    # Of two countries, Syria stands nearer the question's words; the span model reads
    # "Founded in Iraq" as the answer.
    country = _read_alone("In which country was the so-called Islamic State founded?",
                          _FOUNDED)
    assert country is not None and country.text == "Iraq"


def test_a_year_question_gets_the_year_not_the_day_of_the_story() -> None:
    article = ("On Wednesday, Microsoft retired its Internet Explorer browser. The browser "
               "first debuted in 1995 as an add-on for Windows 95.")
    span = _read_alone("Microsoft retired Internet Explorer this week. What year did it "
                       "debut?", article)
    assert span is not None and span.text == "1995"


def test_the_questions_own_subject_under_another_title_is_not_the_answer() -> None:
    # "Judge Ketanji Brown Jackson" is the woman the question names as "Justice ...".
    article = ("Judge Ketanji Brown Jackson was sworn in on Thursday, taking the seat of "
               "retiring Justice Stephen Breyer.")
    from assistant.reader.span import FEATURES

    question = analyse("Justice Ketanji Brown Jackson made history this week, becoming the "
                       "first Black woman to sit on the Supreme Court. Whose seat is she "
                       "filling?")
    windows, passages = [_window(article, article)], [("a1", article)]
    judge = next(c for c in SpanReader().candidates(question, windows, passages)
                 if c.mention.text == "Judge Ketanji Brown Jackson")
    assert judge.features[FEATURES.index("all_in_question")] == 1.0  # titles aside
    span = _choosing().read(question, windows, passages)
    assert span is not None and "Breyer" in span.text and "Jackson" not in span.text


def test_a_title_alone_is_never_the_answer() -> None:
    article = "Rep. Alexandria Ocasio-Cortez is under investigation, said the Rep. office."
    reading = _choosing().weigh(analyse("The Ethics Committee is investigating which "
                                        "representative?"), [_window(article, article)],
                                [("a1", article)])
    assert reading.span is not None and reading.span.text not in ("Rep.", "Rep")


def test_a_number_entity_without_a_number_is_no_candidate() -> None:
    from assistant.reader.mention import MentionFinder

    text = ("That's the period of a little more than three hours as the riot unfolded in "
            "the US Capitol.")
    found = {m.text for m in MentionFinder().find([text])[0].mentions}
    assert "three" in found or "three hours" in found
    assert not any("than" in t and not any(ch.isdigit() for ch in t) and "three" not in t
                   for t in found)


def test_a_news_outlet_in_the_dateline_is_not_the_answer() -> None:
    article = ("New York (CNN Business) KFC rolled out chicken nuggets nationwide this week "
               "to attract a younger crowd.")
    span = _read_alone("Which menu item did KFC roll out this week to attract a younger "
                       "crowd?", article)
    assert span is not None and "CNN" not in span.text


def test_the_full_name_beats_the_surname_alone() -> None:
    article = ("J. K. Rowling got into a row on Twitter with fellow author Joanne Harris. "
               "Harris had asked authors how they deal with threats.")
    span = _read_alone("Which fellow author did J. K. Rowling get in a Twitter row with?",
                       article)
    assert span is not None and span.text == "Joanne Harris"


def test_reading_spreads_belief_over_windows_and_most_lies_with_the_answer() -> None:
    article = ("The festival drew large crowds again this year. Organisers said the winner "
               "of the song contest was Nemo, from Switzerland. Tickets sold out in May.")
    windows = [_window(article, "The festival drew large crowds again this year.", 0.7),
               _window(article, "Organisers said the winner of the song contest was Nemo, "
                                "from Switzerland.", 0.6, 1),
               _window(article, "Tickets sold out in May.", 0.5, 2)]
    reading = SpanReader().weigh(analyse("Who won the song contest?"), windows,
                                 [("a1", article)])
    assert reading.span is not None and reading.span.text == "Nemo"
    assert abs(sum(reading.mass) - 1.0) < 1e-6
    assert max(range(3), key=lambda i: reading.mass[i]) == 1


def test_no_short_answer_below_the_threshold() -> None:
    article = "Prices rose again in the capital."
    unreachable = Weights(Weights.load().weights, threshold=1e9, source="test")
    span = SpanReader(weights=unreachable).read(analyse("Who won the election?"),
                                               [_window(article, article)], [("a1", article)])
    assert span is None


def test_weights_file_names_every_feature() -> None:
    import json
    from importlib import resources

    from assistant.reader.span import FEATURES

    data = json.loads(resources.files("assistant.reader").joinpath("weights.json").read_text())
    assert data["features"] == list(FEATURES)
    assert len(data["weights"]) == len(FEATURES)


def _passage(text: str) -> Passage:
    return Passage(article_id="a1", chunk_id="a1:0", text=text, score=0.8, start=0,
                   end=len(text), title="Council news", date=date(2024, 5, 2), url=None,
                   source=None)


def test_the_fact_in_the_next_sentence_is_quoted_and_answers() -> None:
    # The first sentence echoes the question; the answer is only in the one after it.
    text = ("The harbour authority renamed the old grain terminal last spring after years "
            "of debate. It is now called the Port of Odesa Annex. Unrelated: the weather "
            "stayed mild all week in the region.")
    answerer = ExtractiveAnswerer(FakeEmbedder(), AnswerSettings(min_relevance=0.0),
                                  SpanReader())
    answer = answerer.answer("What did the harbour authority rename the old grain terminal?",
                             [_passage(text)])
    assert not answer.abstained
    short = answer.short_answer
    assert short is not None and short.text == "Port of Odesa Annex"
    cited = answer.citations[short.n - 1]
    assert "It is now called the Port of Odesa Annex." in cited.quote
    assert cited.quote == text[cited.start:cited.end]
    assert text[short.start:short.end] == short.text
    assert cited.start <= short.start < short.end <= cited.end
    data = answer.to_json()
    assert data["short_answer"]["text"] == "Port of Odesa Annex"
    assert data["short_answer"]["n"] == short.n


def test_the_reader_reads_on_into_a_next_sentence_that_does_not_lean_back() -> None:
    # The answer's sentence does not start with "It"/"They": the reader still reads it
    # with the sentence before, and the quote is both sentences, verbatim.
    text = ("The club announced its new head coach on Tuesday after a long search. "
            "Former midfielder Carla Nunes signed a three-year contract. Unrelated: the "
            "stadium roof will be repaired next summer.")
    answerer = ExtractiveAnswerer(FakeEmbedder(), AnswerSettings(min_relevance=0.0),
                                  SpanReader())
    answer = answerer.answer("Who did the club announce as its new head coach?",
                             [_passage(text)])
    short = answer.short_answer
    assert short is not None and short.text == "Carla Nunes"
    cited = answer.citations[short.n - 1]
    assert cited.quote.startswith("The club announced its new head coach")
    assert cited.quote.endswith("signed a three-year contract.")
    assert cited.quote == text[cited.start:cited.end]


def test_quotes_only_when_short_answers_are_off() -> None:
    text = "The council met on Monday. It chose Maria Lopez as its new chair."
    answerer = ExtractiveAnswerer(FakeEmbedder(), AnswerSettings(min_relevance=0.0), None)
    answer = answerer.answer("Who did the council choose as chair?", [_passage(text)])
    assert answer.short_answer is None and answer.citations


def test_a_text_met_again_is_not_parsed_again(monkeypatch) -> None:  # type: ignore[no-untyped-def]
    """Related questions bring back the same passages: their parse is reused."""
    from assistant.reader import mention

    finder = mention.MentionFinder(cache_size=2)
    texts = ["Ahmed al-Sharaa leads HTS.", "The Badia desert lies in Syria."]
    first = finder.find(texts)
    parsed: list[str] = []
    real = mention._parse
    monkeypatch.setattr(mention, "_parse",
                        lambda nlp, todo: (parsed.extend(todo), real(nlp, todo))[1])
    assert finder.find(texts[::-1]) == first[::-1] and parsed == []
    finder.find(["Damascus is the capital."])  # the least recently used (texts[1]) goes
    finder.find(texts)
    assert parsed == ["Damascus is the capital.", texts[1]]
    assert "Badia desert" in {m.text for m in first[1].mentions}


def test_tagging_beside_entity_recognition_parses_as_spacy_does() -> None:
    # The tagger runs in a second thread beside the entity recognizer (a faster warm
    # ask on 2 cores): the result must be spaCy's own, token for token.
    from assistant.reader import mention

    nlp = mention.nlp()
    texts = ["Florida Gov. Ron DeSantis signed the bill in Tallahassee on Jan. 6.",
             "Abu Mohammed al-Jolani leads the Hayat Tahrir al-Sham (HTS) militia.",
             "Brazil’s Rebeca Andrade won gold; Simone Biles took silver for 3 medals."]
    ours = mention._parse(nlp, texts)
    theirs = list(nlp.pipe(texts))
    assert [[(t.text, t.tag_, t.ent_iob_, t.ent_type_) for t in d] for d in ours] == \
        [[(t.text, t.tag_, t.ent_iob_, t.ent_type_) for t in d] for d in theirs]
    assert {e.text for e in ours[2].ents} >= {"Rebeca Andrade", "Simone Biles"}


def test_the_readers_runner_up_is_named_in_the_reading() -> None:
    article = ("Two candidates stood for mayor of the harbour town this spring. "
               "Maria Lopez won the vote for mayor, officials said. "
               "Rival Tomas Berg said he had won the vote for mayor.")
    sentences = [s + "." for s in article.split(". ")]
    sentences[-1] = sentences[-1].rstrip(".")
    windows = [_window(article, s, 0.7 - i / 10, i) for i, s in enumerate(sentences)]
    # The span model reads who won and who merely claims it: the reader is sure.
    sure = SpanReader().weigh(analyse("Who won the vote for mayor?"), windows,
                              [("a1", article)])
    assert sure.span is not None and sure.span.text == "Maria Lopez"
    assert sure.span.belief > 0.5
    # On the hand features alone it hesitates, and names the runner-up.
    reading = SpanReader(scorer=_Flat()).weigh(analyse("Who won the vote for mayor?"),
                                               windows, [("a1", article)])
    assert reading.span is not None
    texts = [reading.span.text, *(a.text for a in reading.alternatives)]
    assert {"Maria Lopez", "Tomas Berg"} <= set(texts)
    assert len(set(texts)) == len(texts)  # each answer once
    assert all(a.belief >= 0.10 for a in reading.alternatives)
    # The answer shown is the one believed most: no next answer is likelier.
    assert all(reading.span.belief >= a.belief for a in reading.alternatives)
    assert all(article[a.start:a.end] == a.text for a in reading.alternatives)


def test_an_answer_read_in_an_article_weeks_behind_the_newest_is_less_sure() -> None:
    article = "Maria Lopez won the vote for mayor of the harbour town, officials said."
    windows = [_window(article, article, 0.7)]  # dated 2024-12-10
    q = analyse("Who won the vote for mayor?")
    fresh = SpanReader().weigh(q, windows, [("a1", article)], newest=date(2024, 12, 11))
    stale = SpanReader().weigh(q, windows, [("a1", article)], newest=date(2025, 2, 10))
    undated = SpanReader().weigh(q, [replace(windows[0], date=None)], [("a1", article)],
                                 newest=date(2025, 2, 10))
    assert fresh.span is not None and stale.span is not None and undated.span is not None
    assert fresh.span.text == stale.span.text == "Maria Lopez"  # the answer stays
    assert fresh.span.belief == stale.span.belief
    assert fresh.span.confidence is not None and stale.span.confidence is not None
    # Two months behind: the map's input falls by age_weight * log1p(62); how much the
    # confidence falls depends on where the map's steps lie (0.92 -> 0.87 with the shipped
    # map, fitted 2026-12-08).
    cal = SpanReader().calibration
    assert cal.score(0.98, 62) < cal.score(0.98, 1) - 1.0
    assert stale.span.confidence < fresh.span.confidence - 0.03
    # no date to compare: no penalty (the newest window is the reference by default)
    same_day = SpanReader().weigh(q, windows, [("a1", article)]).span
    assert same_day is not None and undated.span.confidence == same_day.confidence


def test_a_name_read_in_several_windows_outweighs_one_scored_a_little_higher_once() -> None:
    import numpy as np

    from assistant.reader.span import choose

    # Iraq's two mentions hold more of the belief (e^1 + e^0.9 > e^1.2) than Syria's one.
    texts = ["Iraq", "Syria", "iraq"]
    assert choose(texts, np.array([1.0, 1.2, 0.9])) == 0  # shown at its better mention
    assert choose(texts, np.array([0.9, 1.2, 1.0])) == 2
    assert choose(texts, np.array([0.0, 3.0, 0.0])) == 1  # a clear favourite still wins


class _Unsure:
    """A reader torn between its answer and a runner-up elsewhere in the passage."""

    def __init__(self, text: str, answer: str, runner_up: str) -> None:
        self.text, self.answer, self.runner_up = text, answer, runner_up

    def weigh(self, question, windows, passage_texts, newest=None):  # type: ignore[no-untyped-def]
        from assistant.reader.span import Reading, Span

        def span(name: str, belief: float) -> Span:
            start = self.text.index(name)
            window = next(i for i, w in enumerate(windows) if w.start <= start < w.end)
            return Span(window=window, start=start, end=start + len(name), text=name,
                        score=5.0, belief=belief)

        return Reading(span(self.answer, 0.5), tuple(1 / len(windows) for _ in windows),
                       (span(self.runner_up, 0.3),))


def test_the_readers_runner_up_is_quoted_too() -> None:
    # When the reader hesitates, the sentence naming its second answer is on screen as
    # well: if the short answer is wrong, the right one can still be read in a quote.
    text = ("The harbour festival chose its new director on Tuesday. "
            "The board said Maria Lopez would lead the harbour festival. "
            "The harbour festival director post drew many applicants. "
            "The harbour festival board met for hours on Tuesday. "
            "Weather stayed mild. Later, staff said Tomas Berg had been offered the job.")
    reader = _Unsure(text, "Maria Lopez", "Tomas Berg")
    answerer = ExtractiveAnswerer(FakeEmbedder(), AnswerSettings(min_relevance=0.0),
                                  reader)  # type: ignore[arg-type]
    answer = answerer.answer("Who did the harbour festival choose as its director?",
                             [_passage(text)])
    assert answer.short_answer is not None and answer.short_answer.text == "Maria Lopez"
    quotes = [c.quote for c in answer.citations]
    assert any("Tomas Berg" in q for q in quotes)
    assert len(quotes) <= AnswerSettings().max_sentences + 2
    assert all(c.quote == text[c.start:c.end] for c in answer.citations)


def test_features_are_placed_by_name_and_a_missing_one_is_an_error() -> None:
    from assistant.reader.span import FEATURES, vector

    values = {name: float(i) for i, name in enumerate(FEATURES)}
    assert vector(values).tolist() == [float(i) for i in range(len(FEATURES))]
    without = {k: v for k, v in values.items() if k != "verb_near"}
    with pytest.raises(ValueError, match="verb_near"):
        vector(without)
    with pytest.raises(ValueError, match="new_clue"):
        vector({**values, "new_clue": 1.0})


def test_windows_and_spans_take_keywords_only() -> None:
    """Offsets of the same type side by side: a swapped pair would be silently wrong."""
    with pytest.raises(TypeError):
        Window("a1", 0, 10, 10, "Some text.", 0.5, 0, None)  # type: ignore[misc]
    with pytest.raises(TypeError):
        Span(0, 0, 4, "Some", 1.0)  # type: ignore[misc]
