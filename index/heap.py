"""Giving freed heap memory back to the operating system.

glibc keeps memory a process has freed, in each thread's arena, for reuse; a long-lived
server whose writes and asks run in different threads then holds the high-water mark of
every arena. `malloc_trim(0)` releases the free pages of all arenas. It is cheap next to
a write (a few milliseconds), so writers call it at their quiet points.
"""

from __future__ import annotations

import contextlib
import ctypes
import functools
import sys
from typing import Any


def trim() -> None:
    """Give freed heap memory back to the OS (glibc only; elsewhere nothing to do)."""
    libc = _libc()
    if libc is not None:
        libc.malloc_trim(0)


@functools.cache
def _libc() -> Any:
    if not sys.platform.startswith("linux"):
        return None
    with contextlib.suppress(OSError, AttributeError):  # not glibc (musl): no malloc_trim
        libc = ctypes.CDLL("libc.so.6")
        libc.malloc_trim  # noqa: B018 - looked up once, so a libc without it is known here
        return libc
    return None
