"""Watches on disk: one SQLite file per data home, `<home>/watches.sqlite`.

SQLite (the standard library's) because a re-check must survive kill -9: a watch is marked
due in the same transaction that moves the mark of what was read, and its new answer, its
change and its due flag cleared are written in one transaction, so a re-check killed at any
point leaves every affected watch either re-checked or still due (taken up by the next
write or start). WAL mode lets a terminal `newsqa watch list` read while the server writes.

    watches   one row per watch: question, scope, newest answer, its trigger (the question's
              vector, the vector score its retrieval reached, its names), due flag
    changes   every change found, with the old and new answers
    cited     which articles each watch's answer cites (a removal re-checks those watches)
    state     the mark of what was read: the store's change-log position
"""

from __future__ import annotations

import contextlib
import json
import sqlite3
import threading
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import numpy as np

from assistant.watch.record import Change, Snapshot, Watch
from index.scope import Scope

FILE = "watches.sqlite"
_READY: set[Path] = set()  # watch files this process has made the tables of
_SCHEMA = """
CREATE TABLE IF NOT EXISTS watches (
    id TEXT PRIMARY KEY, question TEXT NOT NULL, since TEXT, until TEXT,
    sources TEXT NOT NULL DEFAULT '[]', owner TEXT, created TEXT NOT NULL,
    answer TEXT, vector BLOB, floor REAL NOT NULL DEFAULT 0, names TEXT NOT NULL DEFAULT '[]',
    due INTEGER NOT NULL DEFAULT 0);
CREATE TABLE IF NOT EXISTS changes (
    id INTEGER PRIMARY KEY AUTOINCREMENT, watch_id TEXT NOT NULL, at TEXT NOT NULL,
    reasons TEXT NOT NULL, old TEXT NOT NULL, new TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS changes_watch ON changes (watch_id, id);
CREATE TABLE IF NOT EXISTS cited (
    watch_id TEXT NOT NULL, article_id TEXT NOT NULL, PRIMARY KEY (watch_id, article_id));
CREATE INDEX IF NOT EXISTS cited_article ON cited (article_id);
CREATE TABLE IF NOT EXISTS state (key TEXT PRIMARY KEY, value TEXT NOT NULL);
"""


@dataclass(frozen=True)
class Trigger:
    """What decides whether a new chunk could change a watch's answer (`trigger.affected`)."""

    watch_id: str
    vector: np.ndarray  # the question's vector, unit length
    floor: float  # cosine a chunk must reach to enter the question's passages
    names: tuple[str, ...]  # the question's names, lower-cased: a chunk naming them all
    scope: Scope | None  # the watch's dates and sources


@dataclass(frozen=True)
class Mark:
    """How far the watches have read the index: the store's change-log position
    (`Store.log_position`) up to which every write was weighed."""

    position: int


class WatchStore:
    """The watches of one data home; safe for threads and for processes sharing the file."""

    def __init__(self, home: Path) -> None:
        self.path = home / FILE
        self._local = threading.Lock()

    def exists(self) -> bool:
        return self.path.exists()

    @contextlib.contextmanager
    def _db(self, write: bool = False) -> Iterator[sqlite3.Connection]:
        """One transaction: committed when the block ends, rolled back if it raises. A
        writer's takes the write lock at once (`BEGIN IMMEDIATE`); a reader's takes none,
        so listing watches never waits for a re-check. The tables are made once per file
        per process."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with self._local:
            existed = self.path.exists()
            con = sqlite3.connect(self.path, timeout=30, isolation_level=None)
            try:
                if self.path not in _READY or not existed:
                    con.execute("PRAGMA journal_mode=WAL")  # kept in the file from then on
                    con.executescript(_SCHEMA)
                    _READY.add(self.path)
                con.execute("PRAGMA synchronous=NORMAL")
                con.execute("BEGIN IMMEDIATE" if write else "BEGIN")
                try:
                    yield con
                except BaseException:
                    con.execute("ROLLBACK")
                    raise
                con.execute("COMMIT")
            finally:
                con.close()

    # -- watches ------------------------------------------------------------------------
    def count(self) -> int:
        if not self.exists():
            return 0
        with self._db() as con:
            return int(con.execute("SELECT count(*) FROM watches").fetchone()[0])

    def add(self, watch: Watch, vector: np.ndarray, floor: float, names: Sequence[str],
            mark: Mark) -> None:
        """Store a new watch with its first answer; the first watch of a home also sets the
        mark (what is indexed now is what that answer saw)."""
        with self._db(write=True) as con:
            if con.execute("SELECT 1 FROM state WHERE key='mark'").fetchone() is None:
                _set_mark(con, mark)
            con.execute(
                "INSERT INTO watches (id, question, since, until, sources, owner, created, "
                "answer, vector, floor, names) VALUES (?,?,?,?,?,?,?,?,?,?,?)",
                (watch.id, watch.question, watch.since, watch.until,
                 json.dumps(list(watch.sources)), watch.owner, watch.created,
                 json.dumps(watch.answer.to_json()) if watch.answer else None,
                 _blob(vector), floor, json.dumps(list(names))))
            if watch.answer is not None:
                _cite(con, watch.id, watch.answer)

    def remove(self, watch_id: str) -> bool:
        """Delete a watch and its changes; False when there is none by that id."""
        with self._db(write=True) as con:
            gone = con.execute("DELETE FROM watches WHERE id=?", (watch_id,)).rowcount
            con.execute("DELETE FROM changes WHERE watch_id=?", (watch_id,))
            con.execute("DELETE FROM cited WHERE watch_id=?", (watch_id,))
        return bool(gone)

    def get(self, watch_id: str) -> Watch | None:
        found = self._watches("WHERE w.id=?", (watch_id,))
        return found[0] if found else None

    def all(self) -> list[Watch]:
        """Every watch, oldest first."""
        return self._watches("", ())

    def due(self) -> list[Watch]:
        """The watches marked for a re-check, oldest first."""
        return self._watches("WHERE w.due=1", ())

    def _watches(self, where: str, args: tuple[str, ...]) -> list[Watch]:
        if not self.exists():
            return []
        with self._db() as con:
            rows = con.execute(
                "SELECT w.id, w.question, w.since, w.until, w.sources, w.owner, w.created, "
                "w.answer, (SELECT count(*) FROM changes c WHERE c.watch_id=w.id) "
                f"FROM watches w {where} ORDER BY w.rowid", args).fetchall()
        return [Watch(id=r[0], question=r[1], since=r[2], until=r[3],
                      sources=tuple(json.loads(r[4])), owner=r[5], created=r[6],
                      answer=Snapshot.from_json(json.loads(r[7])) if r[7] else None,
                      changes=int(r[8])) for r in rows]

    def triggers(self) -> list[Trigger]:
        if not self.exists():
            return []
        with self._db() as con:
            rows = con.execute("SELECT id, vector, floor, names, since, until, sources "
                               "FROM watches ORDER BY rowid").fetchall()
        return [Trigger(watch_id=r[0], vector=np.frombuffer(r[1], dtype=np.float32),
                        floor=float(r[2]), names=tuple(json.loads(r[3])),
                        scope=scope_of(r[4], r[5], json.loads(r[6])))
                for r in rows if r[1]]

    # -- re-checking --------------------------------------------------------------------
    def mark(self) -> Mark | None:
        """What the watches have read; None before the first watch."""
        if not self.exists():
            return None
        with self._db() as con:
            row = con.execute("SELECT value FROM state WHERE key='mark'").fetchone()
        if row is None:
            return None
        return Mark(int(json.loads(row[0]).get("position", 0)))

    def make_due(self, watch_ids: Sequence[str], mark: Mark | None = None) -> None:
        """Mark watches for a re-check and, in the same transaction, move the mark past
        what was read to choose them."""
        with self._db(write=True) as con:
            con.executemany("UPDATE watches SET due=1 WHERE id=?", [(w,) for w in watch_ids])
            if mark is not None:
                _set_mark(con, mark)

    def citing(self, article_ids: Sequence[str]) -> list[str]:
        """The watches whose answer cites any of these articles."""
        if not self.exists() or not article_ids:
            return []
        out: set[str] = set()
        with self._db() as con:
            for at in range(0, len(article_ids), 500):
                part = list(article_ids[at:at + 500])
                out.update(r[0] for r in con.execute(
                    "SELECT DISTINCT watch_id FROM cited WHERE article_id IN "
                    f"({','.join('?' * len(part))})", part))
        return sorted(out)

    def record(self, watch_id: str, new: Snapshot, floor: float,
               reasons: Sequence[str], at: str) -> Change | None:
        """Keep a re-check's answer: the new answer, its change (when `reasons`), and the
        due flag cleared, in one transaction. None when the watch was removed meanwhile or
        nothing changed."""
        with self._db(write=True) as con:
            row = con.execute("SELECT question, answer FROM watches WHERE id=?",
                              (watch_id,)).fetchone()
            if row is None:
                return None
            con.execute("UPDATE watches SET answer=?, floor=?, due=0 WHERE id=?",
                        (json.dumps(new.to_json()), floor, watch_id))
            con.execute("DELETE FROM cited WHERE watch_id=?", (watch_id,))
            _cite(con, watch_id, new)
            if not reasons or not row[1]:
                return None
            old = Snapshot.from_json(json.loads(row[1]))
            cur = con.execute(
                "INSERT INTO changes (watch_id, at, reasons, old, new) VALUES (?,?,?,?,?)",
                (watch_id, at, json.dumps(list(reasons)), row[1], json.dumps(new.to_json())))
            change_id = int(cur.lastrowid or 0)
        return Change(id=change_id, watch_id=watch_id, question=row[0], at=at,
                      reasons=tuple(reasons), old=old, new=new)

    def changes(self, watch_id: str | None = None, limit: int = 50) -> list[Change]:
        """Recorded changes, newest first (of one watch, or of all)."""
        if not self.exists():
            return []
        where, args = ("WHERE c.watch_id=?", (watch_id, limit)) if watch_id else ("", (limit,))
        with self._db() as con:
            rows = con.execute(
                "SELECT c.id, c.watch_id, w.question, c.at, c.reasons, c.old, c.new "
                f"FROM changes c JOIN watches w ON w.id=c.watch_id {where} "
                "ORDER BY c.id DESC LIMIT ?", args).fetchall()
        return [Change(id=r[0], watch_id=r[1], question=r[2], at=r[3],
                       reasons=tuple(json.loads(r[4])),
                       old=Snapshot.from_json(json.loads(r[5])),
                       new=Snapshot.from_json(json.loads(r[6]))) for r in rows]


def scope_of(since: str | None, until: str | None, sources: Sequence[str]) -> Scope | None:
    """A watch's scope from its stored fields; None when it has none."""
    scope = Scope(since=date.fromisoformat(since) if since else None,
                  until=date.fromisoformat(until) if until else None,
                  sources=tuple(sources))
    return scope or None


def _blob(vector: np.ndarray) -> bytes:
    return np.asarray(vector, dtype=np.float32).tobytes()


def _set_mark(con: sqlite3.Connection, mark: Mark) -> None:
    value = json.dumps({"position": mark.position})
    con.execute("INSERT INTO state (key, value) VALUES ('mark', ?) "
                "ON CONFLICT(key) DO UPDATE SET value=excluded.value", (value,))


def _cite(con: sqlite3.Connection, watch_id: str, answer: Snapshot) -> None:
    con.executemany("INSERT OR IGNORE INTO cited (watch_id, article_id) VALUES (?, ?)",
                    [(watch_id, c.article_id) for c in answer.citations])
