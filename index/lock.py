"""The writer lock of a data home: one writer at a time, readers never blocked.

Every change to the index (a terminal `newsqa ingest`, `newsqa remove`, `newsqa check
--repair`, a chat upload, and any future background ingest worker) holds this lock while
it writes; asks take no lock. Two writers on one embedded Chroma, or on one keyword index,
silently lose each other's chunks, so the second writer waits (or gives up at once).

The lock is an OS file lock (`filelock`, flock on Unix): it is released by the kernel when
its holder dies, even by kill -9, so a crashed ingest never leaves the home locked. Who
holds it (pid, what, since when) is written to a small file beside it, only to tell the
waiter whom it waits for.

On a Chroma server, Chroma orders the vector writes itself; the lock still guards what
is per home (the keyword index, uploads, jobs).

    lock = WriterLock(home)
    with lock.hold("ingest", wait=True, on_wait=print_message):
        ...  # write
"""

from __future__ import annotations

import contextlib
import json
import os
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from index.errors import WriterBusy

LOCK_NAME = "writer.lock"
OWNER_NAME = "writer.lock.json"


@dataclass(frozen=True)
class Holder:
    """Who holds the writer lock, as it recorded itself (best effort)."""

    pid: int | None
    what: str
    since: str

    def describe(self) -> str:
        who = f"pid {self.pid}" if self.pid else "another process"
        return f"another {self.what or 'writer'} is running ({who}, since {self.since or '?'})"


class WriterLock:
    """The exclusive writer lock of one data home (reentrant within one thread)."""

    def __init__(self, home: Path, poll_seconds: float = 0.5) -> None:
        from filelock import FileLock

        self.home = home
        self.path = home / LOCK_NAME
        self.owner_path = home / OWNER_NAME
        self.poll_seconds = poll_seconds
        self._lock = FileLock(str(self.path))

    def holder(self) -> Holder | None:
        """Who holds the lock now, or None when it is free."""
        if self._free():
            return None
        try:
            data = json.loads(self.owner_path.read_text())
            return Holder(int(data.get("pid") or 0) or None, str(data.get("what", "")),
                          str(data.get("since", "")))
        except (OSError, ValueError, AttributeError):
            return Holder(None, "", "")

    def _free(self) -> bool:
        if self._lock.is_locked:  # held by this process
            return False
        try:
            self._lock.acquire(timeout=0)
        except Exception:
            return False
        self._lock.release()
        return True

    @contextlib.contextmanager
    def hold(
        self,
        what: str = "ingest",
        wait: bool = True,
        on_wait: Callable[[Holder], None] | None = None,
        timeout: float | None = None,
    ) -> Iterator[None]:
        """Hold the lock for the `with` block. If another writer holds it: with `wait`,
        call `on_wait(holder)` once and wait (up to `timeout` seconds, None = forever);
        without, raise WriterBusy naming the holder at once."""
        from filelock import Timeout

        self.home.mkdir(parents=True, exist_ok=True)
        reentered = self._lock.is_locked
        try:
            self._lock.acquire(timeout=0)
        except Timeout:
            holder = self.holder() or Holder(None, "", "")
            if not wait:
                raise WriterBusy(holder.describe() + "; try again when it has finished, "
                                 "or leave out --no-wait to wait for it") from None
            if on_wait is not None:
                on_wait(holder)
            deadline = None if timeout is None else time.monotonic() + timeout
            while True:
                left = None if deadline is None else max(0.0, deadline - time.monotonic())
                try:
                    self._lock.acquire(timeout=self.poll_seconds if left is None
                                       else min(left, self.poll_seconds))
                    break
                except Timeout:
                    if left is not None and left <= 0:
                        raise WriterBusy(holder.describe() + f"; gave up after {timeout:g}s"
                                         ) from None
        try:
            if not reentered:
                self._record(what)
            yield
        finally:
            self._lock.release()

    def _record(self, what: str) -> None:
        since = datetime.now(UTC).strftime("%Y-%m-%d %H:%M:%SZ")
        tmp = self.owner_path.with_name(f"{OWNER_NAME}.{os.getpid()}")
        with contextlib.suppress(OSError):  # only informs waiters
            tmp.write_text(json.dumps({"pid": os.getpid(), "what": what, "since": since}))
            os.replace(tmp, self.owner_path)
