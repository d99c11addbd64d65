"""Mechanical checking of what an LLM cites (`Draft`, from `assistant.reply`).

For each quote or sentence id the model gave:
* **exact**: the quote is a substring of a passage's text (the passage text is the
  article text at the passage's offsets), or the id names a sentence that was shown;
  `start`/`end` are recorded.
* **repaired**: not exact, but equal after whitespace and quote-mark/dash normalisation,
  or a close rapidfuzz alignment (score >= `REPAIR_THRESHOLD`, length within
  `_LENGTH_RATIO`) snapped to word boundaries. The article's own text at the aligned
  offsets replaces the model's.
* **dropped**: otherwise; also quotes under `MIN_QUOTE_CHARS` (too short to prove
  anything) and text that reads as an instruction to a model (a prompt-injection payload
  is not evidence).
A quote found in another passage than the one named is re-pointed there (`found_in`).

Every `Citation` is built from passage (= article) text and offsets, never from model
text. An answer sentence is kept only with at least one verified citation, and only if
every name it states (capitalised word, acronym, number) appears in its quotes or the
question: otherwise the claim is the model's, not the articles'.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from assistant.answer import Citation, QuoteCheck, ShortAnswer
from assistant.prompt import NumberedPassage
from assistant.reply import Draft
from assistant.sentence import names, normalize

# Measured with bench/repair_threshold.py on quotes of the seed article: near copies
# (typos, a dropped or changed word, case, quote marks, ellipsis) score 91-99; invented
# sentences in the article's words score at most 86. 90 keeps every near copy measured
# and no invented one.
REPAIR_THRESHOLD = 90.0
MIN_QUOTE_CHARS = 12
_LENGTH_RATIO = (0.75, 1.34)  # aligned span length / quote length
_INSTRUCTION = re.compile(
    r"\b(ignore|disregard|forget)\b.{0,40}\b(instructions?|prompts?|rules|above)\b|"
    r"\b(system prompt|you are now|new instructions?)\b|\b(answer|reply|respond|say)\s+"
    r"(with\s+)?[\"'“]?[A-Z]{3,}[\"'”]?\s*[.!]?\s*$",
    re.IGNORECASE,
)
_CHARS = str.maketrans({
    "\u2018": "'", "\u2019": "'", "\u201a": "'", "\u201b": "'", "\u2032": "'", "`": "'",
    "\u201c": '"', "\u201d": '"', "\u201e": '"', "\u00ab": '"', "\u00bb": '"',
    "\u2010": "-", "\u2011": "-", "\u2012": "-", "\u2013": "-", "\u2014": "-", "\u2212": "-",
    "\u00a0": " ",
})
_MARKERS = re.compile(r"\(\s*\d{1,2}\s*\.\s*\d{1,3}\s*\)|\[\s*\d{1,2}(?:\s*\.\s*\d{1,3})?\s*\]")


@dataclass(frozen=True)
class Located:
    """Where a quote was found: passage number and article offsets."""

    outcome: str  # exact | repaired
    passage: NumberedPassage
    start: int
    end: int
    score: float


@dataclass(frozen=True)
class Verified:
    """The checked answer: kept sentences with [n] markers, their citations, and what
    happened to every quote."""

    sentences: tuple[str, ...]
    citations: tuple[Citation, ...]
    checks: tuple[QuoteCheck, ...]
    short_answer: ShortAnswer | None
    dropped_sentences: int

    @property
    def text(self) -> str:
        return " ".join(self.sentences)


def _folded(text: str) -> tuple[str, list[int]]:
    """`text` with quote marks/dashes mapped to ASCII, whitespace runs collapsed to one
    space and lower case, plus each folded character's index in `text`."""
    out: list[str] = []
    where: list[int] = []
    prev_space = True
    for i, ch in enumerate(text.translate(_CHARS)):  # one character for one: same indices
        if ch.isspace():
            if prev_space:
                continue
            ch, prev_space = " ", True
        else:
            prev_space = False
            low = ch.lower()
            ch = low if len(low) == 1 else ch
        out.append(ch)
        where.append(i)
    if out and out[-1] == " ":
        out.pop()
        where.pop()
    return "".join(out), where


def clean_quote(text: str) -> str:
    """The quote without surrounding quote marks, sentence ids or ellipses."""
    text = _MARKERS.sub(" ", text)
    text = " ".join(text.split()).strip(" \"'“”‘’")
    return text.removeprefix("...").removesuffix("...").removeprefix("…").removesuffix(
        "…").strip()


def instruction_like(text: str) -> bool:
    """Whether the text reads as an instruction to a model (prompt injection)."""
    return _INSTRUCTION.search(text) is not None


def _snap(text: str, start: int, end: int) -> tuple[int, int]:
    """Widen [start, end) to whole words, then trim spaces and dangling punctuation."""
    while start > 0 and text[start - 1].isalnum() and text[start].isalnum():
        start -= 1
    while end < len(text) and text[end - 1].isalnum() and text[end].isalnum():
        end += 1
    while start < end and (text[start].isspace() or text[start] in ",;:"):
        start += 1
    while end > start and text[end - 1].isspace():
        end -= 1
    return start, end


def locate(quote: str, numbered: Sequence[NumberedPassage],
           claimed: int | None) -> Located | None:
    """Find `quote` in the passages, the claimed one first (see the module docstring)."""
    order = sorted(numbered, key=lambda p: p.n != claimed)
    for p in order:
        at = p.passage.text.find(quote)
        if at >= 0:
            start = p.passage.start + at
            return Located("exact", p, start, start + len(quote), 100.0)
    fq, _ = _folded(quote)
    if not fq:
        return None
    folded = [(p, *_folded(p.passage.text)) for p in order]
    for p, ft, where in folded:
        at = ft.find(fq)
        if at >= 0:
            s, e = where[at], where[at + len(fq) - 1] + 1
            return Located("repaired", p, p.passage.start + s, p.passage.start + e, 100.0)
    from rapidfuzz import fuzz

    best: Located | None = None
    for p, ft, where in folded:
        if len(ft) < len(fq) * _LENGTH_RATIO[0]:
            continue
        al = fuzz.partial_ratio_alignment(fq, ft, score_cutoff=REPAIR_THRESHOLD)
        if al is None or (best is not None and al.score <= best.score):
            continue
        s, e = where[al.dest_start], where[max(al.dest_end - 1, al.dest_start)] + 1
        s, e = _snap(p.passage.text, s, e)
        if not _LENGTH_RATIO[0] <= (e - s) / len(quote) <= _LENGTH_RATIO[1]:
            continue
        best = Located("repaired", p, p.passage.start + s, p.passage.start + e, al.score)
    return best


def _citation(n: int, loc: Located) -> Citation:
    p = loc.passage.passage
    text = p.text[loc.start - p.start:loc.end - p.start]
    return Citation(n=n, article_id=p.article_id, title=p.title, date=p.date, url=p.url,
                    quote=text, start=loc.start, end=loc.end, chunk_id=p.chunk_id)


def _supported(sentence: str, quotes: Sequence[str], question: str) -> list[str]:
    """Names in `sentence` that neither its quotes nor the question contain."""
    pool = " " + normalize(" ".join([*quotes, question])) + " "
    missing = []
    for name in names(sentence):
        if len(name) < 2:
            continue
        key = normalize(name)
        if key and f" {key} " not in pool and not (key.isalpha() and f" {key}" in pool):
            missing.append(name)
    return missing


def _sentence_text(text: str) -> str:
    text = _MARKERS.sub(" ", text)
    return " ".join(text.split())


def short_answer_in(short: str, citations: Sequence[Citation]) -> ShortAnswer | None:
    """The model's short answer located verbatim in a verified quote (exact first, then
    ignoring case), as the article's text at those offsets; None if not found."""
    short = " ".join(short.split()).strip(" .\"'“”")
    if not short or len(short) > 80:
        return None
    for exact in (True, False):
        for c in citations:
            at = c.quote.find(short) if exact else c.quote.lower().find(short.lower())
            if at >= 0:
                s = c.start + at
                return ShortAnswer(text=c.quote[at:at + len(short)], n=c.n,
                                   article_id=c.article_id, start=s, end=s + len(short),
                                   score=1.0 if exact else 0.9)
    return None


def verify(draft: Draft, numbered: Sequence[NumberedPassage], question: str) -> Verified:
    """Check every quote and id of `draft` against the passages (module docstring)."""
    by_id = {s.id: (p, s) for p in numbered for s in p.sentences}
    known = {p.n for p in numbered}
    citations: list[Citation] = []
    index: dict[tuple[str, int, int], int] = {}
    checks: list[QuoteCheck] = []
    kept: list[str] = []
    dropped_sentences = 0

    def cite(loc: Located) -> int:
        key = (loc.passage.passage.article_id, loc.start, loc.end)
        if key not in index:
            index[key] = len(citations) + 1
            citations.append(_citation(index[key], loc))
        return index[key]

    for sent in draft.sentences:
        found: list[tuple[Located, QuoteCheck]] = []
        for sid in sent.ids:
            claimed = int(sid.split(".")[0])
            if sid not in by_id:
                checks.append(QuoteCheck("dropped", sid, claimed, reason="unknown sentence id"))
                continue
            p, s = by_id[sid]
            if instruction_like(s.text):
                checks.append(QuoteCheck("dropped", sid, claimed, reason="instruction-like text"))
                continue
            found.append((Located("exact", p, s.start, s.end, 100.0),
                          QuoteCheck("exact", sid, claimed, found_in=p.n, score=100.0)))
        for q in sent.quotes:
            text = clean_quote(q.text)
            claimed_n = q.passage if q.passage in known else None
            reason = None
            loc = None
            if len(text) < MIN_QUOTE_CHARS:
                reason = "too short to verify"
            elif instruction_like(text):
                reason = "instruction-like text"
            else:
                loc = locate(text, numbered, claimed_n)
                if loc is None:
                    reason = "not found in the passages"
            if loc is None:
                checks.append(QuoteCheck("dropped", q.text, q.passage, reason=reason))
                continue
            found.append((loc, QuoteCheck(loc.outcome, q.text, q.passage, found_in=loc.passage.n,
                                          score=loc.score)))
        body = _sentence_text(sent.text)
        quotes = [loc.passage.passage.text[loc.start - loc.passage.passage.start:
                                           loc.end - loc.passage.passage.start]
                  for loc, _ in found]
        missing = _supported(body, quotes, question) if body else []
        if not found or missing:
            dropped_sentences += 1
            why = f"its sentence names {', '.join(missing[:3])}, which its quotes do not" \
                if missing else None
            checks.extend(QuoteCheck(c.outcome, c.claimed, c.passage, found_in=c.found_in,
                                     score=c.score, reason=why) for _, c in found)
            continue
        ns: list[int] = []
        for loc, check in found:
            n = cite(loc)
            checks.append(QuoteCheck(check.outcome, check.claimed, check.passage,
                                     found_in=check.found_in, n=n, score=check.score))
            if n not in ns:
                ns.append(n)
        if not body:  # a bare quote: the quote itself is the claim
            body = quotes[0]
        kept.append(body + " " + " ".join(f"[{n}]" for n in ns))
    return Verified(tuple(kept), tuple(citations), tuple(checks),
                    short_answer_in(draft.short_answer, citations), dropped_sentences)
