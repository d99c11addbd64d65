"""What the chat's form fields and its `/ask` endpoint accept: pure parsers that say
clearly what is wrong (ValueError with a message for the user)."""

from __future__ import annotations

import json
from datetime import date
from typing import Any

from index.stream import depth_message, too_deep


def parse_as_of(text: str | None) -> date | None:
    """'YYYY-MM-DD' -> date; empty -> None; anything else -> ValueError with a clear text."""
    text = (text or "").strip()
    if not text:
        return None
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise ValueError(f"“{text}” is not a date like 2024-12-10 (YYYY-MM-DD)") from None


def parse_history(value: Any, what: str = "history") -> list[str]:
    """Earlier questions, oldest first, from a list, a JSON list or newline-separated text.
    Chat-style messages ({"role": "user", "content": ...}) are accepted too."""
    if value is None or value == "":
        return []
    if isinstance(value, str):
        stripped = value.strip()
        if stripped.startswith("["):
            if too_deep(stripped):
                raise ValueError(f"{what} is {depth_message()}")
            try:
                return parse_history(json.loads(stripped), what)
            except json.JSONDecodeError:
                pass
        return [line.strip() for line in stripped.splitlines() if line.strip()]
    if isinstance(value, (list, tuple)):
        out: list[str] = []
        for item in value:
            if isinstance(item, dict):
                if item.get("role", "user") == "user" and isinstance(item.get("content"), str):
                    out.append(item["content"])
            elif item is not None and str(item).strip():
                out.append(str(item).strip())
        return out
    raise ValueError(f"{what} must be a list of strings or newline-separated text")


def parse_k(value: Any) -> int | None:
    """k from a number, numeric text or nothing; must be 1..100."""
    if value is None or value == "":
        return None
    k = int(float(value))
    if not 1 <= k <= 100:
        raise ValueError("k (passages to use) must be between 1 and 100")
    return k


def too_long(question: str, limit: int) -> str:
    """The message for a question over NEWSQA_SERVE__MAX_QUESTION_CHARS."""
    return (f"The question is {len(question):,} characters, over the limit of {limit:,} "
            "(NEWSQA_SERVE__MAX_QUESTION_CHARS); shorten it and ask again.")
