"""Whether a claim's own words are in what it cites, in the same form or in other words.

A content word of the claim is **said** by its evidence when the evidence has a word of
the same stem (Snowball, irregular verbs mapped: `consistency.stem`), or, with the answer
embedder at hand, a word whose vector is within `WORD_AT` cosine of it: an ordinary
synonym ("frequently" for "often", "people" for "population", "postponed" for
"delayed"). Two rules read the words the evidence does not say:

* **about something else** (`off_topic`): of at least 3 own content words (those the
  question does not supply), most are unsaid;
* **an added clause** (`added_run`): `ADDED_RUN` or more unsaid content words one after
  another (function words between them aside): ", prompted by a drop in federal
  funding". A paraphrase swaps words one at a time between words it keeps, so its runs
  stay short.

The threshold was chosen on the rtqa-2022 pairs of bench/claim_pairs.jsonl
(`bench/claim_check.py --slice rtqa-2022 --sweep`); docs/benchmarks.md has the figures.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

from assistant.llm.consistency import tokens
from assistant.llm.lexicon import stem
from assistant.sentence import STOPWORDS

# Rows of unit vectors, one per text: the answer embedder's `embed_documents`.
Embed = Callable[[Sequence[str]], np.ndarray]


@dataclass(frozen=True)
class Meaning:
    """What reads a claim by meaning beside its words: the answer embedder's vectors, for
    close words. (A learned claim model was tried here and not adopted: docs/benchmarks.md,
    2026-12-07 (sixth).)"""

    embed: Embed | None = None

WORD_AT = 0.6
ADDED_RUN = 3


def _content(tok: str) -> bool:
    return tok.isalpha() and tok not in STOPWORDS and len(tok) > 2


def unsaid(sentence: str, evidence: str, embed: Embed | None = None) -> set[str]:
    """The sentence's content words (lower case) that the evidence does not say, by stem
    or, with `embed`, by a close word (module docstring)."""
    said = {stem(t) for t in tokens(evidence)}
    absent = sorted({t for t in tokens(sentence) if _content(t) and stem(t) not in said})
    if not absent or embed is None:
        return set(absent)
    theirs = sorted({t for t in tokens(evidence) if _content(t)})
    if not theirs:
        return set(absent)
    vecs = embed([*absent, *theirs])
    close = (vecs[:len(absent)] @ vecs[len(absent):].T).max(axis=1) >= WORD_AT
    return {w for w, near in zip(absent, close, strict=True) if not near}


def added_run(sentence: str, absent: set[str]) -> list[str]:
    """The first run of `ADDED_RUN` or more unsaid content words in a row."""
    run: list[str] = []
    for tok in tokens(sentence):
        if not _content(tok):
            if not tok[0].isalnum() and len(run) < ADDED_RUN:
                run = []  # punctuation ends a run
            continue
        if tok not in absent:
            if len(run) >= ADDED_RUN:
                return run
            run = []
        else:
            run.append(tok)
    return run if len(run) >= ADDED_RUN else []


def off_topic(sentence: str, question: str, absent: set[str]) -> list[str]:
    """The unsaid own words when they are most of at least 3 (else [])."""
    asked = {stem(t) for t in tokens(question)}
    own = {t for t in tokens(sentence) if _content(t) and stem(t) not in asked}
    missing = sorted(own & absent)
    return missing if len(own) >= 3 and len(missing) * 2 > len(own) else []
