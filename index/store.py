"""Chroma storage of chunks (with vectors) and article texts. The only module that
touches chromadb; callers see our own types.

Two collections: `<name>-chunks` (one vector per passage, cosine space, written through
llama-index's ChromaVectorStore so its retrievers read it back) and `<name>-articles`
(full article text and metadata; a record there marks the article as completely indexed,
which is what makes an interrupted ingest safe to resume).
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import time
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import asdict
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlparse

import numpy as np

from index.article import Article
from index.chunk import Chunk
from index.collection import BATCH, Guarded, batches, pages
from index.errors import IndexNotFound, StoreUnavailable
from index.manifest import Manifest, check_manifest
from index.record import (
    Aged,
    ArticleRecord,
    Written,
    article_from_metadata,
    article_meta,
    chunk_from_metadata,
    chunk_meta,
    key_date,
)
from index.scope import Scope
from index.settings import StoreSettings
from index.story import Fingerprint, Member

if TYPE_CHECKING:
    from llama_index.vector_stores.chroma import ChromaVectorStore

log = logging.getLogger(__name__)
LOG_KEY = "newsqa_log"  # chunks collection metadata: the last change-log entry written
ID_PAGE = 20_000  # chunk ids listed per call when every id is needed (`chunk_owners`)


class Store:
    """Opens the embedded Chroma in `chroma_dir`, or a Chroma server when a URL is set."""

    def __init__(self, settings: StoreSettings, chroma_dir: Path) -> None:
        self.settings = settings
        self.chroma_dir = chroma_dir
        self._client: Any = None
        self._chunks: Any = None
        self._articles: Any = None
        self._warned = False
        self._base: str | None = None

    # -- connection -------------------------------------------------------------------
    @property
    def location(self) -> str:
        return self.settings.chroma_url or str(self.chroma_dir)

    def _connect(self) -> Any:
        if self._client is not None:
            return self._client
        os.environ.setdefault("ANONYMIZED_TELEMETRY", "False")
        import chromadb
        from chromadb.config import Settings as ChromaSettings

        chroma_settings = ChromaSettings(anonymized_telemetry=False)
        try:
            if self.settings.chroma_url:
                url = urlparse(self.settings.chroma_url)
                if url.scheme not in ("http", "https") or not url.hostname:
                    raise StoreUnavailable(
                        f"NEWSQA_STORE__CHROMA_URL={self.settings.chroma_url!r} is not a URL "
                        "like http://127.0.0.1:8000"
                    )
                self._client = chromadb.HttpClient(
                    host=url.hostname,
                    port=url.port or (443 if url.scheme == "https" else 8000),
                    ssl=url.scheme == "https",
                    settings=chroma_settings,
                )
                self._client.heartbeat()
            else:
                self.chroma_dir.mkdir(parents=True, exist_ok=True)
                _forget_shared_client(self.chroma_dir)
                self._client = chromadb.PersistentClient(
                    path=str(self.chroma_dir), settings=chroma_settings
                )
        except StoreUnavailable:
            raise
        except Exception as exc:
            self._client = None
            raise StoreUnavailable(
                f"cannot open the Chroma store at {self.location}: {exc}. "
                + ("Is `chroma run` serving there?" if self.settings.chroma_url else "")
            ) from exc
        return self._client

    def _names(self) -> tuple[str, str]:
        base = self.base()
        return f"{base}-chunks", f"{base}-articles"

    # -- which collections are live ----------------------------------------------------
    # `ingest --rebuild` builds a complete new pair of collections beside the live one
    # and then points `<collection>-live` at it; until then the old pair answers.
    def _pointer_name(self) -> str:
        return f"{self.settings.collection}-live"

    def base(self) -> str:
        """Name prefix of the live collections: the configured collection, or the pair
        the last `--rebuild` swapped in (`<collection>.r<hex>`)."""
        if self._base is None:
            self._base = self._read_base()
        return self._base

    def _read_base(self) -> str:
        if not self.settings.chroma_url and not (self.chroma_dir / "chroma.sqlite3").exists():
            return self.settings.collection
        client = self._connect()
        try:
            pointer = client.get_collection(self._pointer_name(), embedding_function=None)
        except Exception:  # no rebuild yet: the plain names
            return self.settings.collection
        return str((pointer.metadata or {}).get("base") or self.settings.collection)

    def moved(self) -> bool:
        """Whether another process swapped in a rebuilt index since this one opened."""
        if self._base is None:
            return False
        current = self._read_base()
        return current != self._base

    def staging(self) -> Store:
        """A Store on a fresh, unused pair of collections for a rebuild; leftovers of
        rebuilds that never finished (killed) are dropped first."""
        import uuid

        client = self._connect()
        live = self.base()
        prefix = f"{self.settings.collection}.r"
        for c in client.list_collections():
            name = getattr(c, "name", c)
            if name.startswith(prefix) and not name.startswith(live + "-"):
                client.delete_collection(name)
        other = Store(self.settings, self.chroma_dir)
        other._client = client
        other._base = f"{prefix}{uuid.uuid4().hex[:10]}"
        return other

    def promote(self, staged: Store) -> str:
        """Make `staged` (complete) the live index in one metadata write, then drop the
        collections it replaces. Returns the base name that was replaced."""
        client = self._connect()
        old = self.base()
        pointer = client.get_or_create_collection(self._pointer_name(), embedding_function=None)
        pointer.modify(metadata={"base": staged.base()})  # the atomic switch
        for name in (f"{old}-chunks", f"{old}-articles", f"{old}-log"):
            with contextlib.suppress(Exception):  # already gone
                client.delete_collection(name)
        self._base = staged.base()
        self._chunks, self._articles = staged._chunks, staged._articles
        return old

    def drop(self) -> None:
        """Delete this store's collections (an abandoned rebuild)."""
        client = self._connect()
        for name in (*self._names(), f"{self.base()}-log"):
            with contextlib.suppress(Exception):
                client.delete_collection(name)
        self._chunks = self._articles = None

    def exists(self) -> bool:
        """Whether an index (with a manifest) has been created here."""
        if not self.settings.chroma_url and not (self.chroma_dir / "chroma.sqlite3").exists():
            return False  # don't create an empty store just by asking
        client = self._connect()
        names = {getattr(c, "name", c) for c in client.list_collections()}
        return all(n in names for n in self._names())

    def open(self, expected: Manifest | None = None, create: bool = False) -> Manifest:
        """Open the collections. With `create`, make them (recording `expected`); else a
        missing index raises IndexNotFound. A manifest that differs from `expected` in
        model or dimension (or, when creating, chunking) raises ModelMismatch."""
        client = self._connect()
        chunks_name, articles_name = self._names()
        if not self.exists():
            if not create or expected is None:
                raise IndexNotFound(f"no index at {self.location}")
            meta = {"newsqa_manifest": json.dumps(asdict(expected))}
            self._chunks = self._guard(client.get_or_create_collection(
                chunks_name, metadata=meta, configuration={"hnsw": {"space": "cosine"}},
                embedding_function=None,
            ))
            self._articles = self._guard(client.get_or_create_collection(
                articles_name, embedding_function=None
            ))
        else:
            self._chunks = self._guard(client.get_collection(chunks_name,
                                                             embedding_function=None))
            self._articles = self._guard(client.get_collection(articles_name,
                                                               embedding_function=None))
        manifest = self.manifest()
        if expected is not None:
            check_manifest(manifest, expected, strict_chunking=create)
        return manifest

    def generation(self) -> str:
        """Changes on every write: lets caches (the keyword index) notice they are stale."""
        return str((self._chunks.metadata or {}).get("newsqa_generation", "0"))

    def _bump_generation(self, logged: Sequence[tuple[str, str]] = ()) -> None:
        """A new generation; `logged` (article id, hash; "" for a removal) are appended to
        the change log first, so the log position never names an entry not yet written."""
        import uuid

        meta = dict(self._chunks.metadata or {})
        if logged:
            seq = int(meta.get(LOG_KEY, 0))
            ids = [f"{seq + i:012d}" for i in range(1, len(logged) + 1)]
            book = self._log(create=True)
            for part in range(0, len(ids), BATCH):
                book.upsert(ids=ids[part:part + BATCH],
                           metadatas=[{"article_id": a, "hash": h}
                                      for a, h in logged[part:part + BATCH]],
                           embeddings=[[0.0]] * len(ids[part:part + BATCH]))
            meta[LOG_KEY] = seq + len(logged)
        meta["newsqa_generation"] = uuid.uuid4().hex
        meta.pop("hnsw:space", None)  # set once at creation; Chroma refuses changing it
        self._chunks.modify(metadata=meta)

    # -- the change log ----------------------------------------------------------------
    # Every write appends (article id, hash) entries, "" for a removal, under consecutive
    # ids; the chunks collection's metadata holds the last one written. A follower that
    # knows its own position reads the entries after it by id (`changes_since`): what
    # changed, not every record (issue 34, point 3).
    def _log(self, create: bool = False) -> Any:
        name = f"{self.base()}-log"
        client = self._connect()
        if create:
            return self._guard(client.get_or_create_collection(name, embedding_function=None))
        try:
            return self._guard(client.get_collection(name, embedding_function=None))
        except Exception:  # a home written before the log was kept
            return None

    def identity(self) -> str:
        """Names this index: another after a rebuild, or collections made again."""
        return f"{self.base()}:{self._articles.id}"

    def log_position(self) -> int:
        """The number of the last change-log entry written (0: none yet)."""
        return int((self._chunks.metadata or {}).get(LOG_KEY, 0))

    def changes_since(self, after: int, until: int) -> list[tuple[str, str]] | None:
        """The change-log entries after `after` up to `until`, oldest first: (article id,
        hash; "" when removed). None when the log does not hold them all."""
        if until <= after:
            return []
        book = self._log()
        if book is None:
            return None
        ids = [f"{i:012d}" for i in range(after + 1, until + 1)]
        found: dict[str, tuple[str, str]] = {}
        for part in batches(ids):
            got = book.get(ids=part, include=["metadatas"])
            for eid, meta in zip(got["ids"], got["metadatas"], strict=True):
                found[eid] = (str(meta.get("article_id", "")), str(meta.get("hash", "")))
        if len(found) < len(ids):
            return None
        return [found[i] for i in ids]

    def current_generation(self) -> str:
        """The generation as stored now (another process may have written since this one
        opened): one metadata read, cheap enough to do before an ask."""
        meta = self._connect().get_collection(self._names()[0], embedding_function=None).metadata
        return str((meta or {}).get("newsqa_generation", "0"))

    def stale(self) -> bool:
        """Whether another process changed the index since this one last read or wrote it."""
        if self._chunks is None:
            return False
        try:
            return self.moved() or self.current_generation() != self.generation()
        except Exception:  # collections dropped by a rebuild elsewhere
            return True

    def refresh(self) -> None:
        """On a Chroma server: fetch the collections again, so their metadata (the
        generation) is current. The new handles replace the old ones one assignment at a
        time, never leaving them unset, since other threads may be reading. (An embedded
        Chroma keeps each client's vector index in memory and never reloads it: open a new
        Store instead, as `Assistant.follow` does.)"""
        if self._chunks is None:
            return
        client = self._connect()
        chunks_name, articles_name = self._names()
        self._chunks = self._guard(client.get_collection(chunks_name, embedding_function=None))
        self._articles = self._guard(client.get_collection(articles_name,
                                                           embedding_function=None))

    def _guard(self, collection: Any) -> Guarded:
        home = None if self.settings.chroma_url else self.chroma_dir.parent
        return Guarded(collection, self.location, home)

    def manifest(self) -> Manifest:
        raw = (self._chunks.metadata or {}).get("newsqa_manifest")
        if not raw:
            raise IndexNotFound(f"the index at {self.location} has no manifest")
        return Manifest(**json.loads(raw))

    # -- reading ----------------------------------------------------------------------
    def records(self) -> dict[str, ArticleRecord]:
        """Every completely indexed article, by id (a scan: for whole-index work)."""
        out: dict[str, ArticleRecord] = {}
        for got in pages(self._articles, ["metadatas"]):
            out.update(_records(got))
        return out

    def records_of(self, article_ids: Sequence[str] = (),
                   paths: Sequence[str] = ()) -> dict[str, ArticleRecord]:
        """The records of these articles and of every article indexed from these files,
        read by id and by an indexed path lookup: what one write needs to know, at a cost
        that follows the write, not the index (all 96k records of a 1M-chunk home: 10 s)."""
        out: dict[str, ArticleRecord] = {}
        for part in batches(list(dict.fromkeys(article_ids))):
            out.update(_records(self._articles.get(ids=part, include=["metadatas"])))
        for part in batches(list(dict.fromkeys(paths))):
            out.update(_records(self._articles.get(where={"path": {"$in": part}},
                                                   include=["metadatas"])))
        return out

    def article_ids(self, scope: Scope) -> set[str]:
        """Ids of the articles inside `scope`."""
        clauses = _scope_clauses(scope)
        where = None if not clauses else clauses[0] if len(clauses) == 1 \
            else {"$and": clauses}
        return set(self._articles.get(where=where, include=[])["ids"])

    def catalog_rows(self, ids: list[str] | None = None
                     ) -> Iterator[tuple[str, str, int, str, int]]:
        """(article id, source, date key, story, chunks; -1 unrecorded) of these articles
        (read by id), or of every article (None: a scan), for `index.catalog`."""
        got_pages = (pages(self._articles, ["metadatas"]) if ids is None else
                     (self._articles.get(ids=part, include=["metadatas"])
                      for part in batches(ids)))
        for got in got_pages:
            for aid, meta in zip(got["ids"], got["metadatas"], strict=True):
                meta = meta or {}
                yield (aid, str(meta.get("source") or ""), int(meta.get("date_key") or 0),
                       str(meta.get("story") or aid), int(meta.get("chunks", -1)))

    def aged(self, before_key: int, before_ts: int) -> Aged:
        """Articles older than a cutoff, found by Chroma's filter over the article records
        (ids only; no chunk is read): dated ones published before day `before_key` (a date
        key), undated ones indexed before `before_ts` (Unix seconds), and undated ones with
        no ingest time (indexed before it was recorded)."""
        dated = self._ids_where({"$and": [{"date_key": {"$gt": 0}},
                                          {"date_key": {"$lt": before_key}}]})
        undated = self._ids_where({"$and": [{"date_key": 0},
                                            {"ingested": {"$lt": before_ts}}]})
        # A filter matches only records that have its key, so those without an ingest
        # time are the undated ones less those with one.
        timed = self._ids_where({"$and": [{"date_key": 0}, {"ingested": {"$gte": 0}}]})
        unknown = self._ids_where({"date_key": 0}) - timed
        return Aged(dated=tuple(sorted(dated)), undated=tuple(sorted(undated)),
                    unknown=tuple(sorted(unknown)))

    def _ids_where(self, where: dict[str, Any]) -> set[str]:
        out: set[str] = set()
        for offset in range(0, self._articles.count() + 1, BATCH):
            got = self._articles.get(where=where, include=[], limit=BATCH, offset=offset)["ids"]
            out.update(got)
            if len(got) < BATCH:
                break
        return out

    def vectors_of(self, article_ids: Sequence[str]) -> list[Written]:
        """Every stored chunk of these articles, with its article's date and source and
        its vector."""
        return [Written(chunk_id=cid, article_id=str(meta["article_id"]), text=doc or "",
                        date=key_date(int(meta.get("date_key", 0))), source=meta.get("source"),
                        vector=np.asarray(vec, dtype=np.float32))
                for cid, doc, meta, vec in self._chunk_rows(
                    article_ids, ["documents", "metadatas", "embeddings"])]

    def _chunk_rows(self, article_ids: Sequence[str],
                    include: list[str]) -> Iterator[tuple[Any, ...]]:
        """(chunk id, *the included fields) of every chunk of these articles, read by id:
        a chunk's id is `<article id>:<n>` and its article record counts them, so the cost
        follows the articles asked for, not the index (Chroma's metadata filter scans, see
        `index.bands`). An article whose chunks are not all found so (ids of another form)
        is read through the filter."""
        for part in batches(list(dict.fromkeys(article_ids))):
            records = self._articles.get(ids=part, include=["metadatas"])
            counts = {a: int((m or {}).get("chunks", 0))
                      for a, m in zip(records["ids"], records["metadatas"], strict=True)}
            ids = [f"{a}:{i}" for a, n in counts.items() for i in range(n)]
            got = self._chunks.get(ids=ids, include=include) if ids else {"ids": []}
            found: dict[str, int] = {}
            for row in zip(got["ids"], *(got[k] for k in include), strict=True):
                owner = str(row[1 + include.index("metadatas")].get("article_id", ""))
                found[owner] = found.get(owner, 0) + 1
                yield row
            rest = [a for a in part if found.get(a, 0) < counts.get(a, 1)]
            if rest:
                seen = set(got["ids"])
                other = self._chunks.get(where={"article_id": {"$in": rest}}, include=include)
                for row in zip(other["ids"], *(other[k] for k in include), strict=True):
                    if row[0] not in seen:
                        yield row

    def story_candidates(self, keys: Sequence[str]) -> list[Member]:
        """Indexed articles sharing a band key with a fingerprint (`index.story`), by
        Chroma's metadata filter: for a home on a Chroma server, which has no band table
        of its own (`index.bands`; the filter scans, so its cost grows with the index)."""
        where = {"$or": [{f"mh{i}": key} for i, key in enumerate(keys)]}
        got = self._articles.get(where=where, include=["metadatas"], limit=BATCH)
        out = []
        for aid, meta in zip(got["ids"], got["metadatas"], strict=True):
            fp = Fingerprint.from_text(str((meta or {}).get("minhash", "")))
            if fp is not None:
                out.append(Member(aid, str(meta.get("story") or aid), fp))
        return out

    def story_prints(self) -> Iterator[tuple[str, str, str]]:
        """(article id, story, fingerprint text) of every article grouped at ingest (for
        `BandTable.rebuild`)."""
        for got in pages(self._articles, ["metadatas"]):
            for aid, meta in zip(got["ids"], got["metadatas"], strict=True):
                if (meta or {}).get("minhash"):
                    yield aid, str(meta.get("story") or aid), str(meta["minhash"])

    def article_records(self, ids: Sequence[str]) -> dict[str, Article]:
        """Articles by id without their text (title, date, url, source)."""
        out: dict[str, Article] = {}
        for part in batches(list(dict.fromkeys(ids))):
            got = self._articles.get(ids=part, include=["metadatas"])
            for aid, meta in zip(got["ids"], got["metadatas"], strict=True):
                out[aid] = article_from_metadata(aid, "", meta or {})
        return out

    def story_members(self, stories: Sequence[str]) -> dict[str, list[Article]]:
        """The articles of each of these stories (text left out), by story id, through
        Chroma's filter (a scan: for a home on a Chroma server, which has no band table;
        `Assistant` asks `index.bands` otherwise)."""
        out: dict[str, list[Article]] = {}
        for part in batches(list(dict.fromkeys(stories))):
            got = self._articles.get(where={"story": {"$in": part}}, include=["metadatas"],
                                     limit=BATCH)
            for aid, meta in zip(got["ids"], got["metadatas"], strict=True):
                out.setdefault(str(meta.get("story")), []).append(
                    article_from_metadata(aid, "", meta))
        return out

    def paths_of(self, article_ids: Sequence[str]) -> dict[str, str | None]:
        """Which of these articles are indexed, each with the file it was indexed from
        (None: none); read by id, whatever the size of the index."""
        out: dict[str, str | None] = {}
        for part in batches(article_ids):
            got = self._articles.get(ids=part, include=["metadatas"])
            for aid, meta in zip(got["ids"], got["metadatas"], strict=True):
                path = (meta or {}).get("path")
                out[aid] = str(path) if path else None
        return out

    def paths_in_use(self, paths: Sequence[str]) -> set[str]:
        """Which of these files some article record still names."""
        out: set[str] = set()
        for part in batches(paths):
            got = self._articles.get(where={"path": {"$in": part}}, include=["metadatas"])
            out.update(str(m.get("path")) for m in got["metadatas"])
        return out

    def counts(self) -> tuple[int, int]:
        """(articles, chunks) in the index. Counting chunks loads an embedded store's
        vector index (at 900k chunks: 1.9 s, 2 GB): `article_count` when that is all."""
        return self._articles.count(), self._chunks.count()

    def article_count(self) -> int:
        """Articles in the index (their records alone: cheap at any size)."""
        return int(self._articles.count())

    def articles(self, ids: Sequence[str]) -> dict[str, Article]:
        """Full stored articles by id (missing ids are left out)."""
        if not ids:
            return {}
        got = self._articles.get(ids=list(dict.fromkeys(ids)), include=["documents", "metadatas"])
        return {
            aid: article_from_metadata(aid, doc, meta)
            for aid, doc, meta in zip(got["ids"], got["documents"], got["metadatas"], strict=True)
        }

    def iter_chunks(self) -> Iterator[tuple[Chunk, dict[str, Any]]]:
        """Every stored chunk with its metadata (for building the keyword index)."""
        for got in pages(self._chunks, ["documents", "metadatas"]):
            for cid, doc, meta in zip(got["ids"], got["documents"], got["metadatas"], strict=True):
                yield chunk_from_metadata(cid, doc, meta), meta

    def chunks_of(self, article_ids: Sequence[str]) -> list[tuple[Chunk, int]]:
        """Every stored chunk of these articles, with its date key (for the keyword index
        to follow another writer's changes without reading the whole store)."""
        return [(chunk_from_metadata(cid, doc, meta), int(meta.get("date_key", 0)))
                for cid, doc, meta in self._chunk_rows(article_ids, ["documents", "metadatas"])]

    def chunk_owners(self, records: Mapping[str, ArticleRecord] | None = None
                     ) -> dict[str, str]:
        """Every stored chunk id with the id of its article (for consistency checks). Ids
        are listed alone, ID_PAGE at a time: `<article>:<n>` of a recorded article of more
        than n chunks names its owner, and only the others (orphans, ids of another form)
        are looked up in their metadata, which costs per row (at 98k chunks: 12.8 s by
        metadata pages of 2,000, 0.65 s so)."""
        records = self.records() if records is None else records
        out: dict[str, str] = {}
        unknown: list[str] = []
        for got in pages(self._chunks, [], size=ID_PAGE):
            for cid in got["ids"]:
                article, _, n = cid.rpartition(":")
                record = records.get(article)
                if record is not None and n.isdigit() and int(n) < record.chunks:
                    out[cid] = article
                else:
                    unknown.append(cid)
        for part in batches(unknown):
            got = self._chunks.get(ids=part, include=["metadatas"])
            for cid, meta in zip(got["ids"], got["metadatas"], strict=True):
                out[cid] = str((meta or {}).get("article_id", ""))
        return out

    def missing_vectors(self, chunk_ids: Sequence[str]) -> list[str]:
        """The chunks among `chunk_ids` whose vector cannot be read back."""
        return [cid for part in batches(chunk_ids) for cid in self._unreadable(part)]

    def _unreadable(self, ids: list[str]) -> list[str]:
        try:
            got = self._chunks.get(ids=ids, include=["embeddings"])
        except Exception:
            if len(ids) == 1:
                return ids
            mid = len(ids) // 2  # find the bad ones by halves
            return self._unreadable(ids[:mid]) + self._unreadable(ids[mid:])
        found = {cid for cid, v in zip(got["ids"], got["embeddings"], strict=True)
                 if v is not None and len(v)}
        return [c for c in ids if c not in found]

    def delete_chunks(self, chunk_ids: Sequence[str]) -> None:
        """Remove chunks by id (orphans whose article record is gone)."""
        for part in batches(chunk_ids):
            self._chunks.delete(ids=part)
        if chunk_ids:
            self._bump_generation()

    def nearest(
        self, vector: np.ndarray, n: int, max_date_key: int | None = None,
        scope: Scope | None = None,
    ) -> list[tuple[str, float]]:
        """(chunk id, cosine) of the `n` nearest chunks, ids and distances only (cheap);
        with `max_date_key` or `scope`, through Chroma's metadata filter (exact but much
        slower)."""
        clauses: list[dict[str, Any]] = []
        if max_date_key is not None:
            clauses.append({"$or": [{"date_key": {"$lte": max_date_key}}, {"date_key": 0}]})
        clauses.extend(_scope_clauses(scope))
        where = None if not clauses else clauses[0] if len(clauses) == 1 \
            else {"$and": clauses}
        try:
            got = self._chunks.query(
                query_embeddings=[vector.tolist()], n_results=n, where=where,
                include=["distances"],
            )
        except Exception as exc:
            # Chroma keeps the vector (HNSW) file in memory until ~1000 writes; a process
            # killed before that leaves the records in SQLite but no vector file, and queries
            # fail until the next write flushes it. Answer from keywords meanwhile.
            if "hnsw" not in str(exc).lower():
                raise
            if not self._warned:
                self._warned = True
                log.warning("the vector index at %s is incomplete (an ingest was "
                            "interrupted); answering from keywords until `newsqa ingest` "
                            "runs again.", self.location)
            return []
        return [(cid, 1.0 - float(d))
                for cid, d in zip(got["ids"][0], got["distances"][0], strict=True)]

    def vector_store(self) -> ChromaVectorStore:
        """The chunks collection as a llama-index vector store (for its retrievers)."""
        from llama_index.vector_stores.chroma import ChromaVectorStore

        return ChromaVectorStore(chroma_collection=self._chunks.raw)

    # -- writing ----------------------------------------------------------------------
    def delete(self, article_ids: Sequence[str], log: bool = True) -> None:
        """Remove articles and all their chunks. The article record goes first, so a crash
        half-way leaves the article marked as not indexed, never as complete. `log`: say
        so in the change log (a write that replaces them logs their new hashes instead)."""
        for part in batches(article_ids):
            self._articles.delete(ids=part)
            self._chunks.delete(where={"article_id": {"$in": part}})
        if article_ids:
            self._bump_generation([(a, "") for a in article_ids] if log else ())

    def stamp(self, article_ids: Sequence[str], ingested: int) -> None:
        """Give article records indexed before ingest times were recorded one (Unix
        seconds); nothing else in them changes."""
        for part in batches(article_ids):
            got = self._articles.get(ids=part, include=["metadatas"])
            self._articles.update(ids=got["ids"], metadatas=[
                {**(m or {}), "ingested": ingested} for m in got["metadatas"]])

    def write(
        self, articles: Sequence[Article], chunks: Sequence[Chunk], vectors: np.ndarray,
        stories: Mapping[str, tuple[str, Fingerprint]] | None = None,
    ) -> None:
        """Replace these articles with their new chunks and vectors (and their stories,
        `index.story`, by article id). Chunks are written before the article records that
        mark them complete."""
        stories = stories or {}
        from llama_index.core.schema import BaseNode, NodeRelationship, RelatedNodeInfo, TextNode

        by_id = {a.id: a for a in articles}
        self.delete(list(by_id), log=False)
        nodes: list[BaseNode] = []
        for chunk, vec in zip(chunks, vectors, strict=True):
            art = by_id[chunk.article_id]
            nodes.append(
                TextNode(
                    id_=chunk.id,
                    text=chunk.text,
                    embedding=vec.tolist(),
                    start_char_idx=chunk.start,
                    end_char_idx=chunk.end,
                    metadata=chunk_meta(art, chunk, stories.get(art.id, (None,))[0]),
                    relationships={NodeRelationship.SOURCE: RelatedNodeInfo(node_id=art.id)},
                )
            )
        store = self.vector_store()
        for batch in batches(nodes):
            store.add(batch)
        counts: dict[str, int] = {}
        for c in chunks:
            counts[c.article_id] = counts.get(c.article_id, 0) + 1
        arts = list(by_id.values())
        stamp = int(time.time())
        self._articles.upsert(
            ids=[a.id for a in arts],
            documents=[a.text for a in arts],
            metadatas=[article_meta(a, counts.get(a.id, 0), stamp, stories.get(a.id))
                       for a in arts],
            # Chroma insists on a vector per record; article records are looked up by id.
            embeddings=[[0.0] for _ in arts],
        )
        self._bump_generation([(a.id, a.hash) for a in arts])

    def rows(self, chunk_ids: Sequence[str]) -> list[tuple[Chunk, dict[str, Any], np.ndarray]]:
        """Stored chunks by id, with metadata and vector, in the order asked (missing ids
        are left out)."""
        if not chunk_ids:
            return []
        try:
            got = self._chunks.get(ids=list(chunk_ids),
                                   include=["documents", "metadatas", "embeddings"])
            vectors = [np.asarray(v, dtype=np.float32) for v in got["embeddings"]]
        except Exception as exc:
            if "hnsw" not in str(exc).lower():  # vector file missing: see `nearest`
                raise
            got = self._chunks.get(ids=list(chunk_ids), include=["documents", "metadatas"])
            vectors = [np.zeros(1, dtype=np.float32)] * len(got["ids"])
        found = {
            cid: (chunk_from_metadata(cid, doc, meta), meta, vec)
            for cid, doc, meta, vec in zip(got["ids"], got["documents"], got["metadatas"],
                                           vectors, strict=True)
        }
        return [found[c] for c in chunk_ids if c in found]


def _forget_shared_client(chroma_dir: Path) -> None:
    """Chroma hands every PersistentClient of one path in a process the same instance,
    whose vector index was loaded from disk once and never reloads: it would miss (and
    on writing, break with 'Error finding id' over) what other processes wrote since. So
    each Store connects to its own, current instance."""
    try:  # Chroma internals (1.x): without them, we still connect, only maybe stale
        from chromadb.api.shared_system_client import SharedSystemClient

        for key in {str(chroma_dir), str(chroma_dir.resolve())}:
            SharedSystemClient._identifier_to_system.pop(key, None)
            SharedSystemClient._identifier_to_refcount.pop(key, None)
    except (ImportError, AttributeError):
        pass


def _records(got: dict[str, Any]) -> dict[str, ArticleRecord]:
    return {aid: ArticleRecord(aid, str(meta.get("hash", "")), meta.get("path"),
                               int(meta.get("chunks", 0)))
            for aid, meta in zip(got["ids"], got["metadatas"], strict=True)}


def _scope_clauses(scope: Scope | None) -> list[dict[str, Any]]:
    """Chroma `where` clauses for a scope (chunk and article metadata share the keys)."""
    if not scope:
        return []
    clauses: list[dict[str, Any]] = []
    keys = scope.key_range()
    if keys is not None:
        clauses += [{"date_key": {"$gte": keys[0]}}, {"date_key": {"$lte": keys[1]}}]
    if scope.sources:
        clauses.append({"source": {"$in": list(scope.sources)}})
    return clauses
