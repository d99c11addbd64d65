"""Articles from the web: a URL is an article page or a feed (RSS, Atom, JSON Feed) whose
items' pages are fetched. `WebReader.read` returns the articles and, for each URL, page or
item that failed, a `FetchError` (`url: reason`); one failure never stops the rest.

Identity: an article fetched from the web has the id `content_hash(canonical URL)`, so the
same page read again (by `ingest`, a feed, or `follow`) updates one article instead of
adding a copy. The canonical URL is the page's own `<link rel=canonical>` when it names the
same host (a page may not claim another site's address), else where the fetch ended,
without fragment and tracking parameters. A feed item without a page is its text in the
feed; its id is its URL-shaped id only on the feed's own site, else its feed's URL and its
id (`item_id`). So every article id comes from the site that served it, and only that site
can update it.

Feeds: the feed's ETag/Last-Modified make the next poll conditional, and items already
indexed are never fetched again (`index.web.feedstate`); an unchanged feed costs one request.
"""

from __future__ import annotations

import json
import os
import secrets
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from index.article import Article, content_hash
from index.encoding import decode
from index.errors import FetchError, ParseError
from index.parse import MAX_HTML_ELEMENTS, parse_html
from index.settings import FetchSettings, IngestSettings
from index.web.feed import Feed, FeedItem, is_feed, parse_feed, title_text
from index.web.feedstate import FeedState
from index.web.fetch import Fetcher, Response, check_scheme

_TRACKING = ("utm_", "fbclid", "gclid", "mc_cid", "mc_eid")


@dataclass
class WebReport:
    """What reading a set of URLs did."""

    articles: list[Article] = field(default_factory=list)
    failures: list[FetchError] = field(default_factory=list)
    feeds: int = 0
    unchanged_feeds: int = 0  # answered 304 Not Modified
    items_skipped: int = 0  # feed items already indexed (or given up on)
    pages: int = 0  # article pages fetched

    def summary(self, requests: int) -> str:
        pages = "1 page" if self.pages == 1 else f"{self.pages} pages"
        parts = [f"{requests} request(s)", f"{pages} fetched"]
        if self.feeds:
            parts.append(f"{self.feeds} feed(s), {self.unchanged_feeds} unchanged, "
                         f"{self.items_skipped} item(s) already indexed")
        return "; ".join(parts)


def canonical(url: str) -> str:
    """`url` without fragment and tracking parameters, scheme and host lower-cased."""
    parts = urlsplit(url.strip())
    query = urlencode([(k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True)
                       if not k.lower().startswith(_TRACKING)])
    host = (parts.hostname or "").lower()
    netloc = host if parts.port in (None, 80, 443) else f"{host}:{parts.port}"
    return urlunsplit((parts.scheme.lower(), netloc, parts.path or "/", query, ""))


def url_id(url: str) -> str:
    """The article id of the page at canonical `url`."""
    return content_hash(canonical(url))


def item_id(feed_url: str, key: str) -> str:
    """The article id of a feed item that has no page of its own: its feed's URL and
    its own id, so the item read again updates one article, and no other site's."""
    return content_hash(f"{canonical(feed_url)}\n{key}")


def _same_site(a: str, b: str) -> bool:
    def host(u: str) -> str:
        return (urlsplit(u).hostname or "").lower().removeprefix("www.")
    return host(a) == host(b) and host(a) != ""


class WebReader:
    """Reads URLs into articles with one `Fetcher`, remembering feeds in `state`."""

    def __init__(self, fetcher: Fetcher, state: FeedState, settings: FetchSettings,
                 max_article_bytes: int | None = None,
                 max_html_elements: int | None = MAX_HTML_ELEMENTS) -> None:
        self.fetcher = fetcher
        self.state = state
        self.settings = settings
        self.max_article_bytes = max_article_bytes
        self.max_html_elements = max_html_elements

    def read(self, urls: Iterable[str]) -> WebReport:
        """Every article at `urls`; feeds are polled (conditionally when known) and only
        their unseen items fetched."""
        report = WebReport()
        ids: set[str] = set()
        self._pages: dict[str, Response] = {}  # by canonical link, for this read
        for url in dict.fromkeys(urls):
            try:
                url = check_scheme(url)
                known = self.state.feeds.get(url)
                response = self._pages.get(canonical(url))
                if response is None:
                    response = self.fetcher.get(
                        url, etag=known.etag if known else None,
                        last_modified=known.last_modified if known else None)
                    fetched = True
                else:
                    fetched = False
                if response.not_modified:
                    report.feeds += 1
                    report.unchanged_feeds += 1
                    self._polled(url, None)
                    continue
                if is_feed(response):
                    self._feed(url, response, report, ids)
                else:
                    self._pages[canonical(url)] = response
                    report.pages += fetched
                    self._add(self._page(response, url, None, None), report, ids)
            except FetchError as exc:
                report.failures.append(exc)
                if url in self.state.feeds:
                    self._polled(url, exc.reason)
            except Exception as exc:  # an odd page or feed must not end the run
                report.failures.append(FetchError(url, f"cannot read: {exc!r}"))
        return report

    def _add(self, art: Article, report: WebReport, ids: set[str]) -> None:
        if art.id not in ids:  # two feeds listing one page: read once
            ids.add(art.id)
            report.articles.append(art)

    def _polled(self, url: str, error: str | None) -> None:
        rec = self.state.record(url)
        rec.last_poll = datetime.now(UTC).isoformat(timespec="seconds")
        rec.last_error = error

    def _feed(self, url: str, response: Response, report: WebReport, ids: set[str]) -> None:
        feed = parse_feed(response)
        report.feeds += 1
        if feed.problem:
            report.failures.append(FetchError(url, feed.problem))
        rec = self.state.record(url)
        rec.title = feed.title or rec.title
        for item in feed.items[: self.settings.max_items]:
            if item.key in rec.seen or rec.failed.get(item.key, 0) >= \
                    self.settings.item_attempts:
                report.items_skipped += 1
                continue
            try:
                art = self._item(feed, item, report, owners=(url, response.url))
            except Exception as exc:  # this item only; the feed's other items go on
                rec.failed[item.key] = rec.failed.get(item.key, 0) + 1
                report.failures.append(exc if isinstance(exc, FetchError) else FetchError(
                    item.link or feed.url, f"cannot read: {exc!r}"))
                continue
            rec.failed.pop(item.key, None)
            rec.seen[item.key] = art.id
            rec.indexed += 1
            self._add(art, report, ids)
        rec.etag, rec.last_modified = response.etag, response.last_modified
        self._polled(url, None)

    def _item(self, feed: Feed, item: FeedItem, report: WebReport,
              owners: tuple[str, ...]) -> Article:
        source = feed.title or urlsplit(feed.url).hostname or None
        if item.link is None:
            if not item.text.strip():
                raise FetchError(feed.url, f"item {item.title[:80]!r}: {item.problem}, and "
                                 "no text in the feed")
            # The item's id may name a page as its identity only on the feed's own site
            # (asked, or redirected to): a feed elsewhere claiming another site's URL
            # would otherwise replace that site's article with its own text.
            link = item.key if item.key.startswith(("http://", "https://")) and any(
                _same_site(item.key, owner) for owner in owners) else None
            return Article(id=url_id(link) if link else item_id(feed.url, item.key),
                           text=item.text.strip(), title=item.title or item.text[:80],
                           date=item.date, url=link, source=source)
        response = self._pages.get(canonical(item.link))
        if response is None:  # two feeds listing one page: fetched once
            response = self._pages[canonical(item.link)] = self.fetcher.get(item.link)
            report.pages += 1
        if is_feed(response):
            raise FetchError(item.link, "the item's link is a feed, not an article page")
        return self._page(response, item.link, item, source)

    def _page(self, response: Response, asked: str, item: FeedItem | None,
              source: str | None) -> Article:
        if response.kind != "html":
            raise FetchError(asked, f"{response.content_type} is not an article page "
                             "(pages must be HTML; feeds RSS, Atom or JSON Feed)")
        if self.max_article_bytes is not None and len(response.body) > 4 * \
                self.max_article_bytes:
            raise FetchError(asked, "page too large for NEWSQA_INGEST__MAX_ARTICLE_MB")
        try:
            page = parse_html(decode(response.body), path=asked,
                              max_elements=self.max_html_elements)
        except UnicodeDecodeError as exc:
            raise FetchError(asked, f"cannot decode the page ({exc.reason})") from None
        except ParseError as exc:
            raise FetchError(asked, exc.reason) from None
        except Exception as exc:  # the extractor failing on odd markup: this page only
            raise FetchError(asked, f"cannot parse the page: {exc!r}") from None
        if self.max_article_bytes is not None and \
                len(page.text.encode("utf-8")) > self.max_article_bytes:
            raise FetchError(asked, "article too large (NEWSQA_INGEST__MAX_ARTICLE_MB)")
        where = page.url if page.url and _same_site(page.url, response.url) else response.url
        url = canonical(where)
        return Article(
            id=url_id(url), text=page.text,
            title=(item.title if item and item.title else title_text(page.title)),
            date=(item.date if item and item.date else page.date), url=url,
            source=source or page.source or urlsplit(url).hostname)


@dataclass
class Fetched:
    """Articles read from the web and saved as JSON Lines at `path` (None when there were
    none), with the feed state to save once they are indexed."""

    report: WebReport
    path: Path | None
    state: FeedState
    requests: int


def save_articles(articles: Sequence[Article], folder: Path) -> Path:
    """Write `articles` as one JSON Lines file (the `newsqa ingest` format, ids kept) in
    `folder`: what the index was built from stays on disk, for `check --repair`."""
    folder.mkdir(parents=True, exist_ok=True)
    stamp = datetime.now(UTC).strftime("%Y%m%d-%H%M%S")
    path = folder / f"{stamp}-{secrets.token_hex(4)}.jsonl"
    tmp = path.with_suffix(".part")
    with tmp.open("w", encoding="utf-8") as f:
        for a in articles:
            rec = {"id": a.id, "title": a.title, "text": a.text, "url": a.url,
                   "source": a.source, "date": a.date.isoformat() if a.date else None}
            f.write(json.dumps({k: v for k, v in rec.items() if v is not None},
                               ensure_ascii=False) + "\n")
        f.flush()
        os.fsync(f.fileno())
    tmp.replace(path)
    return path


def read_urls(urls: Sequence[str], home: Path, settings: FetchSettings,
              limits: IngestSettings | None = None) -> Fetched:
    """Fetch `urls` (pages and feeds) and save their articles under `<home>/fetched/`,
    each page within the article limits of `limits` (article size, HTML elements); the
    index is not touched (network only, no writer lock)."""
    limits = limits or IngestSettings()
    state = FeedState(home)
    with Fetcher(settings) as fetcher:
        report = WebReader(fetcher, state, settings,
                           max_article_bytes=int(limits.max_article_mb * 1024 * 1024),
                           max_html_elements=limits.max_html_elements).read(urls)
        requests = fetcher.requests
    path = save_articles(report.articles, home / "fetched") if report.articles else None
    return Fetched(report=report, path=path, state=state, requests=requests)
