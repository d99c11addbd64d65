"""What the JSON API (`ui/api.py`) takes and gives: pydantic models at the edge, and the
checks that turn a request body into validated article records or questions, with
errors naming the record (or item) and the field."""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import date
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from index.parse import SIZE_SETTING, parse_record
from index.stream import depth_message, too_deep

NDJSON_TYPES = ("application/x-ndjson", "application/ndjson", "application/jsonl",
                "application/x-jsonlines", "application/json-lines")


class Filters(BaseModel):
    """The date and source filters of `newsqa ask` (an ask's, a watch's)."""

    model_config = ConfigDict(extra="forbid")

    since: date | None = Field(None, description="YYYY-MM-DD: only articles published on or "
                               "after this day (undated ones are left out).")
    until: date | None = Field(None, description="YYYY-MM-DD: only articles published on or "
                               "before this day (undated ones are left out).")
    sources: list[str] = Field(default_factory=list, description="Only articles from these "
                               "sources (names as GET /api/sources lists them, any case).")


class AskRequest(Filters):
    """One question, as `newsqa ask` takes it."""

    question: str = Field(description="The question, e.g. \"Where are remaining IS cells?\"")
    k: int | None = Field(None, ge=1, le=100, description="Passages to retrieve (default "
                          "NEWSQA_RETRIEVAL__TOP_K).")
    as_of: date | None = Field(None, description="YYYY-MM-DD: ignore articles published "
                               "after this day.")
    choices: list[str] = Field(default_factory=list, description="Quiz options; the answer "
                               "picks one and quotes the evidence.")
    history: list[str] = Field(default_factory=list, description="Earlier questions of the "
                               "conversation, oldest first (for follow-ups).")
    llm: bool = Field(False, description="Let the configured LLM write the answer.")


class AskBatch(BaseModel):
    """Several questions in one call; answers come back in the same order."""

    questions: list[AskRequest]


class ArticleRecord(BaseModel):
    """One article, the record format of `newsqa ingest` JSON Lines."""

    model_config = ConfigDict(extra="ignore")

    text: str = Field(description="The article's text (required, not empty).")
    id: str | int | None = Field(None, description="Article id; the same id replaces the "
                                 "article. Default: a hash of the text.")
    title: str | None = Field(None, description="Headline; default: the first sentence.")
    url: str | None = Field(None, description="Link to the original.")
    date: str | None = Field(None, description="Publication day, YYYY-MM-DD.")
    source: str | None = Field(None, description="Publisher.")

    @field_validator("text")
    @classmethod
    def _not_blank(cls, value: str) -> str:
        if not value.strip():
            raise ValueError("is empty; every article needs its text")
        return value

    @field_validator("date")
    @classmethod
    def _day(cls, value: str | None) -> str | None:
        if value in (None, ""):
            return None
        try:
            date.fromisoformat(value.strip()[:10])
        except ValueError:
            raise ValueError(f"{value!r} is not a date like 2024-12-10 (YYYY-MM-DD)") from None
        return value


class ArticlesBody(BaseModel):
    """The JSON body of POST /api/articles (or send application/x-ndjson: one record a
    line)."""

    articles: list[ArticleRecord]


class Rejected(BaseModel):
    """A record refused before the job started; the others are indexed."""

    index: int = Field(description="Position of the record in the request, from 0.")
    field: str | None = Field(description="The field at fault, if one is.")
    error: str


class Accepted(BaseModel):
    """202 answer of POST /api/articles: the job that indexes the accepted records."""

    job_id: str
    accepted: int
    rejected: list[Rejected] = Field(default_factory=list)


class JobView(BaseModel):
    """GET /api/jobs/{id}."""

    id: str
    state: str = Field(description="queued | running | done | failed")
    kind: str = Field(description="api (pushed) | upload (chat) | follow (a feed poll) | "
                      "prune (retention after a poll, NEWSQA_INGEST__KEEP_DAYS)")
    name: str
    articles_total: int
    articles_done: int
    chunks_embedded: int
    added: int
    updated: int
    unchanged: int
    removed: int = Field(0, description="Articles a prune job removed.")
    errors: list[str] = Field(description="Records or articles that were not indexed, and "
                              "why; a failed job says why it failed.")
    created: str
    started: str | None
    finished: str | None
    resumed: int = Field(description="Times the job was taken up again after a restart.")


class Health(BaseModel):
    """GET /api/health (no token needed)."""

    status: str = Field(description="ok | empty (nothing indexed yet) | unavailable")
    ready: bool = Field(
        True, description="Whether every model an ask uses is loaded (`newsqa serve` loads "
        "them after it starts listening); until then asks get 503 with Retry-After.")
    articles: int
    chunks: int
    embedding_model: str
    store: str
    jobs: dict[str, int] = Field(description="This process's ingest jobs: queued, running.")
    follow: dict[str, Any] | None = Field(
        None, description="Feeds this server polls (newsqa serve --follow): feeds, every_s, "
        "polls, last_poll, last_job, last_problems, next_poll, last_pruned (articles the "
        "last poll's retention removed); null when it follows none.")


class ArticleView(BaseModel):
    """GET /api/articles/{id}: the stored article; text[start:end] is a citation's quote."""

    id: str
    title: str
    date: str | None
    url: str | None
    source: str | None
    text: str


class SourceView(BaseModel):
    """One source of the indexed articles."""

    name: str = Field(description="As stored; \"\" for articles without a source.")
    articles: int
    first: str | None = Field(description="Earliest publication day, YYYY-MM-DD.")
    last: str | None = Field(description="Latest publication day, YYYY-MM-DD.")


class ApiError(Exception):
    """An error answer: `{"error": message, ...extra}` with an honest status."""

    def __init__(self, status: int, message: str, headers: dict[str, str] | None = None,
                 **extra: Any) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.headers = headers
        self.extra = extra

    def body(self) -> dict[str, Any]:
        return {"error": self.message, **self.extra}


def describe(exc: ValidationError, prefix: str = "") -> list[tuple[str | None, str]]:
    """(field, message) for each problem pydantic found."""
    out = []
    for err in exc.errors():
        loc = ".".join(str(p) for p in err["loc"]) or None
        msg = err["msg"].removeprefix("Value error, ")
        if err["type"] == "extra_forbidden":
            msg = "is not a known field"
        out.append((loc, f"{prefix}{'field ' + repr(loc) + ': ' if loc else ''}{msg}"))
    return out


def parse_json(raw: bytes) -> Any:
    """The body as JSON, or 400 saying where it breaks (or that it nests too deep: the
    check runs before the parser, which recurses per level)."""
    if too_deep(raw):
        raise ApiError(400, f"the body is {depth_message()}")
    try:
        return json.loads(raw)
    except RecursionError:
        raise ApiError(400, f"the body is {depth_message()}") from None
    except UnicodeDecodeError:
        raise ApiError(400, "the body is not UTF-8 text; send UTF-8 JSON") from None
    except json.JSONDecodeError as exc:
        raise ApiError(400, f"the body is not valid JSON ({exc.msg} at line {exc.lineno}, "
                       f"column {exc.colno}); check quoting and commas") from None


def article_items(raw: bytes, ndjson: bool) -> list[Any]:
    """The raw records of a POST /api/articles body (not validated yet). A bad NDJSON line
    is kept as an `_InvalidLine`, to be refused on its own."""
    if ndjson:
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError:
            raise ApiError(400, "the body is not UTF-8 text; send UTF-8 JSON lines") from None
        items: list[Any] = []
        # "\n" only: U+2028 and friends are allowed raw inside JSON strings.
        for lineno, line in enumerate(text.split("\n"), start=1):
            if line.strip():
                if too_deep(line):
                    items.append(_InvalidLine(f"line {lineno} is {depth_message()}"))
                    continue
                try:
                    items.append(json.loads(line, strict=False))  # raw \x0b, \x0c kept
                except RecursionError:
                    items.append(_InvalidLine(f"line {lineno} is {depth_message()}"))
                except json.JSONDecodeError as exc:
                    items.append(_InvalidLine(f"line {lineno} is not valid JSON ({exc.msg})"))
        return items
    data = parse_json(raw)
    if isinstance(data, dict) and isinstance(data.get("articles"), list):
        return list(data["articles"])
    if isinstance(data, list):
        return data
    raise ApiError(422, 'expected {"articles": [{"text": "...", "title": "...", ...}, ...]} '
                   "(or application/x-ndjson, one record a line)")


class _InvalidLine:
    def __init__(self, reason: str) -> None:
        self.reason = reason


def validate_articles(items: Sequence[Any], max_article_bytes: int
                      ) -> tuple[list[dict[str, Any] | None], list[Rejected]]:
    """(records to index, rejected records) from the raw records of a push; the first
    list keeps the request's order, with None in the place of each rejected record."""
    accepted: list[dict[str, Any] | None] = []
    rejected: list[Rejected] = []
    for i, item in enumerate(items):
        if isinstance(item, _InvalidLine):
            rejected.append(Rejected(index=i, field=None, error=f"record {i}: {item.reason}"))
            accepted.append(None)
            continue
        if not isinstance(item, dict):
            rejected.append(Rejected(index=i, field=None, error=f"record {i}: is not a JSON "
                                     'object like {"text": "..."}'))
            accepted.append(None)
            continue
        try:
            record = ArticleRecord.model_validate(item)
        except ValidationError as exc:
            problems = describe(exc, f"record {i}: ")
            rejected.extend(Rejected(index=i, field=f, error=m) for f, m in problems)
            accepted.append(None)
            continue
        size = len(record.text.encode("utf-8"))
        if size > max_article_bytes:
            rejected.append(Rejected(
                index=i, field="text", error=f"record {i}: field 'text': {size / 2**20:.1f} MB "
                f"is over the {max_article_bytes / 2**20:g} MB limit of {SIZE_SETTING}; split "
                "the article, or raise the setting"))
            accepted.append(None)
            continue
        data = record.model_dump(exclude_none=True)
        if "id" in data:
            data["id"] = str(data["id"])
        try:
            parse_record(data, f"record {i}")  # what ingest will do with it
        except Exception as exc:
            rejected.append(Rejected(index=i, field=None, error=f"record {i}: {exc}"))
            accepted.append(None)
            continue
        accepted.append(data)
    return accepted, rejected
