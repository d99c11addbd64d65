"""One story across its copies (issue 32, point 3): a wire story reprinted by several
outlets, a page fetched under two URLs, a republished update of an article.

Each article gets a MinHash fingerprint (datasketch) of its word 5-grams. Copies are
found by locality-sensitive hashing: the fingerprint's `BANDS` bands of `ROWS` values
each are kept in an indexed table of the data home (`index.bands`; on a Chroma server, in
the article records, `Store.story_candidates`), so finding an article's candidates costs
one indexed lookup, not a comparison with every article. A candidate whose fingerprints agree on at
least `SAME_STORY_AT` of their values (the estimated Jaccard similarity of the 5-gram
sets) is a copy, and the new article joins its story; otherwise it starts its own (its
story id is its own id). A story's id never changes once given, so removing its first
article leaves the others grouped.

With 16 bands of 4 values, two articles at Jaccard 0.8 share a band with probability
1 - (1 - 0.8^4)^16 > 0.9999, at 0.5 with 0.64 (and are then told apart by the estimate),
at 0.2 with 0.03: the lookups stay few.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

NUM_PERM = 64
BANDS, ROWS = 16, 4
SHINGLE = 5  # words per shingle
# Estimated Jaccard similarity of the 5-gram sets at which two articles are one story
# (chosen on rtqa-2022's hand-labelled pairs, checked on rtqa-2023's: bench/near_duplicates.py).
SAME_STORY_AT = 0.7
SEED = 1
_WORD = re.compile(r"\w+")


@dataclass(frozen=True)
class Fingerprint:
    """An article's MinHash values (NUM_PERM of them, each under 2**32)."""

    values: np.ndarray

    def bands(self) -> tuple[str, ...]:
        """The LSH band keys: `BANDS` hex strings of `ROWS` values each."""
        v = self.values.astype(np.uint32)
        return tuple(v[i * ROWS:(i + 1) * ROWS].tobytes().hex() for i in range(BANDS))

    def similarity(self, other: Fingerprint) -> float:
        """The estimated Jaccard similarity of the two articles' 5-gram sets."""
        return float(np.mean(self.values == other.values))

    def to_text(self) -> str:
        return self.values.astype(np.uint32).tobytes().hex()

    @classmethod
    def from_text(cls, text: str) -> Fingerprint | None:
        try:
            values = np.frombuffer(bytes.fromhex(text), dtype=np.uint32)
        except ValueError:
            return None
        return cls(values.astype(np.uint64)) if len(values) == NUM_PERM else None


def fingerprint(text: str) -> Fingerprint:
    """The MinHash of `text`'s lower-cased word 5-grams (the whole text if shorter)."""
    from datasketch import MinHash

    words = _WORD.findall(text.lower())
    grams = {" ".join(words[i:i + SHINGLE]) for i in range(max(1, len(words) - SHINGLE + 1))}
    # The scheme is named, so stored fingerprints stay comparable if the default changes.
    mh = MinHash(num_perm=NUM_PERM, seed=SEED, scheme="affine32")
    mh.update_batch([g.encode("utf-8") for g in grams])
    return Fingerprint(np.asarray(mh.hashvalues, dtype=np.uint64))


@dataclass(frozen=True)
class Member:
    """An indexed article as a possible copy: its id, story and fingerprint."""

    article_id: str
    story: str
    print: Fingerprint


Lookup = Callable[[Sequence[str]], list[Member]]


def assign_stories(articles: Sequence[tuple[str, str]], lookup: Lookup,
                   at: float = SAME_STORY_AT) -> dict[str, tuple[str, Fingerprint]]:
    """(story id, fingerprint) of each (article id, text), in order: the story of its
    most similar indexed article (`lookup(bands)`) or earlier article of the batch when
    that one is a copy, else its own id."""
    out: dict[str, tuple[str, Fingerprint]] = {}
    batch: dict[str, list[Member]] = {}  # band key -> members of this batch
    for aid, text in articles:
        fp = fingerprint(text)
        keys = fp.bands()
        seen = {m.article_id: m for m in lookup(keys) if m.article_id != aid}
        for key in keys:
            for m in batch.get(key, ()):
                seen.setdefault(m.article_id, m)
        best = max(seen.values(), key=lambda m: (fp.similarity(m.print), m.article_id),
                   default=None)
        story = best.story if best is not None and fp.similarity(best.print) >= at else aid
        out[aid] = (story, fp)
        member = Member(aid, story, fp)
        for key in keys:
            batch.setdefault(key, []).append(member)
    return out
