"""An LLM answer streamed into the chat: the model's reply as it arrives, then the verified
answer (`assistant.llm.answerer`); and the chat's earlier exchanges as the model's turns."""

from __future__ import annotations

import logging
import queue
import re
import threading
import time
from collections.abc import Iterator
from datetime import date
from typing import Any

from assistant.answer import Answer
from assistant.errors import AssistantError
from assistant.llm.prompt import Turn
from assistant.llm.reply import preview
from assistant.service import Assistant
from index.errors import NewsIndexError
from index.scope import Scope
from ui import render

log = logging.getLogger(__name__)
EXPECTED = (AssistantError, NewsIndexError)  # told to the user; no traceback in the log


def chat_turns(chat: list[dict[str, Any]]) -> list[Turn]:
    """Earlier (question, answer) exchanges of the chat, for the LLM: the answer's text
    without its source list and markdown escapes."""
    turns: list[Turn] = []
    for i, msg in enumerate(chat[:-1]):
        nxt = chat[i + 1]
        if msg.get("role") == "user" and nxt.get("role") == "assistant":
            text = str(nxt.get("content") or "").split("\n\nSources:")[0]
            text = re.sub(r"\\(.)", r"\1", text.replace("**", ""))
            turns.append(Turn(str(msg.get("content") or ""), " ".join(text.split())))
    return turns



def stream_llm_answer(bot: Assistant, question: str, k: int | None, as_of: date | None,
                      history: list[str], turns: list[Turn],
                      scope: Scope | None = None) -> Iterator[str | Answer]:
    """Markdown previews of the LLM's reply as it streams, then the verified `Answer`
    (or an error message). The model runs in a worker thread; tokens come over a queue."""
    tokens: queue.Queue[str | None] = queue.Queue()
    result: dict[str, Any] = {}

    def work() -> None:
        try:
            result["answer"] = bot.ask(question, k=k, as_of=as_of, history=history, llm=True,
                                       turns=turns, on_token=tokens.put, scope=scope)
        except Exception as exc:
            result["error"] = exc
        finally:
            tokens.put(None)

    threading.Thread(target=work, daemon=True).start()
    raw, shown = "", ""
    last = 0.0
    while (token := tokens.get()) is not None:
        raw += token
        if time.monotonic() - last > 0.15:  # redraw a few times a second, not per token
            last, shown = time.monotonic(), raw
            yield render.streaming_markdown(*preview(raw))
    if raw and raw != shown:  # the whole reply, while its quotes are checked
        yield render.streaming_markdown(*preview(raw))
    if "error" in result:
        exc = result["error"]
        if not isinstance(exc, EXPECTED):
            log.error("question failed: %s", question, exc_info=exc)
        yield render.error_markdown(exc)
        return
    yield result["answer"]
