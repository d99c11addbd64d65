"""The newest holder of a role wins (issue 32, point 1).

"Who leads the Harbour Authority?" was answered "Maria Okafor" at confidence 0.90 from
the very sentence saying she resigned ("Maria Okafor resigned as chief executive ... The
board appointed Tomas Lindqvist to lead the authority"). The reader scores mentions, not
what happens to them, so for a question about a present state (`Question.present`: "Who
leads ...?", "Who is the chief executive ...?", "... now?") a change of hands is read
from the words around each answer:

* **outgoing**: the answer resigned, stepped down, quit, retired, died, was fired /
  ousted / replaced / succeeded / overthrown, or someone replaced / succeeded / ousted
  it;
* **incoming**: someone appointed / named / elected / chose / installed / hired it, or
  it took over, succeeded / replaced someone, was appointed / named / elected / sworn
  in, or someone was replaced / succeeded by it.

When the reader's answer is outgoing in an article at least as new as any that names it
otherwise, and another answer is incoming in an article at least as new as that, the
incoming one becomes the answer, with the belief the outgoing one had (they swap), so
the outgoing holder is the hedge's alternative. Words, not a parse: a change told in
other words ("handed the reins to") is not seen.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import replace
from datetime import date
from typing import Literal

from assistant.reader.reading import Span, Window

Role = Literal["incoming", "outgoing"]

_BEFORE_OUT = re.compile(  # "<answer> resigned"
    r"^[\s,]*(?:\([^)]*\)\s*)?(?:,[^,]{0,60},\s*)?(?:has |had |will |would )?(?:"
    r"resign(?:ed|s)?|stepped down|steps down|step down|quit|quits|retired|retires|died|"
    r"(?:was|were|has been|had been|is being) (?:fired|ousted|sacked|dismissed|removed|"
    r"replaced|succeeded|forced out|overthrown|toppled|deposed|killed)|left (?:the|his|"
    r"her|their) (?:post|job|role|office))\b", re.IGNORECASE)
_AFTER_OUT = re.compile(  # "replaced <answer>"
    r"\b(?:replaced|replaces|succeeded|succeeds|ousted|ousts|toppled|overthrew|deposed|"
    r"fired|sacked|dismissed)\s+(?!by\b)(?:the\s+)?(?:[\w-]+\s+){0,3}$", re.IGNORECASE)
_BEFORE_IN = re.compile(  # "<answer> took over"
    r"^[\s,]*(?:\([^)]*\)\s*)?(?:,[^,]{0,60},\s*)?(?:has |had |will |would )?(?:"
    r"took over|takes over|take over|succeeded|succeeds|replaced|replaces|"
    r"(?:was|were|has been|had been|is) (?:appointed|named|elected|chosen|picked|selected|"
    r"installed|tapped|hired|promoted|sworn in|confirmed)|will (?:lead|head|run))\b",
    re.IGNORECASE)
_AFTER_IN = re.compile(  # "appointed <answer>", "replaced by <answer>"
    r"\b(?:appointed|appoints|named|names|elected|elects|chose|chooses|picked|picks|"
    r"selected|selects|installed|installs|tapped|taps|hired|hires|promoted|promotes|"
    r"(?:replaced|succeeded) by)\s+(?:the\s+)?(?:[\w-]+\s+){0,4}$", re.IGNORECASE)
_SENTENCE = re.compile(r"(?<=[.!?])\s+")


def role(text: str, start: int, end: int) -> Role | None:
    """What a change of hands makes of the mention `text[start:end]`, from its sentence."""
    left = text[:start]
    cut = max((m.end() for m in _SENTENCE.finditer(left)), default=0)
    before = left[cut:]
    after = _SENTENCE.split(text[end:], maxsplit=1)[0]
    if _BEFORE_OUT.search(after) or _AFTER_OUT.search(before):
        return "outgoing"
    if _BEFORE_IN.search(after) or _AFTER_IN.search(before):
        return "incoming"
    return None


def _roles(answer: Span, windows: Sequence[Window]) -> list[tuple[Role | None, date | None]]:
    """The role of every mention of the answer's text in the windows, with its date."""
    out = []
    needle = answer.text
    for w in windows:
        for m in re.finditer(re.escape(needle), w.text):
            out.append((role(w.text, m.start(), m.end()), w.date))
    return out


def _newest(dates: Sequence[date | None]) -> date:
    return max((d for d in dates if d is not None), default=date.min)


def after_changes(answers: Sequence[Span], windows: Sequence[Window]) -> list[Span]:
    """`answers` (most belief first), the incoming holder first when the first answer
    has handed over (module docstring)."""
    if len(answers) < 2:
        return list(answers)
    top = answers[0]
    roles = _roles(top, windows)
    out_dates = [d for r, d in roles if r == "outgoing"]
    other_dates = [d for r, d in roles if r != "outgoing"]
    if not out_dates or _newest(out_dates) < _newest(other_dates):
        return list(answers)
    left = _newest(out_dates)
    for i, a in enumerate(answers[1:], start=1):
        came = [d for r, d in _roles(a, windows) if r == "incoming"]
        if came and _newest(came) >= left:
            new_top = replace(a, belief=top.belief)
            return [new_top, *answers[1:i], replace(top, belief=a.belief), *answers[i + 1:]]
    return list(answers)
