"""Every input format becomes an Article with the metadata a user would expect."""

from __future__ import annotations

import gzip
import json
import subprocess
import sys
from collections.abc import Iterable
from datetime import date
from pathlib import Path

import pytest

from index.article import Article
from index.errors import ParseError
from index.parse import collect_files, parse_file
from tests.conftest import DATA, SEED_FILE


def articles(path: Path) -> list:
    return [a for a in parse_file(path) if not isinstance(a, ParseError)]


def errors(path: Path) -> list[ParseError]:
    return [a for a in parse_file(path) if isinstance(a, ParseError)]


def test_seed_header_gives_date_and_is_not_part_of_the_text() -> None:
    (art,) = articles(SEED_FILE)
    assert art.date == date(2024, 12, 10)
    assert art.text.startswith("The so-called Islamic State terror group")
    assert "date 2024-12-10" not in art.text
    assert art.title.startswith("The so-called Islamic State")
    assert len(art.id) == 16  # content hash when the file gives no id


def test_ids_are_stable_and_follow_content(tmp_path: Path) -> None:
    (a,) = articles(SEED_FILE)
    (b,) = articles(SEED_FILE)
    assert a.id == b.id
    changed = tmp_path / "x.txt"
    changed.write_text(SEED_FILE.read_text() + "\nOne more line.")
    (c,) = articles(changed)
    assert c.id != a.id


def test_text_file_with_title_and_url_headers(tmp_path: Path) -> None:
    f = tmp_path / "a.txt"
    f.write_text("title: Rain in Spain\nurl: https://example.org/rain\ndate: 2022-06-01\n\n"
                 "It rained mainly on the plain, officials said on Monday.\n")
    (art,) = articles(f)
    assert (art.title, art.url, art.date) == ("Rain in Spain", "https://example.org/rain",
                                             date(2022, 6, 1))
    assert art.text == "It rained mainly on the plain, officials said on Monday."


def test_markdown_heading_is_the_title() -> None:
    (art,) = articles(DATA / "notes.md")
    assert art.title == "Lighthouse keepers return to Skerryvore"
    assert art.date == date(2023, 8, 14)
    assert art.text.startswith("For the first time in fifty years")


def test_html_main_text_and_metadata_without_boilerplate() -> None:
    (art,) = articles(DATA / "article.html")
    assert "Floods close the Danube ferry" in art.title
    assert "Vidin and Calafat" in art.text
    assert "tracking" not in art.text and "Subscribe" not in art.text
    assert art.date == date(2024, 3, 5)


def test_jsonl_records_like_the_bench_corpus(tmp_path: Path) -> None:
    recs = [
        {"id": "rtqa-1", "url": "https://e.org/1", "title": "One", "date": "2022-06-12",
         "text": "First article text about wheat prices."},
        {"text": "Second article with no metadata at all."},
    ]
    f = tmp_path / "c.jsonl.gz"
    f.write_bytes(gzip.compress("\n".join(json.dumps(r) for r in recs).encode()))
    one, two = articles(f)
    assert (one.id, one.title, one.url, one.date) == ("rtqa-1", "One", "https://e.org/1",
                                                     date(2022, 6, 12))
    assert two.date is None and two.id and two.title.startswith("Second article")


def test_json_array_and_single_object(tmp_path: Path) -> None:
    f = tmp_path / "a.json"
    f.write_text(json.dumps([{"text": "Alpha text."}, {"text": "Beta text."}]))
    assert [a.text for a in articles(f)] == ["Alpha text.", "Beta text."]
    g = tmp_path / "b.json"
    g.write_text(json.dumps({"id": "x", "text": "Gamma text."}))
    assert [a.id for a in articles(g)] == ["x"]


def test_bad_jsonl_lines_are_reported_with_line_numbers_and_rest_kept(tmp_path: Path) -> None:
    f = tmp_path / "c.jsonl"
    f.write_text('{"text": "good one"}\n{not json\n{"title": "no text"}\n'
                 '{"text": "bad date", "date": "last Tuesday"}\n{"text": "good two"}\n')
    assert [a.text for a in articles(f)] == ["good one", "good two"]
    errs = errors(f)
    assert [e.line for e in errs] == [2, 3, 4]
    assert all(str(f) in str(e) for e in errs)
    assert "YYYY-MM-DD" in errs[2].reason


def test_unreadable_files_are_errors_not_crashes(tmp_path: Path) -> None:
    bad_gz = tmp_path / "broken.txt.gz"
    bad_gz.write_bytes(b"not gzip at all")
    binary = tmp_path / "binary.txt"
    # (not starting with a UTF-16 byte-order mark: that would be read as UTF-16 text)
    binary.write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x02\x00\x00\x00\x01"
                       b"\x00\x08\x06\x00\x00\x00\x81\x00\x05\x00\x00\x00\x00garbage")
    empty = tmp_path / "empty.md"
    empty.write_text("   \n")
    for f in (bad_gz, binary, empty):
        (err,) = errors(f)
        assert str(f) in str(err)


def test_collect_files_recurses_and_rejects_named_unknown_types(tmp_path: Path) -> None:
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "a.txt").write_text("x")
    (tmp_path / "b.jsonl.gz").write_bytes(b"")
    (tmp_path / "image.png").write_bytes(b"")
    files, errs = collect_files([tmp_path])
    assert sorted(f.name for f in files) == ["a.txt", "b.jsonl.gz"]
    assert errs == []
    files, errs = collect_files([tmp_path / "image.png", tmp_path / "missing.txt"])
    assert files == []
    assert "unsupported file type '.png'" in str(errs[0])
    assert "no such file" in str(errs[1])


def test_question_sets_in_article_folders_are_not_ingested(tmp_path: Path) -> None:
    (tmp_path / "questions.jsonl").write_text('{"id": "q1", "question": "Why?"}\n')
    (tmp_path / "story.txt").write_text("A story about a river.")
    files, errs = collect_files([tmp_path])
    assert [f.name for f in files] == ["story.txt"] and errs == []


@pytest.mark.parametrize("encoding", ["latin-1", "cp1252", "utf-16", "utf-8-sig"])
def test_text_encodings_are_detected(tmp_path: Path, encoding: str) -> None:
    text = ("title: Café culture in Zürich\n\nThe café owners of Zürich say façades and "
            "crème brûlée draw tourists. Señora Muñoz opened a second café in März.\n")
    f = tmp_path / "a.txt"
    f.write_bytes(text.encode(encoding))
    (art,) = list(parse_file(f))
    assert isinstance(art, Article), art
    assert art.title == "Café culture in Zürich" and "crème brûlée" in art.text


def test_oversized_article_is_refused_before_reading(tmp_path: Path) -> None:
    big = tmp_path / "big.txt"
    big.write_text("word " * 300_000)  # 1.5 MB
    (err,) = list(parse_file(big, max_article_bytes=1024 * 1024))
    assert isinstance(err, ParseError) and "NEWSQA_INGEST__MAX_ARTICLE_MB" in err.reason
    assert str(big) in str(err)
    recs = tmp_path / "r.jsonl"
    recs.write_text(json.dumps({"text": "small story about a harbour"}) + "\n"
                    + json.dumps({"text": "x " * 700_000}) + "\n")
    small, err = list(parse_file(recs, max_article_bytes=1024 * 1024))
    assert isinstance(small, Article) and isinstance(err, ParseError) and err.line == 2


_STORY = ("<p>The harbour of Vidin reopened on Tuesday after three weeks of floods, the port "
          "authority said, and the first ferry crossed to Calafat at noon.</p>"
          "<p>Officials expect the river to fall further by the weekend, when barges carrying "
          "grain are due to resume their journeys downstream.</p>")


def _page(body: str) -> str:
    return ("<!doctype html><html><head><title>Harbour reopens</title></head><body><article>"
            f"<h1>Harbour reopens</h1>{body}</article></body></html>")


def test_a_heading_equal_to_the_title_is_the_title_not_the_first_sentence(
        tmp_path: Path) -> None:
    # <title> and <h1> both "Harbour reopens": trafilatura puts the h1 first in the text,
    # and it was then quoted as if the article said it.
    page = tmp_path / "harbour.html"
    page.write_text(_page(_STORY))
    (art,) = articles(page)
    assert art.title == "Harbour reopens"
    assert art.text.startswith("The harbour of Vidin reopened on Tuesday")
    assert "Harbour reopens" not in art.text
    # A <title> with the site's name after the headline: the h1 alone is dropped.
    page.write_text(_page(_STORY).replace("<title>Harbour reopens</title>",
                                         "<title>Harbour reopens | River News</title>"))
    (art,) = articles(page)
    assert art.title and "Harbour reopens" not in art.text
    # A first line that is not the heading stays.
    page.write_text(_page("<p>Harbour reopens soon, officials hope.</p>" + _STORY))
    (art,) = articles(page)
    assert art.text.startswith("Harbour reopens soon, officials hope.")


def test_text_a_browser_hides_is_not_indexed(tmp_path: Path) -> None:
    page = tmp_path / "hidden.html"
    page.write_text(_page(
        _STORY
        + "<p hidden>SECRET-ONE keyword stuffing for search engines, a whole hidden "
          "paragraph that a reader never sees on the page.</p>"
        + '<div style="color: grey; display: none !important">SECRET-TWO hidden block '
          "<p>SECRET-THREE nested inside it, with enough words to be a paragraph.</p></div>"
          "<p>Ferry tickets are sold at the quay <span style='DISPLAY:NONE'>SECRET-FOUR"
          "</span>from six in the morning, the operator added.</p>"
        + '<p style="display:block">The visible closing paragraph says the crossing takes '
          "twenty minutes in calm weather.</p>"
        + '<div hidden="until-found">Opening hours of the ferry office are listed here for '
          "readers who search the page.</div>"))
    (art,) = articles(page)
    assert "SECRET" not in art.text
    assert "Vidin reopened on Tuesday" in art.text and "twenty minutes" in art.text
    # The text after a hidden element is the parent's and stays.
    assert "Ferry tickets are sold at the quay from six in the morning" in " ".join(
        art.text.split())
    # hidden="until-found" is text a reader reveals by searching the page: it is kept.
    assert "Opening hours of the ferry office" in art.text


def test_a_page_over_the_element_limit_is_named_and_skipped(tmp_path: Path) -> None:
    page = tmp_path / "busy.html"
    page.write_text(_page(_STORY + "<p>x</p>" * 3_000))
    (err,) = errors_of(parse_file(page, max_html_elements=2_000))
    assert str(page) in str(err)
    assert "over 2,000 elements" in err.reason
    assert "NEWSQA_INGEST__MAX_HTML_ELEMENTS" in err.reason
    (art,) = articles_of(parse_file(page, max_html_elements=5_000))
    assert "Vidin reopened" in art.text


def test_ingest_takes_the_element_limit_from_its_setting(tmp_path: Path) -> None:
    from assistant.service import Assistant
    from index.settings import IngestSettings
    from tests.conftest import make_settings
    from tests.fakes import FakeEmbedder

    folder = tmp_path / "pages"
    folder.mkdir()
    (folder / "busy.html").write_text(_page(_STORY + "<p>x</p>" * 3_000))
    (folder / "plain.html").write_text(_page(_STORY))
    bot = Assistant(make_settings(tmp_path / "home",
                                  ingest=IngestSettings(max_html_elements=2_000)),
                    embedder=FakeEmbedder())
    report = bot.ingest([folder])
    assert report.added == 1
    (failure,) = report.failures
    assert "busy.html" in str(failure) and "NEWSQA_INGEST__MAX_HTML_ELEMENTS" in str(failure)


def test_a_page_of_a_million_tiny_elements_is_skipped_in_bounded_time_and_memory(
        tmp_path: Path) -> None:
    # The page: 8 MB of one million tiny paragraphs, once still parsing after
    # 8 minutes at 1.3 GB. Measured in its own process (peak RSS of that process).
    page = tmp_path / "million.html"
    page.write_text("<html><body>" + "<p>x</p>" * 1_000_000 + "</body></html>")
    code = (
        "import json, re, sys, time\n"
        "from pathlib import Path\n"
        "from index.parse import parse_file\n"
        "t = time.perf_counter()\n"
        "out = list(parse_file(Path(sys.argv[1]), max_article_bytes=None))\n"
        # VmHWM, not ru_maxrss: a child's ru_maxrss starts at its parent's (the test
        # process, with models loaded), VmHWM at its own address space's.
        "hwm = re.search(r'VmHWM:\\s+(\\d+)', Path('/proc/self/status').read_text())\n"
        "print(json.dumps({'seconds': time.perf_counter() - t, 'rss_mb': int(hwm.group(1)) "
        "/ 1024, 'out': [str(o) for o in out]}))\n")
    done = subprocess.run([sys.executable, "-c", code, str(page)], capture_output=True,
                          text=True, timeout=120, cwd=Path(__file__).resolve().parents[1])
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout)
    (message,) = result["out"]
    assert str(page) in message and "HTML page too complex" in message
    assert "NEWSQA_INGEST__MAX_HTML_ELEMENTS" in message
    assert result["seconds"] < 30 and result["rss_mb"] < 1024, result


def errors_of(items: Iterable[Article | ParseError]) -> list[ParseError]:
    return [a for a in items if isinstance(a, ParseError)]


def articles_of(items: Iterable[Article | ParseError]) -> list[Article]:
    return [a for a in items if isinstance(a, Article)]
