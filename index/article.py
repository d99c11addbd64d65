"""The Article type: one news article as stored in the index."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from datetime import date


def content_hash(text: str) -> str:
    """Stable hash of an article's text; also its id when the source gives none."""
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:16]


@dataclass(frozen=True)
class Article:
    """A parsed article. `text` is the stored text every citation offset refers to."""

    id: str
    text: str
    title: str
    date: date | None = None
    url: str | None = None
    source: str | None = None
    path: str | None = field(default=None, compare=False)

    @property
    def hash(self) -> str:
        """Hash of text and metadata: a change to either re-indexes the article."""
        meta = f"{self.title}\x1f{self.date}\x1f{self.url}\x1f{self.source}"
        return content_hash(meta + "\x1e" + self.text)
