"""Which watches a write could affect: only those are asked again (issue 32, point 2).

A new or changed chunk could change a watch's answer when it is inside the watch's scope
(dates, sources) and either
* its vector comes close enough to the question's to enter its passages: a cosine of at
  least the watch's floor (the cosine of the k-th nearest chunk when it was last asked,
  `FLOOR_MARGIN` less, for the keyword half of the hybrid search), and never under
  `MIN_COSINE`, below which nothing is related; or
* it names every name of the question ("Harbour Authority", "HTS") when the question has
  two or more: a keyword match the vectors may rank low.

The cost is one matrix product of the watches' vectors by the new chunks' (1,000 watches
by 1,000 chunks: milliseconds), whatever the size of the index.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from assistant.sentence import words
from assistant.watch.store import Trigger
from index.record import Written

FLOOR_MARGIN = 0.05
MIN_COSINE = 0.25
_ROWS = 256  # watches per block of the product, to bound its memory


def affected(triggers: Sequence[Trigger], chunks: Sequence[Written]) -> list[str]:
    """Ids of the watches that one of `chunks` could affect, in the order given."""
    if not triggers or not chunks:
        return []
    vectors = _unit(np.stack([c.vector for c in chunks]))
    chunk_words = [frozenset(w.lower() for w in words(c.text)) for c in chunks]
    hit: list[str] = []
    for at in range(0, len(triggers), _ROWS):
        block = list(triggers[at:at + _ROWS])
        same = [t for t in block if t.vector.shape[0] == vectors.shape[1]]
        sims = (_unit(np.stack([t.vector for t in same])) @ vectors.T if same
                else np.zeros((0, len(chunks))))
        for row, trigger in zip(sims, same, strict=True):
            inside = _inside(trigger, chunks)
            need = max(trigger.floor - FLOOR_MARGIN, MIN_COSINE)
            if any(ok and s >= need for ok, s in zip(inside, row, strict=True)) or (
                    len(trigger.names) >= 2 and any(
                        ok and all(n in cw for n in trigger.names)
                        for ok, cw in zip(inside, chunk_words, strict=True))):
                hit.append(trigger.watch_id)
        # A vector of another size (the index was rebuilt with another model): ask again.
        hit += [t.watch_id for t in block if t.vector.shape[0] != vectors.shape[1]]
    return hit


def _inside(trigger: Trigger, chunks: Sequence[Written]) -> list[bool]:
    scope = trigger.scope
    if scope is None:
        return [True] * len(chunks)
    return [scope.admits(c.date, c.source) for c in chunks]


def _unit(matrix: np.ndarray) -> np.ndarray:
    norms = np.linalg.norm(matrix, axis=1, keepdims=True)
    return matrix / np.where(norms > 0, norms, 1.0)
