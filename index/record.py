"""How articles and chunks are written as Chroma metadata and read back: plain dicts
in, our own types out (`index.store` does the reading and writing)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

import numpy as np

from index.article import Article
from index.chunk import Chunk
from index.story import Fingerprint


@dataclass(frozen=True)
class ArticleRecord:
    """What the index remembers of an article to decide whether to re-index it."""

    id: str
    hash: str
    path: str | None
    chunks: int


@dataclass(frozen=True, kw_only=True)
class SourceCount:
    """One source of the indexed articles: how many, first and last date ("" = none)."""

    name: str
    articles: int
    first: date | None
    last: date | None


@dataclass(frozen=True, kw_only=True)
class Aged:
    """Articles older than a cutoff (`Store.aged`), by id."""

    dated: tuple[str, ...]  # published before the cutoff day
    undated: tuple[str, ...]  # no date; indexed before the cutoff time
    # No date and no ingest time (indexed before it was recorded): age unknown, never
    # removed as old; `Store.stamp` gives them one.
    unknown: tuple[str, ...]


@dataclass(frozen=True, kw_only=True)
class Written:
    """A stored chunk as a reader of changes sees it: text, its article's date and source,
    and its vector."""

    chunk_id: str
    article_id: str
    text: str
    date: date | None
    source: str | None
    vector: np.ndarray


def date_key(d: date | None) -> int:
    """Dates as sortable ints for Chroma filters; 0 means undated."""
    return d.year * 10000 + d.month * 100 + d.day if d else 0


def key_date(key: int) -> date | None:
    """The date of a date key (None for 0, undated)."""
    return date(key // 10000, key // 100 % 100, key % 100) if key else None


def chunk_meta(art: Article, chunk: Chunk, story: str | None = None) -> dict[str, Any]:
    """A chunk's Chroma metadata (what filters and citations need)."""
    meta: dict[str, Any] = {
        "article_id": art.id,
        "story": story or art.id,
        "chunk_index": chunk.index,
        "start": chunk.start,
        "end": chunk.end,
        "title": art.title,
        "date_key": date_key(art.date),
    }
    if art.date:
        meta["date"] = art.date.isoformat()
    if art.url:
        meta["url"] = art.url
    if art.source:
        meta["source"] = art.source
    return meta


def chunk_from_metadata(chunk_id: str, text: str, meta: dict[str, Any]) -> Chunk:
    """Rebuild our Chunk from a stored row."""
    return Chunk(
        id=chunk_id,
        article_id=str(meta["article_id"]),
        index=int(meta.get("chunk_index", 0)),
        text=text,
        start=int(meta.get("start", 0)),
        end=int(meta.get("end", len(text))),
    )


def article_meta(art: Article, chunks: int, ingested: int,
                 story: tuple[str, Fingerprint] | None = None) -> dict[str, Any]:
    """An article record's Chroma metadata; `ingested` is when it was indexed (Unix
    seconds), the age of an undated article for retention (`Store.aged`); `story`: its
    story id and fingerprint, with the fingerprint's band keys as `mh0`... for the
    near-duplicate lookup (`index.story`)."""
    meta: dict[str, Any] = {
        "title": art.title, "hash": art.hash, "chunks": chunks, "date_key": date_key(art.date),
        "ingested": ingested, "story": story[0] if story else art.id,
    }
    if story is not None:
        meta["minhash"] = story[1].to_text()
        meta.update({f"mh{i}": key for i, key in enumerate(story[1].bands())})
    for key, value in (("date", art.date.isoformat() if art.date else None), ("url", art.url),
                       ("source", art.source), ("path", art.path)):
        if value:
            meta[key] = value
    return meta


def article_from_metadata(aid: str, text: str, meta: dict[str, Any]) -> Article:
    """Rebuild our Article from a stored record."""
    return Article(
        id=aid,
        text=text,
        title=str(meta.get("title", "")),
        date=date.fromisoformat(meta["date"]) if meta.get("date") else None,
        url=meta.get("url"),
        source=meta.get("source"),
        path=meta.get("path"),
    )
