"""Reading input with bounded memory.

JSON Lines are split on "\\n" only (JSON allows U+2028, U+2029, \\x85, \\x0b and \\x0c raw
inside strings, and `str.splitlines` would cut a record there) and read one line at a
time from a plain or gzip stream. A line over the limit is skipped while it streams, so a
1 GB line in a 1 MB `.jsonl.gz` costs a pass over it, never 1 GB of memory; the next
line is still read. A stream that breaks (a truncated `.gz`) ends the lines read so far,
which the caller keeps.

`too_deep` refuses JSON nested deeper than `MAX_DEPTH` before the parser, which recurses
per level, meets it.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Protocol

MAX_DEPTH = 200  # news records are a few levels deep; the parser's recursion ends ~1000
_SKIP_READ = 1 << 20  # bytes read at a time while skipping the rest of a long line
_TOKENS = re.compile(rb'"(?:[^"\\]|\\.)*"|[\[\]{}]', re.DOTALL)
_OPEN = frozenset({"[", "{", b"[", b"{"})
_CLOSE = frozenset({"]", "}", b"]", b"}"})
_TEXT_TOKENS = re.compile(r'"(?:[^"\\]|\\.)*"|[\[\]{}]', re.DOTALL)


class Readable(Protocol):
    def readline(self, size: int = -1, /) -> bytes: ...


@dataclass(frozen=True, kw_only=True)
class Line:
    """One line of a stream: `data` without its line end, or None when the line was over
    the limit (then `size` is its whole length in bytes, counted as it was skipped)."""

    number: int
    data: bytes | None
    size: int


def lines(stream: Readable, max_bytes: int) -> Iterator[Line]:
    """The lines of `stream`, split on b"\\n" only; a line over `max_bytes` is yielded with
    `data=None` and never held whole. Read errors of the stream (a truncated gzip raises
    EOFError) propagate after the complete lines before them were yielded."""
    number = 0
    while True:
        chunk = stream.readline(max_bytes + 1)
        if not chunk:
            return
        number += 1
        if len(chunk) > max_bytes and not chunk.endswith(b"\n"):
            size = len(chunk)
            del chunk
            while True:
                part = stream.readline(_SKIP_READ)
                size += len(part)
                if not part or part.endswith(b"\n"):
                    break
            yield Line(number=number, data=None, size=size)
            continue
        if chunk.endswith(b"\n"):
            chunk = chunk[:-1]
        if chunk.endswith(b"\r"):
            chunk = chunk[:-1]
        yield Line(number=number, data=chunk, size=len(chunk))


def too_deep(raw: bytes | str, limit: int = MAX_DEPTH) -> bool:
    """Whether JSON text nests arrays and objects deeper than `limit`. Brackets inside
    strings do not count. Cheap for ordinary input: text with fewer opening brackets than
    `limit` is not scanned at all."""
    # Counted on the text as given: every JSON Lines line passes here, so no re-encoding.
    if isinstance(raw, str):
        if raw.count("[") + raw.count("{") <= limit:
            return False
        return _deeper((m.group() for m in _TEXT_TOKENS.finditer(raw)), limit)
    if raw.count(b"[") + raw.count(b"{") <= limit:
        return False
    return _deeper((m.group() for m in _TOKENS.finditer(raw)), limit)


def _deeper(tokens: Iterable[bytes | str], limit: int) -> bool:
    depth = 0
    for t in tokens:
        if t in _OPEN:
            depth += 1
            if depth > limit:
                return True
        elif t in _CLOSE:
            depth -= 1
    return False


def depth_message(limit: int = MAX_DEPTH) -> str:
    """What to say about JSON nested too deep."""
    return (f"JSON nested more than {limit} levels deep; news records are flat objects "
            "such as {\"title\": ..., \"text\": ...}")
