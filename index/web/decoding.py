"""Content codings (gzip, deflate, br, zstd, and stacks of them) decoded as the body
streams in, never more than `PIECE` bytes of output at a time.

httpx decodes each network chunk whole: a 6 KB brotli body that expands to 4 GB grew the
process to 8.5 GB before the size limit saw a byte. Here the fetcher reads the raw stream
and every stage is asked for at most `PIECE` bytes of output per call, so the caller's
size limit counts decoded bytes while memory stays a few pieces deep, whatever the ratio.
A coding we cannot decode this way is refused by name, never passed through undecoded.
"""

from __future__ import annotations

import zlib
from collections.abc import Iterator, Sequence
from typing import Protocol

PIECE = 64 * 1024  # most output bytes one stage yields at a time
MAX_CODINGS = 3  # a legitimate server applies one; a stack deeper than this is an attack


class CodingError(ValueError):
    """A content coding refused (unknown, too deeply stacked) or undecodable data."""


class Stage(Protocol):
    """One content coding's decoder: bytes in, pieces of at most PIECE bytes out."""

    def feed(self, data: bytes) -> Iterator[bytes]: ...


class _Zlib:
    """gzip (several members allowed) or deflate (zlib-wrapped or raw, as servers differ)."""

    def __init__(self, coding: str) -> None:
        self.coding = coding
        self._wbits = 16 + zlib.MAX_WBITS if coding == "gzip" else zlib.MAX_WBITS
        self._obj = zlib.decompressobj(self._wbits)
        self._first = True
        self._done = False  # trailing bytes after a complete stream are ignored
        self._members = 0

    def feed(self, data: bytes) -> Iterator[bytes]:
        buf = b"" if self._done else data
        while buf:
            if self._obj.eof:
                if self.coding != "gzip":
                    self._done = True
                    return  # bytes after the deflate stream's end are ignored
                self._members += 1
                self._obj = zlib.decompressobj(self._wbits)  # the next gzip member
            try:
                out = self._obj.decompress(buf, PIECE)
            except zlib.error as exc:
                if self._first and self.coding == "deflate":  # raw deflate, no zlib header
                    self._wbits, self._first = -zlib.MAX_WBITS, False
                    self._obj = zlib.decompressobj(self._wbits)
                    continue
                if self._members:  # padding or garbage after a whole member, as browsers
                    self._done = True  # (and urllib3) read it: the body is complete
                    return
                raise CodingError(f"the {self.coding} content coding is corrupt ({exc})") \
                    from None
            self._first = False
            if out:
                yield out
            # Input held back because the piece was full, else what follows a finished
            # member; a full piece with nothing held back may still have output pending.
            buf = self._obj.unconsumed_tail or (self._obj.unused_data if self._obj.eof
                                                else b"")
            while not buf and len(out) == PIECE and not self._obj.eof:
                out = self._obj.decompress(b"", PIECE)
                if out:
                    yield out
                buf = self._obj.unconsumed_tail


class _Brotli:
    def __init__(self) -> None:
        import brotli

        self._brotli = brotli
        self._obj = brotli.Decompressor()

    def feed(self, data: bytes) -> Iterator[bytes]:
        try:
            out = self._obj.process(data, output_buffer_limit=PIECE)
            if out:
                yield out
            while not self._obj.can_accept_more_data():
                out = self._obj.process(b"", output_buffer_limit=PIECE)
                if not out:
                    break
                yield out
        except self._brotli.error as exc:
            raise CodingError(f"the br content coding is corrupt ({exc})") from None


class _Zstd:
    def __init__(self) -> None:
        from backports.zstd import ZstdDecompressor, ZstdError

        self._new = ZstdDecompressor
        self._error = ZstdError
        self._obj = ZstdDecompressor()

    def feed(self, data: bytes) -> Iterator[bytes]:
        buf = data
        try:
            while True:
                if self._obj.eof:  # the next frame
                    buf = self._obj.unused_data + buf
                    if not buf:
                        return
                    self._obj = self._new()
                out = self._obj.decompress(buf, PIECE)
                buf = b""
                if out:
                    yield out
                if self._obj.needs_input and not (self._obj.eof and self._obj.unused_data):
                    return
        except self._error as exc:
            raise CodingError(f"the zstd content coding is corrupt ({exc})") from None


def _zstd_available() -> bool:
    try:
        import backports.zstd  # noqa: F401
    except ImportError:
        return False
    return True


SUPPORTED = ("gzip", "deflate", "br", *(("zstd",) if _zstd_available() else ()))
ACCEPT_ENCODING = ", ".join(SUPPORTED)


def parse_codings(values: Sequence[str]) -> list[str]:
    """The codings of `Content-Encoding` header values, in the order applied; CodingError
    naming an unknown one, or a stack deeper than MAX_CODINGS."""
    codings = [c.strip().lower() for v in values for c in v.split(",")]
    codings = [c for c in codings if c and c != "identity"]
    codings = ["gzip" if c == "x-gzip" else c for c in codings]
    unknown = [c for c in codings if c not in SUPPORTED]
    if unknown:
        raise CodingError(f"content coding {unknown[0][:40]!r} is not supported (only "
                          f"{', '.join(SUPPORTED)}); refused rather than read undecoded")
    if len(codings) > MAX_CODINGS:
        raise CodingError(f"{len(codings)} stacked content codings ({', '.join(codings)}); "
                          f"at most {MAX_CODINGS} are decoded")
    return codings


def _stage(coding: str) -> Stage:
    if coding == "br":
        return _Brotli()
    if coding == "zstd":
        return _Zstd()
    return _Zlib(coding)


class BodyDecoder:
    """Decodes a body's stack of codings incrementally: `feed` raw bytes, get decoded
    pieces (each at most PIECE bytes), lazily, so a consumer that stops at its limit has
    never held more than a few pieces."""

    def __init__(self, codings: Sequence[str]) -> None:
        self._stages = [_stage(c) for c in reversed(codings)]  # the last applied first

    def feed(self, data: bytes) -> Iterator[bytes]:
        return self._through(0, data)

    def _through(self, i: int, data: bytes) -> Iterator[bytes]:
        if i == len(self._stages):
            yield data
            return
        for piece in self._stages[i].feed(data):
            yield from self._through(i + 1, piece)
