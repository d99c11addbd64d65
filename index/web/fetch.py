"""Fetch one URL within the limits of `FetchSettings`, with httpx.

Every limit is enforced while the response arrives, never after: the size while it
streams, counted in decoded bytes (`index.web.decoding` decodes the raw stream a piece at
a time, so a compression bomb costs at most the limit), the total time per response from
DNS to the last byte (`index.web.deadline`: a watchdog, and every socket call capped),
redirects one hop at a time (each hop's scheme and, through `index.web.address`, its
address checked). Each refusal is a `FetchError` subclass whose message names the limit
and the setting that moves it. Proxies from the environment are not used: the address
check must see the real destination.
"""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import urljoin, urlsplit

import httpx

from index.errors import (
    AddressRefused,
    FetchError,
    FetchTimeout,
    RedirectRefused,
    ResponseTooLarge,
    UnsupportedContent,
)
from index.settings import FetchSettings
from index.web.address import AddressPolicy, Resolve, guarded_pool, resolve
from index.web.deadline import Deadline
from index.web.decoding import ACCEPT_ENCODING, BodyDecoder, CodingError, parse_codings

MB = 1024 * 1024
HTML_TYPES = ("text/html", "application/xhtml+xml")
XML_TYPES = ("text/xml", "application/xml", "application/rss+xml", "application/atom+xml",
             "application/rdf+xml")
JSON_TYPES = ("application/json", "application/feed+json")
# Bytes that say "not text" whatever the content type claims (an image served as HTML).
_MAGIC = ((b"\x89PNG", "a PNG image"), (b"\xff\xd8\xff", "a JPEG image"),
          (b"GIF8", "a GIF image"), (b"%PDF", "a PDF document"), (b"PK\x03\x04", "a zip file"),
          (b"\x1f\x8b", "gzip data"), (b"RIFF", "a RIFF (WebP/AVI/WAV) file"))


def check_scheme(url: str) -> str:
    """`url` stripped, or FetchError unless it is an absolute http(s) URL with a host."""
    url = url.strip()
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 - raises on a port that is not a number in range
    except ValueError as exc:
        raise FetchError(url, f"not a valid URL ({exc})") from None
    if any(ch.isspace() or ord(ch) < 32 for ch in url):
        raise FetchError(url, "not a valid URL (it contains spaces or control characters)")
    if parts.scheme.lower() not in ("http", "https"):
        shown = f"{parts.scheme}:" if parts.scheme else "no scheme"
        raise FetchError(url, f"only http and https URLs are fetched ({shown}); give a "
                         "link like https://example.com/news/article")
    if not parts.hostname:
        raise FetchError(url, "the URL has no host name")
    return url


@dataclass(frozen=True, kw_only=True)
class Response:
    """A fetched response: `url` is where it ended after redirects. `not_modified` is a
    304 to a conditional request (then `body` is empty)."""

    url: str
    status: int
    content_type: str
    body: bytes
    etag: str | None = None
    last_modified: str | None = None
    not_modified: bool = False

    @property
    def kind(self) -> str:
        """'html', 'xml' or 'json', from the content type."""
        if self.content_type in HTML_TYPES:
            return "html"
        if self.content_type in JSON_TYPES or self.content_type.endswith("+json"):
            return "json"
        return "xml"


class Fetcher:
    """GETs URLs; `requests` counts the HTTP requests made (redirect hops included)."""

    def __init__(self, settings: FetchSettings, resolver: Resolve = resolve) -> None:
        self.settings = settings
        policy = AddressPolicy(allow_private=settings.allow_private_addresses,
                               allowed_hosts=settings.allowed_hosts, resolver=resolver)
        transport = httpx.HTTPTransport(trust_env=False)
        # httpx has no public hook for the socket layer; its pool is swapped for one whose
        # connections go through the address policy (tests/test_fetch.py guards this).
        transport._pool = guarded_pool(policy, httpx.create_ssl_context())
        self._client = httpx.Client(
            transport=transport, trust_env=False, follow_redirects=False,
            timeout=httpx.Timeout(settings.read_timeout_s, connect=settings.connect_timeout_s),
            headers={"User-Agent": settings.user_agent,
                     # Only codings decoded under the size limit (index.web.decoding).
                     "Accept-Encoding": ACCEPT_ENCODING,
                     "Accept": "text/html, application/xhtml+xml, application/rss+xml, "
                               "application/atom+xml, application/feed+json, "
                               "application/xml;q=0.9, application/json;q=0.9"},
        )
        self.requests = 0

    def close(self) -> None:
        self._client.close()

    def __enter__(self) -> Fetcher:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def get(self, url: str, *, etag: str | None = None,
            last_modified: str | None = None) -> Response:
        """The response at `url`, redirects followed; with `etag` or `last_modified`, a
        conditional request (a 304 comes back as `not_modified`). FetchError on any
        refusal, HTTP error status or broken connection."""
        start = url = check_scheme(url)
        headers = {}
        if etag:
            headers["If-None-Match"] = etag
        if last_modified:
            headers["If-Modified-Since"] = last_modified
        seen = {url}
        for hop in range(self.settings.max_redirects + 1):
            try:
                response = self._one(url, headers)
            except AddressRefused as exc:
                if hop == 0:
                    raise AddressRefused(start, exc.reason) from None
                raise AddressRefused(start, f"redirects to {url}, and {exc.reason}") from None
            if isinstance(response, Response):
                return response
            url = response
            if url in seen:
                raise RedirectRefused(start, f"redirect loop (back to {url})")
            seen.add(url)
        raise RedirectRefused(start, f"more than {self.settings.max_redirects} redirects "
                              "(NEWSQA_FETCH__MAX_REDIRECTS)")

    def _one(self, url: str, headers: dict[str, str]) -> Response | str:
        """One request: the Response, or the URL a redirect points to."""
        s = self.settings
        self.requests += 1
        deadline = Deadline(s.total_timeout_s)
        try:
            with deadline.running(), self._client.stream("GET", url, headers=headers) as r:
                return self._response(url, headers, r, deadline)
        except FetchError:
            raise
        except Exception as exc:
            if deadline.passed:  # whatever the watchdog or a capped socket call broke
                raise FetchTimeout(url, _total(s)) from None
            if isinstance(exc, httpx.ConnectTimeout):
                raise FetchTimeout(url, f"no connection within {s.connect_timeout_s:g} s "
                                   "(NEWSQA_FETCH__CONNECT_TIMEOUT_S)") from None
            if isinstance(exc, httpx.TimeoutException):
                raise FetchTimeout(url, f"the server stalled: nothing received for "
                                   f"{s.read_timeout_s:g} s (NEWSQA_FETCH__READ_TIMEOUT_S)") \
                    from None
            if isinstance(exc, httpx.HTTPError | httpx.InvalidURL | ValueError):
                raise FetchError(url, f"cannot fetch: {exc or type(exc).__name__}") from None
            raise

    def _response(self, url: str, headers: dict[str, str], r: httpx.Response,
                  deadline: Deadline) -> Response | str:
        if r.status_code in (301, 302, 303, 307, 308):
            target = urljoin(url, r.headers.get("location", ""))
            scheme = urlsplit(target).scheme.lower()
            if scheme not in ("http", "https"):
                raise RedirectRefused(url, f"redirect to a {scheme or 'relative'}: "
                                      "URL refused; only http(s) is fetched")
            return target
        if r.status_code == 304:
            return Response(url=url, status=304, content_type="", body=b"",
                            etag=r.headers.get("etag") or headers.get("If-None-Match"),
                            last_modified=r.headers.get("last-modified")
                            or headers.get("If-Modified-Since"),
                            not_modified=True)
        if r.status_code >= 400:
            raise FetchError(url, f"HTTP {r.status_code} {r.reason_phrase}".rstrip())
        kind = content_type(r.headers.get("content-type", ""))
        if not _accepted(kind):
            raise UnsupportedContent(url, f"content type {kind or '(none)'} is not "
                                     "HTML, XML or JSON; not an article or feed")
        body = self._read(r, url, deadline)
        return Response(url=str(r.url), status=r.status_code, content_type=kind,
                        body=body, etag=r.headers.get("etag"),
                        last_modified=r.headers.get("last-modified"))

    def _read(self, r: httpx.Response, url: str, deadline: Deadline) -> bytes:
        """The body, decoded from the raw stream here (not by httpx, which would decode
        a whole network chunk at once), the limit counting decoded bytes."""
        s = self.settings
        limit = int(s.max_response_mb * MB)
        declared = r.headers.get("content-length", "")
        if declared.isdigit() and int(declared) > limit:
            raise ResponseTooLarge(url, _too_large(int(declared), limit))
        try:
            decoder = BodyDecoder(parse_codings(r.headers.get_list("content-encoding")))
        except CodingError as exc:
            raise UnsupportedContent(url, str(exc)) from None
        parts: list[bytes] = []
        size = raw = 0
        try:
            for chunk in r.iter_raw():
                raw += len(chunk)
                if raw > limit:
                    raise ResponseTooLarge(url, _too_large(None, limit))
                for part in decoder.feed(chunk):
                    size += len(part)
                    if size > limit:
                        raise ResponseTooLarge(url, _too_large(None, limit))
                    parts.append(part)
                if deadline.passed:  # also caught at the socket; this names it sooner
                    raise FetchTimeout(url, _total(s))
        except CodingError as exc:
            raise FetchError(url, str(exc)) from None
        if deadline.passed:  # the watchdog's shutdown reads as the end of the body
            raise FetchTimeout(url, _total(s))
        body = b"".join(parts)
        not_text = sniff_binary(body)
        if not_text:
            raise UnsupportedContent(url, f"served as {r.headers.get('content-type')} but "
                                     f"the bytes are {not_text}; not an article or feed")
        return body


def _total(s: FetchSettings) -> str:
    return (f"the response took over {s.total_timeout_s:g} s in all "
            "(NEWSQA_FETCH__TOTAL_TIMEOUT_S)")


def content_type(header: str) -> str:
    """The media type of a Content-Type header, lower-cased, without parameters."""
    return header.split(";", 1)[0].strip().lower()


def _accepted(kind: str) -> bool:
    return (kind in HTML_TYPES or kind in XML_TYPES or kind in JSON_TYPES
            or kind.endswith(("+xml", "+json")))


def sniff_binary(body: bytes) -> str | None:
    """What `body` is when it is plainly not text (magic bytes, NUL bytes), else None."""
    head = body[:512].lstrip()
    for magic, what in _MAGIC:
        if head.startswith(magic):
            return what
    if b"\x00" in body[:4096] and not body.startswith((b"\xff\xfe", b"\xfe\xff")):
        return "binary data"
    return None


def _too_large(size: int | None, limit: int) -> str:
    what = f"{size / MB:.1f} MB, over" if size is not None else "over"
    return (f"response too large ({what} the {limit / MB:g} MB limit of "
            "NEWSQA_FETCH__MAX_RESPONSE_MB); stopped reading")
