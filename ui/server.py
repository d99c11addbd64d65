"""`newsqa serve`: the chat (`ui.chat`) and the JSON API (`ui.api`) on one Gradio server,
with the ingest worker (`ui.worker`) and auth (`ui.auth`: roles, logins and tokens;
`ui.guard`: Gradio's upload route refused to readers).

Asks from the chat, its `/ask` endpoint and `/api/ask` run in parallel, at most
`NEWSQA_SERVE__ASK_THREADS` at a time (`ask_slots`); writes go through the one worker.
"""

from __future__ import annotations

import logging
import os
import sys
import threading
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import gradio as gr
from starlette.requests import Request
from starlette.responses import Response

from assistant.service import Assistant
from index.errors import IndexNotFound, NewsIndexError
from ui.auth import Access, make_access
from ui.chat import build_app
from ui.guard import EditorsUpload, session_user
from ui.jobs import Job
from ui.style import CSS, MONO, SANS
from ui.upload import MB
from ui.worker import IngestWorker

log = logging.getLogger(__name__)


def launch(bot: Assistant, host: str | None = None, port: int | None = None,
           auth: str | None = None, *, block: bool = True, quiet: bool = False,
           llm: bool = False, api_token: str | None = None, feeds: Sequence[str] = (),
           every_s: float = 900.0, read_token: str | None = None,
           users_file: Path | None = None, access: Access | None = None,
           warm: bool = False) -> gr.Blocks:
    """Build the app with its JSON API at `/api` (`ui.api`), the article pages at
    `/article/{id}` and the ingest worker, and start serving (blocking until Ctrl-C
    unless `block=False`). With `feeds`, a poller (`ui.follow`) polls them every
    `every_s` seconds, indexing through the worker. Unless `quiet`, print only the URL,
    the index size and whether auth is on. The worker is `demo.worker`, the poller
    `demo.poller` (None without feeds). `access` (default: from the auth arguments and
    settings, `server_access`) says who may do what. With `warm`, every model an ask
    uses is loaded in the background once the server listens (`Assistant.warm`): until
    then `demo.ready` is unset, /api/health says `"ready": false` and /api/ask answers
    503 with Retry-After; without, the caller has warmed up (or does not care)."""
    from starlette.middleware import Middleware
    from starlette.routing import Mount, Route

    from ui.api import build_api
    from ui.follow import FeedPoller

    cfg = bot.settings.serve
    host = host or cfg.host
    port = port or cfg.port
    if access is None:
        access = server_access(bot, auth, api_token, read_token, users_file)
    if host not in ("127.0.0.1", "localhost", "::1") and not access.on:
        print(f"newsqa: warning: serving on {host} without a login; anyone who can reach "
              "this port can use the chat and the API. Add --auth USER:PASSWORD and/or "
              "--api-token TOKEN.", file=sys.stderr)
    home = Path(bot.settings.home)
    (home / "tmp").mkdir(parents=True, exist_ok=True)
    worker = IngestWorker(bot)
    resumed = worker.start()
    poller = FeedPoller(bot, worker, feeds, every_s) if feeds else None
    demo = build_app(bot, llm=llm, worker=worker,
                     may_edit=access.may_edit if access.on else None)
    slots = ask_slots(bot)
    ready = threading.Event()
    api = build_api(bot, worker, access, slots, poller, ready)
    # Serve nothing from the data home except Gradio's own upload cache (emptied by us).
    blocked = [str(p.resolve()) for p in home.iterdir() if p.name != "tmp"] if home.exists() \
        else []
    blocked += [str((home / name).resolve()) for name in ("uploads", "jobs")]
    demo.queue(default_concurrency_limit=slots)  # the chat's asks and its /ask endpoint
    demo.launch(
        # Gradio awaits an async auth function (its /login route); its hint says sync only.
        server_name=host, server_port=port, share=False,
        auth=access.gradio_auth(),  # type: ignore[arg-type]
        auth_message=_login_message(access),
        prevent_thread_lock=True, quiet=True, show_error=False,
        max_file_size=int(cfg.max_upload_mb * MB), blocked_paths=blocked,
        footer_links=["api", "settings"], ssr_mode=False, mcp_server=False, pwa=False,
        # The system font stacks, so Gradio's bundled fonts (a semibold file with a few
        # glyphs drew bold capitals in another weight) are neither declared nor fetched.
        theme=gr.themes.Default(font=_names(SANS), font_mono=_names(MONO)), css=CSS,
        # Listed first, so no Gradio route can shadow /api/*.
        app_kwargs={"routes": [Mount("/api", app=api),
                               Route("/article/{article_id:path}",
                                     article_endpoint(bot, access))],
                    "middleware": [Middleware(EditorsUpload, access=access)]},
    )
    demo.worker = worker  # type: ignore[attr-defined]
    demo.poller = poller  # type: ignore[attr-defined]
    demo.ready = ready  # type: ignore[attr-defined]
    if warm:
        threading.Thread(target=_warm_up, args=(bot, ready), name="newsqa-warm-up",
                         daemon=True).start()
    else:
        ready.set()
    if poller is not None:
        poller.start()
    if not quiet:
        print("\n".join(startup_lines(bot, demo.local_url or f"http://{host}:{port}/",
                                       access, resumed)), flush=True)
    if block:
        try:
            while demo.is_running:
                time.sleep(0.2)
        except KeyboardInterrupt:
            print("\nnewsqa: stopped.", file=sys.stderr)
        finally:
            if poller is not None:
                poller.stop(timeout=5)
            demo.close(verbose=False)
            worker.stop(timeout=5)  # a job cut short is resumed at the next start
    return demo


def server_access(bot: Assistant, auth: str | None = None, api_token: str | None = None,
                  read_token: str | None = None, users_file: Path | None = None) -> Access:
    """Who may do what: each argument given wins over its NEWSQA_SERVE__* setting.
    SettingsError for a malformed login or users file (before anything starts)."""
    cfg = bot.settings.serve

    def secret(given: str | None, setting: Any) -> str | None:
        return given if given is not None else (
            setting.get_secret_value() if setting else None)

    return make_access(auth if auth is not None else cfg.auth,
                       secret(api_token, cfg.api_token), secret(read_token, cfg.read_token),
                       users_file if users_file is not None else cfg.users_file)


def _login_message(access: Access) -> str | None:
    if not access.on:
        return None
    if not access.chat_logins:
        return ("This server has no chat logins (API tokens are not passwords): use its "
                "JSON API, or ask its operator for a login.")
    return "Log in to the newsqa chat."


def _names(stack: str) -> list[str]:
    """A CSS font stack as Gradio's font names (plain names: no @font-face, no download)."""
    return [name.strip().strip('"') for name in stack.split(",")]


def ask_slots(bot: Assistant) -> int:
    """How many questions are answered at once (NEWSQA_SERVE__ASK_THREADS, default two
    per core: while one ask waits on Chroma or the GIL, another computes)."""
    return bot.settings.serve.ask_threads or 2 * (os.cpu_count() or 1)


def startup_lines(bot: Assistant, url: str, access: Access, resumed: list[Job]) -> list[str]:
    """What `newsqa serve` prints: where, how much is indexed, whether auth is on."""
    try:
        info = bot.info()
        size = f"{info['articles']:,} article(s), {info['chunks']:,} chunk(s)"
    except IndexNotFound:
        size = "empty: upload articles in the chat, push them, or run `newsqa ingest`"
    except Exception as exc:
        size = f"cannot be opened ({exc})"
    lines = [f"newsqa: chat at {url}  (JSON API: {url}api, docs {url}api/docs)",
             f"newsqa: index: {size}",
             f"newsqa: auth: {access.describe()}"]
    if resumed:
        again = sum(1 for j in resumed if j.pending)
        lines.append(f"newsqa: {again} interrupted ingest job(s) resumed"
                     + (f", {len(resumed) - again} failed (see GET /api/jobs/ID)"
                        if len(resumed) > again else ""))
    return lines


def _warm_up(bot: Assistant, ready: threading.Event) -> None:
    """Load every model an ask uses and open the index, then say the server is ready."""
    started = time.perf_counter()
    try:
        bot.warm()
    except Exception as exc:  # the asks that come will report it; never a dead warm-up
        log.warning("warm-up: %s", exc)
    finally:
        ready.set()
        log.info("ready after %.1f s", time.perf_counter() - started)


def serve(bot: Assistant, host: str | None = None, port: int | None = None,
          auth: str | None = None, llm: bool = False, api_token: str | None = None,
          feeds: Sequence[str] = (), every_s: float = 900.0, read_token: str | None = None,
          users_file: Path | None = None) -> None:
    """Run the chat and its API until interrupted (`newsqa serve`; `llm`: answer with the
    LLM by default; `feeds`: follow these every `every_s` seconds)."""
    access = server_access(bot, auth, api_token, read_token, users_file)  # fail at once
    launch(bot, host, port, block=True, llm=llm, feeds=feeds, every_s=every_s, access=access,
           warm=True)


def article_endpoint(bot: Assistant, access: Access) -> Callable[[Request], Response]:
    """`GET /article/{id}?span=START:END`: the article as a page, the span highlighted and
    scrolled to (the chat's source cards link here). Behind the chat's login when there is
    one; the page runs no script and loads nothing (Content-Security-Policy)."""
    from starlette.responses import HTMLResponse, PlainTextResponse

    from ui.article import SpanError, article_page, parse_span

    def endpoint(request: Request) -> Response:
        if access.on and not (session_user(request.app, request.cookies) is not None or
                              access.api_ok(request.headers.get("authorization"))):
            return PlainTextResponse("Log in to the chat first, then open the link again.",
                                     status_code=401)
        article_id = request.path_params["article_id"]
        try:
            article = bot.article(article_id)
        except IndexNotFound:
            article = None
        except NewsIndexError as exc:
            return PlainTextResponse(f"The index cannot be read now ({exc}); try again.",
                                     status_code=503)
        if article is None:
            return PlainTextResponse(f"No article {article_id!r} is indexed.", status_code=404)
        span = None
        if request.query_params.get("span"):
            try:
                span = parse_span(request.query_params["span"], article)
            except SpanError as exc:
                return PlainTextResponse(str(exc), status_code=400)
        return HTMLResponse(article_page(article, span), headers={
            "Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'; "
                                       "base-uri 'none'; form-action 'none'",
            "X-Content-Type-Options": "nosniff", "Referrer-Policy": "no-referrer"})

    return endpoint

