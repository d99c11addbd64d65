"""Clues a candidate answer gives, read off the tokens and text around it: the pure
functions behind the reader's features (`assistant.reader.FEATURES`). Each says why in a
line; the weights that combine them are fitted in `training/train_reader.py`."""

from __future__ import annotations

import math
import re
from collections.abc import Sequence

from assistant.question import AUXILIARIES, Question
from assistant.reader.mention import Mention, Parsed
from assistant.sentence import normalize, stem

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

NEAR = 8  # tokens either side of a candidate that count as its neighbourhood
# Dates relative to the article's own day: the question asks for one the reader of the
# quiz could place ("Wednesday" of a story is rarely what "when" means).
RELATIVE_DATE = re.compile(
    r"(?:(?:this|last|next|on) )?(?:monday|tuesday|wednesday|thursday|friday|saturday|"
    r"sunday|today|yesterday|tomorrow|tonight|(?:this|last|next) (?:week|month|year|"
    r"weekend)|(?:earlier|later) this (?:week|month|year)|recent (?:weeks|days|months))"
    r"(?: (?:morning|afternoon|evening|night))?")
_TITLES = frozenset("""
mr mrs ms dr rep sen gov president minister prime secretary senator governor king queen
prince princess lord lady sir judge justice chancellor mayor general gen col lt capt
sgt officer chief ceo chairman chairwoman speaker leader
""".split())


def wordlike(token: str) -> bool:
    """Whether the token is a word or number, not punctuation ("-" of "al-Jolani")."""
    return any(ch.isalnum() for ch in token)


def is_asked(word: str, asked: frozenset[str]) -> bool:
    """Whether the question names the word, also as the start of a longer one ("Japan"
    of "Japanese island", "Sri Lanka" of "Sri Lankan President")."""
    return word in asked or (len(word) >= 4 and any(a.startswith(word) for a in asked))


def year_fit(question: Question, text: str) -> float:
    """For a date question: 1 for a bare year ("2025", the usual answer to "what year"),
    0.5 for a date that holds one ("January 2025"), else 0."""
    if question.answer_type != "date":
        return 0.0
    if re.fullmatch(r"(1[89]|20)\d\d", text):
        return 1.0
    return 0.5 if re.search(r"\b(1[89]|20)\d\d\b", text) else 0.0


def is_title(text: str) -> bool:
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
OUTLETS = frozenset(normalize(o) for o in """
CNN|CNN Business|CNN Politics|Reuters|AP|Associated Press|AFP|Agence France-Presse|BBC|
BBC News|DW|Deutsche Welle|The Guardian|Guardian|USA TODAY|NPR|Bloomberg|ABC News|
NBC News|CBS News|Fox News|Al Jazeera|The New York Times|The Washington Post|Axios|
Politico|The Independent|Sky News|dpa|EFE|UPI""".replace("\n", "").split("|"))


def verbs_of(parsed: Parsed) -> set[str]:
    """The question's own verbs, as keys ("founded" -> "found"), auxiliaries left out."""
    return {key(t) for t, tag in zip(parsed.tokens, parsed.tags, strict=False)
            if tag.startswith("VB") and t.lower() not in AUXILIARIES}


def rarity(question: Question, passage_texts: Sequence[tuple[str, str]]) -> dict[str, float]:
    """How rare each question keyword is among the retrieved passages: a rare word next
    to a candidate says more than one every passage has. (Found as a lower-case
    substring: tokenising every passage would cost more than the rest of the features.)"""
    if not passage_texts:
        return dict.fromkeys(question.keywords, 1.0)
    texts = [t.lower() for _, t in passage_texts]
    return {k: math.log(1.0 + len(texts) / (1.0 + sum(k.rstrip("#") in t for t in texts)))
            for k in question.keywords}


def after_preposition(tokens: Sequence[str], at: int, answer_type: str) -> bool:
    """Whether the mention follows (past a "the") a preposition of the answer's kind."""
    words = _PREPOSITIONS.get(answer_type)
    i = at - 1
    if words is None or i < 0:
        return False
    if tokens[i].lower() == "the" and i > 0:
        i -= 1
    return tokens[i].lower() in words


_NAMING = frozenset({"called", "named", "dubbed", "titled", "renamed", "nicknamed", "as"})


def named_as(tokens: Sequence[str], at: int) -> bool:
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


def key(token: str) -> str:
    """The form `sentence.keywords` gives a word: acronyms marked, others stemmed."""
    if len(token) >= 2 and token.isupper():
        return token.lower() + "#"
    low = token.lower().replace("’", "'")
    if low.endswith("'s"):
        low = low[:-2]
    return stem(low)


def _names_its_kind(text: str, focus: str) -> bool:
    """Whether `text` is a name followed or preceded by the asked-for kind: "Badia
    desert", "the Nile river", "Lake Victoria" for focus desert, river, lake."""
    words = text.split()
    kind = [w for w in words if stem(w.lower()) == stem(focus)]
    rest = [w for w in words if w not in kind and w.lower() != "the"]
    return bool(kind and rest) and all(w[0].isupper() for w in rest)


def type_strength(question: Question, m: Mention) -> float:
    """How well the mention's kind fits the answer type (1 = exactly)."""
    focus_label = question.focus_label
    if focus_label and m.label == focus_label:
        return 1.0
    if focus_label == "LOC" and question.focus:
        # A natural place asked for by its kind ("which desert"): a name with that kind
        # ("the Badia desert") answers it whatever its label, and a country, city or state
        # does not.
        if _names_its_kind(m.text, question.focus):
            return 1.0
        if m.label == "GPE":
            return 0.3
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
