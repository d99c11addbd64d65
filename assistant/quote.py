"""Which sentences an answer quotes, and how far each quote runs.

The answerer (`assistant.extractive`) scores the sentences of the retrieved passages;
this module turns the scores into quotes:

1. `choose`: the two best sentences by rank (relevance plus a bonus for naming something
   new) are quoted first; the last place goes to the best by rank + `W_READER` * the
   reader's belief that the answer stands there, among the sentences within the relevance
   cutoff and those holding at least `LIKELY` of the belief. Near-duplicates and
   sentences whose quote would run into an already chosen one are skipped.
2. `extend`: a quote runs on over the next sentence when that one continues it ("It
   was then called ..."), when the short answer stands there, or when one of the
   reader's next answers (`Reading.alternatives`) does; an alternative named in no quote
   gets its own.
3. `merge_overlaps`: quotes of one article that still overlap become one: no text is
   shown twice.
4. `cite`: quotes in article order (best article first), numbered, with the short
   answer pointing at the quote that holds it.

Why the reader's belief and the next sentence count: on rtqa-2022's answerable plain
questions they put the gold answer inside the quotes for 0.705 of questions against 0.620
for the best sentences alone, at 2.87 quotes per answer (training/train_reader.py; each
step is in docs/benchmarks.md).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from assistant.answer import Citation, ShortAnswer
from assistant.reader.day import day_meant
from assistant.reader.span import Span, continues
from assistant.sentence import normalize, split_sentences
from index.retrieve import Passage

W_READER = 1.0  # ranking bonus per unit of the reader's belief that the answer is there
LIKELY = 0.10  # reader's belief that makes a sentence worth quoting however it scores
BY_RELEVANCE = 2  # quotes chosen by relevance alone, before the reader's belief counts
MIN_CHARS = 25  # shorter fragments (datelines, captions) make poor quotes
DUPLICATE = 0.92  # cosine above which two quotes say the same thing


@dataclass(frozen=True, kw_only=True)
class Sentence:
    """A sentence of a retrieved passage, located in its article. `window_end` extends it
    over the next sentence when that one continues it (`reader.continues`): the quote is
    then both, so a fact stated right after the sentence that echoes the question is
    quoted too."""

    passage: Passage
    rank: int
    start: int  # offsets in the article text
    end: int
    text: str
    window_end: int
    # Where the next sentence ends: the reader also reads it, since the fact often
    # follows the sentence that echoes the question; it is quoted only when the short
    # answer, or one of the reader's alternatives, stands there (`extend`).
    read_end: int

    @property
    def window_text(self) -> str:
        return self.text_to(self.window_end)

    def text_to(self, end: int) -> str:
        """The text from this sentence's start to `end` (article offsets)."""
        s = self.start - self.passage.start
        return self.passage.text[s:end - self.passage.start]


def overlap_in_text(a: Sentence, b: Sentence) -> bool:
    """Whether two sentences' quotes would share text (one continues into the other)."""
    return (a.passage.article_id == b.passage.article_id
            and a.start < b.window_end and b.start < a.window_end)


def merge_overlaps(
    chosen: list[int], ends: dict[int, int], cands: list[Sentence]
) -> tuple[list[int], dict[int, int]]:
    """Quotes of one article that overlap (a sentence quoted with the next one, which is
    quoted too) become one, so no text is shown twice. `chosen` is in article order;
    `ends` is updated. Returns the quotes kept and, for each one merged away, the quote
    that now holds it."""
    kept: list[int] = []
    absorbed: dict[int, int] = {}
    for i in chosen:
        if kept:
            j = kept[-1]
            prev, c = cands[j], cands[i]
            if prev.passage.article_id == c.passage.article_id and c.start < ends[j]:
                end = max(ends[j], ends[i])
                if end <= prev.passage.start + len(prev.passage.text):
                    ends[j] = end
                    absorbed[i] = j
                    continue
                ends[j] = prev.end  # its passage stops short: quote the next one apart
        kept.append(i)
    return kept, absorbed


def sentences(passages: list[Passage]) -> list[Sentence]:
    """Distinct sentences of the passages (chunks overlap, so dedupe by position)."""
    seen: set[tuple[str, int]] = set()
    out: list[Sentence] = []
    for rank, p in enumerate(passages):
        spans = list(split_sentences(p.text))
        for i, (s, e) in enumerate(spans):
            key = (p.article_id, p.start + s)
            if e - s < MIN_CHARS or key in seen:
                continue
            seen.add(key)
            w_end = r_end = e
            if i + 1 < len(spans):
                r_end = spans[i + 1][1]
                if continues(p.text[spans[i + 1][0]:r_end]):
                    w_end = r_end
            out.append(Sentence(passage=p, rank=rank, start=p.start + s, end=p.start + e,
                                text=p.text[s:e], window_end=p.start + w_end,
                                read_end=p.start + r_end))
    return out


def choose(cands: list[Sentence], rank: np.ndarray, rel: np.ndarray, vecs: np.ndarray,
           mass: np.ndarray, cutoff: float, most: int) -> list[int]:
    """Step 1 of the module docstring: the indices of the sentences to quote. Keeping two
    places for relevance alone keeps the flagship seed's best quotes; letting the
    reader's belief rank every place gave 0.678 instead of 0.665 on rtqa-2022, but
    quoted a wrongly believed sentence over "central and eastern Syria" on the seed."""
    believed = rank + W_READER * mass
    chosen: list[int] = []
    for order, limit, eligible in (
        (np.argsort(-rank, kind="stable"), min(BY_RELEVANCE, most), rel >= cutoff),
        (np.argsort(-believed, kind="stable"), most, (rel >= cutoff) | (mass >= LIKELY)),
    ):
        for i in order:
            if len(chosen) >= limit:
                break
            if not eligible[i] or i in chosen:
                continue
            if any(float(vecs[i] @ vecs[j]) > DUPLICATE or overlap_in_text(cands[i], cands[j])
                   for j in chosen):
                continue
            chosen.append(int(i))
    return chosen


def extend(chosen: list[int], cands: list[Sentence], span: Span | None, span_cand: int,
           others: list[tuple[Span, int]]) -> tuple[list[int], dict[int, int]]:
    """Step 2: the quotes (`chosen` plus one for each of the reader's alternatives named
    in none of them) and where each ends (article offsets), by candidate index."""
    chosen = list(chosen)
    ends = {i: cands[i].window_end for i in chosen}
    if span is not None and span.end > ends[span_cand]:
        ends[span_cand] = cands[span_cand].read_end  # the fact is in the next sentence
    for alt, i in others:
        alt_text = f" {normalize(alt.text)} "
        if any(alt_text in f" {normalize(cands[j].text_to(ends[j]))} " for j in chosen):
            continue
        if i not in chosen:
            chosen.append(i)
            ends[i] = cands[i].window_end
        if alt.end > ends[i]:
            ends[i] = cands[i].read_end
    return chosen, ends


def in_article_order(chosen: list[int], cands: list[Sentence]) -> list[int]:
    """Best article first (by its best passage's rank), then position within it."""
    first_rank: dict[str, int] = {}
    for i in chosen:
        aid = cands[i].passage.article_id
        first_rank[aid] = min(first_rank.get(aid, 99), cands[i].rank)
    return sorted(chosen, key=lambda i: (first_rank[cands[i].passage.article_id],
                                         cands[i].start))


def cite(chosen: list[int], ends: dict[int, int], cands: list[Sentence], span: Span | None,
         span_cand: int) -> tuple[list[Citation], ShortAnswer | None]:
    """Step 4: the numbered citations, and the short answer in the quote that holds it."""
    citations = []
    short: ShortAnswer | None = None
    for n, i in enumerate(chosen, start=1):
        c = cands[i]
        end = ends[i]
        citations.append(Citation(
            n=n, article_id=c.passage.article_id, title=c.passage.title,
            date=c.passage.date, url=c.passage.url, quote=c.text_to(end),
            start=c.start, end=end, chunk_id=c.passage.chunk_id,
        ))
        if (span is not None and short is None
                and c.passage.article_id == cands[span_cand].passage.article_id
                and c.start <= span.start and span.end <= end):
            short = short_answer_of(span, citations[-1])
    return citations, short


def short_answer_of(span: Span, citation: Citation) -> ShortAnswer:
    """The reader's span as the short answer located in `citation`, with its score,
    belief and confidence, and the day it means when it is a relative date."""
    before = citation.quote[:max(span.start - citation.start, 0)]
    return ShortAnswer(text=span.text, n=citation.n, article_id=citation.article_id,
                       start=span.start, end=span.end, score=span.score, belief=span.belief,
                       confidence=span.confidence, newer_rival=span.newer_rival,
                       on=day_meant(span.text, citation.date, before))


def locate_alternatives(others: list[tuple[Span, int]], cands: list[Sentence],
                        citations: list[Citation], short: ShortAnswer | None
                        ) -> tuple[ShortAnswer, ...]:
    """The reader's next answers that stand inside a quote, as ShortAnswers (the others
    are not shown: an alternative must be checkable on the page like the answer)."""
    out: list[ShortAnswer] = []
    for span, i in others:
        aid = cands[i].passage.article_id
        for c in citations:
            if c.article_id == aid and c.start <= span.start and span.end <= c.end:
                if short is None or span.text.casefold() != short.text.casefold():
                    out.append(short_answer_of(span, c))
                break
    return tuple(out)
