"""The LSH band keys of the indexed articles' fingerprints (`index.story`), in a SQLite
table of the data home (`<home>/stories.sqlite`), for the near-duplicate lookup.

Why not Chroma's metadata filter, where the keys are also stored (`mh0`..`mh15`): its
filters scan the metadata rows. Measured with chromadb 1.x, one lookup of 16 band keys
took 3.5 / 11.7 / 29.3 ms over 5k / 20k / 60k articles as a `$or` of 16 fields, and
9.7 / 30.6 / 77.0 ms as one `$in` over a collection of band records: grouping would grow
with the square of the index. An indexed SQLite column answers in well under a
millisecond whatever its size. A home on a Chroma server (several app servers) has no
shared table, so it looks up through the store instead (`Store.story_candidates`).

The table follows the store: rows are added once the articles' records are written and
removed with them; one that missed a write (a crash between the two) only loses a chance
to be grouped, and `newsqa check --repair` makes the table again from the store's records
(`rebuild`, which a rebuild of the index also uses to empty it).
"""

from __future__ import annotations

import contextlib
import sqlite3
import threading
from collections.abc import Iterable, Iterator, Mapping, Sequence
from pathlib import Path

from index.story import Fingerprint, Member

FILE = "stories.sqlite"
_READY: set[Path] = set()  # table files this process has made sure of
_SCHEMA = """
CREATE TABLE IF NOT EXISTS bands (key TEXT NOT NULL, article_id TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS bands_key ON bands (key);
CREATE INDEX IF NOT EXISTS bands_article ON bands (article_id);
CREATE TABLE IF NOT EXISTS prints (article_id TEXT PRIMARY KEY, story TEXT NOT NULL,
                                   print TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS prints_story ON prints (story);
"""


class BandTable:
    """The band keys of one data home's articles."""

    def __init__(self, home: Path) -> None:
        self.path = home / FILE
        self._lock = threading.Lock()

    @contextlib.contextmanager
    def _db(self, write: bool = False) -> Iterator[sqlite3.Connection]:
        """A connection; a writer's makes the tables first (once per file per process):
        reads, which every ask with a cited story makes, run no schema statements."""
        if write:
            self.path.parent.mkdir(parents=True, exist_ok=True)
        with self._lock:
            existed = self.path.exists()
            con = sqlite3.connect(self.path, timeout=30)
            try:
                if write and (self.path not in _READY or not existed):
                    con.execute("PRAGMA journal_mode=WAL")  # kept in the file from then on
                    con.executescript(_SCHEMA)
                    _READY.add(self.path)
                with con:
                    yield con
            finally:
                con.close()

    def candidates(self, keys: Sequence[str]) -> list[Member]:
        """The articles sharing a band key with a fingerprint."""
        if not self.path.exists():
            return []
        try:
            with self._db() as con:
                rows = con.execute(
                    "SELECT DISTINCT p.article_id, p.story, p.print FROM bands b JOIN prints p "
                    f"ON p.article_id = b.article_id WHERE b.key IN "
                    f"({','.join('?' * len(keys))})", list(keys)).fetchall()
        except sqlite3.OperationalError:  # the first writer is making the tables
            return []
        out = []
        for aid, story, text in rows:
            fp = Fingerprint.from_text(text)
            if fp is not None:
                out.append(Member(aid, story, fp))
        return out

    def members(self, stories: Sequence[str]) -> dict[str, list[str]]:
        """The article ids of each of these stories, for those with more than one."""
        if not self.path.exists() or not stories:
            return {}
        out: dict[str, list[str]] = {}
        try:
            with self._db() as con:
                for at in range(0, len(stories), 500):
                    part = list(stories[at:at + 500])
                    for aid, story in con.execute(
                            "SELECT article_id, story FROM prints WHERE story IN "
                            f"({','.join('?' * len(part))})", part):
                        out.setdefault(story, []).append(aid)
        except sqlite3.OperationalError:  # the first writer is making the tables
            return {}
        return {s: ids for s, ids in out.items() if len(ids) > 1}

    def add(self, stories: Mapping[str, tuple[str, Fingerprint]]) -> None:
        """Record these articles' stories and band keys (replacing earlier ones)."""
        if not stories:
            return
        with self._db(write=True) as con:
            _forget(con, list(stories))
            con.executemany("INSERT INTO prints (article_id, story, print) VALUES (?, ?, ?)",
                            [(aid, story, fp.to_text()) for aid, (story, fp) in stories.items()])
            con.executemany("INSERT INTO bands (key, article_id) VALUES (?, ?)",
                            [(key, aid) for aid, (_, fp) in stories.items()
                             for key in fp.bands()])

    def remove(self, article_ids: Sequence[str]) -> None:
        if article_ids and self.path.exists():
            with self._db(write=True) as con:
                _forget(con, article_ids)

    def rebuild(self, records: Iterable[tuple[str, str, str]]) -> int:
        """Make the table again from (article id, story, fingerprint text) records; how
        many articles it holds."""
        stories = {}
        for aid, story, text in records:
            fp = Fingerprint.from_text(text)
            if fp is not None:
                stories[aid] = (story, fp)
        with self._db(write=True) as con:
            con.execute("DELETE FROM bands")
            con.execute("DELETE FROM prints")
        self.add(stories)
        return len(stories)


def _forget(con: sqlite3.Connection, article_ids: Sequence[str]) -> None:
    for at in range(0, len(article_ids), 500):
        part = list(article_ids[at:at + 500])
        marks = ",".join("?" * len(part))
        con.execute(f"DELETE FROM bands WHERE article_id IN ({marks})", part)
        con.execute(f"DELETE FROM prints WHERE article_id IN ({marks})", part)
