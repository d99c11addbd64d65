"""The watched questions' routes of the JSON API (mounted under `/api` with the rest,
behind the same credentials):

    GET    /api/watches                   every watch with its current answer
    POST   /api/watches                   {"question": ..., "since"?, "until"?, "sources"?}
                                          -> 201 the watch (200 when already watched)
    GET    /api/watches/{id}              one watch
    DELETE /api/watches/{id}              stop watching (its changes go too)
    GET    /api/watches/changes           changes of every watch, newest first
    GET    /api/watches/{id}/changes      one watch's changes
    GET    /api/watches/changes.atom      the same as Atom feeds, for feed readers
    GET    /api/watches/{id}/changes.atom

Readers (the read token, reader logins) may read watches and their feeds; adding and
removing one is an editor's (a watch makes the server ask it again after writes).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from fastapi import APIRouter, Depends, Request, Response
from pydantic import Field, ValidationError
from starlette.concurrency import run_in_threadpool

from assistant.errors import EmptyQuestion, ScopeError, TooManyWatches, WatchNotFound
from assistant.service import Assistant
from index.errors import IndexNotFound, NewsIndexError
from ui.api_model import ApiError, Filters, describe, parse_json
from ui.body import read_body
from ui.watch_feed import atom

ATOM = "application/atom+xml"


class WatchRequest(Filters):
    """A question to watch, with the filters `newsqa ask` takes."""

    question: str = Field(description="The question, e.g. \"Who leads the Harbour "
                          "Authority?\"")


def watch_routes(bot: Assistant, require_write: Callable[[Request], None]) -> APIRouter:
    """The routes above; `require_write` refuses a reader (403)."""
    cfg = bot.settings.serve
    routes = APIRouter()
    write = [Depends(require_write)]

    @routes.get("/watches", summary="Watched questions with their current answers")
    def watches() -> Any:
        return [w.to_json() for w in bot.watcher.watches()]

    @routes.post("/watches", status_code=201, dependencies=write,
                 summary="Watch a question (asked now, and again after each write that "
                 "could change its answer; write token or editor)",
                 openapi_extra={"requestBody": {"required": True, "content": {
                     "application/json": {"schema": WatchRequest.model_json_schema()}}}})
    async def add(request: Request, response: Response) -> Any:
        data = parse_json(await read_body(request, cfg.max_body_mb, ("application/json",)))
        try:
            req = WatchRequest.model_validate(data)
        except ValidationError as exc:
            raise ApiError(422, "; ".join(m for _, m in describe(exc, ""))) from None
        if len(req.question) > cfg.max_question_chars:
            raise ApiError(422, f"the question is {len(req.question):,} characters, over the "
                           f"limit of {cfg.max_question_chars:,} "
                           "(NEWSQA_SERVE__MAX_QUESTION_CHARS); shorten it")
        try:
            watch, new = await run_in_threadpool(
                lambda: bot.watcher.add(req.question, since=req.since, until=req.until,
                                        sources=req.sources))
        except EmptyQuestion:
            raise ApiError(422, "the question is empty; send the text you want watched") \
                from None
        except ScopeError as exc:
            raise ApiError(422, str(exc)) from None
        except TooManyWatches as exc:
            raise ApiError(409, str(exc)) from None
        except IndexNotFound:
            raise ApiError(503, "nothing is indexed yet: push articles first, then watch "
                           "a question") from None
        except NewsIndexError as exc:
            raise ApiError(503, str(exc)) from None
        if not new:
            response.status_code = 200
        return watch.to_json()

    @routes.get("/watches/changes", summary="Changes of every watch, newest first")
    def all_changes(limit: int = 50) -> Any:
        return [c.to_json() for c in bot.watcher.changes(limit=_limit(limit))]

    @routes.get("/watches/changes.atom", summary="Changes of every watch as an Atom feed",
                response_class=Response)
    def all_feed(request: Request, limit: int = 50) -> Response:
        changes = bot.watcher.changes(limit=_limit(limit))
        return Response(atom(changes, title="newsqa: watched questions",
                             self_url=str(request.url), feed_id=_feed_id(request)),
                        media_type=ATOM)

    @routes.get("/watches/{watch_id}", summary="One watch")
    def one(watch_id: str) -> Any:
        return _found(bot, watch_id).to_json()

    @routes.delete("/watches/{watch_id}", dependencies=write,
                   summary="Stop watching (write token or editor)")
    def remove(watch_id: str) -> Any:
        try:
            bot.watcher.remove(watch_id)
        except WatchNotFound as exc:
            raise ApiError(404, str(exc)) from None
        return {"removed": watch_id}

    @routes.get("/watches/{watch_id}/changes", summary="One watch's changes, newest first")
    def changes(watch_id: str, limit: int = 50) -> Any:
        _found(bot, watch_id)
        return [c.to_json() for c in bot.watcher.changes(watch_id, _limit(limit))]

    @routes.get("/watches/{watch_id}/changes.atom", response_class=Response,
                summary="One watch's changes as an Atom feed")
    def feed(request: Request, watch_id: str, limit: int = 50) -> Response:
        watch = _found(bot, watch_id)
        found = bot.watcher.changes(watch_id, _limit(limit))
        return Response(atom(found, title=f"newsqa: {watch.question}",
                             self_url=str(request.url), feed_id=_feed_id(request)),
                        media_type=ATOM)

    return routes


def _found(bot: Assistant, watch_id: str) -> Any:
    try:
        return bot.watcher.get(watch_id)
    except WatchNotFound as exc:
        raise ApiError(404, str(exc)) from None


def _limit(limit: int) -> int:
    return max(1, min(limit, 1000))


def _feed_id(request: Request) -> str:
    """A stable id: the feed's own URL without its query."""
    return str(request.url.replace(query=""))
