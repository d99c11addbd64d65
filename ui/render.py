"""Pure functions that turn an `Answer` into what the chat shows: chat markdown with [n]
markers, source cards (HTML) with the quote highlighted inside its passage, the index
status line and friendly error messages. No Gradio here, so all of it is unit-tested.

Every piece of article text is escaped (`html.escape`, or markdown escaping for the chat)
before it is placed in markup: article files come from users and the web.
"""

from __future__ import annotations

import html
import re
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from assistant.answer import CONFIDENT_AT, Answer, Citation, ShortAnswer
from assistant.errors import AssistantError, EmptyQuestion
from index.article import Article
from index.errors import IndexNotFound, ModelMismatch, NewsIndexError, StoreUnavailable
from index.retrieve import Passage
from ui.article import view_path
from ui.link import host as link_host
from ui.link import http_url

CONTEXT_CHARS = 240  # passage text shown on each side of the quote in a source card
EMPTY_SOURCES = (
    '<div class="nq-sources nq-empty">The sources of each answer appear here: title, '
    "date, link and the quoted sentence inside its passage.</div>"
)
_MD_SPECIAL = re.compile(r"([\\`*_{}\[\]<>()#+\-!|~$&@])")
# What GFM turns into a link by itself ("http://", "www."): broken by an escape.
_AUTOLINK = re.compile(r"(?<=[A-Za-z])(:)(?=//)|(?<=\bwww)(\.)", re.IGNORECASE)
_BLANK_LINES = re.compile(r"\n\s*\n")
_SENTENCE_END = re.compile(r"[.!?][\"'”’)\]]*\s+|\n+")  # boundary, with the space after


# -- chat markdown -----------------------------------------------------------------------
def md_escape(text: str) -> str:
    """Escape markdown (and inline HTML) so article text shows literally in the chat, and
    no url or e-mail address in it becomes a link."""
    return _AUTOLINK.sub(lambda m: "\\" + m.group(0), _MD_SPECIAL.sub(r"\\\1", text))


def answer_parts(answer: Answer) -> list[str]:
    """The answer split into its cited sentences, each still ending in its [n] marker."""
    if answer.abstained or not answer.citations:
        return [answer.text]
    # The answerer writes "quote [1] quote [2]"; cut where a marker is followed by text.
    pieces: list[str] = []
    pos = 0
    for c in answer.citations:
        marker = f"[{c.n}]"
        at = answer.text.find(marker, pos)
        if at < 0:
            return [answer.text]
        pieces.append(answer.text[pos:at + len(marker)].strip())
        pos = at + len(marker)
    rest = answer.text[pos:].strip()
    if rest:
        pieces.append(rest)
    return pieces


def _md_sentence(part: str) -> str:
    """One cited sentence as markdown: escaped text, marker in bold."""
    m = re.search(r"((?:\s*\[\d+\])+)\s*$", part)
    if not m:
        return md_escape(part)
    markers = re.findall(r"\d+", m.group(1))
    return md_escape(part[:m.start()]) + " " + "".join(f"**\\[{n}\\]**" for n in markers)


def sources_footer(citations: Sequence[Citation]) -> str:
    """Compact source list under an answer: one line per article with its [n] numbers."""
    by_article: dict[str, list[Citation]] = {}
    for c in citations:
        by_article.setdefault(c.article_id, []).append(c)
    lines = []
    for cs in by_article.values():
        c = cs[0]
        numbers = "".join(f"\\[{x.n}\\]" for x in cs)
        meta = [c.date.isoformat()] if c.date else []
        url = http_url(c.url)
        if url:  # percent-encoded: nothing in it can end the link destination
            meta.append(f"[{md_escape(link_host(url))}]({url})")
        line = f"{numbers} *{md_escape(shorten(c.title or c.article_id, 90))}*"
        lines.append(line + (" · " + " · ".join(meta) if meta else ""))
    if not lines:
        return ""
    return "Sources:\n" + "\n".join(f"- {line}" for line in lines)


def hedge(answer: Answer) -> list[ShortAnswer]:
    """The answers to name after "Not sure; the articles suggest": the short answer, then
    the alternatives located in quotes (at most two in all)."""
    assert answer.short_answer is not None
    return [answer.short_answer, *answer.alternatives][:2]


def answer_markdown(answer: Answer, parts: int | None = None,
                    confident_at: float = CONFIDENT_AT) -> str:
    """The chat message for an answer: the short answer (stated when its confidence is
    at least `confident_at`, else hedged with the next best), the cited sentences (the
    first `parts` of them while streaming), then the sources by article once the answer
    is complete."""
    pieces = answer_parts(answer)
    shown = pieces if parts is None else pieces[:parts]
    if answer.abstained:
        text = md_escape(answer.text)
        hints = ["ask with other words", "name a person, place or group"]
        if answer.as_of:
            hints.append("clear the *published up to* date")
        return text + "\n\n*Nothing was quoted. You could " + ", ".join(hints) + ".*"
    body = " ".join(_md_sentence(p) for p in shown)
    short = answer.short_answer
    if answer.differ:
        said = " · ".join(f"**{md_escape(s.text)}** ({md_escape(s.said())}) \\[{s.n}\\]"
                          for s in answer.differ)
        body = f"*Sources differ:* {said}\n\n" + body
    elif short is not None and answer.confident(confident_at):
        body = f"**{md_escape(short.shown())}** **\\[{short.n}\\]**\n\n" + body
    elif short is not None:
        named = " or ".join(f"**{md_escape(a.shown())}** \\[{a.n}\\]" for a in hedge(answer))
        body = f"*Not sure; the articles suggest* {named}\n\n" + body
    if parts is not None and parts < len(pieces):
        return body + " …"
    footer = sources_footer(answer.citations)
    return body + ("\n\n" + footer if footer else "")


def stream_markdown(answer: Answer, confident_at: float = CONFIDENT_AT) -> list[str]:
    """Successive chat messages that reveal the answer sentence by sentence; the last one
    equals `answer_markdown(answer)`."""
    n = len(answer_parts(answer))
    return [answer_markdown(answer, parts=i, confident_at=confident_at)
            for i in range(1, n)] + [answer_markdown(answer, confident_at=confident_at)]


# -- source cards --------------------------------------------------------------------------
def safe_url(url: str | None) -> str | None:
    """The URL if it is a plain http(s) link (never javascript: or data:), percent-encoded
    (`ui.link`) and escaped for an HTML attribute."""
    url = http_url(url)
    return html.escape(url, quote=True) if url else None


def _host(url: str) -> str:
    return link_host(html.unescape(url))


def shorten(text: str, limit: int) -> str:
    """`text` cut at a word boundary to at most `limit` characters, with an ellipsis."""
    text = " ".join(text.split())
    if len(text) <= limit:
        return text
    cut = text[:limit].rsplit(" ", 1)[0]
    return cut.rstrip(",;:") + "…"


def highlight(text: str, spans: Iterable[tuple[int, int, int]], current: int | None = None,
              offset: int = 0, answer: tuple[int, int] | None = None) -> str:
    """Escape `text` and wrap each span (start, end, n) in <mark>, offsets relative to the
    article (`offset` is where `text` starts in it). The span numbered `current` gets the
    class `nq-current`; the others carry their [n] as a title. The short `answer` span
    (article offsets), where it lies inside a mark, is wrapped in `nq-answer` within it."""
    out: list[str] = []
    pos = 0
    for start, end, n in sorted(spans):
        s, e = start - offset, end - offset
        if s < pos or e > len(text) or s >= e:
            continue  # outside this text, or overlapping an earlier mark
        out.append(html.escape(text[pos:s]))
        cls = ' class="nq-current"' if n == current else ""
        inner = html.escape(text[s:e])
        if answer is not None and start <= answer[0] < answer[1] <= end:
            a, b = answer[0] - offset, answer[1] - offset
            inner = (html.escape(text[s:a]) + '<span class="nq-answer" title="short answer">'
                     + html.escape(text[a:b]) + "</span>" + html.escape(text[b:e]))
        out.append(f'<mark{cls} title="[{n}]">{inner}</mark>')
        pos = e
    out.append(html.escape(text[pos:]))
    return "".join(out)


def _window(text: str, start: int, end: int, context: int) -> tuple[int, int]:
    """Bounds of `text` around [start, end) with at most about `context` characters each
    side, cut at a sentence or paragraph boundary when there is one, else at a space."""
    lo = max(0, start - context)
    hi = min(len(text), end + context)
    if lo > 0:
        m = _SENTENCE_END.search(text, lo, start)
        if m:
            lo = m.end()
        else:
            space = text.find(" ", lo, start)
            lo = space + 1 if space >= 0 else lo
    if hi < len(text):
        ends = [m.end() for m in _SENTENCE_END.finditer(text, end, hi)]
        if ends:
            hi = ends[-1]
            while hi > end and text[hi - 1].isspace():
                hi -= 1
        else:
            space = text.rfind(" ", end, hi)
            hi = space if space >= 0 else hi
    return lo, hi


def passage_for(citation: Citation, passages: Sequence[Passage]) -> Passage | None:
    """The retrieved passage a citation was quoted from."""
    for p in passages:
        if p.chunk_id == citation.chunk_id:
            return p
    for p in passages:
        if p.article_id == citation.article_id and p.start <= citation.start and \
                citation.end <= p.end:
            return p
    return None


def _short_span(answer: Answer | None) -> tuple[int, int] | None:
    sa = answer.short_answer if answer is not None else None
    return (sa.start, sa.end) if sa is not None and not answer.abstained else None  # type: ignore[union-attr]


def _snippet(text: str, base: int, c: Citation, spans: list[tuple[int, int, int]],
             context: int, answer: Answer | None = None) -> str:
    """The quote highlighted inside about `context` characters of its passage; blank
    lines between paragraphs are collapsed so the card stays compact."""
    lo, hi = _window(text, c.start - base, c.end - base, context)
    marked = highlight(text[lo:hi], spans, current=c.n, offset=base + lo,
                       answer=_short_span(answer))
    marked = _BLANK_LINES.sub("\n", marked)
    return ("…" if lo > 0 else "") + marked + ("…" if hi < len(text) else "")


def quote_block(citation: Citation, answer: Answer, article: Article | None = None,
                context: int = CONTEXT_CHARS) -> str:
    """One citation as HTML: its [n], the quote highlighted (<mark>) inside its passage
    (the article text around it when the article is given, else the retrieved chunk),
    and its character offsets in the article."""
    c = citation
    spans = [(x.start, x.end, x.n) for x in answer.citations if x.article_id == c.article_id]
    passage = passage_for(c, answer.retrieved)
    if article is not None and article.text[c.start:c.end] == c.quote:
        base, text = 0, article.text  # the true surroundings, not cut at a chunk edge
    elif passage is not None:
        base, text = passage.start, passage.text
    else:
        base, text = c.start, c.quote
    return (
        f'<div class="nq-quote" id="nq-source-{c.n}"><span class="nq-n">[{c.n}]</span>'
        f'<div class="nq-passage">{_snippet(text, base, c, spans, context, answer)}</div>'
        f'<div class="nq-offsets">chars {c.start}–{c.end} · <a class="nq-open" '
        f'href="{html.escape(view_path(c.article_id, c.start, c.end), quote=True)}" '
        'target="_blank" rel="noopener noreferrer">open in the article ↗</a></div></div>'
    )


def source_card(citations: Sequence[Citation], answer: Answer,
                article: Article | None = None, context: int = CONTEXT_CHARS) -> str:
    """The card of one article: title, date, link, each of its citations as a quote in
    its passage, and (when the article is given) the whole article in <details> with
    every quote marked."""
    c = citations[0]
    numbers = "".join(f"[{x.n}]" for x in citations)
    meta = [f"<span>{html.escape(c.date.isoformat())}</span>"] if c.date else []
    url = safe_url(c.url)
    if url:
        meta.append(f'<a href="{url}" target="_blank" rel="noopener noreferrer">'
                    f"{html.escape(_host(url))} ↗</a>")
    meta.append(f"<span>{len(citations)} quote{'s' if len(citations) != 1 else ''} "
                f"{numbers}</span>")
    meta.append(f'<span class="nq-id" title="article id (to remove it)">id '
                f"{html.escape(c.article_id)}</span>")
    also = {a.article_id: a for x in citations for a in x.also}
    parts = [
        '<div class="nq-card">',
        f'<div class="nq-title">{html.escape(c.title or c.article_id)}</div>',
        f'<div class="nq-meta">{" · ".join(meta)}</div>',
        *([f'<div class="nq-meta nq-also">Also published by: '
           f'{html.escape("; ".join(a.label() for a in also.values()))}</div>']
          if also else []),
        *(quote_block(x, answer, article, context) for x in citations),
    ]
    if article is not None:
        spans = [(x.start, x.end, x.n) for x in citations]
        parts.append(
            f'<details class="nq-article"><summary>Whole article '
            f"({len(article.text.split()):,} words)</summary>"
            f'<div class="nq-article-text">'
            f"{highlight(article.text, spans, answer=_short_span(answer))}</div></details>"
        )
    parts.append("</div>")
    return "".join(parts)


def sources_html(answer: Answer | None, articles: Mapping[str, Article] | None = None) -> str:
    """The sources panel for an answer: one card per cited article (in order of first
    citation), each listing its quotes in [n] order."""
    if answer is None:
        return EMPTY_SOURCES
    # data-question: which question the panel answers (lets tests and scripts wait on it)
    tag = f'data-question="{html.escape(answer.question, quote=True)}"'
    if answer.abstained or not answer.citations:
        near = _closest_titles(answer.retrieved)
        extra = f"<p>The closest passages came from:</p><ul>{near}</ul>" if near else ""
        return (f'<div class="nq-sources nq-empty" {tag}><p>Nothing quoted for this '
                f"question: no sentence was relevant enough.</p>{extra}</div>")
    articles = articles or {}
    by_article: dict[str, list[Citation]] = {}
    for c in sorted(answer.citations, key=lambda x: x.n):
        by_article.setdefault(c.article_id, []).append(c)
    cards = [source_card(cs, answer, articles.get(aid)) for aid, cs in by_article.items()]
    legend = ""
    if answer.short_answer is not None:
        legend = ('<div class="nq-legend"><mark class="nq-current">quoted text</mark> '
                  '<span class="nq-answer">short answer</span></div>')
    return f'<div class="nq-sources" {tag}>' + legend + "".join(cards) + "</div>"


def _closest_titles(passages: Sequence[Passage], limit: int = 3) -> str:
    titles: list[str] = []
    for p in passages:
        t = shorten(p.title or p.article_id, 80)
        if t not in titles:
            titles.append(t)
    # One title a line, with no punctuation after it: a title often ends in "." or "…".
    return "".join(f"<li><i>{html.escape(t)}</i></li>" for t in titles[:limit])


# -- status and errors ---------------------------------------------------------------------
def status_markdown(info: Mapping[str, Any] | None) -> str:
    """The index status line: articles and chunks indexed, or how to add some."""
    if not info or not info.get("articles"):
        return ("**No articles indexed yet.** Upload article files below, or run "
                "`newsqa ingest PATH` in a terminal.")
    a, c = int(info["articles"]), int(info.get("chunks", 0))
    return (f"**{a:,}** article{'s' if a != 1 else ''} · **{c:,}** "
            f"chunk{'s' if c != 1 else ''} indexed")


def error_markdown(exc: BaseException) -> str:
    """What to tell the user when a question fails: what happened and what to do. Never a
    traceback."""
    if isinstance(exc, EmptyQuestion):
        return "Type a question first, for example *Where are remaining IS cells?*"
    if isinstance(exc, IndexNotFound):
        return ("**Nothing is indexed yet.** Upload article files (.txt, .md, .html, "
                ".json, .jsonl) with *Add articles*, or run `newsqa ingest PATH` in a "
                "terminal, then ask again.")
    if isinstance(exc, ModelMismatch):
        return (f"**The index was built differently:** {md_escape(str(exc))}. Re-index with "
                "`newsqa ingest --rebuild PATH` and restart the chat.")
    if isinstance(exc, StoreUnavailable):
        return (f"**The article store can't be opened:** {md_escape(str(exc))}. Check that "
                "it is running and reachable, then ask again.")
    if isinstance(exc, (NewsIndexError, AssistantError)):
        return f"**That didn't work:** {md_escape(str(exc))}"
    return (f"**Something went wrong while answering** ({type(exc).__name__}). The chat is "
            "still running: ask again or rephrase. The details are in the server log.")


# -- LLM answers (assistant/llm/answerer.py) --------------------------------------------------
def llm_note(answer: Answer) -> str:
    """One line on who wrote the answer, when an LLM was asked: why it fell back to
    quotes, or how many of its quotes could not be verified and were dropped. Empty for
    plain extractive answers."""
    if answer.answerer == "extractive-fallback":
        return (f"LLM answer not used: {answer.fallback_reason or 'unknown reason'}; "
                "answered with quotes from the articles instead.")
    if answer.answerer != "llm":
        return ""
    checks = answer.quote_checks
    dropped = sum(1 for q in checks if q.outcome == "dropped" or q.n is None)
    repaired = sum(1 for q in checks if q.outcome == "repaired" and q.n is not None)
    note = "Written by the LLM; every quote checked against the articles"
    if repaired:
        note += f" ({repaired} near quote{'s' if repaired != 1 else ''} replaced by the "
        note += "article's exact words)"
    if dropped:
        note = (f"⚠ {dropped} of {len(checks)} quote{'s' if len(checks) != 1 else ''} the "
                "LLM gave could not be verified in the articles and "
                f"{'were' if dropped != 1 else 'was'} dropped, with any sentence left "
                "unsupported. " + note)
    return note + "."


def llm_note_markdown(answer: Answer) -> str:
    """`llm_note` as a small italic chat line (empty when there is nothing to say)."""
    note = llm_note(answer)
    return f"\n\n*{md_escape(note)}*" if note else ""


def streaming_markdown(short: str, sentences: Sequence[str]) -> str:
    """What the chat shows while an LLM answer streams in: the model's words so far,
    marked as not yet checked."""
    body = " ".join(md_escape(s) for s in sentences if s)
    head = f"**{md_escape(short)}**\n\n" if short else ""
    return (head + body + " …\n\n*Checking every quote against the articles…*").strip()
