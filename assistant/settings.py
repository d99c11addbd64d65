"""The one settings object. Read from `NEWSQA_*` environment variables (nested sections
use a double underscore: `NEWSQA_RETRIEVAL__TOP_K=5`) and passed down through
constructors; nothing imports it as a global."""

from __future__ import annotations

import logging
import os
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, Field, SecretStr, ValidationError, field_validator
from pydantic.fields import FieldInfo
from pydantic_settings import BaseSettings, SettingsConfigDict

from assistant.answer import CONFIDENT_AT
from assistant.errors import SettingsError
from index.settings import (
    ChunkingSettings,
    EmbeddingSettings,
    FetchSettings,
    FollowSettings,
    IngestSettings,
    RetrievalSettings,
    StoreSettings,
)

log = logging.getLogger(__name__)


def default_home() -> Path:
    """Per-user data directory (e.g. ~/.local/share/newsqa on Linux)."""
    import platformdirs

    return Path(platformdirs.user_data_dir("newsqa", appauthor=False))


class LLMSettings(BaseModel):
    """An optional OpenAI-compatible chat endpoint that writes answers (`assistant.llm.answerer`);
    its quotes are verified against the articles (`assistant.llm.verify`). Unset URL: no LLM."""

    url: str | None = Field(
        None,
        description="Base URL of an OpenAI-compatible API, e.g. http://127.0.0.1:8765/v1 "
        "(scripts/llm-server.sh, llama.cpp, vLLM, Ollama's /v1, a hosted API). Unset: no LLM.",
    )
    model: str = Field("local", description="Model name sent to the endpoint.")
    api_key: SecretStr = Field(
        SecretStr(""), description="API key; may be empty for a local server. Never "
        "written to eval reports or logs."
    )
    timeout_s: float = Field(
        120.0, gt=0, description="Seconds to wait for the endpoint before answering with "
        "quotes only (the extractive answerer)."
    )
    max_tokens: int = Field(
        256, ge=16, le=8192, description="Most tokens the model may write per answer."
    )
    temperature: float = Field(0.0, ge=0, le=2, description="Sampling temperature.")
    structured: Literal["auto", "json_schema", "json_object", "off"] = Field(
        "auto",
        description="How the JSON answer format is enforced: OpenAI's `json_schema` "
        "response_format, llama-cpp-python's `json_object` with a schema, or `off` (a plain "
        "text format). `auto` tries them in that order and remembers what the server took.",
    )
    context_window: int = Field(
        4096, ge=512, description="The model's context window in tokens; passages and "
        "history are trimmed to fit it."
    )
    max_passages: int = Field(
        5, ge=1, le=20, description="Most retrieved passages shown to the model."
    )
    history_turns: int = Field(
        3, ge=0, le=20, description="Earlier question/answer turns sent with a follow-up."
    )
    history_tokens: int = Field(
        400, ge=0, description="Token budget for those earlier turns (oldest dropped first)."
    )

    @field_validator("url")
    @classmethod
    def _http_url(cls, value: str | None) -> str | None:
        value = (value or "").strip().rstrip("/") or None
        if value is not None and not value.startswith(("http://", "https://")):
            raise ValueError("must be an http(s) URL such as http://127.0.0.1:8765/v1")
        return value


class AnswerSettings(BaseModel):
    """How the extractive answerer picks and cites sentences."""

    max_sentences: int = Field(
        3, ge=1, le=10,
        description="Sentences quoted in an answer by relevance and the reader's belief. When "
        "the reader hesitates, its next answers (up to 2, `assistant.reader.ALTERNATIVES`) "
        "may add a quote each, so the right answer is on screen even if the short one is "
        "wrong.",
    )
    min_relevance: float = Field(
        0.40,
        ge=-1,
        le=2,
        description="Relevance (blend of semantic and keyword match) the best sentence must "
        "reach; below it the answer abstains instead of quoting unrelated text. Calibrated: "
        "1.6% wrong abstentions on answerable rtqa-2022 questions (0.5 gives 6%), while the "
        "seed set's unanswerable questions score at most 0.11.",
    )
    relative_cutoff: float = Field(
        0.80,
        ge=0,
        le=1,
        description="Further sentences are quoted only if they score at least this fraction of "
        "the best one.",
    )
    embedded_sentences: int = Field(
        8,
        ge=1,
        le=200,
        description="Candidate sentences embedded (and so scored) per answer, picked by keyword "
        "overlap with the question and passage rank. Embedding them is most of a warm ask's "
        "time: 8 scores as well as 24 on 400 rtqa-2022 questions at 0.36-0.44x the time "
        "(bench/warm_ask.py). Keep it >= reader_windows, or the reader sees fewer windows.",
    )
    short_answers: bool = Field(
        True,
        description="Find a short answer (a name, place, number, date or short noun phrase) "
        "inside the quotes with the reader (spaCy, loaded on first use). False: quotes only.",
    )
    span_model: Path | None = Field(
        None,
        description="The reader's span model file (ONNX), e.g. a model rebuilt by "
        "training/train_span.py. Unset: the one shipped in assistant/reader/span.onnx. Its "
        "sha256 must match the record beside it (span.json, or a training run's "
        "span.report.json), checked when it loads; a model that is missing, corrupt, of "
        "another shape or changed is named in one warning and `newsqa check`, and asks "
        "answer with their quotes but no short answer.",
    )
    confident_at: float = Field(
        CONFIDENT_AT, ge=0, le=1,
        description="Confidence (the calibrated probability that the short answer is right, "
        "assistant/reader/calibration.json) at which it is stated as a fact, \"Answer: X "
        "[n]\"; below it the CLI and the chat say \"Not sure; the articles suggest X [n] or "
        "Y [m]\". JSON always carries the confidence and the alternatives. At 0.49 the "
        "stated answers of rtqa-2022 and rtqa-2023 are right 70% of the time, 44% of "
        "answerable questions stated (training/calibrate_confidence.py: the lowest confidence "
        "reaching 70% is 0.489). 0 states every short answer, 1 none.",
    )
    reader_windows: int = Field(
        8,
        ge=1,
        le=20,
        description="How many of the best sentences the reader parses, each with the next one, "
        "for a short answer (gold span among the candidates on rtqa-2022: 0.68 with 3, 0.74 "
        "with 5, 0.78 with 8; each costs ~5 ms of spaCy time per question).",
    )
    llm: LLMSettings = Field(default_factory=LLMSettings)

    @field_validator("span_model", mode="before")
    @classmethod
    def _unset_when_empty(cls, value: object) -> object:
        return None if isinstance(value, str) and not value.strip() else value


class ServeSettings(BaseModel):
    """The chat server and its JSON API (`/api`)."""

    host: str = Field("127.0.0.1", description="Interface to listen on; loopback by default.")
    port: int = Field(7860, ge=1, le=65535, description="Port of the chat server.")
    auth: str | None = Field(
        None, description="'user:password' turns on Gradio's login page with this one login, "
        "an editor (may also upload and remove articles). Unset: no such login.",
    )
    users_file: Path | None = Field(
        None, description="Chat logins with roles, one a line `NAME:ROLE:BCRYPT-HASH` (ROLE: "
        "reader asks and reads; editor also uploads and removes); write it with `newsqa users "
        "add NAME --role reader|editor --file PATH`. Plain-text passwords are refused. Read "
        "at start. Unset: no users file.",
    )
    max_upload_mb: float = Field(20.0, gt=0, description="Largest article file accepted.")
    max_upload_unpacked_mb: float = Field(
        200.0, gt=0, description="Largest uploaded .gz file once decompressed (counted in a "
        "stream, so a small compressed bomb is refused without filling memory).",
    )
    api_token: SecretStr | None = Field(
        None,
        description="The write token of the JSON API: `Authorization: Bearer TOKEN` may push "
        "articles, ask and read (or `newsqa serve --api-token`). Never a chat password. "
        "Unset, with no other credential: the API is open (loopback only by default).",
    )
    read_token: SecretStr | None = Field(
        None,
        description="A read-only token of the JSON API (or `newsqa serve --read-token`): "
        "`Authorization: Bearer TOKEN` may ask and read, but POST /api/articles gets 403. "
        "Never a chat password. Unset: no read token.",
    )
    max_body_mb: float = Field(
        50.0, gt=0, description="Largest request body POST /api/articles and /api/ask "
        "accept; a bigger one gets 413. Split the push into batches (`newsqa push --batch`).",
    )
    max_articles: int = Field(
        10_000, ge=1, description="Most articles one POST /api/articles may carry; more get "
        "413. `newsqa push` sends batches well under it.",
    )
    max_question_chars: int = Field(
        2_000, ge=10, description="Longest question (characters) the API and the chat answer; "
        "a longer one gets 422.",
    )
    max_batch_questions: int = Field(
        100, ge=1, description="Most questions in one batch POST /api/ask.",
    )
    ask_threads: int = Field(
        0, ge=0, le=64,
        description="Questions answered at the same time by the chat (with its /ask "
        "endpoint) and by /api/ask, each; more wait their turn. 0: two per CPU core "
        "(measured by bench/serve_bench.py).",
    )


class WatchSettings(BaseModel):
    """Watched questions (`newsqa watch`, the chat's Watched panel, /api/watches): asked
    again after every write that could change their answer."""

    max_watches: int = Field(
        1_000, ge=1, le=100_000,
        description="Most watches a data home keeps; adding one more is refused (remove some "
        "with `newsqa watch remove`). Each write re-asks only the watches its articles could "
        "affect; bench/watch_bench.py measures 1,000 on the rtqa-2024 index.",
    )
    on_write: bool = Field(
        True, description="Re-check the watches after every write (ingest, follow polls, "
        "pushes, uploads, removals). Off: only `newsqa watch check` re-checks them.",
    )


class Settings(BaseSettings):
    """Everything a user can configure, grouped by the part of the pipeline it steers."""

    model_config = SettingsConfigDict(
        env_prefix="NEWSQA_", env_nested_delimiter="__", extra="ignore"
    )

    home: Path = Field(
        default_factory=default_home,
        description="Data home: Chroma data, exported models, keyword index.",
    )
    embedding: EmbeddingSettings = Field(default_factory=EmbeddingSettings)
    chunking: ChunkingSettings = Field(default_factory=ChunkingSettings)
    ingest: IngestSettings = Field(default_factory=IngestSettings)
    fetch: FetchSettings = Field(default_factory=FetchSettings)
    follow: FollowSettings = Field(default_factory=FollowSettings)
    store: StoreSettings = Field(default_factory=StoreSettings)
    retrieval: RetrievalSettings = Field(default_factory=RetrievalSettings)
    answer: AnswerSettings = Field(default_factory=AnswerSettings)
    serve: ServeSettings = Field(default_factory=ServeSettings)
    watch: WatchSettings = Field(default_factory=WatchSettings)

    @property
    def chroma_dir(self) -> Path:
        return self.home / "chroma"

    @property
    def model_dir(self) -> Path:
        return self.home / "models"


def load_settings(**overrides: object) -> Settings:
    """Read settings from the environment, apply overrides, and name any bad setting.
    Misspelled `NEWSQA_*` variables are warned about (logged) with the closest valid name;
    a data home that is not a usable folder is an error."""
    import pydantic_settings

    for warning in unknown_variables(os.environ):
        log.warning(warning)
    try:
        settings = Settings(**overrides)  # type: ignore[arg-type]
    except ValidationError as exc:
        problems = []
        for err in exc.errors():
            loc = "__".join(str(p) for p in err["loc"]).upper()
            problems.append(f"NEWSQA_{loc}: {err['msg']}")
        raise SettingsError("invalid setting: " + "; ".join(problems)) from exc
    except pydantic_settings.SettingsError as exc:  # e.g. NEWSQA_RETRIEVAL='{bad json'
        field = str(exc).split('"')[1] if '"' in str(exc) else ""
        prefix = f"NEWSQA_{field.upper()}" if field else "NEWSQA_"
        bad = _bad_json(os.environ, prefix)
        if bad is not None and bad[0] != prefix:  # a list field inside a section
            name, why = bad
            raise SettingsError(
                f"invalid setting: {name} must be a JSON list ({why}), e.g. "
                f"{name}='[\"first\", \"second\"]'") from exc
        name = prefix if field else "a NEWSQA_* variable"
        raise SettingsError(
            f"invalid setting: {name} is not valid JSON ({exc.__cause__ or exc}); set one "
            f"field at a time instead, e.g. NEWSQA_RETRIEVAL__TOP_K=5") from exc
    check_home(settings.home)
    return settings


def _bad_json(environ: Mapping[str, str], prefix: str) -> tuple[str, str] | None:
    """(variable, why) of the first set variable under `prefix` that must be JSON (a
    section, or a list or dict field) and is not: pydantic-settings names only the
    top-level section it was reading."""
    import json
    import typing

    for var, field in _fields(Settings, "NEWSQA_"):
        if not var.startswith(prefix) or var not in environ:
            continue
        kind = typing.get_origin(field.annotation) or field.annotation
        if not (kind in (list, dict) or (isinstance(kind, type)
                                         and issubclass(kind, BaseModel))):
            continue
        try:
            json.loads(environ[var])
        except ValueError as exc:
            return var, str(exc)
    return None


def check_home(home: Path) -> None:
    """The data home must be a folder this user can write, or creatable as one."""
    where = f"NEWSQA_HOME (or --home) is {str(home)!r}"
    if home.exists() and not home.is_dir():
        raise SettingsError(f"{where}, which is a file, not a folder; point it at a folder "
                            "(it is created if missing)")
    probe = home
    while not probe.exists():
        probe = probe.parent
    if not probe.is_dir():
        raise SettingsError(f"{where}, but {probe} is a file; point it at a folder")
    if not os.access(probe, os.W_OK | os.X_OK):
        raise SettingsError(f"{where}, but {probe} is not writable by this user; point it "
                            "at a folder you can write")
    # os.access says yes to root everywhere, even where nothing can be written (/proc, a
    # read-only mount): only a real write tells.
    import tempfile

    try:
        with tempfile.TemporaryFile(dir=probe):
            pass
    except OSError as exc:
        raise SettingsError(f"{where}, but nothing can be written in {probe} "
                            f"({exc.strerror or exc}); point it at a folder you can write") \
            from None


def setting_names() -> list[str]:
    """Every NEWSQA_* variable name a setting reads, nested sections included
    (`NEWSQA_ANSWER`, `NEWSQA_ANSWER__LLM`, `NEWSQA_ANSWER__LLM__URL`, ...)."""
    return [name for name, _ in _fields(Settings, "NEWSQA_")]


def _fields(model: type[BaseModel], prefix: str) -> Iterator[tuple[str, FieldInfo]]:
    """(variable name, field) of every field of `model`, depth first; a section comes
    before its own fields, since it can also be set whole as JSON."""
    for name, field in model.model_fields.items():
        var = f"{prefix}{name.upper()}"
        yield var, field
        section = field.annotation
        if isinstance(section, type) and issubclass(section, BaseModel):
            yield from _fields(section, var + "__")


def settings_table() -> str:
    """The settings as a Markdown table (variable, default, description), generated from
    the `Field` descriptions: docs/settings.md embeds it (cog), and a test fails when the
    two disagree. Sections are listed by their fields only."""
    rows = ["| variable | default | description |", "| --- | --- | --- |"]
    for var, field in _fields(Settings, "NEWSQA_"):
        section = field.annotation
        if isinstance(section, type) and issubclass(section, BaseModel):
            continue
        rows.append(f"| `{var}` | {_default(field)} | {_cell(field.description or '')} |")
    return "\n".join(rows)


def _default(field: FieldInfo) -> str:
    if field.default_factory is not None:
        return "per-user data folder" if field.default_factory is default_home else "-"
    value = field.default
    if isinstance(value, SecretStr):
        value = value.get_secret_value()
    if isinstance(value, bool):
        value = str(value).lower()
    return "unset" if value is None or value == "" else f"`{value}`"


def _cell(text: str) -> str:
    return " ".join(text.split()).replace("|", "\\|")


def unknown_variables(environ: Mapping[str, str]) -> list[str]:
    """A warning for each NEWSQA_* variable no setting reads, naming the closest valid one."""
    import difflib

    known = setting_names()
    warnings = []
    for var in sorted(v for v in environ if v.upper().startswith("NEWSQA_")):
        if var.upper() in known:
            continue
        close = difflib.get_close_matches(var.upper(), known, n=1, cutoff=0.6)
        hint = f"; did you mean {close[0]}?" if close else \
            "; see docs/settings.md"
        warnings.append(f"{var} is not a newsqa setting and is ignored{hint}")
    return warnings
