"""Watched questions: added, asked again after the writes that could change their answer,
and their changes recorded (issue 32, point 2).

A re-check (`Watcher.recheck`) reads what changed since the watches last looked (the
store's change log from the mark: articles added, changed or removed, read by id),
picks the watches one of their chunks could affect (`assistant.watch.trigger`) or whose
answer cites a removed article, marks them due and moves the mark in one transaction,
then asks each due watch again and records its answer and its change, if any
(`assistant.watch.record.reasons`), one transaction per watch. A write by any process
re-checks (`Assistant.ingest`, removal, pruning); a re-check killed half-way leaves the
rest due, and the next write or server start takes them up. One process re-checks at a
time (a file lock beside the watches).
"""

from __future__ import annotations

import logging
import time
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import TYPE_CHECKING, Protocol

from filelock import FileLock

from assistant.errors import EmptyQuestion, TooManyWatches, WatchNotFound
from assistant.question import analyse
from assistant.watch.record import Change, Snapshot, Watch, reasons, snapshot
from assistant.watch.store import Mark, WatchStore, scope_of
from assistant.watch.trigger import affected
from index.errors import NewsIndexError

if TYPE_CHECKING:
    import numpy as np

    from assistant.answer import Answer
    from assistant.settings import Settings
    from index.embed import CachedEmbedder
    from index.scope import Scope
    from index.store import Store


class Asker(Protocol):
    """What a watcher needs of `Assistant` (which is one)."""

    settings: Settings

    @property
    def store(self) -> Store: ...

    @property
    def ask_embedder(self) -> CachedEmbedder: ...

    def ask(self, question: str, *, scope: Scope | None = None) -> Answer: ...

    def open_if_indexed(self) -> bool: ...

    def resolve_scope(self, since: date | None = None, until: date | None = None,
                      sources: Sequence[str] = ()) -> Scope | None: ...

log = logging.getLogger(__name__)
LOCK = "watches.lock"


@dataclass(frozen=True)
class Recheck:
    """What one re-check did."""

    read: int  # articles read (new or changed since the last re-check)
    asked: int  # watches asked again
    changes: tuple[Change, ...]
    seconds: float
    choosing_s: float = 0.0  # of which reading the new chunks and choosing the watches

    def summary(self) -> str:
        return (f"watches: {self.asked} re-checked, {len(self.changes)} change(s) "
                f"({self.seconds:.1f} s)")


def now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


class Watcher:
    """The watches of `bot`'s data home."""

    def __init__(self, bot: Asker) -> None:
        self.bot = bot
        self.store = WatchStore(bot.settings.home)
        self._lock = FileLock(bot.settings.home / LOCK)
        self.asks = 0  # watches asked by this process (adds and re-checks): for tests

    # -- reading ------------------------------------------------------------------------
    def watches(self) -> list[Watch]:
        return self.store.all()

    def get(self, watch_id: str) -> Watch:
        found = self.store.get(watch_id)
        if found is None:
            raise WatchNotFound(f"no watch {watch_id!r}; `newsqa watch list` shows their ids")
        return found

    def changes(self, watch_id: str | None = None, limit: int = 50) -> list[Change]:
        """Changes, newest first, of one watch or of all."""
        if watch_id is not None:
            self.get(watch_id)
        return self.store.changes(watch_id, limit)

    # -- adding and removing ------------------------------------------------------------
    def add(self, question: str, *, since: date | None = None, until: date | None = None,
            sources: Sequence[str] = (), owner: str | None = None) -> tuple[Watch, bool]:
        """Watch `question` (in the scope given): asked now, its answer kept. Returns the
        watch and whether it is new (the same question in the same scope is watched
        once). ScopeError for an unknown source or an empty date range; TooManyWatches
        past NEWSQA_WATCH__MAX_WATCHES."""
        question = " ".join(question.split())
        if not question:
            raise EmptyQuestion("the question is empty; type what you want to watch")
        scope = self.bot.resolve_scope(since, until, sources)  # ScopeError names the problem
        names = scope.sources if scope is not None else ()
        for watch in self.store.all():
            if (watch.question.casefold(), watch.since, watch.until, watch.sources) == (
                    question.casefold(), _iso(since), _iso(until), tuple(names)):
                return watch, False
        limit = self.bot.settings.watch.max_watches
        if self.store.count() >= limit:
            raise TooManyWatches(f"this data home watches {limit} questions already, the "
                                 "most NEWSQA_WATCH__MAX_WATCHES allows; remove some "
                                 "(`newsqa watch remove ID`) or raise the setting")
        mark = self._now_mark()  # what is indexed after this is unread by the ask below
        answer, vector, floor = self._ask(question, scope)
        watch = Watch(id=uuid.uuid4().hex[:12], question=question, since=_iso(since),
                      until=_iso(until), sources=tuple(names), owner=owner, created=now(),
                      answer=answer)
        self.store.add(watch, vector, floor, _names(question), mark)
        return watch, True

    def remove(self, watch_id: str) -> None:
        if not self.store.remove(watch_id):
            raise WatchNotFound(f"no watch {watch_id!r}; `newsqa watch list` shows their ids")

    # -- re-checking --------------------------------------------------------------------
    def recheck(self, everything: bool = False) -> Recheck:
        """Ask again the watches that what was indexed since the last re-check could
        affect (`everything`: all of them, as after a rebuild), and those left due."""
        t0 = time.perf_counter()
        if not self.store.exists():
            return Recheck(0, 0, (), 0.0)
        with self._lock:
            read = self._mark_due(everything)
            chosen = time.perf_counter()
            asked, found = 0, []
            for watch in self.store.due():
                try:
                    new, _, floor = self._ask(
                        watch.question, scope_of(watch.since, watch.until, watch.sources))
                except NewsIndexError as exc:  # e.g. every article removed: stays due
                    log.warning("watch %s: %s", watch.id, exc)
                    continue
                asked += 1
                why = reasons(watch.answer, new) if watch.answer is not None else ()
                change = self.store.record(watch.id, new, floor, why, now())
                if change is not None:
                    found.append(change)
        return Recheck(read, asked, tuple(found), time.perf_counter() - t0, chosen - t0)

    def _mark_due(self, everything: bool) -> int:
        """Mark the watches that the writes since the mark could affect (the store's
        change log: what each write added, changed or removed), and move the mark; how
        many articles that was."""
        mark = self.store.mark()
        if mark is None or not self.bot.open_if_indexed():
            return 0
        store = self.bot.store
        position = store.log_position()
        logged = None if everything else store.changes_since(mark.position, position)
        if logged is None:  # a rebuild, or a log that does not reach back: ask them all
            self.store.make_due([w.id for w in self.store.all()], Mark(position))
            return 0
        if not logged:
            return 0
        latest = dict(logged)
        written = [a for a, h in latest.items() if h]
        gone = [a for a, h in latest.items() if not h]
        hit = affected(self.store.triggers(), store.vectors_of(written)) if written else []
        hit += self.store.citing(gone)
        self.store.make_due(list(dict.fromkeys(hit)), Mark(position))
        return len(latest)

    def _now_mark(self) -> Mark:
        """A mark that counts everything indexed so far as read."""
        return Mark(self.bot.store.log_position() if self.bot.open_if_indexed() else 0)

    def _ask(self, question: str, scope: Scope | None) -> tuple[Snapshot, np.ndarray, float]:
        """Ask `question` as a chat user would (no as-of date: now): the watch's view of
        the answer, the question's vector and its floor (the cosine of its k-th nearest
        chunk, `trigger`)."""
        bot = self.bot
        answer = bot.ask(question, scope=scope)
        self.asks += 1
        vector = bot.ask_embedder.embed_query(question)
        k = bot.settings.retrieval.top_k
        near = bot.store.nearest(vector, k, scope=scope)
        floor = min(s for _, s in near) if len(near) >= k else 0.0
        sources = {p.article_id: p.source for p in answer.retrieved}
        return (snapshot(answer, bot.settings.answer.confident_at, sources, now()),
                vector, floor)


def _iso(day: date | None) -> str | None:
    return day.isoformat() if day else None


def _names(question: str) -> list[str]:
    """The question's names, lower-cased, each once (`trigger`'s keyword half)."""
    return list(dict.fromkeys(n.lower() for n in analyse(question).names
                              if not n[:1].isdigit()))
