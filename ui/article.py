"""Showing one stored article: as JSON (`newsqa show --json`, `GET /api/articles/{id}`),
as text with a quoted span in context (`newsqa show --around`), and as the chat's article
page with the quote highlighted and scrolled into view.

`text[start:end]` of the JSON is exactly what a citation's offsets point at. Article text
and metadata are hostile input: the page escapes every field and links only http(s) URLs.
"""

from __future__ import annotations

import html
import re
from typing import Any
from urllib.parse import urlsplit

from index.article import Article

CONTEXT_CHARS = 300  # shown on each side of the quote by `--around`
SPAN = re.compile(r"^(\d+):(\d+)$")


class SpanError(ValueError):
    """A START:END span that is malformed or outside the article."""


def article_json(article: Article) -> dict[str, Any]:
    """{id, title, date, url, source, text}: citations' offsets index into `text`."""
    return {"id": article.id, "title": article.title,
            "date": article.date.isoformat() if article.date else None,
            "url": article.url, "source": article.source, "text": article.text}


def parse_span(value: str, article: Article) -> tuple[int, int]:
    """(start, end) of 'START:END' within the article; SpanError says what is wrong."""
    m = SPAN.match(value.strip())
    if m is None:
        raise SpanError(f"{value!r} is not a span like 2774:2940 (the chars of a citation)")
    start, end = int(m.group(1)), int(m.group(2))
    if not start < end <= len(article.text):
        raise SpanError(f"span {start}:{end} is outside article {article.id}, whose text "
                        f"has {len(article.text):,} characters")
    return start, end


def format_article(article: Article, span: tuple[int, int] | None = None) -> str:
    """The article for a terminal: a header, then the whole text, or with `span` the
    quote between »« with CONTEXT_CHARS of context on each side."""
    head = [article.title, " · ".join(x for x in (
        article.date.isoformat() if article.date else None, article.source, article.url) if x),
        f"id {article.id}, {len(article.text):,} characters", ""]
    if span is None:
        return "\n".join([*head, article.text])
    start, end = span
    lo, hi = max(0, start - CONTEXT_CHARS), min(len(article.text), end + CONTEXT_CHARS)
    text = (("…" if lo else "") + article.text[lo:start] + "»" + article.text[start:end] + "«"
            + article.text[end:hi] + ("…" if hi < len(article.text) else ""))
    return "\n".join([*head, f"chars {start}-{end}:", text])


def safe_link(url: str | None) -> str | None:
    """`url` when it is an absolute http(s) URL, else None (no javascript:, data:...)."""
    if not url:
        return None
    parts = urlsplit(url.strip())
    return url.strip() if parts.scheme.lower() in ("http", "https") and parts.netloc else None


def article_page(article: Article, span: tuple[int, int] | None, prefix: str = "") -> str:
    """A standalone HTML page of the article, the span (if any) in a <mark id="quote">
    the browser scrolls to (the link ends in #quote; no script needed), under a plain
    link back to the chat (`/`)."""
    e = html.escape
    text = article.text
    if span is None:
        body = e(text)
    else:
        start, end = span
        body = (e(text[:start]) + '<mark id="quote">' + e(text[start:end]) + "</mark>"
                + e(text[end:]))
    link = safe_link(article.url)
    meta = " · ".join(e(x) for x in (article.date.isoformat() if article.date else None,
                                      article.source) if x)
    origin = (f'<a href="{e(link, quote=True)}" rel="noopener noreferrer nofollow" '
              f'target="_blank">{e(link)}</a>') if link else ""
    return (
        "<!doctype html><html lang=en><head><meta charset=utf-8>"
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        "<meta name=referrer content=no-referrer>"
        f"<title>{e(article.title)}</title><style>"
        "body{font:17px/1.6 system-ui,sans-serif;max-width:46rem;margin:2rem auto;"
        "padding:0 1rem;color:#222}h1{font-size:1.5rem;line-height:1.3}"
        ".meta{color:#666;font-size:.9rem}.text{white-space:pre-wrap}"
        ".back{font-size:.9rem}a{color:#1d4ed8}"
        "mark{background:#ffe26b;padding:.1em 0;scroll-margin-top:30vh}"
        "@media(prefers-color-scheme:dark){body{background:#111;color:#ddd}"
        "mark{background:#7a6300;color:#fff}a{color:#93c5fd}}</style></head><body>"
        '<p class=back><a href="/" id=back-to-chat>← Back to the chat</a></p>'
        f"<h1>{e(article.title)}</h1><p class=meta>{meta}</p><p class=meta>{origin}</p>"
        f'<div class=text data-article="{e(article.id, quote=True)}">{body}</div>'
        "</body></html>")


def view_path(article_id: str, start: int | None = None, end: int | None = None) -> str:
    """The chat server's path of an article's page, scrolled to chars start:end."""
    from urllib.parse import quote

    path = f"/article/{quote(article_id, safe='')}"
    return path + (f"?span={start}:{end}#quote" if start is not None and end is not None
                   else "")
