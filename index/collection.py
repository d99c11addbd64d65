"""A Chroma collection as the store uses it: failures converted to our own errors at the
boundary, and rows read and written in batches. (Only `index.store` imports chromadb;
this module handles the collection objects it opens.)"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any, TypeVar

from index.errors import DiskFull, NewsIndexError, StoreError
from index.space import full_message, is_disk_full

BATCH = 2000  # rows per Chroma call; its own limit is ~41k, smaller keeps memory flat
T = TypeVar("T")


class Guarded:
    """A Chroma collection whose failures reach callers as our own errors: DiskFull when
    the disk is full, else StoreError with what to do. No command shows a chromadb
    traceback."""

    def __init__(self, collection: Any, location: str, home: Path | None) -> None:
        self.raw = collection
        self._location = location
        self._home = home

    def __getattr__(self, name: str) -> Any:
        attr = getattr(self.raw, name)
        if not callable(attr):
            return attr

        def call(*args: Any, **kwargs: Any) -> Any:
            try:
                return attr(*args, **kwargs)
            except NewsIndexError:
                raise
            except Exception as exc:
                if self._home is not None and is_disk_full(exc):
                    raise DiskFull(full_message(self._home)) from exc
                raise StoreError(
                    f"the vector store at {self._location} failed ({exc}); run `newsqa check "
                    "--repair` (after freeing disk space, if the disk was full)") from exc

        return call


def batches(items: Sequence[T]) -> Iterator[list[T]]:
    """`items` in lists of at most `BATCH`: one Chroma call each."""
    for i in range(0, len(items), BATCH):
        yield list(items[i:i + BATCH])


def pages(collection: Any, include: list[str], size: int = BATCH) -> Iterator[dict[str, Any]]:
    """Every row of a Chroma collection, `size` rows per call. Chroma pages by offset, so
    a page deep in the collection costs more (ids only, at 96k rows in: 0.03 s a page of
    2,000, against 0.16-0.30 s for their metadata)."""
    for offset in range(0, collection.count(), size):
        yield collection.get(include=include, limit=size, offset=offset)
