"""The short-answer reader: finds the span that answers the question (a name, place,
number, date or short noun phrase) inside the sentence windows the answerer may quote.

A window is a sentence and the one after it (the fact often follows the sentence that
echoes the question). Candidates are the windows' `Mention`s (spaCy entities, numbers,
noun phrases). Each is described by the features in `FEATURES` and scored by a linear
model whose weights ship as `weights.json` beside this module (trained by
`training/train_reader.py` on rtqa-2022 only; no training at run time). The scores are a
conditional logit: their softmax over the candidates is the reader's belief, which
`weigh` also reports per window so the answerer can quote where the answer likely
stands. The answer is the one with the most belief (the probabilities of all its
mentions summed, its variants pooled: "six" and "6", "General X" and "X", a person's last
name and full name; `choose`), shown at its best-scored mention (a person by a first and
last name), if its best score reaches the file's threshold; otherwise there is no short
answer and the quotes stand alone.
"""

from __future__ import annotations

import contextlib
import functools
import json
import math
import re
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import date
from importlib import resources
from typing import Any, Protocol

import numpy as np

from assistant.question import Question
from assistant.reader import clue, place
from assistant.reader.confidence import Calibration
from assistant.reader.kind import kind_first, with_unit
from assistant.reader.mention import Mention, MentionFinder, Parsed
from assistant.reader.model import ModelUnavailable, SpanScorer, shipped
from assistant.reader.reading import Reading, Span, Window
from assistant.reader.succession import after_changes
from assistant.reader.variant import completeness, pool, same_answer
from assistant.sentence import normalize, stem

MAX_CHARS = 80  # a short answer is never a whole sentence
# Quoting the next two answers with at least this belief: answer in quotes 0.684 -> 0.705
# on rtqa-2022 and 0.526 -> 0.543 on rtqa-2024, at 2.78 -> 2.87 quotes per answer on
# rtqa-2022 (replayed: 0.05 gives 0.711 with 3.02 quotes; 0.15 gives 0.696).
ALTERNATIVE_BELIEF = 0.10
ALTERNATIVES = 2
RIVAL_FLOOR = 0.1  # `newer_rival` ignores answers believed less than this share
WEIGHTS_FILE = "weights.json"

FEATURES = (
    "bias", "type", "type_strong", "window_keywords", "proximity", "near_keyword",
    "in_question", "all_in_question", "agree_articles", "repeated", "window_rank",
    "relevance", "relevance_gap", "passage_rank", "length", "long", "entity", "phrase",
    "proper", "dateline", "focus_in", "focus_near", "continuation", "first_in_window",
    "holds_typed", "subject_order", "fragment", "number", "named_as", "local_share",
    "aligned", "relative_date", "year", "preposition", "verb_near", "local_idf", "outlet",
    "short_name", "span",
)
_FEATURE_SET = frozenset(FEATURES)
_SPAN_COLUMN = FEATURES.index("span")
# The span model's scores run from about -20 to 20; a tenth is in the hand features' range
# (the logit's L2 penalty treats every column alike).
SPAN_SCALE = 10.0

_CONTINUES = re.compile(
    r"^[\"“‘(]?(?:it|its|they|their|them|he|his|him|she|her|this|that|these|those|here|"
    r"there|then|but|and|so|however|also|such|the latter|the former|both)\b",
    re.IGNORECASE,
)
# A quote attributed to a pronoun ('"Several dozen ...," he said.') carries on from the
# sentence that named the speaker.
_PRONOUN_SAID = re.compile(r"\b(?:he|she|they) (?:said|added|explained|told|says|adds)\b")
# A report about "they" carries on too, behind a named speaker or a source: "Wieland said
# that they often carried out attacks on the rural population" (they: the IS cells the
# sentence before names). "Apple said it ..." or "Officials said they ..." speak of
# themselves: a singular pronoun, or a speaker that is not one name, does not count.
_SAID_PRONOUN = re.compile(
    r"^[\"“‘(]?(?:(?i:according to) [^,]{1,60}, |[A-Z][\w'’.-]*(?: [A-Z][\w'’.-]*){0,2}(?<!s) "
    r"(?:said|says|added|adds|explained|noted|stressed|believes|told [\w ]{1,30}?)"
    r"(?: on \w+)?,? (?:that )?)(?:they|these|those|their)\b")


def continues(sentence: str) -> bool:
    """Whether a sentence leans on the one before it ("It was then called ...", "Wieland
    said that they ...")."""
    return bool(_CONTINUES.match(sentence) or _PRONOUN_SAID.search(sentence)
                or _SAID_PRONOUN.match(sentence))


class Reader(Protocol):
    """Finds the short answer in the windows, or None."""

    def read(self, question: Question, windows: Sequence[Window],
             passage_texts: Sequence[tuple[str, str]]) -> Span | None:
        """`passage_texts` are (article id, text) of every retrieved passage, for
        agreement between sources."""
        ...

    def weigh(self, question: Question, windows: Sequence[Window],
              passage_texts: Sequence[tuple[str, str]], newest: date | None = None
              ) -> Reading:
        """`read`, plus how likely each window is to hold the answer. `newest` is the
        date of the newest retrieved passage (the confidence weighs how far behind it the
        answer's article is); None: the newest window's."""
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
            text = resources.files("assistant.reader").joinpath(WEIGHTS_FILE).read_text()
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

    def __init__(self, finder: MentionFinder | None = None, weights: Weights | None = None,
                 calibration: Calibration | None = None, scorer: SpanScorer | None = None):
        self.finder = finder or MentionFinder()
        self.weights = weights or Weights.load()
        self.calibration = calibration or Calibration.load()
        self.scorer = scorer or shipped()

    def warm(self) -> None:
        """Load spaCy, the place gazetteer and the span model now, each with one small
        call, so that the first question pays no loading (a server's warm-up). A span
        model that cannot be used is warned about once (`reader.model`) and left for the
        asks to do without."""
        self.finder.find(["The council of Springfield met on Monday."])
        place.load()
        with contextlib.suppress(ModelUnavailable):
            self.scorer.score("Who met?", ["The council met."], [[(4, 11)]])

    def read(self, question: Question, windows: Sequence[Window],
             passage_texts: Sequence[tuple[str, str]]) -> Span | None:
        return self.weigh(question, windows, passage_texts).span

    def weigh(self, question: Question, windows: Sequence[Window],
              passage_texts: Sequence[tuple[str, str]], newest: date | None = None
              ) -> Reading:
        mass = np.zeros(len(windows))
        cands = self.candidates(question, windows, passage_texts)
        if not cands:
            return Reading(None, tuple(mass))
        scores = np.stack([c.features for c in cands]) @ self.weights.weights
        p = np.exp(scores - scores.max())  # the conditional logit's probabilities
        quoted = np.array([c.mention.start < _quote_end(windows[c.window])
                           for c in cands])
        p = p / p.sum()
        np.add.at(mass, [c.window for c in cands], np.where(quoted, p, 0.0))
        newest = newest or max((w.date for w in windows if w.date is not None), default=None)
        read = _answers(cands, windows, scores, p)
        if question.present:  # the newest holder of a role (`succession`)
            read = after_changes(read, windows)
        read = kind_first(question, read, windows, ALTERNATIVE_BELIEF)  # money, %, date
        beliefs = {_normalized(a.text): a.belief for a in read}
        read = [with_unit(question, a, windows) for a in read]  # "$" + "5", "78" + "%"
        answers = []
        for i, a in enumerate(read):  # only the answer and those that may be shown
            rival = (newer_rival(a, read, windows)
                     if i == 0 or a.belief >= ALTERNATIVE_BELIEF else 0.0)
            answers.append(replace(a, newer_rival=rival, confidence=self.calibration.probability(
                a.belief, age_days(windows[a.window], newest))))
        span, rest = answers[0], answers[1:]
        alternatives = different(span, rest)
        return Reading(span if span.score >= self.weights.threshold else None,
                       tuple(float(x) for x in mass), alternatives,
                       beliefs=beliefs | {_normalized(a.text): a.belief for a in answers})

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
        `options`, also each place a window names one (marked with `option`).
        ModelUnavailable when the span model cannot be used (its file missing, corrupt,
        foreign or changed): the callers answer as without a reader, quotes only."""
        if not windows:
            return []
        failed: ModelUnavailable | None = getattr(self.scorer, "failure", None)
        if failed is not None:  # known before spaCy parses anything (ModelUnavailable)
            raise ModelUnavailable(failed.path, failed.reason)
        # The span model reads the windows on its own thread while spaCy parses them.
        self.scorer.prefetch(question.text, [w.text for w in windows])
        # The question is parsed with the windows (one spaCy call) for its verbs.
        *parsed, own_parse = self.finder.find([*(w.text for w in windows), question.text])
        verbs = clue.verbs_of(own_parse)
        haystacks = [(aid, f" {normalize(t)} ") for aid, t in passage_texts]
        idf = clue.rarity(question, passage_texts)
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
            keys = [clue.key(t) for t in tokens]
            # Per token, once per window: its plain stem (None for punctuation) and
            # whether the question names it.
            plains = [stem(t.lower().removesuffix("'s").removesuffix("’s"))
                      if clue.wordlike(t) else None for t in tokens]
            asked_at = [k is not None and clue.is_asked(k, question.asked) for k in plains]
            hits = [i for i, k in enumerate(keys) if k in question.keywords]
            in_window = {keys[i] for i in hits}
            after_hits = [i for i, k in enumerate(keys) if k in question.after]
            focus_at = ([i for i, k in enumerate(keys) if k == stem(question.focus)]
                        if question.focus else [])
            first_seen: set[str] = set()
            typed = [(m.start, m.end) for m, _ in mentions
                     if m.kind == "entity" and clue.type_strength(question, m) >= 1.0]
            for m, option in mentions:
                if len(m.text) > MAX_CHARS or (option is None and clue.is_title(m.text)):
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
                in_span = range(m.token, min(m.token + m.tokens, len(tokens)))
                plain = [k for i in in_span if (k := plains[i]) is not None]
                # Titles do not count: "Judge Ketanji Brown Jackson" is all in a question
                # that names "Justice Ketanji Brown Jackson".
                named = [i for i in in_span if plains[i] is not None
                         and not clue.is_title(tokens[i])] or list(in_span)
                asked = (sum(asked_at[i] for i in named)
                         / max(sum(plains[i] is not None for i in named), 1))
                outside = [i for i in hits if i not in span_toks]
                dist, nearest = min(((abs(i - m.token), i) for i in outside),
                                    default=(99, m.token))
                before = nearest > m.token  # the nearest question word follows it
                kw_share = (len(in_window - set(own)) / len(question.keywords)
                            if question.keywords else 0.0)
                strength = clue.type_strength(question, m)
                holds = m.kind == "phrase" and any(
                    m.start <= a and b <= m.end and (a, b) != (m.start, m.end) for a, b in typed)
                last = m.token + m.tokens - 1
                local = {keys[i] for i in outside
                         if m.token - clue.NEAR <= i <= last + clue.NEAR}
                near_idf = sum(idf.get(k, 0.0) for k in local - set(own)) / idf_total
                verb_near = any(keys[i] in verbs for i in range(max(m.token - 6, 0),
                                                                min(last + 7, len(keys)))
                                if i not in span_toks)
                side = [i for i in after_hits if (
                    last < i <= last + clue.NEAR if question.asks_subject
                    else m.token - clue.NEAR <= i < m.token)]
                values = {
                    "bias": 1.0,
                    "type": strength,
                    "type_strong": float(strength >= 1.0),
                    "window_keywords": kw_share,
                    "proximity": 1.0 / (1.0 + dist / 3.0),
                    "near_keyword": float(dist <= 3),
                    "in_question": asked,
                    "all_in_question": float(asked >= 1.0),
                    "agree_articles": math.log1p(n_art),
                    "repeated": float(n_pass > n_art),
                    "window_rank": 1.0 / (1.0 + wi),
                    "relevance": w.relevance,
                    "relevance_gap": best_rel - w.relevance,
                    "passage_rank": 1.0 / (1.0 + w.passage_rank),
                    "length": min(m.tokens, 8) / 8.0,
                    "long": float(m.tokens > 4),
                    "entity": float(m.kind == "entity"),
                    "phrase": float(m.kind == "phrase"),
                    "proper": float(m.proper),
                    "dateline": float(m.start == 0 and m.text.isupper()),
                    "focus_in": float(question.focus is not None and stem(question.focus) in plain),
                    "focus_near": float(any(abs(i - m.token) <= 3 for i in focus_at)),
                    "continuation": float(w.start + m.start >= w.head_end),
                    "first_in_window": float(norm not in first_seen),
                    "holds_typed": float(holds),
                    "subject_order": float(dist < 99 and before == question.asks_subject),
                    "fragment": float(m.fragment),
                    "number": float(m.kind == "number"),
                    "named_as": float(clue.named_as(tokens, m.token)),
                    "local_share": len(local - set(own)) / max(len(question.keywords), 1),
                    "aligned": len({keys[i] for i in side}) / max(len(question.after), 1),
                    "relative_date": float(
                        clue.RELATIVE_DATE.fullmatch(m.text.lower()) is not None),
                    "year": clue.year_fit(question, m.text),
                    "preposition": float(
                        clue.after_preposition(tokens, m.token, question.answer_type)),
                    "verb_near": float(verb_near),
                    "local_idf": near_idf,
                    "outlet": float(norm in clue.OUTLETS),
                    "short_name": float(
                        m.label == "PERSON" and " " not in m.text and m.text in surnames),
                    "span": 0.0,  # set below, for all candidates in one model call
                }
                out.append(Candidate(window=wi, mention=m, features=vector(values),
                                     option=option))
                if option is None:
                    first_seen.add(norm)
        self._score_spans(question, windows, out)
        return out

    def _score_spans(self, question: Question, windows: Sequence[Window],
                     cands: list[Candidate]) -> None:
        """The span model's score of each candidate, as its "span" feature (scaled to the
        other features' range). A span the model could not read (its window cut short)
        gets the question's lowest score less one: unread is unlikely, not unknown."""
        if not cands:
            return
        wanted: list[list[tuple[int, int]]] = [[] for _ in windows]
        for c in cands:
            wanted[c.window].append((c.mention.start, c.mention.end))
        scored = self.scorer.score(question.text, [w.text for w in windows], wanted)
        at = {(wi, s, e): v for wi, row in enumerate(wanted)
              for (s, e), v in zip(row, scored[wi], strict=True)}
        raw = [at[(c.window, c.mention.start, c.mention.end)] for c in cands]
        known = [v for v in raw if v is not None]
        floor = min(known) - 1.0 if known else 0.0
        col = _SPAN_COLUMN
        for c, v in zip(cands, raw, strict=True):
            c.features[col] = (floor if v is None else v) / SPAN_SCALE


def age_days(window: Window, newest: date | None) -> float:
    """How many days the window's article is older than `newest` (0 when either date is
    unknown, or it is the newer)."""
    if newest is None or window.date is None:
        return 0.0
    return float(max((newest - window.date).days, 0))


def newer_rival(answer: Span, answers: Sequence[Span], windows: Sequence[Window]) -> float:
    """The most belief any answer naming something else (`variant.same_answer`) has when
    it was read in an article dated after `answer`'s, as a share of `answer`'s belief,
    capped at 1 (0 when there is none or a date is unknown). Only answers believed at least
    `RIVAL_FLOOR` as much count, so that the reader's long tail stays out of it."""
    own = windows[answer.window].date
    if own is None or answer.belief <= 0:
        return 0.0
    best = 0.0
    for b in answers:
        share = b.belief / answer.belief
        if b is answer or share < RIVAL_FLOOR or share <= best:
            continue
        theirs = windows[b.window].date
        if theirs is not None and theirs > own and not same_answer(answer.text, b.text):
            best = min(share, 1.0)
    return best


def different(answer: Span, rest: Sequence[Span]) -> tuple[Span, ...]:
    """The next `ALTERNATIVES` answers of `rest` (most belief first) with at least
    `ALTERNATIVE_BELIEF`, each naming something other than `answer` and than each other
    (`variant.same_answer`: "General Michael Erik Kurilla" is no alternative to "Michael
    Erik Kurilla")."""
    out: list[Span] = []
    for a in rest:
        if a.belief < ALTERNATIVE_BELIEF or len(out) == ALTERNATIVES:
            break
        if not any(same_answer(a.text, b.text) for b in (answer, *out)):
            out.append(a)
    return tuple(out)


def vector(values: dict[str, float]) -> np.ndarray:
    """A candidate's features in `FEATURES` order, from their names: a feature added or
    dropped on one side only is an error, not a silently shifted column."""
    if values.keys() != _FEATURE_SET:
        raise ValueError(f"reader features differ from FEATURES: "
                         f"{sorted(values.keys() ^ _FEATURE_SET)}")
    return np.fromiter((values[f] for f in FEATURES), float, len(FEATURES))


def _answers(cands: Sequence[Candidate], windows: Sequence[Window], scores: np.ndarray,
             p: np.ndarray) -> list[Span]:
    """One span per answer (its variants pooled, `_by_text`), by belief: the
    probabilities of all its mentions summed. The first is the short answer (`choose`)."""
    out = []
    people = [c.mention.label == "PERSON" for c in cands]
    for belief, i, score in _by_text([c.mention.text for c in cands], scores, p, people):
        c = cands[i]
        w = windows[c.window]
        out.append(Span(window=c.window, start=w.start + c.mention.start,
                        end=w.start + c.mention.end, text=c.mention.text,
                        score=score, belief=belief))
    return out


def choose(texts: Sequence[str], scores: np.ndarray, people: Sequence[bool] | None = None
           ) -> int:
    """Which of the mentions (`texts`, conditional-logit `scores`) answers: the shown
    mention of the answer with the most belief, its mentions' probabilities summed over
    its variants (`_by_text`; `people`: the mentions spaCy read as persons).

    That is what the logit is fitted for (`training/train_reader.py` maximises the summed
    probability of the right text), and a text named in three windows outweighs a name
    scored a little higher once. Against the single best-scored mention, with the same
    weights: EM 0.352 -> 0.381 on rtqa-2023 (out of sample), 2-fold CV on rtqa-2022 higher
    on each of 3 splits (0.463 -> 0.481, 0.461 -> 0.467, 0.450 -> 0.463).
    """
    p = np.exp(scores - scores.max())
    return _by_text(texts, scores, p / p.sum(), people)[0][1]


def _by_text(texts: Sequence[str], scores: np.ndarray, p: np.ndarray,
             people: Sequence[bool] | None = None) -> list[tuple[float, int, float]]:
    """(belief, shown mention, best score) per answer, most belief first (ties: the
    better score). Mentions naming the same thing are one answer (`variant.pool`: "six"
    and "6", "General X" and "X"; with `people`, which mentions spaCy read as persons,
    "Kurilla" and "Michael Erik Kurilla" too): their probabilities are summed. A person
    is shown by a first and last name where one is read (`variant.completeness`), any
    other answer at its best-scored mention."""
    distinct: dict[str, int] = {}
    written: list[str] = []  # each distinct text as first written (pool reads capitals)
    person: list[bool] = []
    of = []
    for i, t in enumerate(texts):
        key = _normalized(t)
        if key not in distinct:
            distinct[key] = len(written)
            written.append(t)
            person.append(False)
        of.append(distinct[key])
        if people is not None and people[i]:
            person[of[-1]] = True
    group = pool(written, person)
    belief: dict[int, float] = {}
    best: dict[int, int] = {}
    members: dict[int, list[int]] = {}
    for i in range(len(texts)):
        g = group[of[i]]
        belief[g] = belief.get(g, 0.0) + float(p[i])
        members.setdefault(g, []).append(i)
        if g not in best or scores[i] > scores[best[g]]:
            best[g] = i
    shown = {g: max(members[g], key=lambda k: (completeness(texts[k]), scores[k]))
             if person[g] and len({of[k] for k in members[g]}) > 1 else i
             for g, i in best.items()}
    return sorted(((belief[g], shown[g], float(scores[best[g]])) for g in best),
                  key=lambda b: (-b[0], -b[2]))


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
        out.append(known or Mention(start=a, end=b, text=text[a:b], kind="phrase", label="",
                                    proper=False, token=first, tokens=last - first + 1))
    return out


# Mentions repeat within and across questions (names, places): normalise each once.
_normalized = functools.lru_cache(maxsize=65536)(normalize)
