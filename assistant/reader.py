"""The short-answer reader: finds the span that answers the question (a name, place,
number, date or short noun phrase) inside the sentence windows the answerer may quote.

A window is a sentence and the one after it (the fact often follows the sentence that
echoes the question). Candidates are the windows' `Mention`s (spaCy entities, numbers,
noun phrases). Each is described by the features in `FEATURES` and scored by a linear
model whose weights ship as `reader_weights.json` beside this module (trained by
`bench/train_reader.py` on rtqa-2022 only; no training at run time). The scores are a
conditional logit: their softmax over the candidates is the reader's belief, which
`weigh` also reports per window so the answerer can quote where the answer likely
stands. The best candidate wins if its score reaches the file's threshold; otherwise
there is no short answer and the quotes stand alone.
"""

from __future__ import annotations

import functools
import json
import math
import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from importlib import resources
from typing import Any, Protocol

import numpy as np

from assistant.mention import Mention, MentionFinder, Parsed
from assistant.question import Question
from assistant.sentence import normalize, stem

MAX_CHARS = 80  # a short answer is never a whole sentence
WEIGHTS_FILE = "reader_weights.json"

FEATURES = (
    "bias", "type", "type_strong", "window_keywords", "proximity", "near_keyword",
    "in_question", "all_in_question", "agree_articles", "repeated", "window_rank",
    "relevance", "relevance_gap", "passage_rank", "length", "long", "entity", "phrase",
    "proper", "dateline", "focus_in", "focus_near", "continuation", "first_in_window",
    "holds_typed", "subject_order", "fragment", "number", "named_as", "local_share",
    "aligned", "relative_date", "year", "preposition", "verb_near", "local_idf", "outlet",
    "short_name",
)

# Entity labels that answer each answer type, with how well (1 = exactly the type).
_TYPE_LABELS: dict[str, dict[str, float]] = {
    "person": {"PERSON": 1.0, "ORG": 0.2, "NORP": 0.2},
    "place": {"GPE": 1.0, "LOC": 1.0, "FAC": 0.7, "ORG": 0.2, "NORP": 0.3},
    "date": {"DATE": 1.0, "TIME": 0.5, "CARDINAL": 0.3},
    "number": {"CARDINAL": 1.0, "QUANTITY": 1.0, "MONEY": 0.6, "PERCENT": 0.6,
               "DATE": 0.3, "ORDINAL": 0.4},
    "money": {"MONEY": 1.0, "CARDINAL": 0.4, "QUANTITY": 0.3},
    "percent": {"PERCENT": 1.0, "CARDINAL": 0.4, "QUANTITY": 0.3},
    "organisation": {"ORG": 1.0, "NORP": 0.3, "PRODUCT": 0.3, "FAC": 0.3, "GPE": 0.2},
    "thing": {"PRODUCT": 0.7, "WORK_OF_ART": 0.7, "EVENT": 0.7, "LAW": 0.7, "ORG": 0.5,
              "NORP": 0.5, "LANGUAGE": 0.7, "FAC": 0.5, "GPE": 0.4, "LOC": 0.4,
              "PERSON": 0.3},
}
_CONTINUES = re.compile(
    r"^[\"“‘(]?(?:it|its|they|their|them|he|his|him|she|her|this|that|these|those|here|"
    r"there|then|but|and|so|however|also|such|the latter|the former|both)\b",
    re.IGNORECASE,
)
# A quote attributed to a pronoun ('"Several dozen ...," he said.') carries on from the
# sentence that named the speaker.
_PRONOUN_SAID = re.compile(r"\b(?:he|she|they) (?:said|added|explained|told|says|adds)\b")


def continues(sentence: str) -> bool:
    """Whether a sentence leans on the one before it ("It was then called ...")."""
    return bool(_CONTINUES.match(sentence) or _PRONOUN_SAID.search(sentence))


@dataclass(frozen=True)
class Window:
    """Text the reader reads: a sentence and the next one. Offsets are in the article
    text; `head_end` is where the first sentence ends, `quote_end` where the quote of this
    window would end when it is not the answer's (the sentence, or both when the next one
    `continues` it; -1: `end`)."""

    article_id: str
    start: int
    end: int
    head_end: int
    text: str
    relevance: float  # the first sentence's relevance to the question
    passage_rank: int  # 0-based rank of its passage in retrieval
    date: date | None
    quote_end: int = -1


@dataclass(frozen=True)
class Span:
    """The reader's answer: `text == article text[start:end]`, inside `windows[window]`."""

    window: int
    start: int
    end: int
    text: str
    score: float


@dataclass(frozen=True)
class Reading:
    """What the reader made of the windows: its answer (or None) and, per window, the
    share of its belief that the answer stands in the window's quote (before
    `quote_end`): the answerer quotes the windows most likely to hold the fact. (A
    candidate past `quote_end` counts for none: the next sentence has its own window when
    it is worth reading.)"""

    span: Span | None
    mass: tuple[float, ...]


class Reader(Protocol):
    """Finds the short answer in the windows, or None."""

    def read(self, question: Question, windows: Sequence[Window],
             passage_texts: Sequence[tuple[str, str]]) -> Span | None:
        """`passage_texts` are (article id, text) of every retrieved passage, for
        agreement between sources."""
        ...

    def weigh(self, question: Question, windows: Sequence[Window],
              passage_texts: Sequence[tuple[str, str]]) -> Reading:
        """`read`, plus how likely each window is to hold the answer."""
        ...

    def option_scores(self, question: Question, windows: Sequence[Window],
                      passage_texts: Sequence[tuple[str, str]], options: Sequence[str]
                      ) -> list[float | None]:
        """How well each quiz option stands where the answer would (None: not named)."""
        ...


@dataclass(frozen=True)
class Weights:
    """A linear scorer over `FEATURES` and the score a short answer must reach."""

    weights: np.ndarray
    threshold: float
    source: str

    @classmethod
    def load(cls, text: str | None = None) -> Weights:
        """The shipped weights (or those in the JSON `text`)."""
        if text is None:
            text = resources.files("assistant").joinpath(WEIGHTS_FILE).read_text()
        data: dict[str, Any] = json.loads(text)
        named = dict(zip(data["features"], data["weights"], strict=True))
        w = np.array([float(named.get(f, 0.0)) for f in FEATURES])
        return cls(w, float(data["threshold"]), str(data.get("source", "")))


@dataclass(frozen=True)
class Candidate:
    """A mention in a window, with its features (one row of the scoring matrix)."""

    window: int
    mention: Mention
    features: np.ndarray
    option: int | None = None  # the quiz option it stands for (`option_scores`)


class SpanReader:
    """The default `Reader` (see the module docstring)."""

    def __init__(self, finder: MentionFinder | None = None, weights: Weights | None = None):
        self.finder = finder or MentionFinder()
        self.weights = weights or Weights.load()

    def read(self, question: Question, windows: Sequence[Window],
             passage_texts: Sequence[tuple[str, str]]) -> Span | None:
        return self.weigh(question, windows, passage_texts).span

    def weigh(self, question: Question, windows: Sequence[Window],
              passage_texts: Sequence[tuple[str, str]]) -> Reading:
        mass = np.zeros(len(windows))
        cands = self.candidates(question, windows, passage_texts)
        if not cands:
            return Reading(None, tuple(mass))
        scores = np.stack([c.features for c in cands]) @ self.weights.weights
        p = np.exp(scores - scores.max())  # the conditional logit's probabilities
        quoted = np.array([c.mention.start < _quote_end(windows[c.window])
                           for c in cands])
        np.add.at(mass, [c.window for c in cands], np.where(quoted, p / p.sum(), 0.0))
        best = int(np.argmax(scores))
        if scores[best] < self.weights.threshold:
            return Reading(None, tuple(float(x) for x in mass))
        c = cands[best]
        w = windows[c.window]
        start, end = w.start + c.mention.start, w.start + c.mention.end
        return Reading(Span(c.window, start, end, c.mention.text, float(scores[best])),
                       tuple(float(x) for x in mass))

    def option_scores(self, question: Question, windows: Sequence[Window],
                      passage_texts: Sequence[tuple[str, str]], options: Sequence[str]
                      ) -> list[float | None]:
        """For each quiz option, the reader's score where it is named in the windows (the
        best occurrence): high where it stands as the answer would, low where it is merely
        mentioned nearby; None where no window names it."""
        best: list[float | None] = [None] * len(options)
        for c in self.candidates(question, windows, passage_texts, options):
            if c.option is not None:
                score = float(c.features @ self.weights.weights)
                prev = best[c.option]
                best[c.option] = score if prev is None else max(prev, score)
        return best

    def candidates(self, question: Question, windows: Sequence[Window],
                   passage_texts: Sequence[tuple[str, str]], options: Sequence[str] = ()
                   ) -> list[Candidate]:
        """Every mention of every window that is short enough, with its features; with
        `options`, also each place a window names one (marked with `option`)."""
        if not windows:
            return []
        # The question is parsed with the windows (one spaCy call) for its verbs.
        *parsed, own_parse = self.finder.find([*(w.text for w in windows), question.text])
        verbs = _verbs(own_parse)
        haystacks = [(aid, f" {normalize(t)} ") for aid, t in passage_texts]
        idf = _idf(question, passage_texts)
        idf_total = sum(idf.values()) or 1.0
        # Surnames of people named in full somewhere in the windows ("Harris" of "Joanne
        # Harris"): the full name is the better answer.
        surnames = {m.text.split()[-1] for doc in parsed for m in doc.mentions
                    if m.label == "PERSON" and len(m.text.split()) > 1}
        best_rel = max(w.relevance for w in windows)
        agree_cache: dict[str, tuple[int, int]] = {}
        out = []
        for wi, (w, doc) in enumerate(zip(windows, parsed, strict=True)):
            tokens = doc.tokens
            mentions: list[tuple[Mention, int | None]] = [(m, None) for m in doc.mentions]
            mentions += [(m, i) for i, opt in enumerate(options)
                         for m in _occurrences(opt, w.text, doc)]
            keys = [_key(t) for t in tokens]
            hits = [i for i, k in enumerate(keys) if k in question.keywords]
            in_window = {keys[i] for i in hits}
            after_hits = [i for i, k in enumerate(keys) if k in question.after]
            focus_at = ([i for i, k in enumerate(keys) if k == stem(question.focus)]
                        if question.focus else [])
            first_seen: set[str] = set()
            typed = [(m.start, m.end) for m, _ in mentions
                     if m.kind == "entity" and _type_strength(question, m) >= 1.0]
            for m, option in mentions:
                if len(m.text) > MAX_CHARS or (option is None and _is_title(m.text)):
                    continue
                norm = _normalized(m.text)
                if not norm:
                    continue
                if norm not in agree_cache:
                    found = [aid for aid, hay in haystacks if f" {norm} " in hay]
                    agree_cache[norm] = (len(found), len(set(found)))
                n_pass, n_art = agree_cache[norm]
                span_toks = range(m.token, m.token + m.tokens)
                own = [keys[i] for i in span_toks if i < len(keys)]
                plain = [stem(tokens[i].lower().removesuffix("'s").removesuffix("’s"))
                         for i in span_toks if i < len(tokens) and _wordlike(tokens[i])]
                asked = sum(_is_asked(k, question.asked) for k in plain) / max(len(plain), 1)
                outside = [i for i in hits if i not in span_toks]
                dist, nearest = min(((abs(i - m.token), i) for i in outside),
                                    default=(99, m.token))
                before = nearest > m.token  # the nearest question word follows it
                kw_share = (len(in_window - set(own)) / len(question.keywords)
                            if question.keywords else 0.0)
                strength = _type_strength(question, m)
                holds = m.kind == "phrase" and any(
                    m.start <= a and b <= m.end and (a, b) != (m.start, m.end) for a, b in typed)
                last = m.token + m.tokens - 1
                local = {keys[i] for i in outside if m.token - _NEAR <= i <= last + _NEAR}
                near_idf = sum(idf.get(k, 0.0) for k in local - set(own)) / idf_total
                verb_near = any(keys[i] in verbs for i in range(max(m.token - 6, 0),
                                                                min(last + 7, len(keys)))
                                if i not in span_toks)
                side = [i for i in after_hits if (
                    last < i <= last + _NEAR if question.asks_subject
                    else m.token - _NEAR <= i < m.token)]
                out.append(Candidate(wi, m, np.array([
                    1.0,
                    strength,
                    float(strength >= 1.0),
                    kw_share,
                    1.0 / (1.0 + dist / 3.0),
                    float(dist <= 3),
                    asked,
                    float(asked >= 1.0),
                    math.log1p(n_art),
                    float(n_pass > n_art),
                    1.0 / (1.0 + wi),
                    w.relevance,
                    best_rel - w.relevance,
                    1.0 / (1.0 + w.passage_rank),
                    min(m.tokens, 8) / 8.0,
                    float(m.tokens > 4),
                    float(m.kind == "entity"),
                    float(m.kind == "phrase"),
                    float(m.proper),
                    float(m.start == 0 and m.text.isupper()),
                    float(question.focus is not None and stem(question.focus) in plain),
                    float(any(abs(i - m.token) <= 3 for i in focus_at)),
                    float(w.start + m.start >= w.head_end),
                    float(norm not in first_seen),
                    float(holds),
                    float(dist < 99 and before == question.asks_subject),
                    float(m.fragment),
                    float(m.kind == "number"),
                    float(_named_as(tokens, m.token)),
                    len(local - set(own)) / max(len(question.keywords), 1),
                    len({keys[i] for i in side}) / max(len(question.after), 1),
                    float(_RELATIVE_DATE.fullmatch(m.text.lower()) is not None),
                    _year(question, m.text),
                    float(_after_preposition(tokens, m.token, question.answer_type)),
                    float(verb_near),
                    near_idf,
                    float(norm in _OUTLETS),
                    float(m.label == "PERSON" and " " not in m.text and m.text in surnames),
                ]), option))
                if option is None:
                    first_seen.add(norm)
        return out


def _quote_end(w: Window) -> int:
    """Where the window's quote ends, in the window's text."""
    return (w.quote_end if w.quote_end >= 0 else w.end) - w.start


def _occurrences(option: str, text: str, doc: Parsed) -> list[Mention]:
    """Where `text` names the option (case-insensitive, whole words), as mentions; the
    kind and label are those of a mention at the same place, if spaCy found one."""
    out = []
    same = {(m.start, m.end): m for m in doc.mentions}
    pattern = re.compile(rf"(?<!\w){re.escape(option.strip())}(?!\w)", re.IGNORECASE)
    for hit in pattern.finditer(text) if option.strip() else ():
        a, b = hit.start(), hit.end()
        known = same.get((a, b))
        first = doc.token_at(a)
        last = doc.token_at(b - 1)
        out.append(known or Mention(a, b, text[a:b], "phrase", "", False, first,
                                    last - first + 1))
    return out


_NEAR = 8  # tokens either side of a candidate that count as its neighbourhood
# Dates relative to the article's own day: the question asks for one the reader of the
# quiz could place ("Wednesday" of a story is rarely what "when" means).
_RELATIVE_DATE = re.compile(
    r"(?:(?:this|last|next|on) )?(?:monday|tuesday|wednesday|thursday|friday|saturday|"
    r"sunday|today|yesterday|tomorrow|tonight|(?:this|last|next) (?:week|month|year|"
    r"weekend)|(?:earlier|later) this (?:week|month|year)|recent (?:weeks|days|months))"
    r"(?: (?:morning|afternoon|evening|night))?")
_TITLES = frozenset("""
mr mrs ms dr rep sen gov president minister prime secretary senator governor king queen
prince princess lord lady sir judge justice chancellor mayor general gen col lt capt
sgt officer chief ceo chairman chairwoman speaker leader
""".split())


# Mentions repeat within and across questions (names, places): normalise each once.
_normalized = functools.lru_cache(maxsize=65536)(normalize)


def _wordlike(token: str) -> bool:
    return any(ch.isalnum() for ch in token)


def _is_asked(word: str, asked: frozenset[str]) -> bool:
    """Whether the question names the word, also as the start of a longer one ("Japan"
    of "Japanese island", "Sri Lanka" of "Sri Lankan President")."""
    return word in asked or (len(word) >= 4 and any(a.startswith(word) for a in asked))


def _year(question: Question, text: str) -> float:
    """For a date question: 1 for a bare year ("2025", the usual answer to "what year"),
    0.5 for a date that holds one ("January 2025"), else 0."""
    if question.answer_type != "date":
        return 0.0
    if re.fullmatch(r"(1[89]|20)\d\d", text):
        return 1.0
    return 0.5 if re.search(r"\b(1[89]|20)\d\d\b", text) else 0.0


def _is_title(text: str) -> bool:
    """A title alone ("Rep.", "Prime Minister") names nobody."""
    parts = [w.strip(".").lower() for w in text.split()]
    return bool(parts) and all(w in _TITLES for w in parts)


# Prepositions that introduce the kind of answer asked for ("in central and eastern
# Syria" answers "where", "since 1994" answers "when"; "the US was" answers neither).
_PREPOSITIONS: dict[str, frozenset[str]] = {
    "place": frozenset("in at across near from to into along throughout inside outside "
                       "towards toward around within".split()),
    "date": frozenset("in on since by until till before after during from".split()),
}


# News outlets named in datelines and credits ("(CNN Business)", "Reuters"), never what
# a quiz asks about the news.
_OUTLETS = frozenset(normalize(o) for o in """
CNN|CNN Business|CNN Politics|Reuters|AP|Associated Press|AFP|Agence France-Presse|BBC|
BBC News|DW|Deutsche Welle|The Guardian|Guardian|USA TODAY|NPR|Bloomberg|ABC News|
NBC News|CBS News|Fox News|Al Jazeera|The New York Times|The Washington Post|Axios|
Politico|The Independent|Sky News|dpa|EFE|UPI""".replace("\n", "").split("|"))


def _verbs(parsed: Parsed) -> set[str]:
    """The question's own verbs, as keys ("founded" -> "found"), auxiliaries left out."""
    return {_key(t) for t, tag in zip(parsed.tokens, parsed.tags, strict=False)
            if tag.startswith("VB") and t.lower() not in _AUXILIARIES}


_AUXILIARIES = frozenset("""
is was are were be been being has have had do does did will would can could should may
might must shall
""".split())


def _idf(question: Question, passage_texts: Sequence[tuple[str, str]]) -> dict[str, float]:
    """How rare each question keyword is among the retrieved passages: a rare word next
    to a candidate says more than one every passage has. (Found as a lower-case
    substring: tokenising every passage would cost more than the rest of the features.)"""
    if not passage_texts:
        return dict.fromkeys(question.keywords, 1.0)
    texts = [t.lower() for _, t in passage_texts]
    return {k: math.log(1.0 + len(texts) / (1.0 + sum(k.rstrip("#") in t for t in texts)))
            for k in question.keywords}


def _after_preposition(tokens: Sequence[str], at: int, answer_type: str) -> bool:
    """Whether the mention follows (past a "the") a preposition of the answer's kind."""
    words = _PREPOSITIONS.get(answer_type)
    i = at - 1
    if words is None or i < 0:
        return False
    if tokens[i].lower() == "the" and i > 0:
        i -= 1
    return tokens[i].lower() in words


_NAMING = frozenset({"called", "named", "dubbed", "titled", "renamed", "nicknamed", "as"})


def _named_as(tokens: Sequence[str], at: int) -> bool:
    """Whether the mention follows a naming verb ("called the Al-Nusra Front", "called
    itself the Al-Nusra Front", "known as caliphs"), allowing a "the" and a reflexive
    pronoun in between: the usual answer to "what is X called"."""
    i = at - 1
    if i >= 0 and tokens[i].lower() in ("the", "a", "an"):
        i -= 1
    if i >= 0 and tokens[i].lower() in _REFLEXIVE:
        i -= 1
    if i < 0:
        return False
    word = tokens[i].lower()
    return word in _NAMING and (word != "as" or (i > 0 and tokens[i - 1].lower() in (
        "known", "described", "referred", "identified", "designated")))


_REFLEXIVE = frozenset("itself himself herself themselves".split())


def _key(token: str) -> str:
    """The form `sentence.keywords` gives a word: acronyms marked, others stemmed."""
    if len(token) >= 2 and token.isupper():
        return token.lower() + "#"
    low = token.lower().replace("’", "'")
    if low.endswith("'s"):
        low = low[:-2]
    return stem(low)


def _type_strength(question: Question, m: Mention) -> float:
    """How well the mention's kind fits the answer type (1 = exactly)."""
    focus_label = question.focus_label
    if focus_label and m.label == focus_label:
        return 1.0
    if m.kind == "phrase":
        if question.answer_type == "thing":
            return 0.6
        return 0.3 if m.proper and question.answer_type in ("person", "place",
                                                            "organisation") else 0.0
    if m.kind == "number":
        if question.answer_type == "date":
            return 0.6 if re.fullmatch(r"(1[89]|20)\d\d", m.text) else 0.1
        return {"number": 1.0, "money": 0.4, "percent": 0.4}.get(question.answer_type, 0.1)
    return _TYPE_LABELS[question.answer_type].get(m.label, 0.0)
