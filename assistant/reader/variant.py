"""Whether two answer texts name the same thing (issue 31, point 3), so that a hedge's
alternative is always a *different* answer: "Not sure; the articles suggest Michael Erik
Kurilla [2] or General Michael Erik Kurilla [2]" offered a variant as the alternative.

Two answers are one when, after dropping titles and roles before a name ("General",
"engineer", "President", and any words written in lower case before a person's name:
"chief executive Maria Okafor"), articles, and a possessive, and reading number words as digits
("six" = "6") and plurals as singulars:
* they are equal; or
* one is a person's name and the other its last name or its first and last names
  ("Kurilla", "Michael Kurilla" for "Michael Erik Kurilla"): a name of two to four
  capitalised words with no "of" / "and" in it, so "Iraq" stays apart from "Islamic State
  of Iraq"; or
* one is the other's short form the articles introduce, its initials ("IS" for "Islamic
  State", "HTS" for "Hayat Tahrir al-Sham").
"""

from __future__ import annotations

import functools
import re
from collections.abc import Sequence

from assistant.sentence import normalize_numbers

TITLES = frozenset("""
general gen president pres engineer dr doctor mr mrs ms miss sir lord lady dame prime
minister secretary senator sen rep representative governor gov king queen prince princess
pope judge justice chief ceo coach officer professor prof captain capt colonel col lt
lieutenant sgt sergeant admiral commander chancellor mayor ambassador envoy spokesman
spokeswoman spokesperson former late then us u.s. uk british american the a an
""".split())
_CONNECTORS = frozenset("of and for the de".split())


def _words(text: str) -> list[str]:
    """Lower-case words with titles before the name, possessives and plurals dropped,
    number words as digits."""
    out = [w for w in normalize_numbers(re.sub(r"['’]s\b", "", text)).split() if w]
    while len(out) > 1 and out[0] in TITLES:
        out = out[1:]
    return [w[:-1] if len(w) > 3 and w.endswith("s") and not w.endswith("ss") else w
            for w in out]


_NAME_PART = re.compile(r"[\w.'’-]+")  # no comma: "Zürich, Corine Mauch" is two things
_PARTICLE = re.compile(r"^(?:al|el|bin|ibn|van|von|de|da|di|du|le|la)\b-?", re.IGNORECASE)


def _person(text: str) -> bool:
    """Two to four capitalised words (name particles allowed: "al-Jolani", "van Gogh"),
    none a connector: a person's name, by its look."""
    parts = [p for p in re.split(r"\s+", text.strip()) if p]
    while parts and parts[0].lower().rstrip(".") in TITLES:
        parts = parts[1:]
    return 2 <= len(parts) <= 4 and all(
        (p[:1].isupper() or _PARTICLE.match(p)) and p.lower() not in _CONNECTORS
        and _NAME_PART.fullmatch(p) is not None for p in parts)


def person_like(text: str) -> bool:
    """Whether `text` looks like a person's name (`_person`)."""
    return _person(text)


def _initials(text: str) -> str:
    """"Hayat Tahrir al-Sham" -> "hts": each word's first letter, past a particle."""
    return "".join(_PARTICLE.sub("", w)[:1].lower() for w in text.split()
                   if w.lower() not in _CONNECTORS and _PARTICLE.sub("", w))


def _name_of(text: str) -> str:
    """A person's name without the words that describe them before it, up to the last
    word in lower case ("chief executive Maria Okafor", "Syrian dictator Bashar Assad" ->
    "Maria Okafor", "Bashar Assad"); other texts as they are."""
    parts = text.split()
    lead = max((i + 1 for i, p in enumerate(parts) if p.islower()), default=0)
    rest = " ".join(parts[lead:])
    return rest if lead and _person(rest) else text


def same_answer(a: str, b: str) -> bool:
    """Whether `a` and `b` name the same thing (module docstring)."""
    a, b = _name_of(a), _name_of(b)
    wa, wb = _words(a), _words(b)
    if not wa or not wb:
        return False
    if wa == wb:
        return True
    (short, s_text), (long, l_text) = sorted(((wa, a), (wb, b)), key=lambda x: len(x[0]))
    if len(short) == 1 and len(long) >= 2 and s_text.strip().isupper() and \
            "and" not in long and short[0] == _initials(l_text):
        return True  # "IS" / "Islamic State", "HTS" / "Hayat Tahrir al-Sham"
    if _person(l_text) and len(short) < len(long):
        return short == long[-len(short):] or (
            len(short) == 2 and short == [long[0], long[-1]])
    return False


def pool(texts: Sequence[str], people: Sequence[bool] | None = None) -> list[int]:
    """One group per thing named, for distinct answer texts: each text's group, the
    index of its first member. Equal words after titles, number words and plurals
    ("General Michael Kurilla" and "Michael Kurilla", "six" and "6"); initials with the
    one longer name they abbreviate ("IS", "Islamic State"); and, for the texts `people`
    marks as persons, a last name, or a first and last name, with the one longer person's
    name it ends (none when two share it: "Biden" stays alone beside "Joe Biden" and
    "Jill Biden"). Only persons: a name ending another name is often another thing
    ("Virginia", "West Virginia"; "Poland", "NATO-member Poland"). Stricter than
    `same_answer`, which only keeps a hedge from offering a variant as its alternative:
    pooling moves belief, and pooling every name that ends another cost 0.027 EM on
    rtqa-2022 (docs/benchmarks.md). Found without comparing every pair."""
    group = list(range(len(texts)))
    first: dict[tuple[str, ...], int] = {}
    words: list[tuple[str, ...]] = []
    for i, text in enumerate(texts):
        w = _key(text)
        words.append(w)
        if w:
            group[i] = first.setdefault(w, i)
    heads = [i for i in range(len(texts)) if group[i] == i and words[i]]
    tails: dict[tuple[str, ...], set[int]] = {}
    initials: dict[str, set[int]] = {}
    for i in heads:
        w, name = words[i], _name_of(texts[i])
        if len(w) >= 2 and people is not None and people[i] and _person(name):
            tails.setdefault(w[-1:], set()).add(i)
            if len(w) >= 3:
                tails.setdefault(w[:1] + w[-1:], set()).add(i)
            for k in range(2, len(w)):
                tails.setdefault(w[-k:], set()).add(i)
        if len(w) >= 2 and "and" not in w:
            initials.setdefault(_initials(name), set()).add(i)
    def root(i: int) -> int:
        while group[i] != i:
            i = group[i]
        return i

    # Longest first, so that "Michael Kurilla" has joined "Michael Erik Kurilla" before
    # "Kurilla" asks which longer names it may be.
    for i in sorted(heads, key=lambda h: -len(words[h])):
        w, text = words[i], texts[i].strip()
        longer = {root(j) for j in tails.get(w, ()) if len(words[j]) > len(w)}
        if len(w) == 1 and text.isupper():
            longer |= {root(j) for j in initials.get(w[0], ())}
        longer.discard(i)
        if len(longer) == 1:
            group[i] = longer.pop()
    return [root(i) for i in range(len(texts))]


@functools.lru_cache(maxsize=65536)  # the same mentions come back for related questions
def _key(text: str) -> tuple[str, ...]:
    """A text's words as `same_answer` compares them."""
    return tuple(_words(_name_of(text)))


def completeness(text: str) -> tuple[int, int]:
    """How fit a form of a name is to be shown for its group: a first name and last name
    (or more) over a last name alone, then no title over a title ("Michael Erik Kurilla"
    over "General Michael Erik Kurilla" and over "Kurilla"); forms equal on both are
    told apart by their scores ("Tomas Berg" or "Rival Tomas Berg": the reader's pick)."""
    w = _key(text)
    return min(len(w), 2), len(w) - len(text.split())
