"""The default answerer: no LLM. It quotes the retrieved sentences that best answer the
question, verbatim, and cites each one.

Rule: every sentence of the top passages is scored by
    relevance = w_sem * cosine(question, sentence)            (meaning)
              + w_lex * share of the question's keywords in it (names, places, numbers)
              + w_ctx * cosine(question, its passage)           (surrounding context)
The best sentence must reach `min_relevance` or the answer abstains. Of the sentences
within `relative_cutoff` of the best relevance, up to `max_sentences` are quoted (near-
duplicates skipped), taken in the order of
    rank = relevance + w_new * (1 if it names something the question does not: a
                                capitalised word, acronym or number, see `names`)
because a sentence that only restates the question holds no answer. The bonus changes
neither the abstention test nor which sentences are eligible, so answers keep their
length and unanswerable questions still abstain.

With the reader (`assistant.reader.span`): it reads each of the best sentences together with
the next one (the fact often follows the sentence that echoes the question) and says
how much of its belief lies in each sentence's quote, what its short answer is, and
which answers come next. `assistant.quote` turns all that into the quotes.
"""

from __future__ import annotations

import time
from collections.abc import Iterable
from datetime import date
from typing import TYPE_CHECKING

import numpy as np

from assistant.answer import Answer, Citation, ShortAnswer, abstention
from assistant.question import Question, as_question
from assistant.quote import (
    Sentence,
    choose,
    cite,
    extend,
    in_article_order,
    locate_alternatives,
    merge_overlaps,
    sentences,
)
from assistant.reader.model import ModelUnavailable
from assistant.reader.span import Reader, Span, Window
from assistant.sentence import keywords, names
from index.retrieve import Passage

if TYPE_CHECKING:
    from assistant.settings import AnswerSettings
    from index.embed import Embedder

W_SEM, W_LEX, W_CTX = 0.55, 0.30, 0.15
W_PREFER = 0.30  # bonus for naming the picked quiz option (see `answer(prefer=...)`)
W_NEW = 0.20  # ranking bonus for naming something new (module docstring)


class ExtractiveAnswerer:
    """Answers with verbatim quoted sentences; see the module docstring for the rule."""

    def __init__(
        self, embedder: Embedder, settings: AnswerSettings, reader: Reader | None = None
    ) -> None:
        self.embedder = embedder
        self.settings = settings
        self.reader = reader

    def candidates(self, passages: list[Passage]) -> list[Sentence]:
        """Distinct sentences of the passages (`quote.sentences`)."""
        return sentences(passages)

    def shortlist(
        self, question: Question, cands: list[Sentence], query: str | None = None,
        must_keep: np.ndarray | None = None,
    ) -> tuple[np.ndarray, np.ndarray]:
        """Indices of the candidates worth embedding (those flagged in `must_keep` first),
        and their keyword overlap with the question."""
        q_words = set(question.keywords)
        ctx_words = keywords(query) - q_words if query and query != question.text else set()
        lex = np.array([_overlap(q_words, ctx_words, keywords(c.text)) for c in cands])
        # Embedding every sentence of every passage costs most of a warm answer; the
        # sentences that share no keyword with the question and sit in low-ranked passages
        # rarely win, so only `embedded_sentences` of them, pre-ranked by keywords and
        # passage rank, are embedded.
        most = self.settings.embedded_sentences
        if len(cands) <= most:
            return np.arange(len(cands)), lex
        prior = lex - 0.02 * np.array([c.rank for c in cands])
        if must_keep is not None:
            prior = prior + 2.0 * must_keep  # above any keyword score (at most 1)
        keep = np.sort(np.argsort(-prior, kind="stable")[:most])
        return keep, lex[keep]

    def score(
        self, question: str, cands: list[Sentence], lex: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray]:
        """Relevance of each candidate, and the candidates' vectors (for deduplication)."""
        q_vec = self.embedder.embed_query(question)
        vecs = self.embedder.embed_documents([c.text for c in cands])
        sem = vecs @ q_vec
        ctx = np.array([max(c.passage.score, 0.0) for c in cands])
        return W_SEM * sem + W_LEX * lex + W_CTX * ctx, vecs

    def answer(
        self, question: str | Question, passages: list[Passage], query: str | None = None,
        prefer: str | None = None,
    ) -> Answer:
        """Quote and cite the best sentences, or abstain. With `prefer` (a picked quiz
        option), sentences naming it get a bonus and the answer leads with the option.
        The reader's short answer, when it finds one, is quoted and set as
        `short_answer`."""
        t0 = time.perf_counter()
        q = as_question(question)
        question = q.text
        cands = self.candidates(passages)
        if not cands:
            return abstention(question, passages, query or "", english=q.english)
        named: np.ndarray | None = None
        if prefer:
            from assistant.choice import match

            named = np.array([float(match(prefer, c.text) >= 1.0) for c in cands])
        keep, lex = self.shortlist(q, cands, query, must_keep=named)
        cands = [cands[i] for i in keep]
        if named is not None:
            named = named[keep]
        t_embed = time.perf_counter()
        rel, vecs = self.score(question, cands, lex)
        t_embed = time.perf_counter() - t_embed
        if named is not None:
            rel = rel + W_PREFER * named
        relevance = float(rel.max())
        if relevance < self.settings.min_relevance:
            return abstention(question, passages, query or "", relevance, english=q.english)
        t_read = time.perf_counter()
        span, span_cand, mass, others = (self._read(q, cands, rel, passages)
                                         if self.reader is not None and prefer is None
                                         else (None, -1, np.zeros(len(cands)), []))
        t_read = time.perf_counter() - t_read
        rank = rel + W_NEW * novelty(q, cands)
        chosen = choose(cands, rank, rel, vecs, mass, self.settings.relative_cutoff * relevance,
                        self.settings.max_sentences)
        if named is not None and named.any() and not any(named[i] for i in chosen):
            # The picked option must be backed by a quote that names it.
            best_named = int(np.argmax(np.where(named > 0, rank, -np.inf)))
            chosen = [best_named, *chosen][: self.settings.max_sentences]
        if span is not None and span_cand not in chosen:
            # The fact must be quoted: its window replaces the weakest quote. (Adding it as
            # an extra quote instead: answer in quotes 0.630 -> 0.635 on 200 rtqa-2022
            # questions, at 2.54 -> 2.73 quotes per answer; not worth the longer answers.)
            chosen = [span_cand, *chosen][: self.settings.max_sentences]
        chosen, ends = extend(chosen, cands, span, span_cand, others)
        chosen, absorbed = merge_overlaps(in_article_order(chosen, cands), ends, cands)
        citations, short = cite(chosen, ends, cands, span, span_cand)
        alternatives = locate_alternatives(others, cands, citations, short) if short else ()
        if q.kind != "factoid":
            # "Why ...?", "What is happening ...?": no phrase answers them, so none is
            # stated; the reader's belief still chose the quotes, which now lead.
            short, alternatives = None, ()
        parts = [f"{c.quote} [{c.n}]" for c in citations]
        if named is not None and prefer:
            for j, i in absorbed.items():
                named[i] = max(named[i], named[j])
            backing = [n for n, i in enumerate(chosen, start=1) if named[i]]
            if backing:
                short = locate(prefer, citations[backing[0] - 1])
                if short is None:  # named only in other words ("three" for "3")
                    parts.insert(0, f"Answer: {prefer} [{backing[0]}].")
        return Answer(
            question=question,
            text=" ".join(parts),
            abstained=False,
            citations=tuple(citations),
            retrieved=tuple(passages),
            query=query or question,
            relevance=relevance,
            short_answer=short,
            alternatives=alternatives,
            question_kind=q.kind,
            timings_ms={"answer": (time.perf_counter() - t0) * 1000, "reader": t_read * 1000,
                        "sentences": t_embed * 1000},
        )

    def _read(
        self, q: Question, cands: list[Sentence], rel: np.ndarray, passages: list[Passage]
    ) -> tuple[Span | None, int, np.ndarray, list[tuple[Span, int]]]:
        """The reader's span over the windows of the best sentences, the index of the
        candidate whose window holds it, each candidate's share of the reader's
        belief (`Reading.mass`; 0 for sentences it did not read), and the reader's
        alternative answers with their candidates' indices."""
        assert self.reader is not None
        top, windows = self._windows(cands, rel)
        try:
            reading = self.reader.weigh(q, windows, [(p.article_id, p.text) for p in passages],
                                        newest=newest_date(passages))
        except ModelUnavailable:  # warned about once (reader.model): quotes only
            return None, -1, np.zeros(len(cands)), []
        mass = np.zeros(len(cands))
        mass[top] = reading.mass
        others = [(a, top[a.window]) for a in reading.alternatives]
        if reading.span is None:
            return None, -1, mass, others
        return reading.span, top[reading.span.window], mass, others

    def _windows(self, cands: list[Sentence], rel: np.ndarray) -> tuple[list[int], list[Window]]:
        """The reader's input: the windows of the best sentences (and their indices)."""
        top = [int(i) for i in np.argsort(-rel, kind="stable")[: self.settings.reader_windows]]
        return top, [Window(article_id=c.passage.article_id, start=c.start, end=c.read_end,
                            head_end=c.end, text=c.text_to(c.read_end), relevance=float(rel[i]),
                            passage_rank=c.rank, date=c.passage.date, quote_end=c.window_end)
                     for i in top for c in (cands[i],)]

    def option_support(
        self, question: Question, passages: list[Passage], options: list[str],
        query: str | None = None,
    ) -> list[float | None]:
        """The reader's score for each quiz option where the best sentence windows name
        it (None: not named there, or no reader)."""
        cands = self.candidates(passages)
        if self.reader is None or not cands:
            return [None] * len(options)
        keep, lex = self.shortlist(question, cands, query)
        cands = [cands[i] for i in keep]
        rel, _ = self.score(question.text, cands, lex)
        _, windows = self._windows(cands, rel)
        try:
            return self.reader.option_scores(question, windows,
                                             [(p.article_id, p.text) for p in passages],
                                             options)
        except ModelUnavailable:  # as without a reader
            return [None] * len(options)


def newest_date(passages: Iterable[Passage]) -> date | None:
    """The date of the newest dated passage (None: none is dated)."""
    return max((p.date for p in passages if p.date is not None), default=None)


def locate(option: str, citation: Citation) -> ShortAnswer | None:
    """The quiz option as it is written inside the quote (case-insensitive), if it is."""
    at = citation.quote.lower().find(option.lower())
    if at < 0:
        return None
    text = citation.quote[at:at + len(option)]
    return ShortAnswer(text=text, n=citation.n, article_id=citation.article_id,
                       start=citation.start + at, end=citation.start + at + len(option),
                       score=1.0)


def novelty(question: str | Question, cands: list[Sentence]) -> np.ndarray:
    """1.0 for each candidate that names something (`names`) the question does not
    (`Question.lower_words`)."""
    asked = as_question(question).lower_words
    return np.array([float(any(n.lower() not in asked for n in names(c.text)))
                     for c in cands])


def _overlap(q_words: set[str], ctx_words: set[str], s_words: set[str]) -> float:
    """Share of question keywords found in the sentence; words carried over from earlier
    turns count half."""
    total = len(q_words) + 0.5 * len(ctx_words)
    if total == 0:
        return 0.0
    return (len(q_words & s_words) + 0.5 * len(ctx_words & s_words)) / total
