"""Follow-up questions without an LLM.

Rule: a question that leans on earlier turns, because it uses a pronoun or place word
("there", "it", "they", "he", "that", ...) or has fewer than three keywords of its own, is
retrieved together with the previous question that stood on its own. Everything else is
retrieved as asked, so a change of topic is not polluted by the old one.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from assistant.sentence import keywords

_REFERRING = re.compile(
    r"\b(there|then|it|its|they|them|their|he|him|his|she|her|this|that|these|those|"
    r"such|the same|the group|the country|the city|what else|more)\b",
    re.IGNORECASE,
)


def needs_context(question: str) -> bool:
    """Whether the question cannot be understood without the conversation."""
    return bool(_REFERRING.search(question)) or len(keywords(question)) < 3


def condense_query(question: str, history: Sequence[str]) -> str:
    """The retrieval query for `question` given earlier user questions (oldest first)."""
    if not history or not needs_context(question):
        return question
    # Walk back to the last question that stood on its own; carry it and later ones.
    carried: list[str] = []
    for earlier in reversed(history):
        carried.insert(0, earlier)
        if not needs_context(earlier):
            break
    return " ".join([*carried[-2:], question])
