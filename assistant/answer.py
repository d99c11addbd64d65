"""Answer and Citation: what every answerer returns, whatever writes the text."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from typing import TYPE_CHECKING, Any, Protocol

from index.retrieve import Passage

if TYPE_CHECKING:
    from assistant.question import Question


# The confidence at which a short answer is stated as a fact (the default of the setting
# NEWSQA_ANSWER__CONFIDENT_AT, whose description gives the evidence).
CONFIDENT_AT = 0.49


@dataclass(frozen=True, kw_only=True)
class Copy:
    """Another article of the cited article's story (`index.story`): a reprint, the page
    under another URL, a republished update."""

    article_id: str
    title: str
    date: date | None
    source: str | None
    url: str | None

    def to_json(self) -> dict[str, Any]:
        return {"article_id": self.article_id, "title": self.title,
                "date": self.date.isoformat() if self.date else None,
                "source": self.source, "url": self.url}

    def label(self) -> str:
        """'Reuters, 2024-04-23' (what names it best, and its date)."""
        name = self.source or self.title or self.article_id
        return name + (f", {self.date.isoformat()}" if self.date else "")


@dataclass(frozen=True, kw_only=True)
class Citation:
    """A verbatim quote backing a claim: `quote == article text[start:end]`."""

    n: int
    article_id: str
    title: str
    date: date | None
    url: str | None
    quote: str
    start: int
    end: int
    chunk_id: str
    also: tuple[Copy, ...] = ()  # the same story published elsewhere

    def to_json(self) -> dict[str, Any]:
        return {
            "n": self.n,
            "article_id": self.article_id,
            "title": self.title,
            "date": self.date.isoformat() if self.date else None,
            "url": self.url,
            "quote": self.quote,
            "start": self.start,
            "end": self.end,
            "also": [c.to_json() for c in self.also],
        }


@dataclass(frozen=True, kw_only=True)
class ShortAnswer:
    """The shortest span that answers (a name, place, number, date or short noun phrase),
    located verbatim: `text == article text[start:end]`, inside the quote of citation `n`."""

    text: str
    n: int
    article_id: str
    start: int
    end: int
    score: float
    # The reader's probability for this answer over all its mentions, and that belief
    # calibrated into the probability that the answer is right (assistant.reader.confidence);
    # None when no reader judged it (a picked quiz option, an LLM's own answer).
    belief: float | None = None
    confidence: float | None = None
    # The independent outlets whose passages state it (`assistant.sources.agreement`): a story's
    # copies count once.
    sources: tuple[str, ...] = ()
    # The most belief a different answer read in a newer article has, as a share of this
    # one's (0: none): a newer report the answer may be out of date against.
    newer_rival: float = 0.0
    # The day a relative date answer means ("Thursday" in an article of Friday 2026-02-20:
    # 2026-02-19), resolved against its article's date (`assistant.reader.day`).
    on: date | None = None

    def shown(self) -> str:
        """The text as a user reads it: with the day it means, when it is relative."""
        return f"{self.text} ({self.on.isoformat()})" if self.on else self.text

    def to_json(self) -> dict[str, Any]:
        return {
            "text": self.text,
            "n": self.n,
            "article_id": self.article_id,
            "start": self.start,
            "end": self.end,
            "score": round(self.score, 4),
            "confidence": round(self.confidence, 4) if self.confidence is not None else None,
            "belief": round(self.belief, 4) if self.belief is not None else None,
            "sources": len(self.sources),
            "source_names": list(self.sources),
            "newer_rival": round(self.newer_rival, 4),
            "on": self.on.isoformat() if self.on else None,
        }


@dataclass(frozen=True, kw_only=True)
class Stance:
    """One value the sources give, with who gives it and when."""

    text: str
    n: int  # the citation that states it
    sources: tuple[str, ...]
    date: date | None

    def to_json(self) -> dict[str, Any]:
        return {"text": self.text, "n": self.n, "sources": list(self.sources),
                "date": self.date.isoformat() if self.date else None}

    def said(self) -> str:
        """Who says it and when: 'AP, 2024-04-24'."""
        return ", ".join(x for x in (" / ".join(self.sources),
                                     self.date.isoformat() if self.date else "") if x)

    def label(self) -> str:
        """'18 (AP, 2024-04-24) [1]'."""
        said = self.said()
        return f"{self.text} ({said}) [{self.n}]" if said else f"{self.text} [{self.n}]"


@dataclass(frozen=True)
class QuoteCheck:
    """What verification (`assistant.llm.verify`) made of one quote an LLM gave: `exact` (found
    verbatim), `repaired` (a close match replaced by the article's own text) or `dropped`.
    `n` is the citation it became (None when dropped)."""

    outcome: str  # exact | repaired | dropped
    claimed: str  # what the model gave: a quote's text or a sentence id like "2.3"
    passage: int | None  # passage number the model named
    found_in: int | None = None  # passage it was found in (differs when re-pointed)
    n: int | None = None
    score: float | None = None  # alignment score (0-100) for repaired quotes
    reason: str | None = None  # why it was dropped

    def to_json(self) -> dict[str, Any]:
        return {
            "outcome": self.outcome, "claimed": self.claimed, "passage": self.passage,
            "found_in": self.found_in, "n": self.n,
            "score": round(self.score, 1) if self.score is not None else None,
            "reason": self.reason,
        }


@dataclass(frozen=True)
class Answer:
    """An answer whose every sentence carries [n] markers that resolve to `citations`."""

    question: str
    text: str
    abstained: bool
    citations: tuple[Citation, ...] = ()
    retrieved: tuple[Passage, ...] = ()
    query: str = ""  # what retrieval was asked (differs from `question` for follow-ups)
    as_of: date | None = None
    choices: tuple[str, ...] = ()  # quiz options, when asked with them
    choice: int | None = None  # index of the option picked (see assistant.choice)
    choice_method: str | None = None  # evidence | exclusion | similarity | guess
    choice_scores: tuple[float, ...] = ()
    relevance: float | None = None  # best sentence's score; abstains below min_relevance
    short_answer: ShortAnswer | None = None  # the fact itself, inside one of the quotes
    # The reader's next best answers, each located inside a quote, most likely first.
    alternatives: tuple[ShortAnswer, ...] = ()
    answerer: str = "extractive"  # extractive | llm | extractive-fallback
    fallback_reason: str | None = None  # why the LLM's answer was not used
    quote_checks: tuple[QuoteCheck, ...] = ()  # per LLM quote: exact | repaired | dropped
    # factoid | explanation | yesno (`assistant.question.kind`): only a factoid question
    # gets a short answer; the others lead with their quotes.
    question_kind: str = "factoid"
    # When the sources give different values (`assistant.sources.agreement`): each with its
    # outlets and date, newest first; () when they agree or nothing compares.
    differ: tuple[Stance, ...] = ()
    # Articles whose identical passage gave its place to a retrieved one (by the kept
    # passage's chunk id; `assistant.sources.copies.distinct`): what was read, under other ids.
    copies: dict[str, tuple[str, ...]] = field(default_factory=dict, compare=False)
    timings_ms: dict[str, float] = field(default_factory=dict, compare=False)

    def to_json(self) -> dict[str, Any]:
        """The JSON object `newsqa ask --json` prints and the `/ask` API returns."""
        return {
            "question": self.question,
            "question_kind": self.question_kind,
            "answer": self.text,
            "short_answer": self.short_answer.to_json() if self.short_answer else None,
            "alternatives": [a.to_json() for a in self.alternatives],
            "differ": [s.to_json() for s in self.differ] or None,
            "abstained": self.abstained,
            "answerer": self.answerer,
            "fallback_reason": self.fallback_reason,
            "quote_checks": [q.to_json() for q in self.quote_checks],
            "citations": [c.to_json() for c in self.citations],
            "retrieved": [
                {"article_id": p.article_id, "chunk_id": p.chunk_id, "score": round(p.score, 4),
                 "title": p.title, "date": p.date.isoformat() if p.date else None,
                 "copies": list(self.copies.get(p.chunk_id, ()))}
                for p in self.retrieved
            ],
            "relevance": round(self.relevance, 4) if self.relevance is not None else None,
            "query": self.query or self.question,
            "as_of": self.as_of.isoformat() if self.as_of else None,
            **({"choices": list(self.choices), "choice": self.choice,
                "choice_text": self.choices[self.choice] if self.choice is not None else None,
                "choice_method": self.choice_method,
                "choice_scores": [round(x, 4) for x in self.choice_scores]}
               if self.choices else {}),
        }


    def confident(self, threshold: float) -> bool:
        """Whether the short answer may be stated as a fact ("Answer: X [n]"): its
        calibrated confidence is at least `threshold` (an answer no reader judged, such
        as a picked quiz option, is stated as before)."""
        sa = self.short_answer
        return sa is not None and not self.abstained and (
            sa.confidence is None or sa.confidence >= threshold)


class Answerer(Protocol):
    """Writes an Answer from retrieved passages. The default is extractive; an LLM answerer
    would return the same types, with quotes checked the same way."""

    def answer(
        self, question: str | Question, passages: list[Passage], query: str | None = None,
        prefer: str | None = None,
    ) -> Answer:
        """Answer from `passages`; with `prefer` (a picked quiz option), quote a sentence
        that names it when one exists."""
        ...


ONLY_ENGLISH = ("This assistant understands questions in English only, and found nothing "
                "that answers this one as asked. Ask it in English, e.g. \"Where are the "
                "remaining IS cells?\"")


def abstention(
    question: str, passages: list[Passage], query: str = "", relevance: float | None = None,
    *, english: bool = True,
) -> Answer:
    """The honest answer when the articles hold nothing relevant; for a question that is
    not in English (`Question.english`), one that says only English is understood."""
    return Answer(
        question=question,
        text=("The indexed articles don't say anything that answers this question."
              if english else ONLY_ENGLISH),
        abstained=True,
        retrieved=tuple(passages),
        query=query,
        relevance=relevance,
    )
