"""Errors raised by the index package. Edges (CLI, UI) turn them into friendly messages."""

from __future__ import annotations


class NewsIndexError(Exception):
    """Base class of every error the index package raises on purpose."""


class ParseError(NewsIndexError):
    """A file (or one line of it) could not be read as an article."""

    def __init__(self, path: str, reason: str, line: int | None = None) -> None:
        self.path = path
        self.line = line
        self.reason = reason
        where = f"{path}:{line}" if line is not None else path
        super().__init__(f"{where}: {reason}")


class UnsupportedFileType(ParseError):
    """The file's extension is not one the parser reads."""


class IndexNotFound(NewsIndexError):
    """No index exists yet in the data home."""


class ModelMismatch(NewsIndexError):
    """The index was built with another embedding model or chunking than configured."""


class StoreUnavailable(NewsIndexError):
    """The vector store (local directory or Chroma server) cannot be reached or opened."""


class EmbedderUnavailable(NewsIndexError):
    """The embedding model cannot be loaded (missing package, unknown name, bad export)."""


class WriterBusy(NewsIndexError):
    """Another writer (an ingest, a removal, an upload) holds the data home's writer lock."""


class ArticleTooLarge(ParseError):
    """An article (or a file of one article) is over the configured size limit."""


class PageTooComplex(ParseError):
    """An HTML page has more elements than the configured limit (it is skipped before its
    text is extracted)."""


class NothingReadable(ParseError):
    """A folder given to ingest holds no file of a supported type."""


class LinkOutside(ParseError):
    """A link inside a folder being ingested points outside the paths given."""


class DiskFull(NewsIndexError):
    """The data home's disk has no room for the next write; nothing half-written."""


class StoreError(NewsIndexError):
    """The vector store failed on a read or write (e.g. after a full disk)."""


class FetchError(ParseError):
    """A URL (a page, a feed or one of its items) could not be fetched or read; `path`
    is the URL, `reason` what went wrong and which setting, if any, decided it. Both are
    shown with control characters escaped: a hostile feed's links and titles must not
    reach a terminal as escape sequences."""

    def __init__(self, url: str, reason: str) -> None:
        super().__init__(printable(url), printable(reason))


def printable(text: str) -> str:
    """`text` with every non-printable character written as an escape (\\x1b, \\n)."""
    if text.isprintable():
        return text
    return "".join(ch if ch.isprintable() else ch.encode("unicode_escape").decode("ascii")
                   for ch in text)


class AddressRefused(FetchError):
    """The URL (or a redirect) leads to a private, loopback or link-local address."""


class ResponseTooLarge(FetchError):
    """The response grew past NEWSQA_FETCH__MAX_RESPONSE_MB while it streamed."""


class RedirectRefused(FetchError):
    """Too many redirects, a redirect loop, or a redirect to a scheme other than http(s)."""


class UnsupportedContent(FetchError):
    """The response is not HTML, XML or JSON (by its content type or its bytes)."""


class FetchTimeout(FetchError):
    """The server did not connect, answer or finish within the fetch timeouts."""
