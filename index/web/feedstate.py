"""What the data home remembers of each feed between polls (`<home>/follow/feeds.json`):
its ETag and Last-Modified for conditional requests, the items already indexed, the
items that failed and how often, and how the last poll went.

Changes are made in memory and written (atomically) only by `save`, which the caller
runs after the fetched articles are indexed: a poll killed half-way is redone, not lost,
and a redone item is indexed again under the same id (unchanged), never twice.

Several processes may follow different feeds on one home (two `follow` commands, a
server and a `follow`): `save` holds a lock, reads the file again and writes back only
the feeds this process polled, over whatever the others saved meanwhile, so no process
drops another's state.
"""

from __future__ import annotations

import json
import os
import tempfile
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from filelock import FileLock

KEEP_SEEN = 20_000  # item keys remembered per feed (feeds list far fewer at a time)


@dataclass
class FeedRecord:
    """One feed's remembered state."""

    title: str = ""
    etag: str | None = None
    last_modified: str | None = None
    seen: dict[str, str] = field(default_factory=dict)  # item key -> article id
    failed: dict[str, int] = field(default_factory=dict)  # item key -> failed attempts
    last_poll: str | None = None
    last_error: str | None = None
    indexed: int = 0  # items indexed over the feed's life


class FeedState:
    """Every feed's record, loaded from and saved to one JSON file."""

    def __init__(self, home: Path) -> None:
        self.path = home / "follow" / "feeds.json"
        self.feeds: dict[str, FeedRecord] = self._read()
        self._touched: set[str] = set()  # feeds this process polled: the ones it saves

    def _read(self) -> dict[str, FeedRecord]:
        try:
            data = json.loads(self.path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            return {}
        except (OSError, ValueError):
            # A damaged state file costs one full re-fetch (articles keep their ids), not
            # an error: move it aside so it can be looked at.
            self.path.replace(self.path.with_suffix(".damaged.json"))
            return {}
        feeds = {}
        for url, rec in (data.get("feeds") or {}).items():
            known = {k: v for k, v in rec.items() if k in FeedRecord.__dataclass_fields__}
            feeds[url] = FeedRecord(**known)
        return feeds

    def record(self, url: str) -> FeedRecord:
        """The feed's record (a new, empty one on first use), to be saved by `save`."""
        self._touched.add(url)
        return self.feeds.setdefault(url, FeedRecord())

    def save(self) -> None:
        """Write the records of the feeds this process polled into the file, keeping every
        other feed's record as it is there now; atomically (a crash leaves the old file or
        the new one) and under a lock (another process saving waits)."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with FileLock(str(self.path) + ".lock", timeout=60):
            on_disk = self._read()
            for url in self._touched:
                rec = self.feeds[url]
                if len(rec.seen) > KEEP_SEEN:
                    rec.seen = dict(list(rec.seen.items())[-KEEP_SEEN:])
                on_disk[url] = rec
            self.feeds = on_disk
            self._write()

    def _write(self) -> None:
        payload: dict[str, Any] = {"feeds": {u: asdict(r) for u, r in self.feeds.items()}}
        fd, tmp = tempfile.mkstemp(dir=self.path.parent, prefix=".feeds-", suffix=".json")
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as f:
                json.dump(payload, f, ensure_ascii=False)
                f.flush()
                os.fsync(f.fileno())
            os.replace(tmp, self.path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
