"""Feeds as our own `Feed` and `FeedItem`: RSS 2.0 and Atom read by feedparser, JSON Feed
(which feedparser does not read) by hand. Titles, links and dates are hostile input:
titles become plain one-line text, links must be absolute http(s) URLs."""

from __future__ import annotations

import calendar
import html
import json
import re
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any
from urllib.parse import urljoin, urlsplit

from index.errors import FetchError
from index.web.fetch import Response

MAX_TITLE = 300
_TAG = re.compile(r"<[^>]*>")
_SPACE = re.compile(r"\s+")
JSON_FEED_VERSION = "https://jsonfeed.org/version/"


@dataclass(frozen=True, kw_only=True)
class FeedItem:
    """One entry of a feed. `key` identifies it across polls (its guid or id, else its
    link); `link` is None when the entry has no usable http(s) link (`problem` says why),
    and then `text` (its content or summary) is all there is."""

    key: str
    link: str | None
    title: str
    date: date | None = None
    text: str = ""
    problem: str | None = None


@dataclass(frozen=True, kw_only=True)
class Feed:
    """A parsed feed: its title and entries, newest first as the publisher lists them."""

    url: str
    title: str
    items: tuple[FeedItem, ...]
    problem: str | None = None  # malformed XML that the lenient parser read around


def is_feed(response: Response) -> bool:
    """Whether a response is a feed rather than an article page: XML, a JSON Feed, or
    XML served as HTML (some servers do)."""
    if response.kind == "xml":
        return True
    head = response.body[:2048].lstrip().lower()
    if response.kind == "json":
        return True  # a JSON document is only read as a JSON Feed
    return head.startswith(b"<?xml") and (b"<rss" in head or b"<feed" in head
                                          or b"<rdf" in head)


def parse_feed(response: Response) -> Feed:
    """The feed in `response`; FetchError naming what is wrong when it is none."""
    if response.kind == "json":
        return _json_feed(response)
    import feedparser

    parsed = feedparser.parse(response.body, sanitize_html=False,
                              resolve_relative_uris=False)
    if not parsed.entries:
        problem = parsed.get("bozo_exception")
        if problem is not None:
            raise FetchError(response.url, f"not a readable feed: malformed XML ({problem})")
        if parsed.get("version"):
            return Feed(url=response.url, title=title_text(parsed.feed.get("title")), items=())
        raise FetchError(response.url, "not an RSS, Atom or JSON feed")
    items = tuple(_rss_item(e, response.url) for e in parsed.entries)
    problem = parsed.get("bozo_exception") if parsed.get("bozo") else None
    if problem is not None and "xml" not in type(problem).__name__.lower() \
            and "sax" not in type(problem).__module__.lower():
        problem = None  # an encoding the feed misdeclared: nothing lost
    return Feed(url=response.url, title=title_text(parsed.feed.get("title")), items=items,
                problem=f"malformed XML ({problem}); {len(items)} item(s) read around it"
                if problem is not None else None)


def _rss_item(entry: Any, base: str) -> FeedItem:
    raw_link = entry.get("link") or ""
    link, problem = _link(raw_link, base)
    parsed = entry.get("published_parsed") or entry.get("updated_parsed")
    day = datetime.fromtimestamp(calendar.timegm(parsed), UTC).date() if parsed else None
    content = entry.get("content") or []
    body = content[0].get("value", "") if content else entry.get("summary", "")
    key = str(entry.get("id") or raw_link or entry.get("title") or body[:200])
    return FeedItem(key=key, link=link, title=title_text(entry.get("title")), date=day,
                    text=plain_text(body), problem=problem)


def _json_feed(response: Response) -> Feed:
    try:
        data = json.loads(response.body)
    except (ValueError, RecursionError) as exc:
        raise FetchError(response.url, f"not a readable feed: invalid JSON ({exc})") from None
    if not isinstance(data, dict) or not str(data.get("version", "")).startswith(
            JSON_FEED_VERSION) or not isinstance(data.get("items"), list):
        raise FetchError(response.url, "JSON, but not a JSON Feed (no jsonfeed.org version "
                         "and items list); pages must be HTML")
    items = []
    for entry in data["items"]:
        if not isinstance(entry, dict):
            continue
        raw_link = str(entry.get("url") or entry.get("external_url") or "")
        link, problem = _link(raw_link, response.url)
        body = entry.get("content_text") or plain_text(str(entry.get("content_html") or "")) \
            or str(entry.get("summary") or "")
        items.append(FeedItem(
            key=str(entry.get("id") or raw_link or entry.get("title") or body[:200]),
            link=link, title=title_text(entry.get("title")),
            date=_iso_day(entry.get("date_published") or entry.get("date_modified")),
            text=str(body).strip(), problem=problem))
    return Feed(url=response.url, title=title_text(data.get("title")), items=tuple(items))


def _link(raw: str, base: str) -> tuple[str | None, str | None]:
    """(absolute http(s) link, None) or (None, why the link is not used)."""
    raw = raw.strip()
    if not raw:
        return None, "the item has no link"
    try:
        link = urljoin(base, raw)
        parts = urlsplit(link)
        ok = parts.scheme.lower() in ("http", "https") and bool(parts.hostname)
    except ValueError:
        ok = False
    if not ok:
        return None, f"link {raw[:80]!r} is not an http(s) URL; not fetched"
    return link, None


def title_text(value: object) -> str:
    """A title as plain one-line text (tags dropped, entities decoded), at most MAX_TITLE
    characters; the renderers escape it again."""
    text = plain_text(str(value or ""))
    text = "".join(ch for ch in _SPACE.sub(" ", text) if ch.isprintable()).strip()
    return text if len(text) <= MAX_TITLE else text[: MAX_TITLE - 1].rstrip() + "…"


def plain_text(markup: str) -> str:
    """Text of an HTML fragment (feed summaries and titles)."""
    if "<" not in markup and "&" not in markup:
        return markup.strip()
    return html.unescape(_TAG.sub(" ", markup)).strip()


def _iso_day(value: object) -> date | None:
    try:
        return datetime.fromisoformat(str(value).replace("Z", "+00:00")).date() if value \
            else None
    except ValueError:
        return None
