"""The write half of `Assistant`: ingest, removal, repair and following other writers.

One writer per data home (`index.lock`): every method here that changes the index holds
the home's writer lock and this process's `_writing` lock, and leaves asks answering from
the last finished state (the retriever is rebuilt on the next question).
"""

from __future__ import annotations

import contextlib
import logging
import shutil
import threading
import time
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from index.lock import Holder, WriterLock
from index.manifest import Manifest
from index.space import INCOMPLETE
from index.store import Store

if TYPE_CHECKING:
    from assistant.settings import Settings
    from assistant.watch.watcher import Recheck, Watcher
    from index.check import CheckReport
    from index.chunk import Chunker
    from index.embed import Embedder
    from index.ingest import Ingestor, IngestReport, ProgressCallback
    from index.keyword import KeywordIndex
    from index.retrieve import Retriever
    from index.web import Fetched

log = logging.getLogger(__name__)
FOLLOW_SECONDS = 2.0  # how often an asking process checks for other writers' changes


class IndexWriting:
    """Mixed into `Assistant` (which provides the attributes and parts declared here)."""

    settings: Settings
    store: Store
    lock: WriterLock
    _lazy: threading.RLock
    _writing: threading.RLock
    _following: threading.Lock
    _followed: float
    _retriever: Retriever | None
    _keyword: KeywordIndex | None
    _opened: bool

    last_recheck: Recheck | None = None  # the last re-check of the watches (for the CLI)

    @property
    def embedder(self) -> Embedder:
        raise NotImplementedError

    @property
    def watcher(self) -> Watcher:
        raise NotImplementedError

    @property
    def keyword(self) -> KeywordIndex:
        raise NotImplementedError

    def expected_manifest(self) -> Manifest:
        raise NotImplementedError

    def open(self) -> Manifest:
        raise NotImplementedError

    def ingest(
        self, paths: Iterable[str | Path], prune: bool = False, rebuild: bool = False,
        progress: bool = False, wait: bool = True,
        on_wait: Callable[[Holder], None] | None = None, drop_missing: bool = True,
        on_progress: ProgressCallback | None = None, follow_symlinks: bool = False,
    ) -> IngestReport:
        """Index new and changed articles under `paths` (files or folders), holding the
        data home's writer lock (`wait` for another writer, else raise WriterBusy).
        `drop_missing=False` only adds and updates (uploads). `rebuild` indexes `paths`
        into a new collection that replaces the old one only once it is complete.
        `on_progress(articles_done, articles_read, chunks_embedded)` is called as batches
        reach the store (for job progress; not with `rebuild`). Links inside folders that
        lead outside `paths` are reported, not read, unless `follow_symlinks`."""
        from index.chunk import Chunker

        # Everything that can be refused is checked before anything is touched.
        chunker = Chunker(self.settings.chunking, self.embedder.token_ids)
        expected = self.expected_manifest()
        with self._writing, self.lock.hold("rebuild" if rebuild else "ingest", wait=wait,
                                           on_wait=on_wait):
            self.follow()
            if rebuild:
                report = self._rebuild([Path(p) for p in paths], chunker, expected, progress,
                                       follow_symlinks)
            else:
                self.store.open(expected, create=True)
                self._opened = True
                ingestor = self._ingestor(self.store, chunker, self.keyword, progress,
                                          on_progress)
                report = ingestor.ingest([Path(p) for p in paths], prune=prune,
                                         drop_missing=drop_missing,
                                         follow_symlinks=follow_symlinks)
        self._retriever = None  # pick up the new articles on the next question
        self.last_recheck = None
        if rebuild or report.added or report.updated:
            self.recheck_watches(everything=rebuild)
        return report

    def ingest_urls(
        self, urls: Sequence[str], progress: bool = False, wait: bool = True,
        on_wait: Callable[[Holder], None] | None = None,
    ) -> tuple[IngestReport, Fetched]:
        """Fetch article pages and feeds (RSS, Atom, JSON Feed) at `urls` and index what
        they hold (adding and updating only). Feeds are polled conditionally and only
        their unseen items fetched (`index.web`); their state is saved once the articles
        are indexed. Every URL, page or item that failed is in the report's `failures`."""
        from index.ingest import IngestReport
        from index.web import read_urls

        fetched = read_urls(urls, self.settings.home, self.settings.fetch,
                            self.settings.ingest)
        report = IngestReport()
        if fetched.path is not None:  # the network part holds no lock; indexing does
            report = self.ingest([fetched.path], drop_missing=False, progress=progress,
                                 wait=wait, on_wait=on_wait)
            report.files = 0
        report.failures[:0] = fetched.report.failures
        fetched.state.save()
        return report, fetched

    def _ingestor(self, store: Store, chunker: Chunker, keyword: KeywordIndex,
                  progress: bool, on_progress: ProgressCallback | None = None) -> Ingestor:
        from index.ingest import Ingestor

        return Ingestor(
            store,
            self.embedder,
            chunker,
            title_in_embedding=self.settings.chunking.title_in_embedding,
            batch_chunks=self.settings.ingest.store_batch,
            progress=progress,
            keyword=keyword,
            max_article_bytes=int(self.settings.ingest.max_article_mb * 1024 * 1024),
            on_progress=on_progress,
            home=None if self.settings.store.chroma_url else self.settings.home,
            min_free_bytes=int(self.settings.ingest.min_free_mb * 1024 * 1024),
            max_html_elements=self.settings.ingest.max_html_elements,
            stories=self.settings.ingest.stories,
        )

    def _rebuild(self, paths: list[Path], chunker: Chunker, expected: Manifest,
                 progress: bool, follow_symlinks: bool = False) -> IngestReport:
        """Build a complete new index beside the live one, then swap it in; the live one
        answers until the swap, and stays if this is interrupted or fails."""
        from index.keyword import KeywordIndex

        staged = self.store.staging()
        live = self.store.base()
        for left in (self.settings.home / "keyword").glob(f"{self.settings.store.collection}.r*"):
            if left.name != live:  # left by a rebuild that was killed
                shutil.rmtree(left, ignore_errors=True)
        staged.open(expected, create=True)
        if not self.settings.store.chroma_url:  # the rebuilt articles fill it again
            from index.bands import BandTable

            BandTable(self.settings.home).rebuild([])
        keyword = KeywordIndex(self._keyword_folder(staged.base()))
        try:
            report = self._ingestor(staged, chunker, keyword, progress).ingest(
                paths, follow_symlinks=follow_symlinks)
        except BaseException:
            with contextlib.suppress(Exception):
                staged.drop()
                shutil.rmtree(keyword.folder, ignore_errors=True)
            raise
        old = self.store.promote(staged)
        shutil.rmtree(self._keyword_folder(old), ignore_errors=True)
        self._keyword = keyword
        self._opened = True
        return report

    def remove(self, article_ids: Sequence[str], wait: bool = True,
               on_wait: Callable[[Holder], None] | None = None) -> list[str]:
        """Remove articles (and their chunks) from the index; returns the ids that were
        indexed. Uploaded files that held only removed articles are deleted too, so a
        later ingest of the uploads folder does not bring them back."""
        with self._writing, self.lock.hold("removal", wait=wait, on_wait=on_wait):
            self.follow()
            self.open()
            removed = self._delete(list(dict.fromkeys(article_ids)))
        self.recheck_watches()
        return removed

    def recheck_watches(self, everything: bool = False) -> Recheck | None:
        """After a write (outside the writer lock, so other writers need not wait): ask
        again the watched questions it could have changed (`assistant.watch`: what it
        added, changed or removed is in the store's change log). None when the home has
        no watches (or NEWSQA_WATCH__ON_WRITE is off). A re-check that fails leaves its
        watches due for the next one and never fails the write."""
        from assistant.watch.store import WatchStore

        self.last_recheck = None
        if not self.settings.watch.on_write or not WatchStore(self.settings.home).exists():
            return None
        try:
            watcher = self.watcher
            result = watcher.recheck(everything)
        except Exception:
            log.exception("re-checking the watched questions failed; they stay due for the "
                          "next write")
            return None
        self.last_recheck = result
        return result

    def _delete(self, article_ids: Sequence[str], batch: int = 0) -> list[str]:
        """Remove those of `article_ids` that are indexed (returned), `batch` at a time (0:
        all at once), the caller holding the writer lock: records and chunks from the
        store, then their keyword entries (also when interrupted, so they match what left
        the store), then the home's own files that held only these articles. Removal and
        pruning both come here; what it reads is by id, never the whole index."""
        known = self.store.paths_of(article_ids)
        article_ids = [a for a in article_ids if a in known]
        if not article_ids:
            return []
        paths = {p for p in known.values() if p}
        self.keyword.sync(self.store)
        done: list[str] = []
        step = batch or len(article_ids)
        try:
            for at in range(0, len(article_ids), step):
                part = list(article_ids[at:at + step])
                self.store.delete(part)
                done += part
        finally:
            if done:
                self.keyword.update([], done, self.store.generation(),
                                    log_seq=self.store.log_position())
                self._retriever = None
                if not self.settings.store.chroma_url:
                    from index.bands import BandTable

                    BandTable(self.settings.home).remove(done)
        self._drop_uploads(paths)
        return article_ids

    def _drop_uploads(self, paths: set[str]) -> None:
        # Files the home keeps itself (chat uploads, pages fetched from the web) that no
        # indexed article names any more.
        owned = {(self.settings.home / name).resolve() for name in ("uploads", "fetched")}
        mine = [p for p in paths if Path(p).parent in owned]
        for path in set(mine) - self.store.paths_in_use(mine):
            Path(path).unlink(missing_ok=True)

    def check(self, repair: bool = False, wait: bool = True,
              on_wait: Callable[[Holder], None] | None = None) -> CheckReport:
        """Compare article records, chunks, vectors and the keyword index; with `repair`,
        fix what is wrong (holding the writer lock)."""
        from index.check import check_index

        if not repair:
            self.follow()
            self.open()
            return check_index(self.store, self.keyword, repair=False)
        with self._writing, self.lock.hold("check --repair", wait=wait, on_wait=on_wait):
            self.follow()
            self.open()
            report = check_index(self.store, self.keyword, repair=True,
                                 reingest=lambda paths: self._reingest(paths))
            marker = self.settings.home / INCOMPLETE
            if marker.exists() and check_index(self.store, self.keyword, repair=False).ok:
                marker.unlink()  # the half-written batch is mended
            if not self.settings.store.chroma_url:  # the copies' lookup, from the records
                from index.bands import BandTable

                BandTable(self.settings.home).rebuild(self.store.story_prints())
        self._retriever = None
        return report

    def follow(self) -> bool:
        """Pick up what other processes wrote since this one last looked (a terminal
        ingest while the chat runs, another server on the same Chroma server), so that
        this process neither misses nor overwrites it. True if anything changed.

        Asks running meanwhile keep using the current store, keyword index and retriever;
        the new ones are built beside them and swapped in when ready. On a Chroma server
        only the keyword index needs catching up (incrementally, `KeywordIndex.sync`); an
        embedded Chroma never reloads its vector index, so a new client is opened."""
        with self._writing:
            store = self.store
            if not store.stale():
                return False
            if self.settings.store.chroma_url and not store.moved():
                store.refresh()
                if self._keyword is not None:
                    self._keyword.sync(store)
                return True
            fresh = Store(self.settings.store, self.settings.chroma_dir)
            if not fresh.exists():  # dropped by another process: nothing to follow
                return False
            fresh.open()
            keyword = None
            if self._keyword is not None or self._retriever is not None:
                from index.keyword import KeywordIndex

                keyword = KeywordIndex(self._keyword_folder(fresh.base()))
                keyword.sync(fresh)
            with self._lazy:
                self.store, self._keyword = fresh, keyword
                self._retriever = None
                self._opened = True
            return True

    def _follow_writers(self) -> None:
        """Before an ask, at most every FOLLOW_SECONDS: check (one small read) whether
        other processes wrote, and if so follow them in the background (`follow`), so no
        question waits for it. Skipped while this process writes: its ingest follows."""
        now = time.monotonic()
        if not self._opened or now - self._followed < FOLLOW_SECONDS:
            return
        self._followed = now
        if not self._following.acquire(blocking=False):
            return

        def run() -> None:
            try:
                if self._writing.acquire(blocking=False):
                    try:
                        self.follow()
                    finally:
                        self._writing.release()
            except Exception:  # the next check tries again; asks go on meanwhile
                log.warning("could not follow other writers", exc_info=True)
            finally:
                self._following.release()

        threading.Thread(target=run, name="newsqa-follow", daemon=True).start()

    def _reingest(self, paths: list[Path]) -> IngestReport:
        from index.chunk import Chunker

        chunker = Chunker(self.settings.chunking, self.embedder.token_ids)
        return self._ingestor(self.store, chunker, self.keyword, False).ingest(
            paths, drop_missing=False)

    def _keyword_folder(self, base: str) -> Path:
        return self.settings.home / "keyword" / base
