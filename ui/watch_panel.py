"""The chat's watched questions: a *Watch this question* button under the chat (the last
question asked, with the filter set), and a *Watched* panel listing each watch with its
current answer and its changes, newest first (`assistant.watch`). Adding and removing is
an editor's, refused on the server like uploads; the panel refreshes itself every
`REFRESH_S` seconds, so a change found by a feed poll shows without a reload."""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from html import escape
from typing import TYPE_CHECKING, Any

import gradio as gr

from ui import render
from ui.forms import parse_as_of
from ui.guard import user_of
from ui.link import http_url

if TYPE_CHECKING:
    from assistant.service import Assistant
    from assistant.watch.record import Change, Snapshot, Watch

log = logging.getLogger(__name__)
REFRESH_S = 30.0
CHANGES_SHOWN = 5  # per watch, newest first
EMPTY = ('<div class="nq-watched nq-empty">No watched questions yet. Ask one, then press '
         "<b>Watch this question</b>: it is asked again whenever new articles could change "
         "its answer, and each change is listed here.</div>")


@dataclass
class WatchPanel:
    """The panel's components, wired by `wire`."""

    button: gr.Button
    status: gr.Markdown
    listing: gr.HTML
    refresh: gr.Button
    remove_id: gr.Textbox
    remove: gr.Button
    timer: gr.Timer


def watch_button(editing: bool) -> tuple[gr.Button, gr.Markdown]:
    """The *Watch this question* button (hidden from readers) and its status line."""
    with gr.Row(equal_height=True):
        button = gr.Button("Watch this question", variant="secondary", size="sm", scale=0,
                           min_width=180, elem_id="nq-watch", visible=editing)
        status = gr.Markdown(elem_id="nq-watch-status")
    return button, status


def watched_panel(bot: Assistant, button: gr.Button, status: gr.Markdown,
                  editing: bool) -> WatchPanel:
    """The *Watched* accordion, in the current layout."""
    with gr.Accordion("Watched questions", open=False, elem_id="nq-watched"):
        listing = gr.HTML(watched_html(bot), elem_id="nq-watched-list")
        with gr.Row(equal_height=True):
            refresh = gr.Button("Refresh", size="sm", scale=0, min_width=100,
                                elem_id="nq-watched-refresh")
            remove_id = gr.Textbox(show_label=False, scale=4, container=False, max_lines=1,
                                   placeholder="Watch id to stop watching",
                                   elem_id="nq-unwatch-id", visible=editing)
            remove = gr.Button("Stop watching", size="sm", scale=0, min_width=130,
                               variant="stop", elem_id="nq-unwatch", visible=editing)
    return WatchPanel(button, status, listing, refresh, remove_id, remove,
                      gr.Timer(REFRESH_S))


def wire(panel: WatchPanel, bot: Assistant, questions: gr.State, since: gr.Textbox,
         until: gr.Textbox, source: gr.Dropdown,
         refused: Callable[[gr.Request | None, str], str | None]) -> None:
    """Connect the panel's events; `refused(request, what)` says why a user may not."""

    def watch(asked: list[str], since_text: str, until_text: str, sources: list[str] | None,
              request: gr.Request | None = None) -> tuple[Any, Any]:
        if (why := refused(request, "watch questions")) is not None:
            return why, gr.skip()
        if not asked:
            return "Ask a question first; then watch it.", gr.skip()
        try:
            found, new = bot.watcher.add(asked[-1], since=parse_as_of(since_text),
                                         until=parse_as_of(until_text), sources=sources or [],
                                         owner=user_of(request))
        except Exception as exc:
            log.info("watch refused: %s", exc)
            return render.error_markdown(exc), gr.skip()
        said = "Watching" if new else "Already watching"
        return (f"✓ {said} **{render.md_escape(found.question)}** (id `{found.id}`): it is "
                "asked again whenever new articles could change its answer; changes show "
                "under *Watched questions*.", watched_html(bot))

    def unwatch(watch_id: str, request: gr.Request | None = None) -> tuple[Any, Any, Any]:
        if (why := refused(request, "stop watching questions")) is not None:
            return why, gr.skip(), gr.skip()
        try:
            bot.watcher.remove((watch_id or "").strip())
        except Exception as exc:
            return render.error_markdown(exc), gr.skip(), gr.skip()
        return f"✓ Stopped watching `{render.md_escape(watch_id.strip())}`.", \
            watched_html(bot), ""

    def show() -> str:
        return watched_html(bot)

    panel.button.click(watch, [questions, since, until, source],
                       [panel.status, panel.listing], api_visibility="private",
                       concurrency_id="watch")
    for trigger in (panel.remove.click, panel.remove_id.submit):
        trigger(unwatch, panel.remove_id, [panel.status, panel.listing, panel.remove_id],
                api_visibility="private", concurrency_id="watch")
    for trigger in (panel.refresh.click, panel.timer.tick):
        trigger(show, None, panel.listing, api_visibility="private",
                show_progress="hidden", concurrency_id="watch-list")


def watched_html(bot: Assistant) -> str:
    """Every watch with its current answer and its newest changes (HTML, all escaped)."""
    try:
        watches = bot.watcher.watches()
    except Exception:  # an unreadable watches file must not break the page
        log.exception("reading the watches failed")
        return '<div class="nq-watched nq-empty">The watches cannot be read now.</div>'
    if not watches:
        return EMPTY
    cards = []
    for w in reversed(watches):  # newest watch first
        changes = bot.watcher.changes(w.id, limit=CHANGES_SHOWN) if w.changes else []
        cards.append(_card(w, changes))
    return '<div class="nq-watched">' + "".join(cards) + "</div>"


def _card(watch: Watch, changes: list[Change]) -> str:
    scope = ", ".join(x for x in (f"from {watch.since}" if watch.since else "",
                                  f"to {watch.until}" if watch.until else "",
                                  " or ".join(watch.sources)) if x)
    head = (f'<div class="nq-title">{escape(watch.question)}</div>'
            f'<div class="nq-meta">id <code>{escape(watch.id)}</code>'
            + (f" · {escape(scope)}" if scope else "")
            + (f" · by {escape(watch.owner)}" if watch.owner else "")
            + f" · {watch.changes} change(s)</div>")
    now = f'<div class="nq-watch-now">Now: {_answer(watch.answer)}</div>'
    items = "".join(f'<li class="nq-change"><span class="nq-meta">{escape(c.at)}</span> '
                    f"{escape(c.summary())}{_new_citations(c)}</li>" for c in changes)
    return (f'<div class="nq-card nq-watch-card">{head}{now}'
            + (f'<ul class="nq-changes">{items}</ul>' if items else "") + "</div>")


def _answer(s: Snapshot | None) -> str:
    if s is None or s.abstained:
        return "<i>no answer in the articles yet</i>"
    return f"<b>{escape(s.label())}</b>" if s.stated else escape(s.label())


def _new_citations(change: Change) -> str:
    old = {c.article_id for c in change.old.citations}
    lines = []
    for c in change.new.citations:
        if c.article_id in old:
            continue
        meta = ", ".join(x for x in (c.source, c.date) if x)
        url = http_url(c.url)
        title = (f'<a href="{escape(url)}" target="_blank" rel="noopener noreferrer">'
                 f"{escape(c.title)}</a>" if url else escape(c.title))
        lines.append(f'<div class="nq-change-cite">[{c.n}] {title}'
                     + (f" ({escape(meta)})" if meta else "")
                     + f": <q>{escape(c.quote)}</q></div>")
    return "".join(lines)
