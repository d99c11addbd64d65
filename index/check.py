"""Consistency of the index: article records, chunks, vectors and the keyword index
must describe the same articles (`newsqa check`, `newsqa ingest --verify`).

What can go wrong, and the repair:
* orphan chunks (their article has no record: an interrupted write or removal) are
  deleted;
* incomplete articles (a record whose chunk count or vectors do not match what is
  stored) are dropped and indexed again from their file when it still exists;
* a keyword index that does not mirror the store is rebuilt from the store.
The caller holds the writer lock when repairing.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from index.ingest import IngestReport
    from index.keyword import KeywordIndex
    from index.store import Store


@dataclass
class CheckReport:
    """What `check_index` found (and, with repair, did)."""

    articles: int = 0
    chunks: int = 0
    keyword_entries: int = 0
    orphan_chunks: list[str] = field(default_factory=list)
    incomplete_articles: list[str] = field(default_factory=list)
    missing_vectors: list[str] = field(default_factory=list)
    keyword_missing: int = 0
    keyword_extra: int = 0
    repaired: bool = False
    reindexed: int = 0
    lost: list[str] = field(default_factory=list)  # dropped, and no file to re-read
    # Findings beside the index, each a line with what to do (the reader's span model,
    # added by `assistant.service.Assistant.check`); repair does not mend them.
    problems: list[str] = field(default_factory=list)

    @property
    def index_ok(self) -> bool:
        """Records, chunks, vectors and the keyword index agree."""
        return not (self.orphan_chunks or self.incomplete_articles or self.missing_vectors
                    or self.keyword_missing or self.keyword_extra)

    @property
    def ok(self) -> bool:
        return self.index_ok and not self.problems

    def lines(self) -> list[str]:
        """Human-readable findings, one per line."""
        out = [f"{self.articles} article(s), {self.chunks} chunk(s), "
               f"{self.keyword_entries} keyword entries"]
        if self.index_ok:
            out.append("consistent: every chunk has its article, its vector and its "
                       "keyword entry")
        if self.orphan_chunks:
            out.append(f"{len(self.orphan_chunks)} orphan chunk(s) without an article record")
        if self.incomplete_articles:
            out.append(f"{len(self.incomplete_articles)} incomplete article(s) (chunks or "
                       f"vectors missing): {', '.join(self.incomplete_articles[:10])}"
                       + (" ..." if len(self.incomplete_articles) > 10 else ""))
        if self.missing_vectors:
            out.append(f"{len(self.missing_vectors)} chunk(s) without a readable vector")
        if self.keyword_missing or self.keyword_extra:
            out.append(f"keyword index out of step: {self.keyword_missing} chunk(s) missing, "
                       f"{self.keyword_extra} extra")
        if self.repaired:
            out.append(f"repaired: {len(self.orphan_chunks)} orphan chunk(s) deleted, "
                       f"{self.reindexed} article(s) indexed again, keyword index rebuilt"
                       if not self.index_ok else "nothing to repair")
            if self.lost:
                out.append(f"{len(self.lost)} incomplete article(s) were dropped because "
                           f"their file is gone: {', '.join(self.lost[:10])}; ingest them "
                           "again")
        elif not self.index_ok:
            out.append("run `newsqa check --repair` to fix this")
        return out + self.problems


def check_index(
    store: Store,
    keyword: KeywordIndex,
    repair: bool = False,
    reingest: Callable[[list[Path]], IngestReport] | None = None,
) -> CheckReport:
    """Compare records, chunks, vectors and keyword entries; with `repair`, fix them."""
    report = CheckReport()
    records = store.records()
    owners = store.chunk_owners(records)
    report.articles, report.chunks = len(records), len(owners)
    report.keyword_entries = len(keyword)
    per_article: dict[str, int] = {}
    for cid, aid in owners.items():
        if aid in records:
            per_article[aid] = per_article.get(aid, 0) + 1
        else:
            report.orphan_chunks.append(cid)
    report.missing_vectors = store.missing_vectors(
        [c for c, a in owners.items() if a in records])
    no_vector = {owners[c] for c in report.missing_vectors}
    report.incomplete_articles = sorted(
        a for a, r in records.items() if per_article.get(a, 0) != r.chunks or a in no_vector)
    in_keyword, in_store = set(keyword.chunk_ids), set(owners)
    report.keyword_missing = len(in_store - in_keyword)
    report.keyword_extra = len(in_keyword - in_store)
    if not repair:
        return report
    report.repaired = True
    if report.index_ok:
        return report
    store.delete_chunks(report.orphan_chunks)
    paths: dict[str, list[str]] = {}
    for aid in report.incomplete_articles:
        path = records[aid].path
        if path and Path(path).is_file():
            paths.setdefault(path, []).append(aid)
        else:
            report.lost.append(aid)
    store.delete(report.incomplete_articles)
    keyword.rebuild(((c, int(m.get("date_key", 0))) for c, m in store.iter_chunks()),
                    store.generation(), {a: r.hash for a, r in store.records().items()},
                    log_seq=store.log_position())
    if paths and reingest is not None:
        again = reingest([Path(p) for p in paths])
        report.reindexed = again.added + again.updated
    return report
