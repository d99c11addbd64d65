"""Whether sources agree or differ on a short answer (issue 32, point 4).

* `sources`: the independent sources whose retrieved passages state the short answer.
  Passages of one story (`index.story`: a reprint, a page under two URLs) count once, under
  the outlet of their earliest copy; an outlet is its source name, else its site.
* `differ`: the articles disagree, or report a moving fact at two moments, when the
  reader's next answer is another value of what the question asks, believed nearly as
  much (`DIFFER_BELIEF` of the answer's belief), stated by an outlet that does not state
  the answer (and the answer by one that does not state it). The answer then says so,
  each value with its outlets and date, newest first, instead of hedging blindly
  ("Sources differ: 18 (AP, 2024-04-24) [1] · 17 (Reuters, 2024-04-23) [2]").

"Another value of what the question asks", from the ten cases rtqa-2022 flagged without
these checks (four were two values of one quantity, six the reader confusing two facts):
the question asks for a number, an amount, a percentage or a person; both values are of
that kind (a "%" for a percentage, a currency for money); two numbers are within a factor
`MAX_RATIO` of each other, in the same unit ("2 million acres" is not "2.7 million"
customers); and the two articles are at most `MAX_DAYS` apart (a 2020 article's "Person of
the Year" is another year's).

Nothing here changes which answer is given, or its confidence.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import replace
from datetime import date
from urllib.parse import urlsplit

from assistant.answer import Answer, ShortAnswer, Stance
from assistant.question import Question
from assistant.reader.kind import fits, of_kind
from assistant.reader.variant import person_like
from index.retrieve import Passage

DIFFER_BELIEF = 0.5  # the alternative's belief, as a share of the answer's
MAX_RATIO = 2.0
MAX_DAYS = 90
_VALUE = re.compile(r"(\d[\d,]*(?:\.\d+)?)\s*(thousand|million|billion|trillion)?",
                    re.IGNORECASE)
_SCALE = {"thousand": 1e3, "million": 1e6, "billion": 1e9, "trillion": 1e12}
_NOT_UNITS = frozenset("""about around nearly almost roughly approximately at least more
than over under some percent per cent % than""".split())


def outlet(p: Passage) -> str:
    """Who published a passage: its source, else its site, else its article."""
    if p.source:
        return p.source
    host = urlsplit(p.url).hostname if p.url else None
    return (host[4:] if host and host.startswith("www.") else host) or p.title or p.article_id


def stating(text: str, passages: Sequence[Passage]) -> list[str]:
    """The independent outlets whose passages state `text`, earliest story first: one per
    story (its earliest copy's outlet), each outlet once."""
    wanted = " ".join(text.split()).casefold()
    stories: dict[str, Passage] = {}
    for p in passages:
        if wanted and wanted in " ".join(p.text.split()).casefold():
            first = stories.get(p.group)
            if first is None or (p.date or date.max) < (first.date or date.max):
                stories[p.group] = p
    ordered = sorted(stories.values(), key=lambda p: (p.date or date.max, p.article_id))
    return list(dict.fromkeys(outlet(p) for p in ordered))


def value(text: str) -> tuple[float, frozenset[str]] | None:
    """The number in `text` and its unit words ("2 million acres" -> 2e6, {"acres"});
    None without a number in digits."""
    m = _VALUE.search(text)
    if m is None:
        return None
    number = float(m.group(1).replace(",", "")) * _SCALE.get((m.group(2) or "").lower(), 1)
    rest = (text[:m.start()] + " " + text[m.end():]).lower()
    units = frozenset(w for w in re.findall(r"[a-z]+", rest) if w not in _NOT_UNITS)
    return number, units


def comparable(question: Question, a: str, b: str) -> bool:
    """Whether `a` and `b` are two values of what `question` asks (see the module doc)."""
    asked = question.answer_type
    if asked not in ("number", "money", "percent", "person"):
        return False
    if not (fits(question, a) and fits(question, b)):
        return False
    if of_kind(question, a) is False or of_kind(question, b) is False:
        return False
    if asked == "person":
        return person_like(a) and person_like(b)
    va, vb = value(a), value(b)
    if va is None or vb is None or va[1] != vb[1] or min(va[0], vb[0]) <= 0:
        return False
    return max(va[0], vb[0]) / min(va[0], vb[0]) <= MAX_RATIO


def agreement(answer: Answer, question: Question) -> Answer:
    """`answer` with its short answer's sources and, when they differ, `differ`."""
    short = answer.short_answer
    if short is None or answer.abstained:
        return answer
    passages = list(answer.retrieved)
    named = stating(short.text, passages)
    short = replace(short, sources=tuple(named))
    answer = replace(answer, short_answer=short)
    cited = {c.n: c.date for c in answer.citations}
    rival = _rival(question, short, answer.alternatives, passages, cited)
    if rival is None:
        return answer
    mine, alt, theirs = rival
    stances = [Stance(text=span.text, n=span.n, sources=names[:3], date=cited.get(span.n))
               for span, names in ((short, mine), (alt, theirs))]
    stances.sort(key=lambda s: (s.date or date.min), reverse=True)
    return replace(answer, differ=tuple(stances))


def _rival(question: Question, short: ShortAnswer, alternatives: Sequence[ShortAnswer],
           passages: Sequence[Passage], dates: dict[int, date | None]
           ) -> tuple[tuple[str, ...], ShortAnswer, tuple[str, ...]] | None:
    """(the answer's own outlets, the alternative, its own outlets) when the sources
    differ: each value is stated by an outlet that does not state the other (one article
    giving two numbers is not two sources differing). None when they do not."""
    if short.belief is None:
        return None
    outlets = stating(short.text, passages)
    for alt in alternatives:
        if alt.belief is None or alt.belief < DIFFER_BELIEF * short.belief:
            continue
        if not comparable(question, short.text, alt.text):
            continue
        first, second = dates.get(short.n), dates.get(alt.n)
        if first and second and abs((first - second).days) > MAX_DAYS:
            continue
        theirs = stating(alt.text, passages)
        only_mine = tuple(o for o in outlets if o not in theirs)
        only_theirs = tuple(o for o in theirs if o not in outlets)
        if only_mine and only_theirs:
            return only_mine, alt, only_theirs
    return None
