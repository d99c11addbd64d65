"""A question analysed once: its keywords, the words it already names and the type of
answer it asks for. Every answering stage receives this one frozen value instead of
re-deriving keywords from the text.

Answer types (`AnswerType`) follow the wh-word and, for "which/what <noun>", the noun:

    who / whom / whose / which person, leader, singer ...     -> person
    where / which country, city, state ...                     -> place
    when / what year, month, day, date                         -> date
    how many / how old / what number / how long                -> number
    how much (with money words) / what price, cost, salary    -> money
    what percentage / what share                               -> percent
    which company, organisation, team, party, agency ...       -> organisation
    anything else ("what did ...", "which <other noun>")       -> thing
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal

from assistant.sentence import keywords, stem, words

AnswerType = Literal["person", "place", "date", "number", "money", "percent", "organisation",
                     "thing"]

_PERSON_NOUNS = frozenset("""
person man woman men women people actor actress singer rapper musician star player athlete
leader president minister senator governor politician lawmaker judge justice ceo executive
founder chief official officer author writer director celebrity comedian host anchor
journalist reporter coach quarterback pitcher golfer boxer candidate king queen prince
princess pope monarch billionaire entrepreneur businessman scientist astronaut artist
rep representative congressman congresswoman spokesperson secretary chancellor mayor
general commander suspect victim defendant mp pm premier emperor expert analyst economist
spokesman spokeswoman historian professor researcher doctor lawyer attorney prosecutor
""".split())
_PLACE_NOUNS = frozenset("""
country countries city cities state states nation nations town region continent island
province county place capital village territory border sea ocean river lake mountain
airport port neighborhood neighbourhood district area location desert valley park
beach coast peninsula strait gulf bay canal forest
""".split())
_ORG_NOUNS = frozenset("""
company companies organization organisation team party group agency firm network airline
club university college school bank brand band retailer league union channel newspaper
magazine court automaker carrier corporation business startup manufacturer chain
store restaurant studio publisher broadcaster outlet platform app service streamer
giant maker government department ministry militia regime coalition alliance institution
charity foundation committee council command
""".split())
_DATE_NOUNS = frozenset("year month day date decade century week season".split())
_NUMBER_NOUNS = frozenset("number amount age count total".split())
_MONEY_NOUNS = frozenset("price cost salary fine fee sum budget value worth deal".split())
_PERCENT_NOUNS = frozenset("percentage percent share proportion rate".split())
_MONEY_WORDS = frozenset("money cost costs pay paid price worth spend spent fine raise raised "
                         "dollars earn earned charge charged sell sold bid fee".split())

# "who/which <noun>/what <noun>" followed by a verb that is not an auxiliary: the answer
# is the one doing it, so it tends to stand before the verb in the article.
_NOT_AUX = r"(?!(?:is|was|are|were|did|does|do|has|have|had|will|would|can|could)\b)"
_SUBJECT = re.compile(
    rf"^(?:who|(?:which|what) [a-z-]+(?: {_NOT_AUX}[a-z-]+)?) {_NOT_AUX}[a-z]+\b"
)
_AUX = frozenset("""
is was are were has have had did does do will would can could should may might be been
""".split())


@dataclass(frozen=True)
class Question:
    """What every stage needs to know about a question, computed once by `analyse`."""

    text: str
    keywords: frozenset[str]  # stemmed content words (`sentence.keywords`)
    asked: frozenset[str]  # every word of the question, lower-cased and stemmed
    answer_type: AnswerType
    focus: str | None  # the noun of "which/what <noun>" ("country"), when there is one
    asks_subject: bool  # "Who leads HTS?" (the answer acts) vs "Who did HTS overthrow?"


def analyse(text: str) -> Question:
    """Keywords, named words and answer type of `text` (see the module docstring)."""
    low = " ".join(text.lower().replace("’", "'").split())
    answer_type, focus = _answer_type(low)
    return Question(
        text=text,
        keywords=frozenset(keywords(text)),
        asked=frozenset(stem(w.lower()) for w in words(text)),
        answer_type=answer_type,
        focus=focus,
        asks_subject=bool(_SUBJECT.match(low)),
    )


def _answer_type(low: str) -> tuple[AnswerType, str | None]:
    if re.search(r"\bhow (many|old|long|far|tall|fast|big|high|large|often)\b", low):
        return "number", None
    if re.search(r"\bhow much\b", low):
        money = any(w in _MONEY_WORDS for w in re.findall(r"[a-z]+", low))
        return ("money" if money else "number"), None
    if re.search(r"\bwhat (percentage|percent|share|proportion)\b", low):
        return "percent", None
    focus = _focus(low)
    if focus:
        for nouns, kind in _NOUN_TYPES:
            if focus in nouns:
                return kind, focus
    if re.search(r"^(when|in what year|by what year|since when)\b|\bwhen (did|was|is|will|"
                 r"were|does|do)\b", low):
        return "date", focus
    if re.search(r"^(who|whom|whose)\b|\b(who|whom) (is|was|are|were|did|does|has|had|will|"
                 r"won|became|said|replaced|leads|led|announced)\b|^name the (person|man|"
                 r"woman)\b", low):
        return "person", focus
    if re.search(r"^where\b|\bwhere (is|was|are|were|did|does|do|will|has|have)\b", low):
        return "place", focus
    return "thing", focus


def _focus(low: str) -> str | None:
    """The noun of "which/what/whose <adjective>* <noun>": the first of the next three words
    that is a known answer noun, else the word before an auxiliary verb."""
    m = re.search(r"\b(which|what|whose|name the)\s+(.*)", low)
    if not m:
        return None
    after = re.findall(r"[a-z][a-z-]*", m.group(2))[:3]
    for w in after:
        if w in _AUX:
            break
        single = w[:-1] if w.endswith("s") and w[:-1] in _ALL_NOUNS else w
        if single in _ALL_NOUNS:
            return single
    if after and after[0] not in _AUX:
        return after[0]
    return None


_NOUN_TYPES: tuple[tuple[frozenset[str], AnswerType], ...] = (
    (_PERSON_NOUNS, "person"),
    (_PLACE_NOUNS, "place"),
    (_ORG_NOUNS, "organisation"),
    (_DATE_NOUNS, "date"),
    (_MONEY_NOUNS, "money"),
    (_PERCENT_NOUNS, "percent"),
    (_NUMBER_NOUNS, "number"),
)
_ALL_NOUNS = frozenset().union(*(n for n, _ in _NOUN_TYPES))
