"""What the data home remembers of each feed between polls (`<home>/follow/feeds.json`):
its ETag and Last-Modified for conditional requests, the items already indexed, the
items that failed and how often, and how the last poll went.

Changes are made in memory and written (atomically) only by `save`, which the caller
runs after the fetched articles are indexed: a poll killed half-way is redone, not lost,
and a redone item is indexed again under the same id (unchanged), never twice.
"""

from __future__ import annotations

import json
import os
import tempfile
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

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
        self.feeds: dict[str, FeedRecord] = {}
        self._load()

    def _load(self) -> None:
        try:
            data = json.loads(self.path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            return
        except (OSError, ValueError):
            # A damaged state file costs one full re-fetch (articles keep their ids), not
            # an error: move it aside so it can be looked at.
            self.path.replace(self.path.with_suffix(".damaged.json"))
            return
        for url, rec in (data.get("feeds") or {}).items():
            known = {k: v for k, v in rec.items() if k in FeedRecord.__dataclass_fields__}
            self.feeds[url] = FeedRecord(**known)

    def record(self, url: str) -> FeedRecord:
        """The feed's record (a new, empty one on first use)."""
        return self.feeds.setdefault(url, FeedRecord())

    def save(self) -> None:
        """Write every record atomically (a crash leaves the old file or the new one)."""
        for rec in self.feeds.values():
            if len(rec.seen) > KEEP_SEEN:
                rec.seen = dict(list(rec.seen.items())[-KEEP_SEEN:])
        self.path.parent.mkdir(parents=True, exist_ok=True)
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
