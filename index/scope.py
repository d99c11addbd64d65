"""A filter on which articles an answer may draw from: published between `since` and
`until`, from one of `sources`. It narrows retrieval further than "as of" (which keeps
undated articles and only looks back): an article of unknown date or source does not
match a filter on it."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from index.record import date_key


@dataclass(frozen=True, kw_only=True)
class Scope:
    """Dates are inclusive; `sources` are stored source names (any one matches)."""

    since: date | None = None
    until: date | None = None
    sources: tuple[str, ...] = ()

    def __bool__(self) -> bool:
        return self.since is not None or self.until is not None or bool(self.sources)

    def admits(self, published: date | None, source: str | None) -> bool:
        """Whether an article with this date and source is inside the scope."""
        if (self.since or self.until) and published is None:
            return False
        if self.since and published and published < self.since:
            return False
        if self.until and published and published > self.until:
            return False
        return not self.sources or source in self.sources

    def key_range(self) -> tuple[int, int] | None:
        """(lowest, highest) date key, or None without dates."""
        if self.since is None and self.until is None:
            return None
        return (date_key(self.since) if self.since else 1,
                date_key(self.until) if self.until else 99_991_231)

    def describe(self) -> str:
        """In words, for messages: 'from 2024-01-01 to 2024-02-01, from Reuters'."""
        parts = []
        if self.since:
            parts.append(f"from {self.since.isoformat()}")
        if self.until:
            parts.append(f"until {self.until.isoformat()}")
        if self.sources:
            parts.append("from " + " or ".join(self.sources))
        return ", ".join(parts) or "everything"
