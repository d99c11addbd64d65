"""What the reader reads and what it makes of it: `Window`, `Span`, `Reading` (their own
module so that the reader's rules, such as `succession`, share them without importing the
reader)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date


@dataclass(frozen=True, kw_only=True)
class Window:
    """Text the reader reads: a sentence and the next one. Offsets are in the article
    text; `head_end` is where the first sentence ends, `quote_end` where the quote of this
    window would end when it is not the answer's (the sentence, or both when the next one
    `continues` it; -1: `end`)."""

    article_id: str
    start: int
    end: int
    head_end: int
    text: str
    relevance: float  # the first sentence's relevance to the question
    passage_rank: int  # 0-based rank of its passage in retrieval
    date: date | None
    quote_end: int = -1


@dataclass(frozen=True, kw_only=True)
class Span:
    """The reader's answer: `text == article text[start:end]`, inside `windows[window]`."""

    window: int
    start: int
    end: int
    text: str
    score: float
    belief: float = 0.0  # the reader's probability for this answer, over all its mentions
    confidence: float | None = None  # the belief calibrated (assistant.reader.confidence)
    # The most belief a different answer read in a newer article has, as a share of this
    # one's (0: none; capped at 1): a newer report that may contradict it
    # (`span.newer_rival`; the confidence needs no more than the belief, which it splits:
    # `reader.confidence`).
    newer_rival: float = 0.0


@dataclass(frozen=True)
class Reading:
    """What the reader made of the windows: its answer (or None) and, per window, the
    share of its belief that the answer stands in the window's quote (before
    `quote_end`): the answerer quotes the windows most likely to hold the fact. (A
    candidate past `quote_end` counts for none: the next sentence has its own window when
    it is worth reading.)"""

    span: Span | None
    mass: tuple[float, ...]
    # The next answers the reader believes in (each a different text, its likeliest
    # mention, with at least ALTERNATIVE_BELIEF of the belief): the answerer quotes them
    # too, so the right answer is on screen when the short answer is wrong.
    alternatives: tuple[Span, ...] = ()
    # The reader's belief in every answer it read (normalised text -> belief), so that an
    # answer someone else gives (an LLM's) can be weighed too.
    beliefs: dict[str, float] = field(default_factory=dict, compare=False)
