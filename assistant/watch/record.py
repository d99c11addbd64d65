"""What a watch remembers of an answer, and what counts as its change (issue 32, point 2).

A change is recorded when, between two asks of the same question:
* the short answer changed: a different answer, not another name of the same one
  (`assistant.reader.variant.same_answer`: "Michael Erik Kurilla" is "Kurilla"), or one
  appeared or went;
* it crossed the line between stated ("Answer: X") and not sure;
* the answer is the same, and a newer article now supports it (a cited article dated after
  every article the last answer cited, whose quote states the answer). For a question
  with no short answer (why, what happened, yes or no) this is how its news shows: its
  quotes now come from newer reports.

Anything else (other quotes from the same reports, a confidence that moved but stayed on
its side of the line) is no change: a watch that pinged on every re-ask would be muted.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import date
from typing import TYPE_CHECKING, Any

from assistant.reader.variant import same_answer

if TYPE_CHECKING:
    from assistant.answer import Answer

REASONS = ("answer", "stated", "newer")


@dataclass(frozen=True, kw_only=True)
class Cited:
    """One citation of a remembered answer, with its article's date and source."""

    n: int
    article_id: str
    title: str
    date: str | None  # ISO date of the article
    source: str | None
    url: str | None
    quote: str

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Cited:
        return cls(**{k: data.get(k) for k in cls.__dataclass_fields__})  # type: ignore[arg-type]


@dataclass(frozen=True, kw_only=True)
class Snapshot:
    """An answer as a watch keeps it: enough to say what changed and to show it."""

    text: str  # the answer as the chat would lead with it (markers [n] included)
    short: str | None  # the short answer, None for none
    confidence: float | None
    stated: bool  # shown as "Answer: X", not hedged
    abstained: bool
    citations: tuple[Cited, ...]
    asked: str  # when (UTC, ISO 8601)

    def label(self) -> str:
        """The answer in a few words: 'Tomas Lindqvist (0.79)', 'not sure: X (0.43)',
        '3 quote(s), newest 2026-10-22', 'no answer'."""
        if self.abstained:
            return "no answer"
        if self.short is None:
            return f"{len(self.citations)} quote(s)" + (f", newest {self.newest}"
                                                        if self.newest else "")
        conf = f" ({self.confidence:.2f})" if self.confidence is not None else ""
        return (self.short if self.stated else f"not sure: {self.short}") + conf

    @property
    def newest(self) -> str | None:
        """The date of the newest cited article."""
        dates = [c.date for c in self.citations if c.date]
        return max(dates) if dates else None

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        data["citations"] = [asdict(c) for c in self.citations]
        return data

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Snapshot:
        return cls(text=str(data.get("text", "")), short=data.get("short"),
                   confidence=data.get("confidence"), stated=bool(data.get("stated")),
                   abstained=bool(data.get("abstained")),
                   citations=tuple(Cited.from_json(c) for c in data.get("citations", ())),
                   asked=str(data.get("asked", "")))


def snapshot(answer: Answer, confident_at: float, sources: dict[str, str | None],
             asked: str) -> Snapshot:
    """The watch's view of `answer`; `sources` gives each cited article's source name."""
    short = answer.short_answer
    return Snapshot(
        text=answer.text, short=short.text if short is not None else None,
        confidence=(round(short.confidence, 4) if short is not None
                    and short.confidence is not None else None),
        stated=answer.confident(confident_at), abstained=answer.abstained,
        citations=tuple(Cited(n=c.n, article_id=c.article_id, title=c.title,
                              date=c.date.isoformat() if isinstance(c.date, date) else None,
                              source=sources.get(c.article_id), url=c.url, quote=c.quote)
                        for c in answer.citations),
        asked=asked)


def reasons(old: Snapshot, new: Snapshot) -> tuple[str, ...]:
    """Why `new` is a change from `old` (a subset of REASONS, in that order); () for none."""
    if old.short is None or new.short is None:
        changed = old.short != new.short or old.abstained != new.abstained
    else:
        changed = not same_answer(old.short, new.short)
    if changed:
        return ("answer",)
    out = []
    if new.short is not None and old.stated != new.stated:
        out.append("stated")
    if _newer_support(old, new):
        out.append("newer")
    return tuple(out)


def _newer_support(old: Snapshot, new: Snapshot) -> bool:
    """Whether an article dated after every one the old answer cited now supports the
    answer: its quote states the short answer (for a question without one, any newer
    quote does: its news comes from newer reports)."""
    after = [c for c in new.citations
             if c.date and (old.newest is None or c.date > old.newest)]
    if new.short is None:
        return bool(after)
    wanted = " ".join(new.short.split()).casefold()
    return any(wanted in " ".join(c.quote.split()).casefold() for c in after)


@dataclass(frozen=True, kw_only=True)
class Watch:
    """A question asked again after every write that could change its answer."""

    id: str
    question: str
    since: str | None = None  # ISO dates of the scope, as given
    until: str | None = None
    sources: tuple[str, ...] = ()
    owner: str | None = None  # who added it (a chat login), when known
    created: str
    answer: Snapshot | None = None  # the newest answer
    changes: int = 0  # how many changes it has recorded

    def to_json(self) -> dict[str, Any]:
        return {"id": self.id, "question": self.question, "since": self.since,
                "until": self.until, "sources": list(self.sources), "owner": self.owner,
                "created": self.created, "changes": self.changes,
                "answer": self.answer.to_json() if self.answer is not None else None}


@dataclass(frozen=True, kw_only=True)
class Change:
    """One recorded change of a watch's answer: the old and new answers, and why."""

    id: int
    watch_id: str
    question: str
    at: str  # when it was found (UTC, ISO 8601)
    reasons: tuple[str, ...]
    old: Snapshot
    new: Snapshot

    def summary(self) -> str:
        """One line for people: 'Maria Okafor (0.90) -> Tomas Lindqvist (0.81)'."""
        why = {"answer": "the answer changed", "stated": "its confidence crossed the line",
               "newer": f"a newer article ({self.new.newest}) supports it"}
        return (f"{self.old.label()} -> {self.new.label()}: "
                + "; ".join(why[r] for r in self.reasons))

    def to_json(self) -> dict[str, Any]:
        return {"id": self.id, "watch_id": self.watch_id, "question": self.question,
                "at": self.at, "reasons": list(self.reasons), "summary": self.summary(),
                "old": self.old.to_json(), "new": self.new.to_json()}
