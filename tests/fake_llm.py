"""A scripted OpenAI-compatible chat server on 127.0.0.1 for the LLM tests: no model, no
compile. `FakeLLMServer(script)` answers POST /v1/chat/completions (plain or streamed as
server-sent events) with whatever `script(request)` returns; `refuse` lists
`response_format` types it rejects with HTTP 422 (as llama-cpp-python's server does with
OpenAI's `json_schema`)."""

from __future__ import annotations

import json
import re
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

_SENTENCE = re.compile(r"^\((\d+\.\d+)\) (.*)$", re.MULTILINE)


@dataclass
class Reply:
    """What the fake model sends back."""

    content: str
    delay_s: float = 0.0  # before the first byte
    chunk_chars: int = 7  # characters per streamed chunk
    chunk_delay_s: float = 0.0
    status: int = 200


@dataclass
class Request:
    """A request the fake server received."""

    body: dict[str, Any]

    @property
    def user(self) -> str:
        return str(self.body["messages"][-1]["content"])

    @property
    def messages(self) -> list[dict[str, Any]]:
        return list(self.body["messages"])

    def sentences(self) -> dict[str, str]:
        """Sentence id -> text, as numbered in the prompt."""
        return dict(_SENTENCE.findall(self.user))

    @property
    def structured(self) -> str | None:
        fmt = self.body.get("response_format")
        return fmt.get("type") if isinstance(fmt, dict) else None


Script = Callable[[Request], Reply]


@dataclass
class FakeLLMServer:
    script: Script
    refuse: tuple[str, ...] = ()
    requests: list[Request] = field(default_factory=list)

    def __post_init__(self) -> None:
        server = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:
                pass

            def do_GET(self) -> None:  # /v1/models
                self._json(200, {"object": "list", "data": [{"id": "fake", "object": "model"}]})

            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length", 0))
                body = json.loads(self.rfile.read(length) or b"{}")
                req = Request(body)
                server.requests.append(req)
                if req.structured in server.refuse:
                    self._json(422, {"detail": [{"msg": "unsupported response_format"}]})
                    return
                reply = server.script(req)
                time.sleep(reply.delay_s)
                if reply.status != 200:
                    self._json(reply.status, {"error": {"message": "scripted failure"}})
                    return
                try:
                    if body.get("stream"):
                        self._stream(reply)
                    else:
                        self._json(200, _completion(reply.content))
                except (BrokenPipeError, ConnectionResetError):
                    pass  # the client gave up (timeout test)

            def _json(self, status: int, data: dict[str, Any]) -> None:
                raw = json.dumps(data).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(raw)))
                self.end_headers()
                self.wfile.write(raw)

            def _stream(self, reply: Reply) -> None:
                self.send_response(200)
                self.send_header("Content-Type", "text/event-stream")
                self.end_headers()
                text = reply.content
                step = max(reply.chunk_chars, 1)
                for i in range(0, len(text), step):
                    self._event(_chunk(text[i:i + step]))
                    time.sleep(reply.chunk_delay_s)
                self._event(_chunk(None, finish="stop"))
                self.wfile.write(b"data: [DONE]\n\n")
                self.wfile.flush()

            def _event(self, data: dict[str, Any]) -> None:
                self.wfile.write(b"data: " + json.dumps(data).encode() + b"\n\n")
                self.wfile.flush()

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.httpd.server_address[1]}/v1"

    def __enter__(self) -> FakeLLMServer:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


def _completion(content: str) -> dict[str, Any]:
    return {
        "id": "fake-1", "object": "chat.completion", "created": int(time.time()),
        "model": "fake",
        "choices": [{"index": 0, "message": {"role": "assistant", "content": content},
                     "finish_reason": "stop"}],
        "usage": {"prompt_tokens": 1, "completion_tokens": 1, "total_tokens": 2},
    }


def _chunk(content: str | None, finish: str | None = None) -> dict[str, Any]:
    delta: dict[str, Any] = {"content": content} if content is not None else {}
    return {
        "id": "fake-1", "object": "chat.completion.chunk", "created": int(time.time()),
        "model": "fake",
        "choices": [{"index": 0, "delta": delta, "finish_reason": finish}],
    }


def json_reply(short: str, sentences: list[dict[str, Any]], **kw: Any) -> Reply:
    """A reply in the JSON format of `assistant.llm.prompt`."""
    return Reply(json.dumps({"short_answer": short, "sentences": sentences}), **kw)
