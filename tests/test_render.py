"""Unit tests of the chat's pure formatting functions (ui/render.py)."""

from __future__ import annotations

import re
from datetime import date

from assistant.answer import Answer, Citation, abstention
from assistant.errors import EmptyQuestion
from index.article import Article
from index.errors import IndexNotFound, ModelMismatch
from index.retrieve import Passage
from ui import render

TEXT = (
    "Islamic State was weakened in Syria.\n\n"
    "Despite all this several IS cells and camps stayed intact, especially in the Badia "
    "desert, along Syria's border with Iraq. Wieland said that they often carried out "
    "attacks on the rural population, especially against those hunting for truffles in "
    "the area.\n\n"
    '"Several dozen people have been killed," he said. A <script>alert(1)</script> & co.'
)
ARTICLE = Article(id="a1", text=TEXT, title="IS in Syria <weakened>", date=date(2024, 12, 10),
                  url="https://www.dw.com/en/is-syria/a-1")
OTHER = Article(id="b2", text="HTS leader al-Jolani split from IS years ago.", title="HTS",
                date=None, url="javascript:alert(1)")


def _cite(n: int, article: Article, quote: str, chunk_id: str) -> Citation:
    start = article.text.index(quote)
    return Citation(n=n, article_id=article.id, title=article.title, date=article.date,
                    url=article.url, quote=quote, start=start, end=start + len(quote),
                    chunk_id=chunk_id)


def _passage(article: Article, chunk_id: str, start: int, end: int) -> Passage:
    return Passage(chunk_id=chunk_id, article_id=article.id, text=article.text[start:end],
                   start=start, end=end, score=0.7, title=article.title, date=article.date,
                   url=article.url, source=None)


BADIA = ("Despite all this several IS cells and camps stayed intact, especially in the Badia "
         "desert, along Syria's border with Iraq.")
TRUFFLE = ("Wieland said that they often carried out attacks on the rural population, "
           "especially against those hunting for truffles in the area.")
HTS = "HTS leader al-Jolani split from IS years ago."


def _answer() -> Answer:
    c1 = _cite(1, ARTICLE, BADIA, "a1:0")
    c2 = _cite(2, ARTICLE, TRUFFLE, "a1:0")
    c3 = _cite(3, OTHER, HTS, "b2:0")
    return Answer(
        question="Where are remaining IS cells?",
        text=f"{BADIA} [1] {TRUFFLE} [2] {HTS} [3]",
        abstained=False,
        citations=(c1, c2, c3),
        retrieved=(_passage(ARTICLE, "a1:0", 0, len(TEXT)),
                   _passage(OTHER, "b2:0", 0, len(OTHER.text))),
        query="Where are remaining IS cells?",
    )


# -- chat markdown -----------------------------------------------------------------------
def test_answer_parts_split_after_each_marker() -> None:
    parts = render.answer_parts(_answer())
    assert parts == [f"{BADIA} [1]", f"{TRUFFLE} [2]", f"{HTS} [3]"]


def test_answer_markdown_has_markers_in_order_and_sources_by_article() -> None:
    md = render.answer_markdown(_answer())
    markers = re.findall(r"\*\*\\\[(\d+)\\\]\*\*", md)
    assert markers == ["1", "2", "3"]  # numbers stable and in order within the answer
    assert "Badia desert" in md
    # sources listed once per article, with all its numbers, date and link host
    assert "\\[1\\]\\[2\\] *IS in Syria \\<weakened\\>* · 2024-12-10 · [dw.com](" in md
    assert "\\[3\\] *HTS*" in md
    assert "javascript:" not in md  # unsafe links are dropped


def test_markdown_escapes_article_text() -> None:
    md = render.md_escape("a *b* <i>x</i> [1](http://x) $$y$$ _z_")
    assert "<i>" not in md and "*b*" not in md and "$$" not in md
    assert md.replace("\\", "") == "a *b* <i>x</i> [1](http://x) $$y$$ _z_"


def test_stream_markdown_reveals_sentence_by_sentence() -> None:
    answer = _answer()
    steps = render.stream_markdown(answer)
    assert len(steps) == 3
    assert "Badia" in steps[0] and "truffles" not in steps[0] and steps[0].endswith("…")
    assert "truffles" in steps[1] and "al-Jolani" not in steps[1]
    assert steps[-1] == render.answer_markdown(answer)
    assert "Sources:" in steps[-1] and "Sources:" not in steps[0]


def test_abstained_answer_explains_and_suggests() -> None:
    answer = abstention("Who won the 1954 World Cup?", [], "Who won the 1954 World Cup?")
    md = render.answer_markdown(answer)
    assert "don't say anything" in md and "Nothing was quoted" in md
    assert render.stream_markdown(answer) == [md]
    assert "published up to" not in md
    dated = Answer(**{**answer.__dict__, "as_of": date(2020, 1, 1)})
    assert "published up to" in render.answer_markdown(dated)


# -- source cards --------------------------------------------------------------------------
def test_sources_html_groups_by_article_and_highlights_quote_in_passage() -> None:
    html = render.sources_html(_answer(), {"a1": ARTICLE, "b2": OTHER})
    assert html.count('class="nq-card"') == 2  # one card per article
    assert 'data-question="Where are remaining IS cells?"' in html
    assert html.index('id="nq-source-1"') < html.index('id="nq-source-2"') < \
        html.index('id="nq-source-3"')
    # the quote is marked inside its surrounding passage text
    assert re.search(r"<mark class=\"nq-current\" title=\"\[1\]\">Despite all this several IS "
                     r"cells.*?Badia desert, along Syria&#x27;s border with Iraq\.</mark>", html)
    assert "Islamic State was weakened in Syria." in html  # context before the quote
    # title, date, link (new tab, noopener) and escaping
    assert "IS in Syria &lt;weakened&gt;" in html and "<weakened>" not in html
    assert "2024-12-10" in html
    assert ('<a href="https://www.dw.com/en/is-syria/a-1" target="_blank" '
            'rel="noopener noreferrer">dw.com ↗</a>') in html
    assert "javascript:" not in html
    assert "<script>" not in html and "&lt;script&gt;alert(1)&lt;/script&gt; &amp; co." in html
    # the whole article is one click away, with its quotes marked
    assert html.count("<details") == 2 and "Whole article" in html
    assert f"chars {ARTICLE.text.index(BADIA)}–{ARTICLE.text.index(BADIA) + len(BADIA)}" in html


def test_sources_html_without_article_uses_retrieved_passage() -> None:
    html = render.sources_html(_answer())
    assert "<details" not in html
    assert "Badia desert" in html and "<mark" in html


def test_highlight_offsets_escaping_and_overlaps() -> None:
    text = "a < b. Quote here. c & d."
    s = text.index("Quote")
    out = render.highlight(text, [(s, s + 11, 1), (s + 2, s + 5, 2)], current=1)
    assert out == ('a &lt; b. <mark class="nq-current" title="[1]">Quote here.</mark> c &amp; d.')
    # offsets are relative to the article when the text is an excerpt of it
    assert render.highlight("xyz", [(11, 12, 4)], offset=10) == 'x<mark title="[4]">y</mark>z'


def test_window_cuts_at_sentence_boundaries() -> None:
    long = ("Filler words go here for a while. " * 20) + "The quote. " + ("More after. " * 30)
    s = long.index("The quote.")
    html = render.quote_block(
        Citation(n=1, article_id="x", title="T", date=None, url=None, quote="The quote.",
                 start=s, end=s + 10, chunk_id="x:0"),
        Answer("q", "The quote. [1]", False),
        Article("x", long, "T"), context=80,
    )
    passage = re.search(r'<div class="nq-passage">(.*?)</div>', html).group(1)  # type: ignore[union-attr]
    assert passage.startswith("…Filler words") and passage.endswith("More after.…")


def test_abstained_sources_panel_names_closest_articles() -> None:
    passages = [_passage(ARTICLE, "a1:0", 0, 40), _passage(OTHER, "b2:0", 0, 10)]
    html = render.sources_html(abstention("q", passages))
    assert "Nothing quoted" in html and "IS in Syria &lt;weakened&gt;" in html
    assert render.sources_html(None) == render.EMPTY_SOURCES


def _lines(html: str) -> list[str]:
    """The panel's text as a reader sees it: one line per paragraph or list item."""
    text = re.sub(r"</?(p|li|ul|div)\b[^>]*>", "\n", html)
    return [line.strip() for line in re.sub(r"<[^>]+>", "", text).splitlines() if line.strip()]


def test_abstained_panel_lists_closest_titles_without_a_stray_full_stop() -> None:
    # A title ending in "." (or cut with "…") once got a "." of its own after it, which
    # the panel's column layout showed alone on a line.
    dotted = Article("c3", "The harbour reopened on Friday.", "Harbour reopens after the storm.")
    passages = [_passage(dotted, "c3:0", 0, 20), _passage(OTHER, "b2:0", 0, 10)]
    lines = _lines(render.sources_html(abstention("q", passages)))
    assert lines == ["Nothing quoted for this question: no sentence was relevant enough.",
                     "The closest passages came from:", "Harbour reopens after the storm.",
                     "HTS"]
    assert not any(line.strip(".…") == "" for line in lines)
    assert _lines(render.sources_html(abstention("q", []))) == [
        "Nothing quoted for this question: no sentence was relevant enough."]


def test_the_article_page_links_back_to_the_chat_without_script() -> None:
    from ui.article import article_page

    page = article_page(ARTICLE, (0, 10))
    back = re.findall(r'<a href="([^"]*)"[^>]*>([^<]*)</a>', page)
    assert ("/", "← Back to the chat") in back
    assert page.index("Back to the chat") < page.index("<h1>")  # above the article
    assert "<script" not in page  # the article's own "<script>" is escaped
    assert not re.search(r"\bon\w+=|javascript:", page)


def test_safe_url_only_http() -> None:
    assert render.safe_url("https://x.org/a?b=1&c=2") == "https://x.org/a?b=1&amp;c=2"
    for bad in ("javascript:alert(1)", "data:text/html,hi", "ftp://x", "", None, "//x.org"):
        assert render.safe_url(bad) is None


# -- status and errors ---------------------------------------------------------------------
def test_status_markdown() -> None:
    assert render.status_markdown({"articles": 1, "chunks": 6}) == \
        "**1** article · **6** chunks indexed"
    assert render.status_markdown({"articles": 1200, "chunks": 9001}).startswith("**1,200**")
    assert "newsqa ingest" in render.status_markdown(None)
    assert "No articles" in render.status_markdown({"articles": 0, "chunks": 0})


def test_error_markdown_says_what_to_do_without_traceback() -> None:
    assert "newsqa ingest" in render.error_markdown(IndexNotFound("no index"))
    assert "--rebuild" in render.error_markdown(ModelMismatch("built with model X"))
    assert "Type a question" in render.error_markdown(EmptyQuestion("empty"))
    msg = render.error_markdown(RuntimeError("secret internal detail"))
    assert "still running" in msg and "secret internal detail" not in msg
    assert "Traceback" not in msg


def _with_short() -> Answer:
    from dataclasses import replace

    from assistant.answer import ShortAnswer

    answer = _answer()
    start = TEXT.index("Badia desert")
    return replace(answer, short_answer=ShortAnswer(
        text="Badia desert", n=1, article_id="a1", start=start,
        end=start + len("Badia desert"), score=2.0))


def test_short_answer_leads_the_chat_message_in_bold_with_its_marker() -> None:
    md = render.answer_markdown(_with_short())
    first_line = md.splitlines()[0]
    assert first_line == "**Badia desert** **\\[1\\]**"
    # Streaming shows it from the first message on.
    assert render.stream_markdown(_with_short())[0].startswith("**Badia desert**")
    assert not render.answer_markdown(_answer()).startswith("**")


def test_short_answer_highlighted_inside_its_quote_with_a_legend() -> None:
    html_ = render.sources_html(_with_short(), {"a1": ARTICLE})
    assert '<div class="nq-legend">' in html_
    # Inside the current quote's mark, in its own colour, exactly the located span.
    m = re.search(r'<mark class="nq-current" title="\[1\]">(.*?)</mark>', html_)
    assert m is not None
    assert '<span class="nq-answer" title="short answer">Badia desert</span>' in m.group(1)
    assert "nq-legend" not in render.sources_html(_answer(), {"a1": ARTICLE})
