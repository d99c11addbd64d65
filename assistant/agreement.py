"""Whether sources agree or differ on a short answer (issue 32, point 4).

* `sources`: the independent sources whose retrieved passages state the short answer.
  Passages of one story (`index.story`: a reprint, a page under two URLs) count once, under
  the outlet of their earliest copy; an outlet is its source name, else its site.
* `differ`: when the reader's next answer is another value of the same kind (two numbers,
  two people's names), believed nearly as much (`DIFFER_BELIEF` of the answer's belief),
  and stated by another outlet, the articles disagree, or report a moving fact at two
  moments: the answer says so, each value with its outlet and date, newest first, instead
  of hedging blindly ("Sources differ: 18 (AP, 2024-04-24) [1] · 17 (Reuters, 2024-04-23)
  [2]").

Nothing here changes which answer is given, or its confidence.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import replace
from datetime import date
from urllib.parse import urlsplit

from assistant.answer import Answer, ShortAnswer, Stance
from assistant.reader.variant import person_like
from index.retrieve import Passage

DIFFER_BELIEF = 0.5  # the alternative's belief, as a share of the answer's
_NUMBER = re.compile(r"\d|\b(?:one|two|three|four|five|six|seven|eight|nine|ten|eleven|"
                     r"twelve|twenty|thirty|forty|fifty|hundred|thousand|million|billion)\b",
                     re.IGNORECASE)


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


def kind(text: str) -> str | None:
    """'number', 'person' or None: the kinds whose two values can contradict."""
    if _NUMBER.search(text):
        return "number"
    return "person" if person_like(text) else None


def agreement(answer: Answer) -> Answer:
    """`answer` with its short answer's sources and, when they differ, `differ`."""
    short = answer.short_answer
    if short is None or answer.abstained:
        return answer
    passages = list(answer.retrieved)
    named = stating(short.text, passages)
    short = replace(short, sources=tuple(named))
    answer = replace(answer, short_answer=short)
    rival = _rival(short, answer.alternatives, passages)
    if rival is None:
        return answer
    mine, alt, theirs = rival
    cited = {c.n: c for c in answer.citations}
    stances = [Stance(text=span.text, n=span.n, sources=names[:3],
                      date=cited[span.n].date if span.n in cited else None)
               for span, names in ((short, mine), (alt, theirs))]
    stances.sort(key=lambda s: (s.date or date.min), reverse=True)
    return replace(answer, differ=tuple(stances))


def _rival(short: ShortAnswer, alternatives: Sequence[ShortAnswer],
           passages: Sequence[Passage]
           ) -> tuple[tuple[str, ...], ShortAnswer, tuple[str, ...]] | None:
    """(the answer's own outlets, the alternative, its own outlets) when the sources
    differ: each value is stated by an outlet that does not state the other (one article
    giving two numbers is not two sources differing). None when they do not."""
    mine = kind(short.text)
    if mine is None or short.belief is None:
        return None
    outlets = stating(short.text, passages)
    for alt in alternatives:
        if kind(alt.text) != mine or alt.belief is None:
            continue
        if alt.belief < DIFFER_BELIEF * short.belief:
            continue
        theirs = stating(alt.text, passages)
        only_mine = tuple(o for o in outlets if o not in theirs)
        only_theirs = tuple(o for o in theirs if o not in outlets)
        if only_mine and only_theirs:
            return only_mine, alt, only_theirs
    return None
