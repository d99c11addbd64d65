"""Incremental ingest: parse files, skip unchanged articles, chunk, embed, store.

Safe to interrupt: an article's record is written only after all its chunks, so a killed
run leaves an index that opens and answers, and the next run redoes only what is missing.
"""

from __future__ import annotations

import contextlib
import ctypes
import sys
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from index.article import Article
from index.bands import BandTable
from index.chunk import Chunk, Chunker
from index.errors import DiskFull, ParseError
from index.keyword import KeywordIndex
from index.parse import MAX_HTML_ELEMENTS, collect_files, parse_file
from index.record import date_key
from index.space import full_message, is_disk_full, mark_incomplete, require_free
from index.store import Store
from index.story import assign_stories

if TYPE_CHECKING:
    from index.embed import Embedder

# (articles done, articles read, chunks embedded so far): unchanged and failed articles
# count as done, so `done == total` at the end of a run.
ProgressCallback = Callable[[int, int, int], None]


@dataclass
class IngestReport:
    """What an ingest run did; `failures` name every file or line that was skipped."""

    files: int = 0
    articles: int = 0
    added: int = 0
    updated: int = 0
    unchanged: int = 0
    removed: int = 0
    duplicates: int = 0
    chunks_embedded: int = 0
    chunks_reused: int = 0
    seconds: float = 0.0
    failures: list[ParseError] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.failures

    def summary(self) -> str:
        rate = self.chunks_embedded / self.seconds if self.seconds > 0 else 0.0
        files = f"{self.files} file(s), " if self.files or not self.articles else ""
        parts = [
            f"{files}{self.articles} article(s): {self.added} added, "
            f"{self.updated} updated, {self.unchanged} unchanged, {self.removed} removed",
            f"{self.chunks_embedded} chunk(s) embedded"
            + (f" ({rate:.0f}/s)" if self.chunks_embedded else " (nothing new to embed)"),
        ]
        if self.duplicates:
            parts.append(f"{self.duplicates} repeated article id(s) skipped")
        if self.failures:
            parts.append(f"{len(self.failures)} problem(s)")
        return "; ".join(parts) + f"; {self.seconds:.1f}s"


def _guarded(items: Iterator[Article | ParseError], path: str
             ) -> Iterator[Article | ParseError]:
    """The parser's items; an unexpected error inside it ends this file only, as a
    ParseError naming it (the run goes on with the next file)."""
    try:
        yield from items
    except (KeyboardInterrupt, SystemExit):
        raise
    except Exception as exc:
        yield ParseError(path, f"cannot read: {exc!r}")


MIN_FREE = 8 * 1024 * 1024  # SQLite's rollback journal and the keyword index need room too


def _batch_bytes(articles: Sequence[Article], chunks: Sequence[Chunk], dimension: int) -> int:
    """What a batch adds on disk, generously: Chroma keeps each text as a document, in
    its metadata and in a trigram full-text index, and each record again in its write
    log (measured: a 40 MB home held ~5 MB of chunk and article text), plus vectors and
    per-record overhead. Chroma blocks rather than fails when the disk fills mid-write,
    so this errs on the large side."""
    text = sum(len(c.text.encode("utf-8")) for c in chunks) \
        + sum(len(a.text.encode("utf-8")) for a in articles)
    return 8 * text + (len(chunks) + len(articles)) * (2 * 4 * dimension + 3072)


def _trim_heap() -> None:
    """Give freed heap memory back to the OS (glibc keeps it otherwise). Reading every
    article record from Chroma leaves ~100 MB (at 9k articles) of freed but resident heap,
    and each store write some more, which the embedding model's large, separately mapped
    buffers cannot reuse: trimming before embedding keeps the two from adding up."""
    if not sys.platform.startswith("linux"):
        return
    with contextlib.suppress(OSError, AttributeError):  # not glibc (musl): nothing to do
        ctypes.CDLL("libc.so.6").malloc_trim(0)


class Ingestor:
    """Brings the index in line with a set of files."""

    def __init__(
        self,
        store: Store,
        embedder: Embedder,
        chunker: Chunker,
        title_in_embedding: bool = True,
        batch_chunks: int = 512,
        progress: bool = True,
        keyword: KeywordIndex | None = None,
        max_article_bytes: int | None = None,
        on_progress: ProgressCallback | None = None,
        home: Path | None = None,
        min_free_bytes: int = 0,
        max_html_elements: int | None = MAX_HTML_ELEMENTS,
        stories: bool = True,
    ) -> None:
        self.store = store
        self.stories = stories  # group near-duplicates (index/story.py)
        self.embedder = embedder
        self.chunker = chunker
        self.title_in_embedding = title_in_embedding
        self.batch_chunks = batch_chunks
        self.progress = progress
        self.keyword = keyword
        self.max_article_bytes = max_article_bytes
        self.max_html_elements = max_html_elements
        self.on_progress = on_progress
        # Where free space is checked before each batch (None: a Chroma server's disk).
        self.home = home
        self.min_free_bytes = min_free_bytes
        # What reached the store in this run, for the keyword index: (chunk, date key).
        self._written: list[tuple[Chunk, int]] = []
        self._removed: list[str] = []
        self._hashes: dict[str, str] = {}  # content hash of each article written
        self._new: set[str] = set()  # ids of articles this run adds (not updates)
        self._done = 0  # articles of this run written to the store (for on_progress)

    def ingest(self, paths: Iterable[Path], prune: bool = False,
               drop_missing: bool = True, follow_symlinks: bool = False) -> IngestReport:
        """Index new and changed articles under `paths`; drop articles whose file now
        holds other content (unless `drop_missing` is off: uploads only ever add or
        update); with `prune`, drop articles whose file is gone.

        One bad file, record or article never stops the run: each problem is reported in
        `failures` as `path[:line]: reason` and every good article is committed."""
        t0 = time.perf_counter()
        report = IngestReport()
        files, errors = collect_files([Path(p) for p in paths], follow_symlinks)
        report.failures.extend(errors)
        report.files = len(files)
        parsed_files: list[tuple[str, bool, list[Article]]] = []
        seen: set[str] = set()
        for f in self._bar(files, "reading", "file"):
            path = str(f.resolve())
            clean = True
            arts: list[Article] = []
            parsed = parse_file(f, self.max_article_bytes, self.max_html_elements)
            for item in _guarded(parsed, path):
                if isinstance(item, ParseError):
                    report.failures.append(item)
                    clean = False
                    continue
                art = replace(item, path=path)
                if art.id in seen:
                    report.duplicates += 1
                    continue
                seen.add(art.id)
                arts.append(art)
                report.articles += 1
            parsed_files.append((path, clean, arts))
        # What the index knows of these articles and files, read by id and path: a write's
        # cost follows the write (prune alone needs every record).
        records = self.store.records() if prune else self.store.records_of(
            list(seen), [p for p, clean, _ in parsed_files if clean and drop_missing])
        by_path: dict[str, set[str]] = {}
        for rec in records.values():
            if rec.path:
                by_path.setdefault(rec.path, set()).add(rec.id)

        todo: list[Article] = []
        self._new = set()
        self._done = 0
        stale: set[str] = set()
        for path, clean, arts in parsed_files:
            for art in arts:
                known = records.get(art.id)
                if known is not None and known.hash == art.hash:
                    report.unchanged += 1
                else:
                    todo.append(art)
                    if known is None:
                        self._new.add(art.id)
                        report.added += 1
                    else:
                        report.updated += 1
            if clean and drop_missing:  # a file read in part keeps the articles it had
                stale |= by_path.get(path, set()) - {a.id for a in arts}
        if prune:
            stale |= {r.id for r in records.values() if r.path and not Path(r.path).exists()}
        stale -= seen
        if self.keyword is not None:  # behind another writer: catch up from the change log
            self.keyword.sync(self.store, {a: r.hash for a, r in records.items()}
                              if prune else None)
        del records, by_path, parsed_files
        _trim_heap()  # before the model's buffers are added on top
        self._written, self._removed, self._hashes = [], [], {}
        self._progress(report)
        try:
            if stale:
                self.store.delete(sorted(stale))
                self._removed.extend(stale)
                report.removed = len(stale)
            self._embed_and_write(todo, report)
        finally:
            release = getattr(self.embedder, "release_memory", None)
            if callable(release) and todo:  # before the keyword rebuild adds its own peak
                with contextlib.suppress(Exception):  # only memory: never lose the update
                    release()
            # Also after Ctrl-C: the keyword index then matches what did reach the store.
            if self.keyword is not None and (self._written or self._removed):
                self._update_keyword()
        report.seconds = time.perf_counter() - t0
        self._progress(report)
        return report

    def _progress(self, report: IngestReport) -> None:
        if self.on_progress is None:
            return
        failed = report.articles - report.added - report.updated - report.unchanged
        done = report.unchanged + failed + self._done
        self.on_progress(min(done, report.articles), report.articles, report.chunks_embedded)

    def _embed_and_write(self, todo: list[Article], report: IngestReport) -> None:
        bar = self._bar(None, "embedding", "article", total=len(todo))
        batch: list[Article] = []
        batch_chunks: list[Chunk] = []
        try:
            for art in todo:
                try:
                    chunks = self.chunker.chunk(art)
                except Exception as exc:  # odd text that breaks the splitter: skip it alone
                    self._fail(art, f"cannot split into passages: {exc!r}", report)
                    bar.update(1)
                    continue
                batch.append(art)
                batch_chunks.extend(chunks)
                if len(batch_chunks) >= self.batch_chunks:
                    self._flush(batch, batch_chunks, report)
                    self._progress(report)
                    bar.update(len(batch))
                    bar.set_postfix(chunks=report.chunks_embedded, refresh=False)
                    batch, batch_chunks = [], []
            if batch:
                self._flush(batch, batch_chunks, report)
                self._progress(report)
                bar.update(len(batch))
                bar.set_postfix(chunks=report.chunks_embedded, refresh=False)
        finally:
            bar.close()

    def _fail(self, art: Article, reason: str, report: IngestReport) -> None:
        report.failures.append(ParseError(art.path or art.id, f"article {art.id}: {reason}"))
        if art.id in self._new:
            report.added -= 1
        else:
            report.updated -= 1

    def _update_keyword(self) -> None:
        assert self.keyword is not None
        try:
            self.keyword.update(self._written, self._removed, self.store.generation(),
                                self._hashes, log_seq=self.store.log_position())
        except Exception as exc:
            if not is_disk_full(exc) or self.home is None:
                raise
            # The keyword index is a cache of the store: the next command finds it behind
            # (generation and chunk count) and rebuilds it once there is room.
            raise DiskFull(full_message(self.home)) from exc

    def _disk_full(self) -> DiskFull:
        """The error for a write that failed on a full disk, flagging the half-written
        batch in the data home (a Chroma server's own disk is the server's to free)."""
        if self.home is None:
            return DiskFull("the Chroma server's disk is full; free space there, then run "
                            "the same command again and `newsqa check --repair`")
        mark_incomplete(self.home)
        return DiskFull(full_message(self.home))

    def _check_space(self, articles: list[Article], chunks: list[Chunk]) -> None:
        """Stop before a batch that might not fit: a batch half-written by a full disk
        leaves chunks without their article record (`newsqa check --repair` mends them,
        but a run that stops at a boundary leaves nothing to mend)."""
        if self.home is None:
            return
        needed = self.min_free_bytes or max(
            2 * _batch_bytes(articles, chunks, self.embedder.dimension), MIN_FREE)
        require_free(self.home, needed)

    def _flush(self, articles: list[Article], chunks: list[Chunk], report: IngestReport) -> None:
        self._check_space(articles, chunks)
        try:
            self._write(articles, chunks, report)
        except (KeyboardInterrupt, SystemExit, MemoryError):
            raise
        except Exception as exc:
            if is_disk_full(exc):  # every article would fail the same way: stop now
                raise self._disk_full() from exc
            if len(articles) == 1:
                raise
            # Find the article that breaks the batch: write one at a time, so the others
            # are committed and only the bad one is reported.
            for art in articles:
                own = [c for c in chunks if c.article_id == art.id]
                try:
                    self._write([art], own, report)
                except (KeyboardInterrupt, SystemExit, MemoryError):
                    raise
                except Exception as exc:
                    if is_disk_full(exc):
                        raise self._disk_full() from exc
                    self._fail(art, f"cannot embed or store: {exc!r}", report)

    def _write(self, articles: list[Article], chunks: list[Chunk], report: IngestReport) -> None:
        titles = {a.id: a.title for a in articles}
        inputs = [
            f"{titles[c.article_id]}\n{c.text}" if self.title_in_embedding else c.text
            for c in chunks
        ]
        # News feeds repeat boilerplate passages verbatim; embed each distinct text once.
        unique = list(dict.fromkeys(inputs))
        _trim_heap()  # the last batch's store write left garbage; the model's peak is next
        vectors = self.embedder.embed_documents(unique) if unique else np.zeros((0, 1))
        row = {text: i for i, text in enumerate(unique)}
        all_vectors = vectors[[row[t] for t in inputs]] if inputs else vectors
        grouped = None
        table = BandTable(self.home) if self.stories and self.home is not None else None
        if self.stories:  # a Chroma server's home has no table of its own: the store's
            grouped = assign_stories([(a.id, a.text) for a in articles],
                                     table.candidates if table else self.store.story_candidates)
        self.store.write(articles, chunks, all_vectors, grouped)
        if table is not None and grouped:
            table.add(grouped)
        dates = {a.id: date_key(a.date) for a in articles}
        self._written.extend((c, dates[c.article_id]) for c in chunks)
        self._hashes.update((a.id, a.hash) for a in articles)
        report.chunks_embedded += len(unique)
        self._done += len(articles)
        report.chunks_reused += len(inputs) - len(unique)

    def _bar(self, items: Sequence[Path] | None, desc: str, unit: str, total: int | None = None):  # type: ignore[no-untyped-def]
        from tqdm import tqdm

        return tqdm(
            items, desc=desc, unit=unit, total=total, file=sys.stderr,
            disable=not self.progress, dynamic_ncols=True, leave=False,
        )
