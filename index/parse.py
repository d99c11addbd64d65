"""Turn files into Articles: .txt, .md, .html, .json, .jsonl and gzip of any of these.

Parsing never raises for bad input: each problem is yielded as a `ParseError` naming the
path (and line) so that one bad file or record never aborts an ingest of many.
"""

from __future__ import annotations

import codecs
import gzip
import json
import os
import re
import zlib
from collections.abc import Iterable, Iterator
from datetime import date
from pathlib import Path
from typing import Any

from index.article import Article, content_hash
from index.encoding import BOMS, decode
from index.errors import (
    ArticleTooLarge,
    LinkOutside,
    NothingReadable,
    PageTooComplex,
    ParseError,
    UnsupportedFileType,
)
from index.stream import depth_message, too_deep
from index.stream import lines as stream_lines

TEXT_TYPES = (".txt", ".md", ".markdown")
HTML_TYPES = (".html", ".htm")
JSON_TYPES = (".json", ".jsonl", ".ndjson")
SUPPORTED = TEXT_TYPES + HTML_TYPES + JSON_TYPES

_DATE_LINE = re.compile(r"^\s*date:?\s+(\d{4}-\d{2}-\d{2})\b[ \t]*", re.IGNORECASE)
_HEADER_LINE = re.compile(r"^\s*(title|url|source|date|id):\s*(.+?)\s*$", re.IGNORECASE)
_MAX_TITLE = 160


def file_type(path: Path) -> str:
    """The effective extension ('.jsonl' for 'x.jsonl.gz'), lower-cased."""
    suffixes = [s.lower() for s in path.suffixes]
    if suffixes and suffixes[-1] == ".gz":
        suffixes = suffixes[:-1]
    return suffixes[-1] if suffixes else ""


def is_supported(path: Path) -> bool:
    """Whether `parse_file` reads this file type."""
    return file_type(path) in SUPPORTED


def is_question_file(path: Path) -> bool:
    """Evaluation question sets (`questions*.jsonl`) sit beside articles, e.g. in seeds/."""
    return path.name.lower().startswith("questions") and file_type(path) in JSON_TYPES


def collect_files(paths: Iterable[Path], follow_symlinks: bool = False
                  ) -> tuple[list[Path], list[ParseError]]:
    """Expand folders recursively. Named files of unknown type and missing paths are errors;
    inside folders, unknown files, hidden files and question sets are skipped quietly
    (folders hold other things too).

    A link inside a folder whose target lies outside every path given is not read (a
    shared drop folder must not make ingest read whatever a link points at, such as
    /etc/passwd); each is reported by name. `follow_symlinks` reads them. A path given
    itself is the user's explicit choice and is read even when it is a link."""
    paths = list(paths)
    roots = [p.resolve() for p in paths if p.exists()]
    files: list[Path] = []
    errors: list[ParseError] = []
    for p in paths:
        if p.is_dir():
            found, outside = _walk(p, roots, follow_symlinks)
            errors.extend(LinkOutside(str(link), f"a link to {target}, outside the paths "
                                      "given; not read (pass --follow-symlinks to read it)")
                          for link, target in outside)
            if not found and not outside:
                errors.append(NothingReadable(
                    str(p), f"no article files in this folder; supported: "
                    f"{', '.join(SUPPORTED)} (optionally .gz)"))
            files.extend(found)
        elif p.is_file():
            if is_supported(p):
                files.append(p)
            else:
                errors.append(UnsupportedFileType(
                    str(p), f"unsupported file type {file_type(p) or '(none)'!r}; "
                    f"supported: {', '.join(SUPPORTED)} (optionally .gz)"))
        else:
            errors.append(ParseError(str(p), "no such file or folder"))
    return files, errors


def _walk(folder: Path, roots: list[Path], follow: bool
          ) -> tuple[list[Path], list[tuple[Path, Path]]]:
    """(article files under `folder`, links leading outside `roots` with their targets)."""
    found: list[Path] = []
    outside: list[tuple[Path, Path]] = []
    seen: set[Path] = set()  # real folders walked: a link loop is walked once
    for dirpath, dirnames, filenames in os.walk(folder, followlinks=follow):
        here = Path(dirpath)
        real = here.resolve()
        if real in seen:
            dirnames[:] = []
            continue
        seen.add(real)
        for name in sorted(dirnames):
            sub = here / name
            if sub.is_symlink() and not follow and not _inside(sub.resolve(), roots):
                outside.append((sub, sub.resolve()))
        for name in filenames:
            f = here / name
            if name.startswith(".") or not f.is_file() or not is_supported(f) \
                    or is_question_file(f):
                continue
            if f.is_symlink() and not follow and not _inside(f.resolve(), roots):
                outside.append((f, f.resolve()))
                continue
            found.append(f)
    found.sort()
    outside.sort()
    return found, outside


def _inside(target: Path, roots: list[Path]) -> bool:
    return any(target == r or target.is_relative_to(r) for r in roots)


MB = 1024 * 1024
SIZE_SETTING = "NEWSQA_INGEST__MAX_ARTICLE_MB"
ELEMENTS_SETTING = "NEWSQA_INGEST__MAX_HTML_ELEMENTS"
MAX_HTML_ELEMENTS = 50_000  # the setting's default (IngestSettings.max_html_elements)
# Above this many elements trafilatura extracts without its fallback comparison (readability
# and jusText, `fast=True`), whose XPath `.//p//text()` grows with the square of the
# paragraphs (libxml2 merges node sets pairwise: 80k paragraphs 2.7 s, 160k 11.3 s for that
# one query); the main extraction still runs. Pages of news articles have far fewer.
FAST_ELEMENTS = 20_000


# A JSON Lines line may hold escapes (\uXXXX is 6 bytes for one character) and other
# fields beside the text: a line this much over the article limit cannot hold a text
# within it, and is skipped while it streams.
LINE_FACTOR, LINE_SLACK = 6, MB
# A .json file (one object or an array) is parsed whole: at most this many times the
# article limit; JSON Lines have no such cap.
JSON_FILE_FACTOR = 64


def parse_file(path: Path, max_article_bytes: int | None = None,
               max_html_elements: int | None = MAX_HTML_ELEMENTS
               ) -> Iterator[Article | ParseError]:
    """Yield the articles in a file, and a ParseError for each part that cannot be read.
    With `max_article_bytes`, a text or HTML file (one article) over it is refused before
    it is read, and so is each JSON record whose text is over it; JSON Lines are read a
    line at a time (`index.stream`), so memory stays bounded however large the file or
    its lines are. An HTML page of more than `max_html_elements` elements is refused
    before extraction (`parse_html`)."""
    kind = file_type(path)
    if kind in (".jsonl", ".ndjson"):
        yield from _parse_jsonl(path, max_article_bytes)
        return
    one_article = kind not in JSON_TYPES
    limit = max_article_bytes if one_article else None
    if not one_article and max_article_bytes is not None:
        limit = JSON_FILE_FACTOR * max_article_bytes
    try:
        if limit is not None and path.suffix.lower() != ".gz" and path.stat().st_size > limit:
            yield _too_large(str(path), path.stat().st_size, limit)
            return
        raw = _read(path, limit)
    except (OSError, EOFError, gzip.BadGzipFile, zlib.error) as exc:
        yield ParseError(str(path), f"cannot read file: {exc}")
        return
    if raw is None:
        yield (_too_large(str(path), None, limit or 0) if one_article else ParseError(
            str(path), f"JSON file over {(limit or 0) / MB:g} MB ({JSON_FILE_FACTOR} x the "
            f"limit of {SIZE_SETTING}); write it as JSON Lines (.jsonl), one record a line"))
        return
    try:
        text = decode(raw)
    except UnicodeDecodeError as exc:
        yield ParseError(str(path), f"cannot decode the text ({exc.reason}); save it as UTF-8")
        return
    if kind in JSON_TYPES:
        yield from _parse_json(text, path, max_article_bytes)
    elif kind in HTML_TYPES:
        yield _guard(lambda: parse_html(text, path=str(path),
                                        max_elements=max_html_elements), path)
    elif kind in TEXT_TYPES:
        yield _guard(lambda: parse_text(text, path=str(path), markdown=kind != ".txt"), path)
    else:
        yield UnsupportedFileType(str(path), f"unsupported file type {kind!r}")


def _read(path: Path, limit: int | None) -> bytes | None:
    """The file's bytes (decompressed for .gz); None when over `limit`, which is found
    without reading or decompressing more than `limit` + 1 bytes."""
    if path.suffix.lower() == ".gz":
        with gzip.open(path, "rb") as f:
            raw = f.read() if limit is None else f.read(limit + 1)
    else:
        raw = path.read_bytes()
    return None if limit is not None and len(raw) > limit else raw


def _too_large(where: str, size: int | None, limit: int, line: int | None = None) -> ParseError:
    what = f"{size / MB:.1f} MB >" if size is not None else "over"
    return ArticleTooLarge(
        where, f"article too large ({what} the {limit / MB:g} MB limit of "
        f"{SIZE_SETTING}); split it, or raise the setting", line)


def _guard(make: object, path: Path) -> Article | ParseError:
    try:
        return make()  # type: ignore[operator,no-any-return]
    except ParseError as exc:
        return exc
    except Exception as exc:  # a parser library failing on odd input must not abort ingest
        return ParseError(str(path), f"cannot parse: {exc}")


def parse_text(raw: str, path: str | None = None, markdown: bool = False) -> Article:
    """Plain text or Markdown. Leading header lines (`date 2024-12-10`, `title: ...`,
    `url: ...`) are read as metadata; a short first line is the title."""
    meta: dict[str, str] = {}
    body = raw.replace("\r\n", "\n")
    # Header lines and a Markdown heading may come in any order before the body.
    while True:
        m = _DATE_LINE.match(body)
        if m and "date" not in meta:
            meta["date"] = m.group(1)
            body = body[m.end():]
            continue
        first, _, rest = body.lstrip().partition("\n")
        h = _HEADER_LINE.match(first)
        if h and h.group(1).lower() not in meta:
            meta[h.group(1).lower()] = h.group(2)
            body = rest
            continue
        if markdown and first.startswith("#") and "title" not in meta and rest.strip():
            meta["title"] = first.lstrip("#").strip()
            body = rest
            continue
        break
    body = body.strip()
    if not body:
        raise ParseError(path or "<text>", "no article text")
    title = meta.get("title")
    if title is None:
        first, _, rest = body.partition("\n")
        first = first.strip()
        if rest.strip() and len(first) <= _MAX_TITLE and not first.endswith((".", "?", "!", '"')):
            title, body = first, rest.strip()  # a short first line is a headline
        else:
            title = _first_sentence(body)
    return Article(
        id=meta.get("id") or content_hash(body),
        text=body,
        title=title,
        date=_to_date(meta.get("date"), path),
        url=meta.get("url"),
        source=meta.get("source"),
        path=path,
    )


def parse_html(raw: str, path: str | None = None,
               max_elements: int | None = MAX_HTML_ELEMENTS) -> Article:
    """HTML page: main text and metadata extracted with trafilatura, in time and memory
    that grow linearly with the page:
    * a page of more than `max_elements` elements is refused (PageTooComplex) after a
      count made as it streams, without building a tree (`too_many_elements`);
    * text a browser does not show (the `hidden` attribute, an inline `display: none`)
      is removed before extraction (`drop_hidden`), so it is never indexed;
    * a page of more than FAST_ELEMENTS elements is extracted without trafilatura's
      fallback comparison, the part that grows with the square of its paragraphs.
    """
    import trafilatura
    from trafilatura.utils import load_html

    where = path or "<html>"
    if max_elements is not None and too_many_elements(raw, max_elements):
        raise PageTooComplex(
            where, f"HTML page too complex to extract: over {max_elements:,} elements (the "
            f"limit of {ELEMENTS_SETTING}); skipped. Extraction slows down faster than such "
            "a page grows; save the article as text, or raise the setting")
    tree = load_html(raw)
    if tree is None:
        raise ParseError(where, "no article text found in the HTML")
    elements = drop_hidden(tree)
    h1 = tree.find(".//h1")
    heading = " ".join(h1.itertext()) if h1 is not None else ""
    doc = trafilatura.bare_extraction(
        tree, include_comments=False, include_tables=False, with_metadata=True,
        fast=elements > FAST_ELEMENTS,
    )
    text = (getattr(doc, "text", None) or "").strip() if doc is not None else ""
    title = (getattr(doc, "title", None) or "").strip()
    text = _without_heading(text, (title, heading))
    if not text:
        raise ParseError(where, "no article text found in the HTML")
    title = title or _first_sentence(text)
    return Article(
        id=content_hash(text),
        text=text,
        title=title,
        date=_to_date(getattr(doc, "date", None), path),
        url=getattr(doc, "url", None) or None,
        source=getattr(doc, "sitename", None) or None,
        path=path,
    )


def _without_heading(text: str, headings: Iterable[str]) -> str:
    """`text` without its first line when that line is the page's title or <h1>: the
    heading is the article's title, not a sentence of it to quote."""
    first, _, rest = text.partition("\n")
    names = {" ".join(h.split()).casefold() for h in headings} - {""}
    if rest.strip() and " ".join(first.split()).casefold() in names:
        return rest.strip()
    return text


class _TooMany(Exception):
    """Raised inside lxml's parser to stop a count at its limit."""


class _ElementCounter:
    """An lxml parser target that counts start tags and keeps nothing."""

    def __init__(self, limit: int) -> None:
        self.count = 0
        self.limit = limit

    def start(self, tag: str, attrib: object) -> None:
        self.count += 1
        if self.count > self.limit:
            raise _TooMany

    def end(self, tag: str) -> None:
        pass

    def data(self, data: str) -> None:
        pass

    def comment(self, text: str) -> None:
        pass

    def close(self) -> int:
        return self.count


_COUNT_CHUNK = 1 << 16
_IMPLIED = 8  # elements the parser adds that no tag names (html, head, body, ...)


def too_many_elements(raw: str, limit: int) -> bool:
    """Whether the HTML page has more than `limit` elements, as lxml's HTML parser finds
    them: counted in one pass with no tree built (a parser target) and stopped at the
    limit, so a page of millions of tags costs a fraction of a second and no memory. A
    page with fewer `<` than the limit cannot reach it and is not parsed at all."""
    if raw.count("<") + _IMPLIED <= limit:
        return False
    from lxml import etree

    counter = _ElementCounter(limit)
    parser = etree.HTMLParser(target=counter, recover=True)
    try:
        for at in range(0, len(raw), _COUNT_CHUNK):
            parser.feed(raw[at:at + _COUNT_CHUNK])
        parser.close()
    except _TooMany:
        return True
    except etree.LxmlError:  # unparseable: the extraction says so
        pass
    return counter.count > limit


_DISPLAY_NONE = re.compile(r"(?:^|;)\s*display\s*:\s*none\s*(?:!\s*important\s*)?(?:;|$)",
                           re.IGNORECASE)


def hidden(element: object) -> bool:
    """Whether a browser hides the element: the `hidden` attribute (except
    `hidden="until-found"`, text a reader can reveal by finding it) or an inline style
    with `display: none`."""
    get = getattr(element, "get", None)
    if get is None:
        return False
    flag = get("hidden")
    if flag is not None and flag.strip().lower() != "until-found":
        return True
    style = get("style")
    return bool(style) and _DISPLAY_NONE.search(style) is not None


def drop_hidden(tree: Any) -> int:
    """Remove the elements a browser does not show (`hidden`), with all they hold; the
    text after each (its tail) stays. Returns the elements left."""
    from lxml import etree

    gone = [e for e in tree.iter(etree.Element) if hidden(e)]
    for element in gone:
        if element.getparent() is not None:
            element.drop_tree()
    return sum(1 for _ in tree.iter(etree.Element))


def parse_record(rec: object, where: str) -> Article:
    """One JSON record: `text` required; `id`, `title`, `url`, `date`, `source` optional."""
    if not isinstance(rec, dict):
        raise ParseError(where, "record is not a JSON object")
    text = rec.get("text")
    if not isinstance(text, str) or not text.strip():
        raise ParseError(where, "record has no 'text' string")
    text = text.strip()
    title = rec.get("title")
    return Article(
        id=str(rec["id"]) if rec.get("id") not in (None, "") else content_hash(text),
        text=text,
        title=str(title).strip() if title else _first_sentence(text),
        date=_to_date(rec.get("date"), where),
        url=str(rec["url"]) if rec.get("url") else None,
        source=str(rec["source"]) if rec.get("source") else None,
    )


def _parse_json(text: str, path: Path,
                max_bytes: int | None = None) -> Iterator[Article | ParseError]:
    if file_type(path) == ".json":  # one object or an array of objects
        if too_deep(text):
            yield ParseError(str(path), depth_message())
            return
        try:
            data = json.loads(text)
        except RecursionError:
            yield ParseError(str(path), depth_message())
            return
        except json.JSONDecodeError as exc:
            yield ParseError(str(path), f"invalid JSON: {exc.msg}", line=exc.lineno)
            return
        for i, rec in enumerate(data if isinstance(data, list) else [data]):
            yield _record(rec, str(path), None, i if isinstance(data, list) else None,
                          max_bytes)
        return
    # JSON Lines given as text (a UTF-16 file): split on "\n" only, as `index.stream` does.
    for lineno, line in enumerate(text.split("\n"), start=1):
        yield from _json_line(line, str(path), lineno, max_bytes)


def _json_line(line: str, path: str, lineno: int,
               max_bytes: int | None) -> Iterator[Article | ParseError]:
    if not line.strip():
        return
    if too_deep(line):
        yield ParseError(path, depth_message(), line=lineno)
        return
    try:
        # strict=False: control characters some producers write raw inside strings
        # (\x0b, \x0c) are kept, as the line separators are.
        rec = json.loads(line, strict=False)
    except RecursionError:
        yield ParseError(path, depth_message(), line=lineno)
        return
    except json.JSONDecodeError as exc:
        yield ParseError(path, f"invalid JSON: {exc.msg}", line=lineno)
        return
    yield _record(rec, path, lineno, None, max_bytes)


def _parse_jsonl(path: Path, max_bytes: int | None) -> Iterator[Article | ParseError]:
    """JSON Lines streamed a line at a time; a truncated or corrupt compressed file keeps
    the records before the break, and says where it broke."""
    where = str(path)
    line_limit = (LINE_FACTOR * max_bytes + LINE_SLACK) if max_bytes is not None else 1 << 62
    done = read = 0
    try:
        opener = gzip.open if path.suffix.lower() == ".gz" else open
        with opener(path, "rb") as f:
            head = f.peek(4)[:4]
            if any(head.startswith(bom) for bom, enc in BOMS if enc != "utf-8-sig"):
                raw = f.read(JSON_FILE_FACTOR * max_bytes + 1) if max_bytes else f.read()
                if max_bytes and len(raw) > JSON_FILE_FACTOR * max_bytes:
                    yield ParseError(where, "UTF-16/32 JSON Lines file too large; save it "
                                     "as UTF-8")
                    return
                yield from _parse_json(decode(raw), path, max_bytes)
                return
            for line in stream_lines(f, line_limit):
                done = line.number
                if line.data is None:
                    yield _too_large(where, line.size, max_bytes or 0, line.number)
                    continue
                data = line.data.removeprefix(codecs.BOM_UTF8) if line.number == 1 \
                    else line.data
                try:
                    text = data.decode("utf-8")
                except UnicodeDecodeError:
                    try:
                        text = decode(data)
                    except UnicodeDecodeError as exc:
                        yield ParseError(where, f"cannot decode the line ({exc.reason}); save "
                                         "the file as UTF-8", line=line.number)
                        continue
                for item in _json_line(text, where, line.number, max_bytes):
                    read += isinstance(item, Article)
                    yield item
    except (OSError, EOFError, gzip.BadGzipFile, zlib.error) as exc:
        if done == 0:
            yield ParseError(where, f"cannot read file: {exc}")
        else:
            yield ParseError(where, f"the file breaks after line {done} ({exc or 'truncated'}); "
                             f"the {read} complete record(s) before it were read", line=done)


def _record(rec: object, path: str, line: int | None, item: int | None,
            max_bytes: int | None = None) -> Article | ParseError:
    where = path if item is None else f"{path}[{item}]"
    text = rec.get("text") if isinstance(rec, dict) else None
    if max_bytes is not None and isinstance(text, str) and len(text) > max_bytes // 4 \
            and len(text.encode("utf-8")) > max_bytes:
        size = len(text.encode("utf-8"))
        error = _too_large(path, size, max_bytes, line)
        if item is not None:
            error = ArticleTooLarge(path, f"item {item}: {error.reason}", line)
        return error
    try:
        art = parse_record(rec, where)
    except ParseError as exc:
        return ParseError(path, exc.reason if item is None else f"item {item}: {exc.reason}", line)
    except Exception as exc:  # an odd value in a record: name the record, go on
        return ParseError(path, f"unreadable record: {exc!r}", line)
    return Article(art.id, art.text, art.title, art.date, art.url, art.source, path=path)


def _to_date(value: object, where: str | None) -> date | None:
    if value in (None, ""):
        return None
    if isinstance(value, date):
        return value
    s = str(value).strip()
    try:
        return date.fromisoformat(s[:10])
    except ValueError:
        raise ParseError(where or "<input>", f"unreadable date {s!r}; use YYYY-MM-DD") from None


def _first_sentence(text: str) -> str:
    first = re.split(r"(?<=[.!?])\s", text.strip(), maxsplit=1)[0]
    first = first.split("\n", 1)[0]
    return first if len(first) <= _MAX_TITLE else first[: _MAX_TITLE - 1].rstrip() + "…"
