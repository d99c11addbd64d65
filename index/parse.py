"""Turn files into Articles: .txt, .md, .html, .json, .jsonl and gzip of any of these.

Parsing never raises for bad input: each problem is yielded as a `ParseError` naming the
path (and line) so that one bad file or record never aborts an ingest of many.
"""

from __future__ import annotations

import codecs
import gzip
import json
import re
import zlib
from collections.abc import Iterable, Iterator
from datetime import date
from pathlib import Path

from index.article import Article, content_hash
from index.errors import ArticleTooLarge, NothingReadable, ParseError, UnsupportedFileType

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


def collect_files(paths: Iterable[Path]) -> tuple[list[Path], list[ParseError]]:
    """Expand folders recursively. Named files of unknown type and missing paths are errors;
    inside folders, unknown files, hidden files and question sets are skipped quietly
    (folders hold other things too)."""
    files: list[Path] = []
    errors: list[ParseError] = []
    for p in paths:
        if p.is_dir():
            found = [
                f for f in sorted(p.rglob("*"))
                if f.is_file() and not f.name.startswith(".") and is_supported(f)
                and not is_question_file(f)
            ]
            if not found:
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


MB = 1024 * 1024
SIZE_SETTING = "NEWSQA_INGEST__MAX_ARTICLE_MB"


def parse_file(path: Path, max_article_bytes: int | None = None) -> Iterator[Article | ParseError]:
    """Yield the articles in a file, and a ParseError for each part that cannot be read.
    With `max_article_bytes`, a text or HTML file (one article) over it is refused before
    it is read, and so is each JSON record whose text is over it."""
    kind = file_type(path)
    one_article = kind not in JSON_TYPES
    limit = max_article_bytes if one_article else None
    try:
        if limit is not None and path.suffix.lower() != ".gz" and path.stat().st_size > limit:
            yield _too_large(str(path), path.stat().st_size, limit)
            return
        raw = _read(path, limit)
    except (OSError, EOFError, gzip.BadGzipFile, zlib.error) as exc:
        yield ParseError(str(path), f"cannot read file: {exc}")
        return
    if raw is None:
        yield _too_large(str(path), None, limit or 0)
        return
    try:
        text = decode(raw)
    except UnicodeDecodeError as exc:
        yield ParseError(str(path), f"cannot decode the text ({exc.reason}); save it as UTF-8")
        return
    if kind in JSON_TYPES:
        yield from _parse_json(text, path, max_article_bytes)
    elif kind in HTML_TYPES:
        yield _guard(lambda: parse_html(text, path=str(path)), path)
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


_BOMS = ((codecs.BOM_UTF32_LE, "utf-32"), (codecs.BOM_UTF32_BE, "utf-32"),
         (codecs.BOM_UTF8, "utf-8-sig"), (codecs.BOM_UTF16_LE, "utf-16"),
         (codecs.BOM_UTF16_BE, "utf-16"))


def decode(raw: bytes) -> str:
    """Text from bytes: UTF-8 (the common case, checked first), a BOM's encoding, else the
    encoding charset-normalizer detects (Latin-1, Windows-1252, UTF-16 without BOM, ...).
    Raises UnicodeDecodeError when nothing fits or the result is not text (binary)."""
    text = _decode(raw)
    controls = sum(1 for ch in text if ord(ch) < 32 and ch not in "\t\n\r\f")
    if controls > max(2, len(text) // 50):
        raise UnicodeDecodeError("unknown", raw, 0, len(raw), "binary data, not text")
    return text


def _decode(raw: bytes) -> str:
    for bom, encoding in _BOMS:
        if raw.startswith(bom):
            return raw.decode(encoding)  # a BOM that does not decode is not text
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        first = exc
    from charset_normalizer import from_bytes

    matches = list(from_bytes(raw))
    best = matches[0] if matches else None
    # Short Western texts fit several 8-bit code pages equally well; prefer Windows-1252
    # (what browsers read Latin-1 as, and the usual legacy encoding of news text).
    for m in matches:
        if best is not None and m.chaos <= best.chaos + 0.01 and \
                {"cp1252", "latin_1"} & {m.encoding, *m.could_be_from_charset}:
            best = m
            break
    if best is None or not str(best).strip():
        raise UnicodeDecodeError(first.encoding, first.object, first.start, first.end,
                                 "not UTF-8, and no other text encoding fits")
    return str(best)


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


def parse_html(raw: str, path: str | None = None) -> Article:
    """HTML page: main text and metadata extracted with trafilatura."""
    import trafilatura

    doc = trafilatura.bare_extraction(
        raw, include_comments=False, include_tables=False, with_metadata=True
    )
    text = (getattr(doc, "text", None) or "").strip() if doc is not None else ""
    if not text:
        raise ParseError(path or "<html>", "no article text found in the HTML")
    title = (getattr(doc, "title", None) or "").strip() or _first_sentence(text)
    return Article(
        id=content_hash(text),
        text=text,
        title=title,
        date=_to_date(getattr(doc, "date", None), path),
        url=getattr(doc, "url", None) or None,
        source=getattr(doc, "sitename", None) or None,
        path=path,
    )


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
        try:
            data = json.loads(text)
        except json.JSONDecodeError as exc:
            yield ParseError(str(path), f"invalid JSON: {exc.msg}", line=exc.lineno)
            return
        for i, rec in enumerate(data if isinstance(data, list) else [data]):
            yield _record(rec, str(path), None, i if isinstance(data, list) else None,
                          max_bytes)
        return
    for lineno, line in enumerate(text.splitlines(), start=1):  # JSON Lines
        if not line.strip():
            continue
        try:
            rec = json.loads(line)
        except json.JSONDecodeError as exc:
            yield ParseError(str(path), f"invalid JSON: {exc.msg}", line=lineno)
            continue
        yield _record(rec, str(path), lineno, None, max_bytes)


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
