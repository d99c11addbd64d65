"""What `newsqa info` and the source filters count: each indexed article's source, date
and story, in a SQLite file of the data home (`<home>/catalog.sqlite`), kept in line with
the store through its change log, as the keyword index is.

Why: counting sources and stories read every article record (at 87k articles on a 1M-chunk
home, `newsqa info` took 13.2 s, and a following server paid it again after every poll
for its source filters). Here a sync reads the change-log entries written since the
catalog's own position and the records of the articles they name; sources and stories
are one SQL aggregate each, and the totals `info` shows (articles, chunks) are kept in the
state row, moved by what each sync changed, so a health check scans nothing. A catalog
that does not mirror the store (first use, a rebuilt or repaired index, a log that does
not reach back) is made again from every record, once.

Every app server keeps its own file, as it keeps its own keyword index; several processes
on one home share it (a sync is one transaction, and one that finds the work done by
another does nothing).
"""

from __future__ import annotations

import contextlib
import sqlite3
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Protocol

from index.record import SourceCount, key_date

FILE = "catalog.sqlite"
_SCHEMA = (
    "CREATE TABLE IF NOT EXISTS articles (article_id TEXT PRIMARY KEY, source TEXT NOT NULL, "
    "date_key INTEGER NOT NULL, story TEXT NOT NULL, chunks INTEGER NOT NULL)",
    "CREATE INDEX IF NOT EXISTS articles_source ON articles (source)",
    "CREATE TABLE IF NOT EXISTS state (key TEXT PRIMARY KEY, value TEXT NOT NULL)",
)
# article id, source ("" none), date key (0 undated), story, chunks (-1: not recorded)
Row = tuple[str, str, int, str, int]
VERSION = "1"  # of the table's shape: a file of another is made again


class Recorded(Protocol):
    """What the catalog reads from the store (`index.store.Store`)."""

    def identity(self) -> str: ...
    def log_position(self) -> int: ...
    def changes_since(self, after: int, until: int) -> list[tuple[str, str]] | None: ...
    def catalog_rows(self, ids: list[str] | None = None) -> Iterator[Row]: ...
    def article_count(self) -> int: ...


class Catalog:
    """One data home's article catalog."""

    def __init__(self, home: Path) -> None:
        self.path = home / FILE

    @contextlib.contextmanager
    def _db(self) -> Iterator[sqlite3.Connection]:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        con = sqlite3.connect(self.path, timeout=60, isolation_level=None)
        try:
            con.execute("PRAGMA journal_mode=WAL")
            for statement in _SCHEMA:
                con.execute(statement)
            yield con
        finally:
            con.close()

    def sync(self, store: Recorded) -> int:
        """Bring the catalog in line with the store; how many articles it read (0: it
        already mirrored it). Mirroring is checked from the state row alone, without a
        write lock or a scan (every `info` and health check asks); one process at a time
        brings it in line."""
        identity, position = store.identity(), store.log_position()
        articles = store.article_count()
        with self._db() as con:
            if _mirrors(_state(con), identity, position, articles):
                return 0
            con.execute("BEGIN IMMEDIATE")  # one process syncs; the next finds it done
            try:
                read = self._sync(con, store, identity, position, articles)
                con.execute("COMMIT")
            except BaseException:
                con.execute("ROLLBACK")
                raise
        return read

    def _sync(self, con: sqlite3.Connection, store: Recorded, identity: str, position: int,
              articles: int) -> int:
        state = _state(con)
        if _mirrors(state, identity, position, articles):
            return 0  # another process did it meanwhile
        mine = (int(state["position"]) if (state.get("identity"), state.get("version"))
                == (identity, VERSION) else None)
        logged = (store.changes_since(mine, position)
                  if mine is not None and mine < position else None)
        read = 0
        if logged is not None:
            latest = dict(logged)  # an article's last entry says what it is now
            present = [a for a, h in latest.items() if h]
            # The totals move by what these rows were and are: no scan of the table.
            totals = _minus(_totals(state), _sum(_rows_of(con, list(latest))))
            _delete(con, list(latest))
            rows = list(store.catalog_rows(present))
            _upsert(con, rows)
            totals = _plus(totals, _sum(rows))
            read = len(rows)
        if logged is None or totals[0] != articles:
            # No usable log (first use, another index, a repair it does not name, a table
            # of another shape): every record.
            con.execute("DROP TABLE articles")
            for statement in _SCHEMA:
                con.execute(statement)
            read = _upsert(con, store.catalog_rows(None))
            totals = con.execute(
                "SELECT COUNT(*), COALESCE(SUM(MAX(chunks, 0)), 0), "
                "COALESCE(SUM(chunks < 0), 0) FROM articles").fetchone()
        con.executemany("INSERT OR REPLACE INTO state (key, value) VALUES (?, ?)",
                        [("identity", identity), ("position", str(position)),
                         ("version", VERSION), ("articles", str(totals[0])),
                         ("chunks", str(totals[1])), ("unrecorded", str(totals[2]))])
        return read

    def sources(self) -> list[SourceCount]:
        """Every source with its article count and date range, most articles first
        (articles without a source under ""). Call `sync` first."""
        with self._db() as con:
            found = con.execute(
                "SELECT source, COUNT(*), MIN(NULLIF(date_key, 0)), MAX(date_key) "
                "FROM articles GROUP BY source").fetchall()
        return sorted((SourceCount(name=name, articles=n, first=key_date(lo or 0),
                                   last=key_date(hi or 0)) for name, n, lo, hi in found),
                      key=lambda s: (-s.articles, s.name))

    def counts(self) -> tuple[int, int | None]:
        """(articles, chunks) as the article records count them (chunks None when a
        record does not say: one written before they did). Call `sync` first."""
        with self._db() as con:
            n, chunks, unrecorded = _totals(_state(con))
        return n, None if unrecorded else chunks

    def story_count(self) -> int:
        """How many stories the articles make (an article grouped with none is its own).
        Call `sync` first."""
        with self._db() as con:
            return int(con.execute("SELECT COUNT(DISTINCT story) FROM articles").fetchone()[0])


Totals = tuple[int, int, int]  # articles, their recorded chunks, articles not recording them


def _state(con: sqlite3.Connection) -> dict[str, str]:
    return dict(con.execute("SELECT key, value FROM state").fetchall())


def _mirrors(state: dict[str, str], identity: str, position: int, articles: int) -> bool:
    return (state.get("identity") == identity and state.get("version") == VERSION
            and state.get("position") == str(position) and _totals(state)[0] == articles)


def _totals(state: dict[str, str]) -> Totals:
    n, chunks, unrecorded = (int(state.get(k, "0")) for k in ("articles", "chunks",
                                                                "unrecorded"))
    return n, chunks, unrecorded


def _sum(rows: Iterable[Row]) -> Totals:
    found = list(rows)
    return (len(found), sum(max(r[4], 0) for r in found), sum(r[4] < 0 for r in found))


def _plus(a: Totals, b: Totals) -> Totals:
    return a[0] + b[0], a[1] + b[1], a[2] + b[2]


def _minus(a: Totals, b: Totals) -> Totals:
    return a[0] - b[0], a[1] - b[1], a[2] - b[2]


def _rows_of(con: sqlite3.Connection, ids: list[str]) -> list[Row]:
    out: list[Row] = []
    for at in range(0, len(ids), 500):
        part = ids[at:at + 500]
        out += con.execute("SELECT * FROM articles WHERE article_id IN "
                           f"({','.join('?' * len(part))})", part).fetchall()
    return out


def _delete(con: sqlite3.Connection, ids: list[str]) -> None:
    for at in range(0, len(ids), 500):
        part = ids[at:at + 500]
        con.execute(f"DELETE FROM articles WHERE article_id IN ({','.join('?' * len(part))})",
                    part)


def _upsert(con: sqlite3.Connection, rows: Iterable[Row]) -> int:
    n = 0
    batch: list[Row] = []
    for row in rows:
        batch.append(row)
        if len(batch) >= 2000:
            con.executemany("INSERT OR REPLACE INTO articles VALUES (?, ?, ?, ?, ?)", batch)
            n, batch = n + len(batch), []
    con.executemany("INSERT OR REPLACE INTO articles VALUES (?, ?, ?, ?, ?)", batch)
    return n + len(batch)
