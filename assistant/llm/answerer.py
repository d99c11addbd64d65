"""The optional LLM answerer: any OpenAI-compatible chat endpoint writes the answer through
llama-index's `OpenAILike`, and `assistant.llm.verify` checks every quote it gives.

Flow of `LLMAnswerer.answer`:
1. number the passages and their sentences, add the last turns of the conversation
   (`assistant.llm.prompt`);
2. call the model, with a JSON schema in `response_format` where the server takes one
   (`structured=auto` tries OpenAI's `json_schema`, then llama-cpp-python's `json_object`
   + schema, then the plain format, and remembers what worked);
3. parse the reply tolerantly (`assistant.llm.reply`), verify it (`assistant.llm.verify`);
4. fall back to the extractive answerer, saying why (`fallback_reason`), when the
   endpoint is down or times out, the reply cannot be read, or no quote survives.

`openai`/llama-index's LLM classes are imported on first use only: with no LLM
configured, nothing here is loaded.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any

import numpy as np

from assistant.answer import Answer, Answerer
from assistant.errors import AssistantError, SettingsError
from assistant.llm.prompt import (
    NumberedPassage,
    Turn,
    answer_schema,
    build_messages,
    history_messages,
    number_passages,
    prompt_budget,
    response_format,
    short_answer_bound,
)
from assistant.llm.reply import Draft, ReplyUnparseable, parse_reply
from assistant.llm.verify import short_answer_in, verify
from assistant.llm.wording import Meaning
from index.retrieve import Passage

if TYPE_CHECKING:
    from assistant.settings import LLMSettings

log = logging.getLogger(__name__)
_KINDS = ("json_schema", "json_object", "off")
TokenCallback = Callable[[str], None]


class LLMUnavailable(AssistantError):
    """The endpoint could not be reached, timed out, or refused the request."""


@dataclass
class CallRecord:
    """What happened on the last call (read by bench/llm_bench.py and the tests)."""

    structured: str = "off"
    raw: str = ""
    parsed: Draft | None = None
    error: str | None = None
    first_token_s: float | None = None
    total_s: float | None = None
    ids_valid: bool = True
    truncated: bool = False  # the reply hit max_tokens and was closed by the parser
    tried: list[str] = field(default_factory=list)


def make_client(settings: LLMSettings) -> Any:
    """llama-index's OpenAILike for the configured endpoint (imported lazily)."""
    try:
        from llama_index.llms.openai_like import OpenAILike
    except ImportError as exc:
        raise SettingsError(
            "LLM answers need the llm extra: pip install 'newsqa[llm]' "
            "(llama-index-llms-openai-like)") from exc
    return OpenAILike(
        api_base=settings.url, model=settings.model,
        api_key=settings.api_key.get_secret_value() or "none",
        is_chat_model=True, context_window=settings.context_window,
        max_tokens=settings.max_tokens, temperature=settings.temperature,
        timeout=settings.timeout_s, max_retries=0, reuse_client=True,
    )


def _reason(exc: BaseException) -> str:
    """A short, user-facing reason for a failed call."""
    name = type(exc).__name__
    if "Timeout" in name:
        return "the LLM endpoint timed out"
    if "Connection" in name:
        return "the LLM endpoint is unreachable"
    status = getattr(exc, "status_code", None)
    if status is not None:
        return f"the LLM endpoint answered HTTP {status}"
    return f"the LLM call failed ({name})"


def _is_format_refusal(exc: BaseException) -> bool:
    """The server rejected the request itself (e.g. an unknown `response_format`)."""
    return getattr(exc, "status_code", None) in (400, 404, 415, 422, 500, 501)


class LLMAnswerer:
    """Answers with an LLM, every quote verified; see the module docstring."""

    def __init__(self, settings: LLMSettings, fallback: Answerer,
                 client: Any = None) -> None:
        if not settings.url:
            raise SettingsError("no LLM is configured: set NEWSQA_ANSWER__LLM__URL, e.g. "
                                "http://127.0.0.1:8765/v1 (see scripts/llm-server.sh)")
        self.settings = settings
        self.fallback = fallback
        self._client = client
        self._kinds = [settings.structured] if settings.structured != "auto" else list(_KINDS)
        self._local = threading.local()  # asks on several threads each keep their own

    @property
    def last(self) -> CallRecord:
        """What happened in this thread's last call (for the eval's quote outcomes)."""
        record: CallRecord | None = getattr(self._local, "record", None)
        if record is None:
            record = self._local.record = CallRecord()
        return record

    @last.setter
    def last(self, record: CallRecord) -> None:
        self._local.record = record

    def _meaning(self) -> Meaning:
        """What reads a claim by meaning: the answerer's embedder, for close words."""
        return Meaning(embed=self._embed if getattr(self.fallback, "embedder", None)
                       is not None else None)

    def _embed(self, texts: Sequence[str]) -> np.ndarray:
        """Unit vectors of `texts` by the answerer's embedder, for the claim check's close
        words (`assistant.llm.wording`)."""
        return np.asarray(self.fallback.embedder.embed_documents(texts))  # type: ignore[attr-defined]

    @property
    def client(self) -> Any:
        if self._client is None:
            self._client = make_client(self.settings)
        return self._client

    def answer(
        self, question: str, passages: list[Passage], query: str | None = None,
        prefer: str | None = None, history: Sequence[Turn] = (),
        on_token: TokenCallback | None = None,
    ) -> Answer:
        """Answer `question` from `passages` (see the module docstring). `history` holds
        earlier turns of the conversation; `on_token` receives the reply as it streams."""
        t0 = time.perf_counter()
        self.last = CallRecord()
        if prefer is not None or not passages:  # quiz picks stay with the extractive rule
            return self.fallback.answer(question, passages, query=query, prefer=prefer)
        # Nothing relevant retrieved for a question that stands alone: abstain as the
        # extractive answerer does. The schema makes the model cite something, so asked
        # anyway it would cite whatever is there ("the price of bananas" answered from an
        # article about Syria). A follow-up ("And?") goes to the model with its turns.
        plain = self.fallback.answer(question, passages, query=query) if not history else None
        if plain is not None and plain.abstained:
            return replace(plain, answerer="extractive-fallback",
                           fallback_reason="the articles hold nothing relevant enough to "
                           "answer from, so the LLM was not asked")
        s = self.settings
        hist = history_messages(history, s.history_turns, s.history_tokens)
        budget = prompt_budget(s.context_window, s.max_tokens, hist, question)
        numbered = number_passages(passages, s.max_passages, budget)
        try:
            raw = self._call(question, numbered, hist, on_token)
        except LLMUnavailable as exc:
            return self._fall_back(question, passages, query, str(exc), t0, plain)
        try:
            draft = parse_reply(raw)
        except ReplyUnparseable:
            self.last.error = "unparseable"
            return self._fall_back(question, passages, query,
                                   "the LLM's reply could not be read", t0, plain)
        self.last.parsed = draft
        self.last.truncated = draft.truncated
        if self.last.structured != "off" and len(
                draft.short_answer) >= short_answer_bound(s.max_tokens):
            # Cut off by the schema's bound ("The so-called Islamic State terror group
            # has been considerably"): a fragment, even when verbatim, is no answer. The
            # reader reads one from the verified quotes instead (`service.Assistant`).
            draft = replace(draft, short_answer="")
        ids = {sn.id for p in numbered for sn in p.sentences}
        self.last.ids_valid = all(i in ids for sn in draft.sentences for i in sn.ids) and all(
            q.passage is None or 1 <= q.passage <= len(numbered)
            for sn in draft.sentences for q in sn.quotes)
        checked = verify(draft, numbered, question, self._meaning())
        if not checked.citations:
            found = any(c.outcome != "dropped" for c in checked.checks)
            why = next((c.reason for c in checked.checks
                        if c.outcome != "dropped" and c.reason), None)
            reason = (f"every sentence of the LLM's answer said something its verified quotes "
                      f"do not ({why or 'unsupported'})" if found else
                      "no quote of the LLM's answer could be verified")
            answer = self._fall_back(question, passages, query, reason, t0, plain)
            # The model's short answer still counts if a quote of the fallback proves it.
            short = answer.short_answer or short_answer_in(draft.short_answer,
                                                           answer.citations)
            return replace(answer, quote_checks=checked.checks, short_answer=short)
        return Answer(
            question=question, text=checked.text, abstained=False,
            citations=checked.citations, retrieved=tuple(passages),
            query=query or question, short_answer=checked.short_answer, answerer="llm",
            quote_checks=checked.checks,
            timings_ms={"answer": (time.perf_counter() - t0) * 1000,
                        **({"first_token": self.last.first_token_s * 1000}
                           if self.last.first_token_s is not None else {})},
        )

    def _fall_back(self, question: str, passages: list[Passage], query: str | None,
                   reason: str, t0: float, ready: Answer | None = None) -> Answer:
        """The extractive answer (`ready` when it was already made) marked as a fallback."""
        log.info("LLM answer not used: %s", reason)
        answer = ready or self.fallback.answer(question, passages, query=query)
        answer.timings_ms["llm"] = (time.perf_counter() - t0) * 1000
        return replace(answer, answerer="extractive-fallback", fallback_reason=reason)

    # -- the call ------------------------------------------------------------------
    def _call(self, question: str, numbered: Sequence[NumberedPassage],
              hist: list[dict[str, str]], on_token: TokenCallback | None) -> str:
        """The model's reply text, trying the response formats in turn."""
        schema = answer_schema(numbered, self.settings.max_tokens)
        last_exc: BaseException | None = None
        while self._kinds:
            kind = self._kinds[0]
            self.last.tried.append(kind)
            messages = build_messages(question, numbered, hist, structured=kind != "off")
            fmt = response_format(kind, schema)
            try:
                text = self._complete(messages, fmt, on_token)
            except Exception as exc:
                last_exc = exc
                if kind != "off" and _is_format_refusal(exc) and len(self._kinds) > 1 \
                        and not self.last.raw:
                    log.info("LLM endpoint refused response_format %s; trying the next", kind)
                    self._kinds.pop(0)  # remembered for later calls
                    continue
                self.last.error = _reason(exc)
                raise LLMUnavailable(_reason(exc)) from exc
            self.last.structured = kind
            return text
        raise LLMUnavailable(_reason(last_exc) if last_exc else "no response format left")

    def _complete(self, messages: list[dict[str, str]], fmt: dict[str, Any] | None,
                  on_token: TokenCallback | None) -> str:
        from llama_index.core.llms import ChatMessage

        chat = [ChatMessage(role=m["role"], content=m["content"]) for m in messages]
        kwargs: dict[str, Any] = {"response_format": fmt} if fmt else {}
        _ = self.client  # the first use imports the client: not part of the model's time
        t0 = time.perf_counter()
        parts: list[str] = []
        for chunk in self._stream(chat, kwargs):
            # The client's timeout bounds each read; this bounds the whole answer.
            if time.perf_counter() - t0 > self.settings.timeout_s:
                raise TimeoutError(f"no complete answer in {self.settings.timeout_s:g} s")
            if not chunk:
                continue
            if self.last.first_token_s is None:
                self.last.first_token_s = time.perf_counter() - t0
            parts.append(chunk)
            self.last.raw = "".join(parts)
            if on_token is not None:
                on_token(chunk)
        self.last.total_s = time.perf_counter() - t0
        return "".join(parts)

    def _stream(self, chat: list[Any], kwargs: dict[str, Any]) -> Iterator[str]:
        for response in self.client.stream_chat(chat, **kwargs):
            yield response.delta or ""
