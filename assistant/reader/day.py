"""The calendar day a relative date answer means (issue 31, point 2): news writes "on
Tuesday", "yesterday", "last Friday", and the article's date says which day that was. A
user who reads "Answer: Thursday" a week later cannot tell; "Thursday (2026-02-19)" can.

Rules, as news is written: a weekday on its own is the latest such day on or before the
article's date (reports tell what happened); "last <weekday>" is the one before the
article's own weekday; "next <weekday>", or a weekday after "will", "is to", "is due",
"is scheduled", "is expected", "plans to" in the words before it, is the first such day
after the article's date. "today", "tonight", "this morning" / "afternoon" / "evening"
are the article's date, "yesterday" the day before, "tomorrow" the day after. An answer
that already names a month, a year or a number, or that says none of these, is left as it
is (None).
"""

from __future__ import annotations

import re
from datetime import date, timedelta

from assistant.reader.kind import MONTH_NAME

WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
_OFFSETS = {"today": 0, "tonight": 0, "yesterday": -1, "tomorrow": 1}
_PARTS_OF_DAY = frozenset(("morning", "afternoon", "evening", "night"))
_MONTHS = re.compile(rf"\b(?:{MONTH_NAME})\b", re.IGNORECASE)
_FUTURE = re.compile(r"\b(?:will|'ll|is to|are to|is due|are due|scheduled|expected|plans? "
                     r"to|set to|upcoming|coming)\b[^.;]{0,60}$", re.IGNORECASE)
_MAX_WORDS = 4  # "on Tuesday", "late Tuesday night"; longer texts are not a day


def day_meant(text: str, published: date | None, before: str = "") -> date | None:
    """The day `text` means in an article published on `published`, read with the words
    `before` it (the module docstring's rules); None when it is not a relative day."""
    if published is None or any(ch.isdigit() for ch in text) or _MONTHS.search(text):
        return None
    words = re.findall(r"[a-z]+", text.lower())
    if not words or len(words) > _MAX_WORDS:
        return None
    for word, offset in _OFFSETS.items():
        if word in words:
            return published + timedelta(days=offset)
    if "this" in words and _PARTS_OF_DAY & set(words):
        return published
    days = [WEEKDAYS.index(w) for w in words if w in WEEKDAYS]
    if len(days) != 1:
        return None
    wanted, own = days[0], published.weekday()
    if "next" in words or (_FUTURE.search(before) and "last" not in words):
        return published + timedelta(days=(wanted - own) % 7 or 7)
    back = (own - wanted) % 7
    if "last" in words and back == 0:
        back = 7
    return published - timedelta(days=back)
