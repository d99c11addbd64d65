"""Whether an answer text is of the kind a question asks for (issue 31, point 2, in part).

`fits` is lenient: not only the question's own words, a digit or number word for "how
many", a capitalised name for who / where / which organisation (an LLM's short answer
must pass it to stand, `assistant.llm.short`). `of_kind` is strict, for the kinds a unit,
a calendar word or the gazetteer settles: money has a currency ("how much did the tram
line cost?" is never answered "7.5", a length), a percentage a "%" or "percent", a date a
month, weekday, year or written date ("When was he arrested?" is not answered by a
dateline, "LONDON - British police"), a city, country, US state or continent is what the
gazetteer calls it ("Which city ...?" is not answered "California"). `kind_first` puts
the reader's likeliest answer of the right kind first when its top answer is of the wrong
one, each keeping its own belief, so the confidence knows the kind was wanting. For "how
many <noun>", `counts_asked` reads the words after the number: "How many astronauts flew
on Artemis II?" is not answered by "184" when it counts people and "four astronauts"
stands in the passages. `with_unit` shows a sum of money or a percentage with the unit its
sentence writes beside the number ("$5", "78%").
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import replace

from assistant.question import Question
from assistant.reader.place import place_kinds
from assistant.reader.reading import Span, Window
from assistant.sentence import stem, words

_MONTHS = ("january february march april may june july august september october november "
           "december jan feb mar apr jun jul aug sep sept oct nov dec monday tuesday "
           "wednesday thursday friday saturday sunday today yesterday tomorrow tonight week "
           "weekend month year decade century spring summer autumn fall winter morning "
           "evening night").split()
_NUMBER_WORDS = ("one two three four five six seven eight nine ten eleven twelve dozen "
                 "dozens twenty thirty forty fifty sixty seventy eighty ninety hundred "
                 "hundreds thousand thousands million millions billion billions half").split()
_MONEY = re.compile(r"[$€£¥₹]|\b(dollars?|euros?|pounds?|yen|yuan|rupees?|francs?|cents?|"
                    r"pence|usd|eur|gbp)\b", re.IGNORECASE)


def fits(question: Question, text: str) -> bool:
    """Whether `text` can answer `question` as its type asks: not only the question's own
    words, a date for "when", a number for "how many", money for "how much ... cost",
    a name (a capitalised word) for who / where / which organisation."""
    said = [w for w in words(text) if w.isalnum()]
    if not said or all(stem(w.lower()) in question.asked for w in said):
        return False
    low = [w.lower() for w in said]
    digit = any(ch.isdigit() for ch in text)
    kind = question.answer_type
    if kind == "date":
        return digit or any(w in _MONTHS for w in low)
    if kind == "number":
        return digit or any(w in _NUMBER_WORDS for w in low)
    if kind == "money":
        return bool(_MONEY.search(text)) or digit or any(w in _NUMBER_WORDS for w in low)
    if kind == "percent":
        return digit or "percent" in low or "%" in text
    if kind in ("person", "place", "organisation"):
        return any(w[:1].isupper() for w in said)
    return True


# A month's name, whole or shortened ("Feb", "Sept"), as a regex without its boundaries.
MONTH_NAME = (r"jan(?:uary)?|feb(?:ruary)?|mar(?:ch)?|apr(?:il)?|may|june?|july?|aug(?:ust)?|"
              r"sep(?:t(?:ember)?)?|oct(?:ober)?|nov(?:ember)?|dec(?:ember)?")
_CALENDAR = re.compile(
    rf"\b(?:{MONTH_NAME}|monday|tuesday|wednesday|"
    r"thursday|friday|saturday|sunday|today|yesterday|tomorrow|tonight|spring|summer|"
    r"autumn|winter)\b|\b(?:1[5-9]|20)\d\d\b|\b\d{1,2}[/.-]\d{1,2}[/.-]\d{2,4}\b|"
    r"\b\d{1,2}(?:st|nd|rd|th)\b", re.IGNORECASE)
_PERCENT = re.compile(r"%|\bper ?cent\b|\bpercentage points?\b", re.IGNORECASE)


def of_kind(question: Question, text: str) -> bool | None:
    """Whether `text` is of the kind the question asks for, where a unit or a calendar
    word settles it (money, percent, date) or the gazetteer knows the place ("Which
    city ...?" is not answered by a state: `assistant.reader.place`); None otherwise."""
    if question.place_kind is not None:
        kinds = place_kinds(text)
        return question.place_kind in kinds if kinds else None
    kind = question.answer_type
    if kind == "money":
        return bool(_MONEY.search(text))
    if kind == "percent":
        return bool(_PERCENT.search(text))
    if kind == "date":
        return bool(_CALENDAR.search(text))
    return None


_UNITS = frozenset(stem(w) for w in """year month week day hour minute second percent km
kilometer kilometre mile meter metre foot feet inch pound kilogram kg ton tonne degree mph
acre dollar euro cent people person time point vote seat""".split())
_SCALES = frozenset("hundred hundreds thousand thousands million millions billion billions "
                    "dozen dozens".split())


def counts_asked(question: Question, answer: Span, windows: Sequence[Window]) -> bool | None:
    """For "how many <noun>": whether the number counts that noun ("four astronauts",
    "four NASA astronauts": True) or a unit or people ("184 people", "10 days": False,
    when the question does not count those); None when no word after it says ("18 were
    killed"), or another noun does: "2.5 million residences and businesses" may well be
    the customers asked for (reading every plural noun as another count cost one right
    rtqa-2022 and one right rtqa-2023 answer and gained none)."""
    if question.counted is None or not fits(question, answer.text):
        return None
    said = [stem(w.lower()) for w in words(answer.text)]
    if question.counted in said:
        return True
    w = windows[answer.window]
    after = [x for x in words(w.text[answer.end - w.start:][:80]) if x.isalpha()]
    after = [x for x in after if x.lower() not in _SCALES][:3]
    stems = [stem(x.lower()) for x in after]
    if question.counted in stems:
        return True
    if stems and stems[0] in _UNITS:
        return False  # "10 days", "184 people": counts of something else
    return None


def _as_written(answer: Span, windows: Sequence[Window]) -> str:
    """The answer with the characters right around it in its window: a currency sign or a
    "%" the mention left out ("$" + "12,600,000")."""
    w = windows[answer.window]
    at = answer.start - w.start
    return w.text[max(0, at - 1):answer.end - w.start + 1]


_CURRENCY_SIGN = frozenset("$€£¥₹")
# What may follow an amount as part of it: a scale, then a currency's name; or a percent.
_MONEY_AFTER = re.compile(r"(?:\s(?:million|billion|trillion|bn)\b)?(?:\s(?:dollars?|euros?|"
                          r"pounds?|yen|yuan|rupees?|francs?))?", re.IGNORECASE)
_PERCENT_AFTER = re.compile(r"\s?%|\s(?:percent|per cent|percentage points?)\b", re.IGNORECASE)


def with_unit(question: Question, answer: Span, windows: Sequence[Window]) -> Span:
    """The answer with the unit its window writes right around it, when the question asks
    for money or a percentage and the mention left the unit out: "$" + "5" is shown "$5",
    "100" of "100 billion dollars" "100 billion dollars", "78" of "78 percent" "78
    percent". Still a verbatim slice of the window. Counts keep their bare number: the
    unit is in the question ("how many days"), and on the training years' answers adding
    it lost more exact matches than it gained."""
    kind = question.answer_type
    if kind not in ("money", "percent") or not any(ch.isdigit() for ch in answer.text):
        return answer
    w = windows[answer.window]
    at, end = answer.start - w.start, answer.end - w.start
    if kind == "percent":
        if _PERCENT.search(answer.text):
            return answer
        m = _PERCENT_AFTER.match(w.text, end)
        if m is None:
            return answer
        end = m.end()
    else:
        if at > 0 and w.text[at - 1] in _CURRENCY_SIGN and answer.text[:1] not in _CURRENCY_SIGN:
            at -= 1
        # Only a scale or a currency's name right after the number matches, so an answer
        # that already ends with one takes nothing more.
        m = _MONEY_AFTER.match(w.text, end)
        if m is not None:
            end = m.end()
    if (at, end) == (answer.start - w.start, answer.end - w.start):
        return answer
    return replace(answer, start=w.start + at, end=w.start + end, text=w.text[at:end])


def kind_first(question: Question, answers: Sequence[Span], windows: Sequence[Window],
               least: float) -> list[Span]:
    """`answers` (most belief first), with the first one of the right kind that has at
    least `least` belief moved first when the top answer is of the wrong kind (read as
    written in its window)."""
    def judged(a: Span) -> bool | None:
        if question.counted is not None:
            return counts_asked(question, a, windows)
        return of_kind(question, _as_written(a, windows))

    if len(answers) < 2 or judged(answers[0]) is not False:
        return list(answers)
    for i, a in enumerate(answers[1:], start=1):
        if a.belief < least:
            break
        if judged(a):
            return [a, *answers[:i], *answers[i + 1:]]
    return list(answers)
