"""Parse what an LLM replied (see `assistant.llm.prompt` for the two formats) into a `Draft`:
nothing in it is trusted yet; `assistant.llm.verify` checks every quote and id.

The parser is tolerant: JSON inside code fences or prose, alternative key names, ids
written as [2.3] or (2.3), plain-text labels in any case. It raises `ReplyUnparseable`
only when no answer sentence or short answer can be read at all."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any

from assistant.errors import AssistantError

_ID = re.compile(r"[\[(]\s*(\d{1,2})\s*\.\s*(\d{1,3})\s*[\])]")
_BARE_ID = re.compile(r"^\s*(\d{1,2})\s*\.\s*(\d{1,3})\s*$")
_LABEL = re.compile(
    r"^\s*[*#>\-\s]*(short(?:\s*answer)?|answer|sentence|claim|quote)\s*"
    r"(?:\[?\s*(\d{1,2})\s*\]?)?\s*[:\-]\s*(.*)$",
    re.IGNORECASE,
)
_INLINE_QUOTE = re.compile(r"[\"“]([^\"”]{8,})[\"”]\s*\[(\d{1,2})\]")


class ReplyUnparseable(AssistantError):
    """The model's reply holds no answer in either format."""


@dataclass(frozen=True)
class DraftQuote:
    """A quote as the model gave it, with the passage number it named (if any)."""

    passage: int | None
    text: str


@dataclass(frozen=True)
class DraftSentence:
    """An answer sentence and what the model says backs it."""

    text: str
    ids: tuple[str, ...]
    quotes: tuple[DraftQuote, ...]


@dataclass(frozen=True)
class Draft:
    """The model's answer, unverified."""

    short_answer: str
    sentences: tuple[DraftSentence, ...]
    format: str  # json | plain
    truncated: bool = False  # cut off (max_tokens) and closed by the parser


def parse_reply(text: str) -> Draft:
    """Read a reply in the JSON or the plain format (whichever it is)."""
    text = text or ""
    data, truncated = _json_object(text)
    if data is not None:
        draft = _from_json(data)
        if draft is not None:
            if truncated and not draft.sentences:
                # cut off before any sentence (the short answer may be cut too): nothing
                raise ReplyUnparseable("the model's reply was cut off before any answer "
                                       "sentence")
            elif truncated:
                draft = Draft(draft.short_answer, draft.sentences, draft.format, True)
            return draft
    draft = _from_plain(text)
    if draft is None:
        snippet = " ".join(text.split())[:80]
        raise ReplyUnparseable(f"no answer could be read from the model's reply: {snippet!r}")
    return draft


def _json_object(text: str) -> tuple[dict[str, Any] | None, bool]:
    """The reply's JSON object, and whether it had to be closed (cut off)."""
    start = text.find("{")
    if start < 0:
        return None, False
    end = text.rfind("}")
    body = text[start:end + 1] if end > start else text[start:]
    candidates = [(body, False), (re.sub(r",\s*([}\]])", r"\1", body), False),
                  (close_json(text[start:]), True)]
    for candidate, closed in candidates:
        try:
            data = json.loads(candidate, strict=False)  # raw newlines inside strings
        except json.JSONDecodeError:
            continue
        return (data, closed) if isinstance(data, dict) else (None, False)
    return None, False


def close_json(text: str) -> str:
    """A reply cut off by `max_tokens` made parseable: the open string, arrays and
    objects are closed (a dangling key or comma is cut first). What the model wrote
    stays as written; a cut quote is still checked like any other."""
    stack: list[str] = []
    in_string = escaped = False
    last_safe = 0  # end of the last complete value or opening bracket
    for i, ch in enumerate(text):
        if in_string:
            if escaped:
                escaped = False
            elif ch == "\\":
                escaped = True
            elif ch == '"':
                in_string = False
        elif ch == '"':
            in_string = True
        elif ch in "{[":
            stack.append("}" if ch == "{" else "]")
        elif ch in "}]" and stack:
            stack.pop()
            last_safe = i + 1
    if not stack:
        return text
    out = text
    if in_string:
        out = out.rstrip("\\") + '"'
    out = out.rstrip()
    # a key without its value ('"quote":' or '"quote": "ab"' as a key) or a trailing comma
    out = re.sub(r',?\s*"[^"]*"\s*:\s*$', "", out)
    if stack[-1] == "}":  # inside an object, a final string after { or , is a key
        out = re.sub(r'([{,])\s*"[^"]*"$', r"\1", out)
    out = re.sub(r"[,:]\s*$", "", out)
    if not out.strip():
        out = text[:last_safe]
    return out + "".join(reversed(stack))


def _str(value: Any) -> str:
    return " ".join(str(value).split()) if isinstance(value, (str, int, float)) else ""


def _norm_id(value: Any) -> str | None:
    """'2.3', '[2.3]', '(2.3)' or 2.3 -> '2.3'."""
    text = _str(value)
    m = _BARE_ID.match(text) or _ID.search(text)
    return f"{int(m.group(1))}.{int(m.group(2))}" if m else None


def _passage_no(value: Any) -> int | None:
    m = re.search(r"\d{1,2}", _str(value))
    return int(m.group()) if m else None


def _quote(item: Any) -> DraftQuote | None:
    if isinstance(item, str):
        return DraftQuote(None, item) if item.strip() else None
    if isinstance(item, dict):
        text = next((item[k] for k in ("quote", "text", "q") if isinstance(item.get(k), str)),
                    "")
        passage = next((_passage_no(item[k]) for k in ("passage", "n", "source", "id")
                        if k in item), None)
        return DraftQuote(passage, text) if text.strip() else None
    return None


def _sentence(item: Any) -> DraftSentence | None:
    if isinstance(item, str):
        ids = tuple(f"{int(a)}.{int(b)}" for a, b in _ID.findall(item))
        return DraftSentence(item, ids, ()) if item.strip() else None
    if not isinstance(item, dict):
        return None
    text = next((_str(item[k]) for k in ("text", "sentence", "claim") if k in item), "")
    raw_ids = item.get("ids", item.get("sentence_ids", []))
    raw_ids = raw_ids if isinstance(raw_ids, list) else [raw_ids]
    ids = tuple(i for i in (_norm_id(x) for x in raw_ids) if i)
    raw_quotes = item.get("quotes", item.get("quote", []))
    raw_quotes = raw_quotes if isinstance(raw_quotes, list) else [raw_quotes]
    quotes = tuple(q for q in (_quote(x) for x in raw_quotes) if q)
    if not text and not ids and not quotes:
        return None
    return DraftSentence(text, ids, quotes)


def _from_json(data: dict[str, Any]) -> Draft | None:
    short = next((_str(data[k]) for k in ("short_answer", "short", "answer") if k in data), "")
    raw = data.get("sentences", data.get("claims", []))
    raw = raw if isinstance(raw, list) else [raw]
    sentences = tuple(s for s in (_sentence(x) for x in raw) if s)
    if "short_answer" not in data and "sentences" not in data and not sentences:
        return None
    return Draft(short, sentences, "json")


def _from_plain(text: str) -> Draft | None:
    short = ""
    sentences: list[tuple[str, list[str], list[DraftQuote]]] = []
    for line in text.splitlines():
        m = _LABEL.match(line)
        if not m:
            continue
        label, number, rest = m.group(1).lower(), m.group(2), m.group(3).strip()
        if label.startswith("short") or (label == "answer" and not short and not sentences):
            short = rest.strip(" \"“”")
        elif label in ("sentence", "claim", "answer"):
            ids = [f"{int(a)}.{int(b)}" for a, b in _ID.findall(rest)]
            inline = [DraftQuote(int(n), q) for q, n in _INLINE_QUOTE.findall(rest)]
            sentences.append((rest, ids, inline))
        elif label == "quote":
            q = DraftQuote(int(number) if number else None, rest.strip(" \"“”'"))
            if not q.text:
                continue
            if not sentences:
                sentences.append(("", [], []))
            sentences[-1][2].append(q)
    if not short and not sentences:
        return None
    return Draft(short, tuple(DraftSentence(t, tuple(i), tuple(q)) for t, i, q in sentences),
                 "plain")


_JSON_FIELD = re.compile(r'"(short_answer|text)"\s*:\s*"((?:[^"\\]|\\.)*)("?)')


def preview(raw: str) -> tuple[str, list[str]]:
    """(short answer, answer sentences) readable from a reply still streaming in, in
    either format; unfinished strings are shown as far as they go."""
    short = ""
    sentences: list[str] = []
    if raw.lstrip().startswith(("{", "```")):
        for m in _JSON_FIELD.finditer(raw):
            value = _unescape(m.group(2))
            if m.group(1) == "short_answer":
                short = value
            else:
                sentences.append(_ID.sub("", value).strip())
        return short, sentences
    for line in raw.splitlines():
        lm = _LABEL.match(line)
        if not lm:
            continue
        label, rest = lm.group(1).lower(), lm.group(3).strip()
        if label.startswith("short"):
            short = rest
        elif label in ("sentence", "claim", "answer"):
            sentences.append(_ID.sub("", rest).strip())
    return short, sentences


def _unescape(value: str) -> str:
    try:
        return str(json.loads(f'"{value}"'))
    except json.JSONDecodeError:
        return value.replace('\\"', '"').replace("\\n", " ").rstrip("\\")
