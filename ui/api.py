"""The JSON HTTP API, mounted at `/api` on the chat's own server (Gradio's FastAPI app):

    POST /api/ask          one question, or {"questions": [...]}: `newsqa ask --json` objects
    POST /api/articles     {"articles": [...]} or application/x-ndjson -> 202 {job_id, ...}
    GET  /api/articles/{id} the stored article: text[start:end] is a citation's quote
    GET  /api/sources      sources with article counts and date ranges
    GET  /api/jobs         the newest jobs (pushes, uploads, feed polls), newest first
    GET  /api/jobs/{id}    a job's state and counts
    GET  /api/health       status; with a credential (or auth off) also index size, model,
                           store, jobs, feeds followed
    GET  /api/docs         OpenAPI docs

Roles (`ui.auth`): the write token and editors' logins may do everything; the read token
and readers' logins may ask and read, and get 403 on POST /api/articles.

Every error is `{"error": "what is wrong and what to do"}` with an honest status, never
an HTML page or a traceback. Writes go through the ingest worker (`ui.worker`);
asks run in the server's thread pool and never wait for it.
"""

from __future__ import annotations

import logging
import threading
from typing import Annotated, Any

import anyio
import anyio.to_thread
from fastapi import APIRouter, Depends, FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from fastapi.security import HTTPBearer
from pydantic import ValidationError
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException

from assistant.errors import AssistantError, EmptyQuestion
from assistant.service import Assistant
from index.article import Article
from index.errors import (
    DiskFull,
    IndexNotFound,
    ModelMismatch,
    NewsIndexError,
    StoreError,
    StoreUnavailable,
)
from ui.api_model import (
    NDJSON_TYPES,
    Accepted,
    ApiError,
    ArticlesBody,
    ArticleView,
    AskBatch,
    AskRequest,
    Health,
    JobView,
    SourceView,
    article_items,
    describe,
    parse_json,
    validate_articles,
)
from ui.article import article_json
from ui.auth import EDITOR, Access
from ui.body import MB, content_type, read_body
from ui.follow import FeedPoller
from ui.watch_api import watch_routes
from ui.worker import IngestWorker

log = logging.getLogger(__name__)
# Only declares the scheme in the OpenAPI docs (their "Authorize" button); Access checks.
BEARER = HTTPBearer(auto_error=False, description="NEWSQA_SERVE__API_TOKEN")
RETRY_AFTER_S = 2  # what a 503 before the warm-up is done tells a client to wait


def _schema(model: type[Any]) -> dict[str, Any]:
    return {"$ref": f"#/components/schemas/{model.__name__}"}


def build_api(bot: Assistant, worker: IngestWorker, access: Access, ask_slots: int,
              poller: FeedPoller | None = None, ready: threading.Event | None = None
              ) -> FastAPI:
    """The `/api` application (mount it on the chat server's app); at most `ask_slots`
    questions are answered at once, the others wait for a slot. Until `ready` is set (the
    server's warm-up has loaded every model), asks get 503 with Retry-After."""
    cfg = bot.settings.serve
    slots = anyio.CapacityLimiter(ask_slots)
    if ready is None:
        ready = threading.Event()
        ready.set()

    async def answer(data: Any, prefix: str) -> dict[str, Any]:
        return await anyio.to_thread.run_sync(_answer, bot, data, prefix, limiter=slots)

    api = FastAPI(
        title="newsqa API", version="1",
        description="Questions answered from the indexed news articles, every claim cited "
        "with the exact source text; articles pushed in, indexed by a background worker. "
        "Send `Authorization: Bearer TOKEN` when the server has an API token: the write "
        "token may push, the read token may ask and read.",
        docs_url="/docs", redoc_url=None, openapi_url="/openapi.json",
    )
    _handle_errors(api)
    def require_token(request: Request, _: Annotated[Any, Depends(BEARER)]) -> None:
        role = access.api_role(request.headers.get("authorization"))
        if role is None:
            scheme, what = access.challenge()
            raise ApiError(401, f"missing or wrong credentials: {what}",
                           headers={"WWW-Authenticate": scheme})
        request.state.role = role

    def require_write(request: Request) -> None:
        # Runs after require_token (the router's dependency), which set the role.
        if getattr(request.state, "role", None) != EDITOR:
            raise ApiError(403, "this credential may ask and read but not add articles or "
                           "watches (the read token and reader logins are read-only); use the "
                           "write token (NEWSQA_SERVE__API_TOKEN) or an editor's login")

    guarded = APIRouter(dependencies=[Depends(require_token)])

    @guarded.post(
        "/ask", summary="Answer a question (or a batch)",
        responses={200: {"description": "The object of `newsqa ask --json`, or "
                         '{"answers": [...]} for a batch (a bad item is {"error": ...})'}},
        openapi_extra={"requestBody": {"required": True, "content": {"application/json": {
            "schema": {"oneOf": [_schema(AskRequest), _schema(AskBatch)]}}}}},
    )
    async def ask(request: Request) -> Any:
        if not ready.is_set():
            # Refused, not queued: a cold ask would take seconds and hold a slot meanwhile.
            raise ApiError(503, "the server is still loading its models (a few seconds after "
                           "it starts); ask again shortly, or wait for GET /api/health to say "
                           '"ready": true', headers={"Retry-After": str(RETRY_AFTER_S)})
        data = parse_json(await read_body(request, cfg.max_body_mb, ("application/json",)))
        if isinstance(data, dict) and "questions" in data:
            items = data["questions"]
            if not isinstance(items, list) or not items:
                raise ApiError(422, '"questions" must be a non-empty list of '
                               '{"question": "..."} objects')
            if len(items) > cfg.max_batch_questions:
                raise ApiError(413, f"{len(items)} questions is over the limit of "
                               f"{cfg.max_batch_questions} per request "
                               "(NEWSQA_SERVE__MAX_BATCH_QUESTIONS); send fewer at a time")
            answers = []
            for i, item in enumerate(items):
                try:
                    answers.append(await answer(item, f"item {i}: "))
                except ApiError as exc:
                    answers.append({"error": exc.message})
            return {"answers": answers}
        return await answer(data, "")

    @guarded.post(
        "/articles", status_code=202, response_model=Accepted,
        summary="Add or update articles (indexed by a background job; write token or editor)",
        dependencies=[Depends(require_write)],
        openapi_extra={"requestBody": {"required": True, "content": {
            "application/json": {"schema": _schema(ArticlesBody)},
            "application/x-ndjson": {"schema": {"type": "string",
                                                "description": "one record a line"}}}}},
    )
    async def articles(request: Request) -> Any:
        kind = content_type(request)
        raw = await read_body(request, cfg.max_body_mb, ("application/json", *NDJSON_TYPES))
        # Parsing and checking up to 10,000 records is CPU work: off the event loop.
        items = await run_in_threadpool(article_items, raw, kind in NDJSON_TYPES)
        if not items:
            raise ApiError(422, 'the body has no articles; send {"articles": [{"text": '
                           '"...", "title": "..."}]}')
        if len(items) > cfg.max_articles:
            raise ApiError(413, f"{len(items):,} articles is over the limit of "
                           f"{cfg.max_articles:,} per request (NEWSQA_SERVE__MAX_ARTICLES); "
                           "send them in batches, e.g. `newsqa push --batch 500`")
        limit = int(bot.settings.ingest.max_article_mb * MB)
        records, rejected = await run_in_threadpool(validate_articles, items, limit)
        count = sum(1 for r in records if r is not None)
        if not count:
            raise ApiError(422, "no article in the body can be indexed: "
                           + "; ".join(r.error for r in rejected[:5])
                           + ("; ..." if len(rejected) > 5 else ""),
                           rejected=[r.model_dump() for r in rejected])
        job = await run_in_threadpool(worker.submit_records, records,
                                      [r.error for r in rejected])
        return Accepted(job_id=job.id, accepted=count, rejected=rejected)

    @guarded.get("/articles/{article_id:path}", response_model=ArticleView,
                 summary="A stored article (what citations point into)")
    def article(article_id: str) -> Any:
        found = _article(bot, article_id)
        return article_json(found)

    @guarded.get("/sources", response_model=list[SourceView],
                 summary="Sources of the indexed articles, with counts and date ranges")
    def sources() -> Any:
        try:
            return [{"name": s.name, "articles": s.articles,
                     "first": s.first.isoformat() if s.first else None,
                     "last": s.last.isoformat() if s.last else None} for s in bot.sources()]
        except IndexNotFound:
            return []

    @guarded.get("/jobs", response_model=list[JobView],
                 summary="The newest ingest jobs (pushes, uploads, feed polls), newest first")
    def jobs(limit: int = 50) -> Any:
        return [j.to_json() for j in worker.recent(max(1, min(limit, 1000)))]

    @guarded.get("/jobs/{job_id}", response_model=JobView, summary="A job's state")
    def job(job_id: str) -> Any:
        found = worker.job(job_id)
        if found is None:
            raise ApiError(404, f"no job {job_id!r}: use the job_id that POST /api/articles "
                           "returned")
        return found.to_json()

    open_routes = APIRouter()

    @open_routes.get("/health", response_model=Health, summary="Is the server up; index size",
                     description='Without a credential (when the server requires one) only '
                     '{"status": "ok"}: the server is up. With a read or write credential, '
                     'or with auth off, the details.')
    def health(request: Request) -> Any:
        # Feeds, the store's path and job ids are for those who may read, not for anyone.
        if access.on and not access.api_ok(request.headers.get("authorization")):
            return JSONResponse({"status": "ok", "ready": ready.is_set()})
        return _health(bot, worker, poller, ready.is_set())

    guarded.include_router(watch_routes(bot, require_write))
    api.include_router(guarded)
    api.include_router(open_routes)
    for model in (AskRequest, AskBatch, ArticlesBody):  # referenced by the request bodies
        _add_schema(api, model)
    return api


def _add_schema(api: FastAPI, model: type[Any]) -> None:
    make = api.openapi

    def openapi() -> dict[str, Any]:
        spec = make()
        schemas = spec.setdefault("components", {}).setdefault("schemas", {})
        if model.__name__ not in schemas:
            full = model.model_json_schema(ref_template="#/components/schemas/{model}")
            schemas.update(full.pop("$defs", {}))
            schemas[model.__name__] = full
        return spec

    api.openapi = openapi  # type: ignore[method-assign]


def _answer(bot: Assistant, data: Any, prefix: str) -> dict[str, Any]:
    """One question's `newsqa ask --json` object; ApiError saying what to fix."""
    if not isinstance(data, dict):
        raise ApiError(422, f'{prefix}expected {{"question": "..."}}')
    try:
        req = AskRequest.model_validate(data)
    except ValidationError as exc:
        raise ApiError(422, "; ".join(m for _, m in describe(exc, prefix))) from None
    limit = bot.settings.serve.max_question_chars
    if len(req.question) > limit:
        raise ApiError(422, f"{prefix}the question is {len(req.question):,} characters, over "
                       f"the limit of {limit:,} (NEWSQA_SERVE__MAX_QUESTION_CHARS); shorten "
                       "it")
    if req.llm and not bot.llm_configured:
        raise ApiError(422, f"{prefix}llm needs an LLM endpoint on the server "
                       "(NEWSQA_ANSWER__LLM__URL); leave llm out for quoted answers")
    try:
        scope = bot.resolve_scope(req.since, req.until, req.sources)
        answer = bot.ask(req.question, k=req.k, as_of=req.as_of, history=req.history,
                         choices=req.choices, llm=req.llm, scope=scope)
    except EmptyQuestion:
        raise ApiError(422, f"{prefix}the question is empty; send the text you want "
                       "answered") from None
    except IndexNotFound:
        raise ApiError(503, f"{prefix}nothing is indexed yet: push articles (POST "
                       "/api/articles or `newsqa push`), or run `newsqa ingest PATH` on the "
                       "server, then ask again") from None
    except (ModelMismatch, StoreUnavailable, StoreError, DiskFull) as exc:
        raise ApiError(503, f"{prefix}{exc}") from None
    except (AssistantError, NewsIndexError) as exc:
        raise ApiError(422, f"{prefix}{exc}") from None
    except Exception:
        log.exception("POST /api/ask failed")
        raise ApiError(500, f"{prefix}the question could not be answered (internal error); "
                       "the server log has the details. Try again or rephrase") from None
    return answer.to_json()


def _article(bot: Assistant, article_id: str) -> Article:
    """The stored article, or ApiError 404/503 saying what to do."""
    try:
        found = bot.article(article_id)
    except IndexNotFound:
        found = None
    except (NewsIndexError, AssistantError) as exc:
        raise ApiError(503, str(exc)) from None
    if found is None:
        raise ApiError(404, f"no article {article_id!r} in the index; use a citation's "
                       "article_id from POST /api/ask")
    return found


def _health(bot: Assistant, worker: IngestWorker, poller: FeedPoller | None = None,
            ready: bool = True) -> Any:
    jobs = worker.counts()
    follow = poller.status.to_json() if poller is not None else None
    store = bot.store.location
    emb = bot.settings.embedding
    model = f"{emb.model}@{emb.backend}"  # as an index built now records it
    try:
        info = bot.info()
    except IndexNotFound:
        return Health(status="empty", ready=ready, articles=0, chunks=0,
                      embedding_model=model, store=store, jobs=jobs, follow=follow)
    except Exception as exc:
        log.warning("health: %s", exc)
        return JSONResponse(status_code=503, content={
            "error": f"the index cannot be opened: {exc}", "status": "unavailable",
            "ready": ready, "articles": 0, "chunks": 0, "embedding_model": model, "store": store,
            "jobs": jobs, "follow": follow})
    return Health(status="ok" if info["articles"] else "empty", ready=ready,
                  articles=info["articles"],
                  chunks=info["chunks"], embedding_model=str(info["embedding_model"]),
                  store=str(info["store"]), jobs=jobs, follow=follow)


def _handle_errors(api: FastAPI) -> None:
    async def api_error(request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, ApiError)
        return JSONResponse(exc.body(), status_code=exc.status, headers=exc.headers)

    async def invalid(request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, RequestValidationError)
        problems = []
        for err in exc.errors():
            where = ".".join(str(p) for p in err.get("loc", ()))
            problems.append(f"{where}: {err.get('msg', 'invalid')}")
        return JSONResponse({"error": "invalid request: " + "; ".join(problems)},
                            status_code=422)

    async def http_error(request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, HTTPException)
        if exc.status_code == 404:
            message = (f"no such route: {request.method} {request.url.path}; the routes are "
                       "listed at /api/docs")
        elif exc.status_code == 405:
            message = (f"{request.method} is not allowed on {request.url.path}; see /api/docs")
        else:
            message = str(exc.detail)
        return JSONResponse({"error": message}, status_code=exc.status_code,
                            headers=getattr(exc, "headers", None))

    async def crash(request: Request, exc: Exception) -> JSONResponse:
        log.error("%s %s failed", request.method, request.url.path, exc_info=exc)
        return JSONResponse({"error": "internal error; the server log has the details. "
                             "Try again; if it persists, report it"}, status_code=500)

    async def disk_full(request: Request, exc: Exception) -> JSONResponse:
        return JSONResponse({"error": str(exc)}, status_code=507)

    api.add_exception_handler(DiskFull, disk_full)
    api.add_exception_handler(ApiError, api_error)
    api.add_exception_handler(RequestValidationError, invalid)
    api.add_exception_handler(HTTPException, http_error)
    api.add_exception_handler(Exception, crash)
