"""Sentences with their character offsets, and the keywords used to match them."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterator

# A sentence ends at . ! ? (optionally followed by a closing quote or bracket) before
# whitespace and an opening capital, digit or quote; a blank line (paragraph break) always
# ends one. A single newline does not: hard-wrapped text breaks lines mid-sentence.
_BOUNDARY = re.compile(
    r"(?:(?<=[.!?])|(?<=[.!?][\"'”’)\]]))\s+(?=[\"“‘(\[]?[A-Z0-9])|\n[ \t]*\n\s*"
)
_WORD = re.compile(r"[^\W_][^\W_'’\-]*(?:['’\-][^\W_]+)*")
STOPWORDS = frozenset(
    """
    a about above after again against all also am an and any are as at be because been
    before being below between both but by can could did do does doing down during each
    few for from further had has have having he her here hers herself him himself his
    how i if in into is it its itself just me more most my myself no nor not now of off
    on once only or other our ours ourselves out over own same she should so some such
    than that the their theirs them themselves then there these they this those through
    to too under until up very was we were what when where which while who whom why will
    with would you your yours yourself yourselves said says say according one two new
    many much us may might must shall still last first week year years recently
    """.split()
)


# Words whose period rarely ends a sentence: titles before names ("Gov. Ron DeSantis"),
# months and "No." before numbers ("Jan. 6"), "v."/"St."/"Inc.", AP state abbreviations.
_ABBREVIATIONS = frozenset(
    """
    mr mrs ms dr gov govs sen sens rep reps lt gen gens col capt sgt maj adm cmdr cpl pvt
    prof rev supt det insp atty pres sr jr st mt ft ave blvd rd dept univ assn bros
    no nos vol fig jan feb mar apr jun jul aug sep sept oct nov dec
    v vs etc inc corp co ltd approx est
    ala ariz ark calif colo conn del fla ga ill ind kan ky la md mass mich minn miss mo
    mont neb nev okla ore pa tenn tex va vt wash wis wyo
    """.split()
)
# Dotted acronyms ("U.S.", "D.C.", "p.m.") and initials ("George W. Bush").
_DOTTED = re.compile(r"(?:[A-Za-z]\.){2,}|[A-Z]\.")
# After an abbreviation, a sentence is taken to end only when one of these words follows:
# "in the U.S. The ..." ends one, "the U.S. Supreme Court" and "Lt. Nyota Uhura" do not.
_STARTERS = frozenset(
    """
    the a an it its he she they we i you in on at for but and or so if as after before
    when while with this that these those there here his her their our my your some many
    most one two no not now then yet still also however meanwhile according since during
    what who why how where by from to of
    """.split()
)
_BLANK_LINE = re.compile(r"\n[ \t]*\n")
_LAST_WORD = re.compile(r"[\w.]+$")
_FIRST_WORD = re.compile(r"[\"“‘(\[]?([\w']+)")


def split_sentences(text: str) -> Iterator[tuple[int, int]]:
    """(start, end) of each sentence in `text`, whitespace trimmed. A period after an
    abbreviation ("Gov.", "Jan.", "U.S.", an initial) ends a sentence only when a word
    that usually opens one follows it."""
    pos = 0
    for m in _BOUNDARY.finditer(text):
        if m.start() > 0 and text[m.start() - 1] == "." and _abbreviated(text, m):
            continue
        yield from _trimmed(text, pos, m.start())
        pos = m.end()
    yield from _trimmed(text, pos, len(text))


def _abbreviated(text: str, m: re.Match[str]) -> bool:
    """Whether the boundary `m` (after a period) follows an abbreviation and continues."""
    if _BLANK_LINE.search(m.group()):
        return False  # a blank line ends the sentence whatever precedes it
    last = _LAST_WORD.search(text, max(0, m.start() - 16), m.start())
    if last is None:
        return False
    word = last.group()
    if not (word[:-1].lower() in _ABBREVIATIONS or _DOTTED.fullmatch(word)):
        return False
    first = _FIRST_WORD.match(text, m.end())
    return first is None or first.group(1).lower() not in _STARTERS


def _trimmed(text: str, start: int, end: int) -> Iterator[tuple[int, int]]:
    while start < end and text[start].isspace():
        start += 1
    while end > start and text[end - 1].isspace():
        end -= 1
    if end > start:
        yield start, end


def keywords(text: str) -> set[str]:
    """Content words, lower-cased and crudely stemmed. All-caps acronyms such as 'IS' or
    'US' are kept even when they spell a stopword."""
    out = set()
    for w in _WORD.findall(text):
        if len(w) >= 2 and w.isupper():
            out.add(w.lower() + "#")
            continue
        lw = w.lower().replace("’", "'")
        if lw.endswith("'s"):
            lw = lw[:-2]
        if lw in STOPWORDS or len(lw) < 2:
            continue
        out.add(stem(lw))
    return out


def words(text: str) -> list[str]:
    """The words of the text (letters, digits, inner apostrophes and hyphens)."""
    return _WORD.findall(text)


def names(text: str) -> list[str]:
    """Words that name something: acronyms (IS, HTS), numbers, and capitalised words other
    than the first word of the text."""
    out = []
    for i, w in enumerate(words(text)):
        if (len(w) >= 2 and w.isupper()) or w[0].isdigit() or (i > 0 and w[0].isupper()):
            out.append(w)
    return out


def stem(word: str) -> str:
    """Tiny suffix stripper: enough to match 'cells'/'cell', 'attacks'/'attacked'."""
    for suffix in ("ing", "ed", "es", "s"):
        if word.endswith(suffix) and len(word) - len(suffix) >= 3:
            return word[: -len(suffix)]
    return word


# Unicode punctuation that NFKC leaves alone but quiz answers and articles mix freely.
_CHAR_MAP = str.maketrans({
    "\u2018": "'", "\u2019": "'", "\u201a": "'", "\u201b": "'", "\u2032": "'", "\u0060": "'",
    "\u00b4": "'", "\u02bc": "'",
    "\u201c": '"', "\u201d": '"', "\u201e": '"', "\u201f": '"', "\u2033": '"',
    "\u00ab": '"', "\u00bb": '"', "\u2039": '"', "\u203a": '"',
    "\u2010": "-", "\u2011": "-", "\u2012": "-", "\u2013": "-", "\u2014": "-", "\u2015": "-",
    "\u2212": "-", "\u00ad": "",
    "\u2026": "...", "\u00a0": " ",
})
_ARTICLES = frozenset({"a", "an", "the"})


def normalize(text: str) -> str:
    """Comparable form of a string:

    1. Unicode NFKC, then curly quotes, primes, guillemets and every dash mapped to
       ASCII ' " -;
    2. lower case;
    3. apostrophes and periods deleted ("Denmark's" -> "denmarks", "U.S." -> "us");
    4. every other punctuation or symbol character (Unicode categories P* and S*) becomes
       a space ("Al-Nusra" -> "al nusra", "“Squid Game”" -> "squid game");
    5. the articles a / an / the dropped as words;
    6. whitespace collapsed to single spaces, ends trimmed.
    """
    text = unicodedata.normalize("NFKC", text).translate(_CHAR_MAP).lower()
    # Steps 3-4 by table for ASCII (most of a news text), by category for the rest.
    text = text.translate(_ASCII_PUNCT)
    if not text.isascii():
        text = _NON_ASCII.sub(_non_ascii, text)
    return " ".join(w for w in text.split() if w not in _ARTICLES)


def _punct_or_space(ch: str) -> bool:
    return unicodedata.category(ch)[0] in "PSZC"


_ASCII_PUNCT = {i: (None if chr(i) in "'." else " ") for i in range(128)
                if _punct_or_space(chr(i))}
_NON_ASCII = re.compile(r"[^\x00-\x7f]")


def _non_ascii(m: re.Match[str]) -> str:
    return " " if _punct_or_space(m.group()) else m.group()


_NUMBER_WORDS = {w: str(i) for i, w in enumerate(
    "zero one two three four five six seven eight nine ten eleven twelve thirteen fourteen "
    "fifteen sixteen seventeen eighteen nineteen twenty".split())}


def normalize_numbers(text: str) -> str:
    """`normalize`, with number words as digits ("three months" -> "3 months")."""
    return " ".join(_NUMBER_WORDS.get(w, w) for w in normalize(text).split())


def match_words(text: str) -> set[str]:
    """Stemmed content words of `normalize_numbers(text)` (numbers kept, stopwords
    dropped): what quiz options are matched by (`assistant.choice`)."""
    out = set()
    for w in normalize_numbers(text).split():
        if w.isdigit() or (len(w) >= 2 and w not in STOPWORDS):
            out.add(stem(w))
    return out
