"""A question analysed once: its keywords, the words it already names, its kind (factoid,
explanation, yes/no: `assistant.question.kind`), the type of answer it asks for, whether
it asks for the quiz option that does not hold, and the words by which a follow-up leans
on the conversation. Every answering stage (retrieval of follow-ups, the quotes, the
reader, the quiz rule) receives this one frozen value instead of re-deriving any of it
from the text.

Answer types (`AnswerType`) follow the wh-word and, for "which/what <noun>" (also past
modifiers: "which wildly popular show"; "which of the following items"), the noun; a
question with no wh-word may name it as "this <noun>" ("This former prime minister was
..."):

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

from assistant.question.kind import QuestionKind, question_kind
from assistant.sentence import keywords, match_words, names, stem, words

AnswerType = Literal["person", "place", "date", "number", "money", "percent", "organisation",
                     "thing"]
# The kind of place a "which <noun>" question asks for (`assistant.reader.place` knows
# which names are which).
PlaceKind = Literal["city", "country", "state", "continent"]
_PLACE_FOCUS: dict[str, PlaceKind] = {
    **dict.fromkeys(("city", "town", "capital", "village", "metropolis"), "city"),
    "country": "country", "nation": "country", "state": "state", "continent": "continent"}

_PERSON_NOUNS = frozenset("""
person man woman men women people actor actress singer rapper musician star player athlete
leader president minister senator governor politician lawmaker judge justice ceo executive
founder chief official officer author writer director celebrity comedian host anchor
journalist reporter coach quarterback pitcher golfer boxer candidate king queen prince
princess pope monarch billionaire entrepreneur businessman scientist astronaut artist
rep representative congressman congresswoman spokesperson secretary chancellor mayor
general commander suspect victim defendant mp pm premier emperor expert analyst economist
spokesman spokeswoman historian professor researcher doctor lawyer attorney prosecutor
superstar designer member footballer cricketer dancer activist chef
heir successor predecessor nominee winner pianist guitarist drummer vocalist
""".split())
_PLACE_NOUNS = frozenset("""
country countries city cities state states nation nations town region continent island
province county place capital village territory border sea ocean river lake mountain
airport port neighborhood neighbourhood district area location desert valley park
beach coast peninsula strait gulf bay canal forest attraction landmark venue stadium
planet moon
""".split())
_ORG_NOUNS = frozenset("""
company companies organization organisation team party group agency firm network airline
club university college school bank brand band retailer league union channel newspaper
magazine court automaker carrier corporation business startup manufacturer chain
store restaurant studio publisher broadcaster outlet platform app service streamer
giant maker government department ministry militia regime coalition alliance institution
charity foundation committee council command house label
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
    rf"^(?:who|(?:which|what) {_NOT_AUX}[a-z-]+(?: {_NOT_AUX}[a-z-]+)?) {_NOT_AUX}[a-z]+\b"
)
AUXILIARIES = frozenset("""
is was are were be been being has have had do does did will would can could should may
might must shall
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
    # The entity label the focus names outright ("which film" -> WORK_OF_ART), if any.
    focus_label: str | None = None
    # Keywords after the asked-for phrase ("Which company [bought Activision]?"): in the
    # article they stand next to the answer, after it when the answer is the subject.
    after: frozenset[str] = frozenset()
    names: tuple[str, ...] = ()  # capitalised words, acronyms, numbers (`sentence.names`)
    # Keywords in the form quiz options are matched in (`sentence.match_words`: number
    # words as digits).
    match_words: frozenset[str] = frozenset()
    # False when the question is plainly in another language (`looks_english`): the
    # reader and the keyword matching understand English only, so an abstention says so.
    english: bool = True
    # Every word of the question, lower-cased as written (`sentence.words`): an answer
    # sentence naming anything else names something new (`extractive.novelty`).
    lower_words: frozenset[str] = frozenset()
    # Asks for the quiz option the articles do NOT support ("which of these is not ...",
    # "all of these except:"; `EXCLUSION`): `choice.pick_choice` takes the lowest score.
    exclusion: bool = False
    # Follow-up cues (`assistant.followup`): a word that points back at the conversation
    # ("there", "it", "they", "the group": `STRONG_REFERENCE`), one that does only when
    # the question names nothing ("this", "that", "then": `WEAK_REFERENCE`), and an
    # opening that continues the last question ("and ...", "what about ...").
    refers_back: bool = False
    weak_reference: bool = False
    continues: bool = False
    # What a good answer looks like (`assistant.question.kind`): one fact, stated as the
    # short answer, or an account or a yes or no, which lead with their quotes instead.
    kind: QuestionKind = "factoid"
    # Asks about a present state ("Who leads ...?", "Who is the chief executive ...?",
    # "... now?"): the newest holder of a role answers it (`assistant.reader.succession`).
    present: bool = False
    # "Which city / country / state / continent ...?": the kind of place that answers it.
    place_kind: PlaceKind | None = None
    # The stem of what "how many <noun>" counts ("astronaut"), so that a count of
    # something else ("184 people") is not its answer (`reader.kind`).
    counted: str | None = None


def analyse(text: str) -> Question:
    """Keywords, named words and answer type of `text` (see the module docstring)."""
    low = " ".join(text.lower().replace("’", "'").split())
    answer_type, focus = _answer_type(low)
    after = _after_asked(low, focus)
    return Question(
        text=text,
        keywords=frozenset(keywords(text)),
        # Also each part of a hyphenated word: spaCy reads "al-Jolani" as three tokens.
        asked=frozenset(stem(p) for w in words(text) for p in {w.lower(), *w.lower().split("-")}
                        if p),
        answer_type=answer_type,
        focus=focus,
        asks_subject=bool(_SUBJECT.match(low)),
        focus_label=FOCUS_LABELS.get(focus or ""),
        after=frozenset(keywords(after)) if after else frozenset(),
        names=tuple(names(text)),
        match_words=frozenset(match_words(text)),
        english=looks_english(text),
        lower_words=frozenset(w.lower() for w in words(text)),
        exclusion=EXCLUSION.search(text) is not None,
        refers_back=STRONG_REFERENCE.search(text) is not None,
        weak_reference=WEAK_REFERENCE.search(text) is not None,
        continues=CONTINUATION.search(text) is not None,
        kind=question_kind(text),
        present=PRESENT.search(low) is not None,
        place_kind=_PLACE_FOCUS.get(focus or ""),
        counted=_counted(low),
    )


# Quiz questions that ask which option does NOT hold. Kept narrow on purpose: "which ...
# said it is not going to ..." asks for a positive mention and must not match.
EXCLUSION = re.compile(
    r"\b(all|each|both) (of )?(these|the following)\b.*\bexcept\b"
    r"|\bexcept:?\s*$"
    r"|\bwhich (one |two )?(of )?(these|the following)\b[\w\s’']{0,40}?"
    r"\b(is|was|were|are|did|does|do|has|have|will)(n't| not)\b"
    r"|\bwhich (one |two )?(of )?(these|the following)\b[\w\s’']{0,40}?"
    r"\b(did|does|do) (he|she|they|it) not\b"
    r"|\bwhich [\w’'-]+( [\w’'-]+)? (is|was|did|does|has)(n't| not)\b"
    r"|\b(is|was|are)(n't| not) (one|part) of\b",
    re.IGNORECASE,
)
# A question about who holds a role now, or what stands now.
PRESENT = re.compile(
    r"^(?:who|which [\w-]+(?: [\w-]+)?) (?:is|are|leads|heads|runs|chairs|directs|"
    r"manages|governs|controls|owns|coaches|commands|holds|rules)\b"
    r"|\b(?:now|currently|current|at present|these days|nowadays|at the moment)\b")
# The words by which a follow-up leans on the conversation (`assistant.followup`, rule 1).
STRONG_REFERENCE = re.compile(
    r"\b(there|it|its|they|them|their|theirs|he|him|his|she|her|hers|the same|"
    r"the group|the country|the city|the region|the area|the organi[sz]ation|what else)\b",
    re.IGNORECASE,
)
WEAK_REFERENCE = re.compile(r"\b(this|that|these|those|such|then|more|else)\b", re.IGNORECASE)
CONTINUATION = re.compile(r"^\s*(and|but|also|so|what about|how about)\b", re.IGNORECASE)


# Function words that open or carry most questions; the foreign ones are not English
# words (or rarely are), so a question full of them is in another language.
_ENGLISH_WORDS = frozenset("""
the a an is are was were be been what who whom whose where when which why how did does do
of in on at to for with by from and or not has have had will would can could there their
this that these those it its about after before
""".split())
_FOREIGN_WORDS = frozenset("""
der das und ist sind wo wer wie warum wann nicht ein eine einen dem des im auf für über
welche welcher wurde wird hat haben nach bei
les est sont où qui quoi quand pourquoi comment une du au aux avec pour dans sur qu'est
quel quelle ont été
los las es son dónde donde quién quien qué cuándo cuántos cómo del con para está fue
chi dove quando perché sono gli della che
onde quem quando porque são foi não uma
waar wie wat waarom wanneer zijn het een niet
""".split())


def looks_english(text: str) -> bool:
    """Whether a question may be English: False only when most of its letters are not
    Latin (Cyrillic, Arabic, CJK ...) or its function words are plainly another
    language's ("Wo sind die verbleibenden IS-Zellen?"). Cheap: no model."""
    letters = [ch for ch in text if ch.isalpha()]
    if letters and sum(ord(ch) > 0x24F for ch in letters) > len(letters) / 2:
        return False
    tokens = re.findall(r"[^\W\d_]+(?:'[^\W\d_]+)?", text.lower())
    foreign = sum(t in _FOREIGN_WORDS for t in tokens)
    english = sum(t in _ENGLISH_WORDS for t in tokens)
    return not (foreign >= 2 and foreign >= 2 * english)


def as_question(question: str | Question) -> Question:
    """`question` analysed, unless it already is."""
    return question if isinstance(question, Question) else analyse(question)


def _answer_type(low: str) -> tuple[AnswerType, str | None]:
    if re.search(r"\bhow (many|old|long|far|tall|fast|big|high|large|often)\b", low):
        return "number", None
    if re.search(r"\bhow much\b", low):
        money = any(w in _MONEY_WORDS for w in re.findall(r"[a-z]+", low))
        return ("money" if money else "number"), None
    if re.search(r"\bwhat (percentage|percent|share|proportion)\b", low):
        return "percent", None
    if re.search(r"\bwhat (is|was|are|were) (her|his|their) (full |real |first )?names?\b",
                 low):
        return "person", None  # "The GOP's most outspoken critic ... What is her name?"
    focus = _focus(low)
    if focus:
        for nouns, kind in _NOUN_TYPES:
            if focus in nouns:
                return kind, focus
    if re.search(r"^(when|in what year|by what year|since when)\b|\bwhen (did|was|is|will|"
                 r"were|does|do)\b", low):
        return "date", focus
    # "Who ..." opening the question or its last sentence ("... the Supreme Court. Whose
    # seat is she filling?").
    if re.search(r"(?:^|[.?!:]\s+)(who|whom|whose)\b|\b(who|whom) (is|was|are|were|did|"
                 r"does|has|had|will|won|became|said|replaced|leads|led|announced)\b|"
                 r"^name the (person|man|woman)\b", low):
        return "person", focus
    if re.search(r"^where\b|\bwhere (is|was|are|were|did|does|do|will|has|have)\b", low):
        return "place", focus
    return "thing", focus


# Words between "which/what/this" and the noun that carry no type ("which wildly popular
# show", "this former Japanese prime minister").
_MODIFIERS = frozenset("""
popular new former famous legendary major iconic prestigious wildly high-ranking top
biggest largest first last second third next other same well-known beloved renowned
controversial historic massive huge tiny small big little young old veteran late current
fellow rival luxury global local national international foreign british american english
us uk european african asian russian chinese ukrainian french german japanese indian
australian canadian one two three several such very most highly newly recently
""".split())
_WH = re.compile(r"\b(which|what|whose|name the)\s+(.*)")
# "This former Japanese prime minister was assassinated ..." asks for a person too.
_THIS = re.compile(r"\b(?:this|these)\s+(.*)")
_TIME_NOUNS = frozenset("week year month day weekend season summer winter spring autumn fall "
                        "time morning evening night decade century".split())
# "which of the following items", "which one of these teams": the noun comes later.
_KIND_OF = re.compile(r"^(?:kind|type|sort|form|brand) of\s+")
_PHRASE_END = frozenset("this that these those the a an in on at for to from by with of as "
                        "who which whose".split())
_PARTITIVE = re.compile(r"^(?:one |two )?of (?:the following|these|those|the)\s+")


def _focus(low: str) -> str | None:
    """The noun of "which/what/whose/this <modifier>* <noun>": the first of the next four
    words that is a known answer noun, else the first that is not a modifier or an
    auxiliary verb. "This <noun>" counts only in a question with no wh-word."""
    m = _WH.search(low)
    if m is None and not re.search(r"\b(who|whom|where|when|how)\b", low):
        for m in _THIS.finditer(low):
            words_ = re.findall(r"[a-z][a-z-]*", m.group(1))[:4]
            if not words_ or words_[0] in _TIME_NOUNS:
                continue  # "this week" asks for nothing
            known = [w for w in words_ if _singular(w) in _KNOWN_NOUNS]
            if known:
                return _singular(known[0])
        return None
    if m is None:
        return None
    text = _KIND_OF.sub("", _PARTITIVE.sub("", m.group(m.lastindex or 1)))
    after = []
    for w in re.findall(r"[a-z][a-z-]*", text)[:4]:
        if w in AUXILIARIES or w in _PHRASE_END:
            break
        after.append(w)
    for w in after:
        if _singular(w) in _KNOWN_NOUNS:
            return _singular(w)
    rest = [w for w in after if w not in _MODIFIERS]
    if not rest:
        return None
    # "which menu item did ..." -> "item": the noun just before the verb; with no verb in
    # sight the phrase may run on ("which US tourist attraction announced"): the first.
    return _singular(rest[-1]) if len(after) < 4 else rest[0]


def _counted(low: str) -> str | None:
    """The stem of the noun "how many" counts: its last word before the verb ("how many
    NASA astronauts flew" -> "astronaut"); None for "how many died", "how many times"."""
    m = re.search(r"\bhow many ([a-z][a-z' -]*)", low)
    if m is None:
        return None
    nouns = []
    for w in m.group(1).split()[:4]:
        if w in AUXILIARIES or w in _PHRASE_END or w in _COUNT_VERBS or w in ("and", "or"):
            break
        nouns.append(w)
        if not w.isalpha():  # "members," ends the phrase ("members, ministers and aides")
            nouns[-1] = w.strip(",;:")
            break
    if not nouns or nouns[-1] in ("times", "more", "of", "people's"):
        return None
    return stem(nouns[-1])


# Words that end the counted noun phrase when no auxiliary does ("how many people died").
_COUNT_VERBS = frozenset("""died flew remain remained live lived work worked attended voted
were killed injured arrived left joined signed""".split())


def _singular(word: str) -> str:
    if word.endswith("ies") and word[:-3] + "y" in _KNOWN_NOUNS:
        return word[:-3] + "y"
    return word[:-1] if word.endswith("s") and word[:-1] in _KNOWN_NOUNS else word


def _after_asked(low: str, focus: str | None) -> str:
    """The question's words after the asked-for phrase ("which company" + "bought ...")."""
    m = _WH.search(low) or re.search(r"\b(who|whom|where|when)\s+(.*)", low)
    if m is None:
        return ""
    rest = m.group(m.lastindex or 1).split()
    for i, w in enumerate(rest[:6]):  # skip the phrase itself, up to its noun
        if focus and _singular(re.sub(r"[^a-z-]", "", w)) == focus:
            return " ".join(rest[i + 1:])
    return " ".join(rest)


# "which/what/this <focus>" nouns that name an entity label outright.
FOCUS_LABELS: dict[str, str] = {
    **dict.fromkeys("language tongue".split(), "LANGUAGE"),
    **dict.fromkeys("nationality religion ethnicity".split(), "NORP"),
    **dict.fromkeys("event festival tournament championship war storm hurricane".split(),
                    "EVENT"),
    **dict.fromkeys("film movie show series book song album novel play documentary "
                    "painting game podcast sitcom drama musical opera".split(), "WORK_OF_ART"),
    **dict.fromkeys("product device phone car vehicle plane aircraft jet bomber vaccine "
                    "drug weapon missile model brand ship medication".split(), "PRODUCT"),
    **dict.fromkeys("law bill act treaty agreement legislation measure".split(), "LAW"),
    # Places that are no country, city or state: "which desert" is answered by a named
    # desert ("the Badia desert"), not by the country it lies in. (Not islands: spaCy
    # tags most as GPE, and "which island nation" asks for a country.)
    **dict.fromkeys("desert valley sea ocean river lake mountain strait gulf bay canal "
                    "forest beach coast".split(), "LOC"),
}

_NOUN_TYPES: tuple[tuple[frozenset[str], AnswerType], ...] = (
    (_PERSON_NOUNS, "person"),
    (_PLACE_NOUNS, "place"),
    (_ORG_NOUNS, "organisation"),
    (_DATE_NOUNS, "date"),
    (_MONEY_NOUNS, "money"),
    (_PERCENT_NOUNS, "percent"),
    (_NUMBER_NOUNS, "number"),
)
# Every noun `_focus` recognises: those that set a type, and those that name a label.
_KNOWN_NOUNS = frozenset().union(*(n for n, _ in _NOUN_TYPES), FOCUS_LABELS)
