"""Retention, the third write of `Assistant`: `prune` removes articles older than an age
(`newsqa prune --older-than 180d`; NEWSQA_INGEST__KEEP_DAYS after each feed poll).

An article's age is its publication date; an undated one's is when it was indexed (its
record's ingest time). Undated articles indexed before ingest times were recorded have no
known age: the first prune gives them the current time, so none is ever removed for an
age nobody knows.

The old articles are found by Chroma's metadata filter over the article records
(`Store.aged`: ids only, no chunk read), and removed the way `newsqa remove` removes
(`IndexWriting._delete`: writer lock, keyword index, the home's own files), in batches.
A prune killed half-way leaves at most orphan chunks and a keyword index behind, which
`newsqa check --repair` mends; it never touches an article it keeps, and the rest of the
old ones go at the next prune.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from assistant.errors import SettingsError
from assistant.writing import IndexWriting
from index.lock import Holder
from index.record import date_key

PRUNE_BATCH = 500  # articles per store deletion: what a kill -9 can leave half-done


@dataclass(frozen=True, kw_only=True)
class PruneReport:
    """What a prune removed (with `dry_run`: would remove)."""

    older_than_days: float
    cutoff: datetime  # gone: published before its day (UTC), or undated and indexed before it
    dated: tuple[str, ...]  # ids removed by their date
    undated: tuple[str, ...]  # ids removed by their ingest time
    stamped: int  # undated articles that had no ingest time, now counted as indexed now
    dry_run: bool = False

    @property
    def removed(self) -> tuple[str, ...]:
        return self.dated + self.undated

    def lines(self) -> list[str]:
        """For people: what went (or would go), and why."""
        what = (f"{len(self.removed)} article(s) older than {self.older_than_days:g} "
                f"day(s): {len(self.dated)} published before {self.cutoff:%Y-%m-%d}, "
                f"{len(self.undated)} undated and indexed before {self.cutoff:%Y-%m-%d %H:%M} "
                "UTC")
        out = [("would prune " if self.dry_run else "pruned ") + what]
        if self.stamped:
            out.append(f"{self.stamped} undated article(s) were indexed before ingest times "
                       "were recorded; their age is unknown, so they "
                       + ("would count" if self.dry_run else "now count")
                       + " as indexed now")
        return out


def cutoff_of(older_than_days: float, now: datetime) -> datetime:
    """The moment `older_than_days` before `now`, in UTC."""
    if not (math.isfinite(older_than_days) and older_than_days > 0):
        raise SettingsError(f"an age to prune must be more than 0 days, not "
                            f"{older_than_days!r}; e.g. newsqa prune --older-than 180d")
    return (now - timedelta(days=older_than_days)).astimezone(UTC)


class IndexPruning(IndexWriting):
    """Mixed into `Assistant`: retention on top of the write half."""

    def prune(self, older_than_days: float, *, dry_run: bool = False, wait: bool = True,
              on_wait: Callable[[Holder], None] | None = None,
              now: datetime | None = None) -> PruneReport:
        """Remove articles published more than `older_than_days` days before `now`
        (undated ones: indexed that long ago), holding the writer lock (`wait` for another
        writer, else WriterBusy). With `dry_run`, only say what would go: nothing is
        written and no lock is taken. `now` (aware) stands in for the current time."""
        now = now or datetime.now(UTC)
        cutoff = cutoff_of(older_than_days, now)
        if dry_run:
            self.follow()
            self.open()
            return self._aged(older_than_days, cutoff, None)
        with self._writing, self.lock.hold("prune", wait=wait, on_wait=on_wait):
            self.follow()
            self.open()
            report = self._aged(older_than_days, cutoff, now)
            self._delete(report.removed, batch=PRUNE_BATCH)
        if report.removed:
            self.recheck_watches()
        return report

    def _aged(self, days: float, cutoff: datetime, stamp: datetime | None) -> PruneReport:
        """The articles older than `cutoff`; with `stamp`, those of unknown age are given
        that time as their ingest time (their age starts then)."""
        aged = self.store.aged(date_key(cutoff.date()), int(cutoff.timestamp()))
        if stamp is not None and aged.unknown:
            self.store.stamp(aged.unknown, int(stamp.timestamp()))
        return PruneReport(older_than_days=days, cutoff=cutoff, dated=aged.dated,
                           undated=aged.undated, stamped=len(aged.unknown),
                           dry_run=stamp is None)
