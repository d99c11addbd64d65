"""Atom feeds of watched questions' changes (`GET /api/watches/changes.atom`, and one per
watch), written with feedgen, for any feed reader: an entry per change, newest first,
titled with the question and what changed, its content the new answer with each new
citation's source, date and quote."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from html import escape

from feedgen.feed import FeedGenerator

from assistant.watch.record import Change
from ui.link import http_url


def atom(changes: Sequence[Change], *, title: str, self_url: str, feed_id: str) -> bytes:
    """The Atom document of `changes` (newest first)."""
    fg = FeedGenerator()
    fg.id(feed_id)
    fg.title(title)
    fg.author({"name": "newsqa"})
    fg.link(href=self_url, rel="self")
    fg.updated(_time(changes[0].at) if changes else datetime.now(UTC))
    for change in changes:
        entry = fg.add_entry(order="append")
        entry.id(f"{feed_id}:change:{change.id}")
        entry.title(f"{change.question} {change.summary()}")
        entry.updated(_time(change.at))
        entry.published(_time(change.at))
        entry.content(_html(change), type="html")
        links = [http_url(c.url) for c in change.new.citations]
        first = next((u for u in links if u), None)
        if first:
            entry.link(href=first)
    return bytes(fg.atom_str(pretty=True))


def _time(stamp: str) -> datetime:
    return datetime.fromisoformat(stamp.replace("Z", "+00:00"))


def _html(change: Change) -> str:
    new = change.new
    parts = [f"<p><b>{escape(change.summary())}</b></p>"]
    if new.short is not None:
        parts.append(f"<p>{'Answer' if new.stated else 'Not sure; perhaps'}: "
                     f"{escape(new.short)}</p>")
    parts.append("<ol>")
    for c in new.citations:
        meta = ", ".join(x for x in (c.source, c.date) if x)
        parts.append(f"<li>{escape(c.title)}{' (' + escape(meta) + ')' if meta else ''}: "
                     f"<q>{escape(c.quote)}</q></li>")
    parts.append("</ol>")
    return "".join(parts)
