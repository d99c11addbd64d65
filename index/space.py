"""Disk space of the data home: checked before each batch is written, and a full disk
recognised in whatever error reports it (an OSError with ENOSPC, SQLite's "database or
disk is full", Chroma's wrapped messages), so a run stops at a batch boundary with a
message that names the home and its free space instead of retrying article by article.
"""

from __future__ import annotations

import contextlib
import errno
import shutil
from pathlib import Path

from index.errors import DiskFull

MB = 1024 * 1024
_FULL_WORDS = ("no space left", "disk is full", "disk quota exceeded")


def is_disk_full(exc: BaseException | None) -> bool:
    """Whether `exc`, or an error it was raised from, says the disk is full."""
    seen: set[int] = set()
    while exc is not None and id(exc) not in seen:
        seen.add(id(exc))
        if isinstance(exc, DiskFull):
            return True
        if isinstance(exc, OSError) and exc.errno in (errno.ENOSPC, errno.EDQUOT):
            return True
        if any(word in str(exc).lower() for word in _FULL_WORDS):
            return True
        exc = exc.__cause__ or exc.__context__
    return False


def free_bytes(folder: Path) -> int:
    """Free bytes on the file system of `folder` (or of its nearest existing parent)."""
    probe = folder
    while not probe.exists() and probe.parent != probe:
        probe = probe.parent
    return shutil.disk_usage(probe).free


def full_message(home: Path, *, needed: int | None = None) -> str:
    """What to tell a user whose data home ran out of space."""
    free = free_bytes(home)
    need = f", under the {needed / MB:.1f} MB the next batch needs" if needed else ""
    return (f"the disk of the data home {home} is full ({free / MB:.1f} MB free{need}); "
            "free some space or point NEWSQA_HOME at a bigger disk, then run the same "
            "command again (what was indexed is kept; `newsqa check` shows the index is "
            "consistent)")


INCOMPLETE = "incomplete-write"  # marker in the data home: a batch failed half-written


def mark_incomplete(home: Path) -> None:
    """Leave word in the data home that a batch was half-written (best effort: the disk
    may still be full), so the next command says so until `newsqa check --repair`."""
    with contextlib.suppress(OSError):
        (home / INCOMPLETE).write_text("a batch was half-written when the disk filled\n")


def require_free(home: Path, needed: int) -> None:
    """Raise DiskFull when the data home has less than `needed` bytes free."""
    if free_bytes(home) < needed:
        raise DiskFull(full_message(home, needed=needed))
