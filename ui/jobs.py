"""Ingest jobs kept on disk under the data home, so a restart forgets none of them.

    <home>/jobs/<id>.json    the job's state (written atomically: temp file + rename)
    <home>/jobs/<id>.jsonl   the articles pushed through the API, one record a line

A pushed job's JSONL file stays after the job is done: it is the file its articles were
indexed from, like a chat upload in `<home>/uploads`, so `newsqa check --repair` can
re-index them and `newsqa ingest --prune` does not drop them. Back up `jobs/` with the
rest of the data home.

The worker that runs the jobs is `ui.worker.IngestWorker`.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import uuid
from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal

from index.errors import DiskFull
from index.space import full_message, is_disk_full

JobState = Literal["queued", "running", "done", "failed"]
PENDING: tuple[JobState, ...] = ("queued", "running")
_ID = re.compile(r"^[0-9a-f]{32}$")


def now() -> str:
    """UTC time as ISO 8601 with seconds, e.g. 2026-11-29T21:03:05Z."""
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def process_owner() -> str:
    """This process as `pid:start time` (Linux), so a job left by a dead process is told
    apart from one of a live process that got the same pid after a restart."""
    return f"{os.getpid()}:{_start_time(os.getpid())}"


def owner_alive(owner: str) -> bool:
    """Whether the process that recorded itself as `owner` still runs."""
    pid_text, _, started = owner.partition(":")
    try:
        pid = int(pid_text)
        os.kill(pid, 0)
    except (ValueError, ProcessLookupError):
        return False
    except PermissionError:  # alive, owned by another user
        return True
    except OSError:
        return False
    return _start_time(pid) == started


def _start_time(pid: int) -> str:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return ""
    return stat.rsplit(")", 1)[-1].split()[19]  # field 22: start time in clock ticks


@dataclass(frozen=True)
class Job:
    """One ingest job: what was submitted and how far it got."""

    id: str
    state: JobState
    kind: Literal["api", "upload", "follow", "prune"]
    name: str  # what was submitted, for people: "120 articles", "news.jsonl"
    inputs: tuple[str, ...]  # files the job indexes
    articles_total: int = 0
    articles_done: int = 0
    chunks_embedded: int = 0
    added: int = 0
    updated: int = 0
    unchanged: int = 0
    removed: int = 0  # articles pruned (a `prune` job: retention)
    errors: tuple[str, ...] = ()
    created: str = field(default_factory=now)
    started: str | None = None
    finished: str | None = None
    owner: str = field(default_factory=process_owner)
    resumed: int = 0  # times it was taken up again after a restart

    @property
    def pending(self) -> bool:
        return self.state in PENDING

    def to_json(self) -> dict[str, Any]:
        """The public view (`GET /api/jobs/{id}`): no file paths, no owner."""
        data = asdict(self)
        for private in ("inputs", "owner"):
            data.pop(private)
        data["errors"] = list(self.errors)
        return data

    def summary(self) -> str:
        """One line for people, e.g. `done: 3/3 articles, 2 added, ...; 1 problem`."""
        if self.kind == "prune":
            return f"{self.state}: {self.removed} article(s) pruned"
        text = (f"{self.state}: {self.articles_done}/{self.articles_total} article(s)")
        if self.state in ("done", "failed") or self.added or self.updated or self.unchanged:
            text += (f", {self.added} added, {self.updated} updated, {self.unchanged} "
                     "unchanged")
        text += f"; {self.chunks_embedded} chunk(s) embedded"
        if self.errors:
            text += f"; {len(self.errors)} problem(s)"
        return text

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Job:
        known = {k: v for k, v in data.items() if k in cls.__dataclass_fields__}
        known["inputs"] = tuple(known.get("inputs") or ())
        known["errors"] = tuple(known.get("errors") or ())
        return cls(**known)


class JobStore:
    """The job files of one data home. Safe for threads of one process: every write
    replaces a whole file atomically."""

    def __init__(self, home: Path) -> None:
        self.folder = home / "jobs"

    @staticmethod
    def new_id() -> str:
        return uuid.uuid4().hex

    @staticmethod
    def valid_id(job_id: str) -> bool:
        """Ids are 32 hex digits; anything else (a path, say) is never looked up."""
        return bool(_ID.match(job_id))

    def records_path(self, job_id: str) -> Path:
        return self.folder / f"{job_id}.jsonl"

    def write_records(self, job_id: str,
                      records: Iterable[Mapping[str, Any] | None]) -> Path:
        """Write pushed records as JSON Lines (the format `newsqa ingest` reads). A None
        (a refused record) is an empty line, so line N is always record N - 1 of the
        request and ingest problems name the record the client sent."""
        path = self.records_path(job_id)
        self._atomic(path, "".join(
            (json.dumps(r, ensure_ascii=False) if r is not None else "") + "\n"
            for r in records))
        return path

    def save(self, job: Job) -> None:
        self._atomic(self.folder / f"{job.id}.json", json.dumps(asdict(job), indent=1))

    def load(self, job_id: str) -> Job | None:
        """The job, or None for an unknown (or unreadable) id."""
        if not self.valid_id(job_id):
            return None
        try:
            return Job.from_json(json.loads((self.folder / f"{job_id}.json").read_text()))
        except (OSError, ValueError, TypeError):
            return None

    def all(self) -> list[Job]:
        """Every readable job, oldest first."""
        jobs = [self.load(p.stem) for p in self.folder.glob("*.json")] \
            if self.folder.is_dir() else []
        return sorted((j for j in jobs if j is not None), key=lambda j: (j.created, j.id))

    def _atomic(self, path: Path, text: str) -> None:
        self.folder.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
        try:
            tmp.write_text(text, encoding="utf-8")
            os.replace(tmp, path)
        except OSError as exc:
            if is_disk_full(exc):
                raise DiskFull(f"cannot save job {path.stem}: "
                               + full_message(self.folder.parent)) from exc
            raise
        finally:
            with contextlib.suppress(OSError):
                tmp.unlink(missing_ok=True)


def interrupted(job: Job) -> Job:
    """A job found queued or running at start-up, whose process is gone: queued again
    if its input files are still there (ingest skips what is already indexed, by article
    hash, so running it again adds nothing twice), else failed with the reason."""
    if job.kind == "prune":  # no input: it prunes what is old when it runs
        return replace(job, state="queued", resumed=job.resumed + 1, owner=process_owner())
    missing = [p for p in job.inputs if not Path(p).exists()]
    if missing or not job.inputs:
        reason = ("interrupted by a restart, and its input is gone "
                  f"({', '.join(Path(p).name for p in missing) or 'no files'}); "
                  "push or upload the articles again")
        return replace(job, state="failed", finished=now(), errors=(*job.errors, reason),
                       owner=process_owner())
    return replace(job, state="queued", resumed=job.resumed + 1, owner=process_owner())

