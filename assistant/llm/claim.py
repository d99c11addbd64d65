"""Whether an LLM's claim says what the text it cites says, by words alone
(`assistant.llm.verify` applies these checks to each answer sentence and its citations).

A claim is supported by the texts its citation shows (the quotes, and their articles'
titles and dates) when:
* every name it states (capitalised word, acronym, number, and its first word unless
  that is a stopword) is in those texts or the question (`missing_names`);
* it negates nothing they affirm and affirms nothing they negate, swaps no word for its
  opposite, no value and no two names' roles (`assistant.llm.consistency`), adds no
  clause they do not say, and most of its own content words are in them, as written or
  as close words (`assistant.llm.wording`; `contradiction`);
* it states something: a sentence of bare sentence ids is no sentence (the cited
  sentences speak for themselves, `claim_text`), a bare date or number is no claim
  (`states_no_claim`).
Accents are ignored when names are compared ("Beyonce" names "Beyoncé").
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Sequence

from assistant.llm.consistency import conflict, negation_count
from assistant.llm.wording import Meaning, added_run, off_topic, unsaid
from assistant.sentence import (
    STOPWORDS,
    keywords,
    names,
    normalize,
    normalize_numbers,
    words,
)

MARKERS = re.compile(r"\(\s*\d{1,2}\s*\.\s*\d{1,3}\s*\)|\[\s*\d{1,2}(?:\s*\.\s*\d{1,3})?\s*\]")
_BARE_IDS = re.compile(r"(?:\d{1,2}\.\d{1,3}[\s,;]*)+")
_LETTER_WORDS = re.compile(r"[^\W\d_]{2,}")


def claim_text(text: str) -> str:
    """The claim without citation markers; "" when it is nothing but sentence ids ("2.1,"):
    the sentences cited are then the claim, as when no sentence was written."""
    text = " ".join(MARKERS.sub(" ", text).split())
    return "" if _BARE_IDS.fullmatch(text) else text


def states_no_claim(text: str) -> bool:
    """Whether a written sentence is only a date or number ("2022-06-29", copied from a
    passage heading): no claim, whatever it cites."""
    return len(re.findall(r"\w+", text)) >= 2 and len(_LETTER_WORDS.findall(text)) < 2


def unaccented(text: str) -> str:
    """`normalize` without accents: "Beyonce" names what the article spells "Beyoncé"."""
    return "".join(ch for ch in unicodedata.normalize("NFKD", normalize(text))
                   if not unicodedata.combining(ch))


def claim_names(sentence: str) -> list[str]:
    """The names a sentence states. Its first word counts too unless it is a stopword or
    reads as an adverb or a participle ("Shortly", "Following"): a sentence-initial
    capital hides a name as often as not ("Kurilla said ..."), and a common word found in
    the cited text passes anyway."""
    found = names("x " + sentence)
    first = words(sentence)[:1]
    if found and first and found[0] == first[0] and first[0].endswith(("ly", "ing")):
        found = found[1:]
    return [n for n in found if len(n) >= 2 and n.lower() not in STOPWORDS]


def own_words(sentence: str, question: str) -> set[str]:
    """The sentence's content words that the question does not supply."""
    return set(keywords(sentence)) - set(keywords(question))


_DIGITS = re.compile(r"(?<![\w.,])\d+(?:[,.]\d+)*")


def numbers(text: str) -> set[str]:
    """The numbers a text states, as digits without separators ("9,000" -> "9000",
    "five" -> "5")."""
    spelled = normalize_numbers(text).split()
    out = {w for w in spelled if w.isdigit()}
    out.update(m.group(0).replace(",", "") for m in _DIGITS.finditer(text))
    return out


def missing_names(sentence: str, texts: Sequence[str], question: str) -> list[str]:
    """Names in `sentence` that neither `texts` nor the question contain; numbers are
    compared as numbers ("9,000" is not "57,000"; "five" is "5")."""
    pool = " " + unaccented(" ".join([*texts, question])) + " "
    missing = []
    for name in claim_names(sentence):
        # "NATO's" names NATO.
        key = unaccented(name[:-2] if name.endswith(("'s", "’s")) else name)
        if key.replace(" ", "").isdigit():
            continue  # compared below, as numbers
        if key and f" {key} " not in pool and not (key.isalpha() and f" {key}" in pool):
            missing.append(name)
    stated = numbers(" ".join([*texts, question]))
    missing.extend(sorted(n for n in numbers(sentence) - stated))
    return missing


def contradiction(sentence: str, texts: Sequence[str], question: str,
                  meaning: Meaning | None = None) -> str | None:
    """Why a sentence's claim is not what `texts` say, or None: a negation they lack
    ("IS did not attack ..." citing "IS attacked ..."), a word in the opposite polarity,
    its opposite, a value or two names' roles exchanged (`consistency.conflict`), a
    clause they do not say, or mostly words they do not say (a claim about something
    else). With `meaning`, a close word counts as said (`assistant.llm.wording`)."""
    cited = " ".join(texts)
    if negation_count(sentence) > negation_count(cited + " " + question):
        return "its sentence negates what its quotes say"
    if why := conflict(sentence, cited):
        return why
    absent = unsaid(sentence, cited + " " + question, meaning.embed if meaning else None)
    if added := added_run(sentence, absent):
        return f"its sentence adds what its quotes do not say ({' '.join(added)})"
    if missing := off_topic(sentence, question, absent):
        return (f"most of its sentence's words ({', '.join(missing[:3])}) "
                "are not in what it cites")
    return None


def shares_words(sentence: str, text: str, question: str) -> bool | None:
    """Whether `text` shares any of the sentence's own content words or names; None when
    the sentence has none of its own (it only restates the question)."""
    own = own_words(sentence, question) | {unaccented(n) for n in claim_names(sentence)}
    if not own:
        return None
    return bool(own & (set(keywords(text)) | set(unaccented(text).split())))

