"""`newsqa push FILE... --url URL`: send article files to a running server's JSON API
(`POST /api/articles`) in batches, show progress while its ingest worker indexes them,
and print what was done. The files are read exactly as `newsqa ingest` reads them.

Exit codes as the other commands: 0 all indexed, 1 some files or records failed,
2 nothing could be done (server unreachable, token refused, ...).
"""

from __future__ import annotations

import sys
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from index.article import Article
from index.errors import NothingReadable, ParseError
from index.parse import collect_files, parse_file

EXIT_OK, EXIT_PARTIAL, EXIT_ERROR = 0, 1, 2
POLL_S = 0.5


class PushError(Exception):
    """Pushing cannot go on; the message says why and what to do."""


@dataclass
class Tally:
    """What the server did with the pushed articles, summed over the jobs."""

    read: int = 0
    accepted: int = 0
    added: int = 0
    updated: int = 0
    unchanged: int = 0
    chunks: int = 0
    jobs: int = 0
    problems: list[str] = field(default_factory=list)

    def summary(self) -> str:
        text = (f"{self.read:,} article(s) read, {self.accepted:,} accepted in {self.jobs} "
                f"job(s): {self.added:,} added, {self.updated:,} updated, {self.unchanged:,} "
                f"unchanged; {self.chunks:,} chunk(s) embedded")
        return text + (f"; {len(self.problems)} problem(s)" if self.problems else "")


def record(article: Article) -> dict[str, Any]:
    """An article as a JSON record of the `newsqa ingest` JSONL format."""
    rec: dict[str, Any] = {"id": article.id, "title": article.title, "text": article.text}
    if article.date is not None:
        rec["date"] = article.date.isoformat()
    rec.update({k: v for k, v in (("url", article.url), ("source", article.source)) if v})
    return rec


def read_articles(paths: Sequence[Path], tally: Tally) -> list[dict[str, Any]]:
    """Every article in `paths`, as records; unreadable parts go to `tally.problems`.
    Each record's `_from` names its file and id, for messages; it is not sent."""
    files, errors = collect_files(paths)
    for error in errors:
        if not isinstance(error, NothingReadable):
            tally.problems.append(str(error))
        else:
            print(f"newsqa: warning: {error}", file=sys.stderr)
    records = []
    for f in files:
        for item in parse_file(f):
            if isinstance(item, ParseError):
                tally.problems.append(str(item))
            else:
                records.append({**record(item), "_from": f"{f}: article {item.id}"})
    tally.read = len(records)
    return records


def api_url(url: str) -> str:
    """'host:7860', 'http://host:7860/' or '.../api' -> 'http://host:7860/api'."""
    url = url.strip().rstrip("/")
    if "://" not in url:
        url = "http://" + url
    return url if url.endswith("/api") else url + "/api"


class Server:
    """The few API calls push needs, turning every failure into a PushError."""

    def __init__(self, url: str, token: str | None, timeout: float = 120.0) -> None:
        self.url = api_url(url)
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        self.client = httpx.Client(headers=headers, timeout=timeout)
        self.token = token

    def call(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        try:
            response = self.client.request(method, self.url + path, **kwargs)
        except httpx.HTTPError as exc:
            raise PushError(f"cannot reach the server at {self.url} ({exc}); is `newsqa "
                            "serve` running there? Check --url") from None
        if response.status_code == 401:
            raise PushError(
                f"the server at {self.url} refused the API token; pass the right one with "
                "--token" if self.token else
                f"the server at {self.url} requires an API token: pass --token TOKEN or set "
                "NEWSQA_SERVE__API_TOKEN")
        if response.status_code == 404 and path == "/articles":
            raise PushError(f"no newsqa API at {self.url} (404); check --url (the address "
                            "`newsqa serve` printed)")
        return response

    def submit(self, batch: list[dict[str, Any]], offset: int = 0
               ) -> Iterator[tuple[int, dict[str, Any]]]:
        """POST a batch (`offset`: its first article's position in the push); a batch over
        the server's size limit is split in two and sent again. Yields (offset, the 202
        answer, or {"rejected": [...]} for a batch of which nothing was accepted)."""
        response = self.call("POST", "/articles", json={"articles": batch})
        if response.status_code == 413 and len(batch) > 1:
            half = len(batch) // 2
            yield from self.submit(batch[:half], offset)
            yield from self.submit(batch[half:], offset + half)
            return
        body = _json(response)
        if response.status_code == 202:
            yield offset, body
        elif response.status_code == 422 and "rejected" in body:
            yield offset, {"accepted": 0, "rejected": body["rejected"], "job_id": None}
        else:
            raise PushError(f"the server refused the articles ({response.status_code}): "
                            f"{body.get('error', response.text[:300])}")

    def job(self, job_id: str) -> dict[str, Any]:
        response = self.call("GET", f"/jobs/{job_id}")
        body = _json(response)
        if response.status_code != 200:
            raise PushError(f"cannot follow job {job_id} ({response.status_code}): "
                            f"{body.get('error', response.text[:300])}")
        return body


def _json(response: httpx.Response) -> dict[str, Any]:
    try:
        data = response.json()
    except ValueError:
        return {}
    return data if isinstance(data, dict) else {}


def push(paths: Sequence[Path], url: str, token: str | None = None, batch: int = 500,
         progress: bool = True) -> int:
    """Send the articles in `paths` to the server at `url` and wait for its jobs. Prints
    problems on stderr and a summary on stdout; returns the exit code."""
    tally = Tally()
    records = read_articles(paths, tally)
    server = Server(url, token)
    try:
        if records:
            _send(server, records, batch, tally, progress)
    except PushError as exc:
        print(f"newsqa: error: {exc}", file=sys.stderr)
        return EXIT_ERROR
    finally:
        server.client.close()
    for problem in tally.problems:
        print(f"newsqa: skipped: {problem}", file=sys.stderr)
    if not records and not tally.problems:
        print("newsqa: error: no articles found in the given files", file=sys.stderr)
        return EXIT_ERROR
    print(tally.summary())
    return EXIT_OK if not tally.problems else EXIT_PARTIAL


@dataclass
class _Sent:
    """A job the push started: where its records start in the push, and the server's
    refusals of its request (already counted)."""

    offset: int
    refused: set[str]
    done: int = 0


def _where(records: list[dict[str, Any]], offset: int, index: object) -> str:
    if isinstance(index, int) and 0 <= offset + index < len(records):
        return str(records[offset + index]["_from"])
    return "an article"


def _send(server: Server, records: list[dict[str, Any]], size: int, tally: Tally,
          progress: bool) -> None:
    from tqdm import tqdm

    bar = tqdm(total=len(records), desc="pushing", unit="article", file=sys.stderr,
               disable=not progress, dynamic_ncols=True, leave=False)
    try:
        jobs: dict[str, _Sent] = {}
        settled = 0  # refused records count as done at once
        for start in range(0, len(records), size):
            batch = [{k: v for k, v in r.items() if k != "_from"}
                     for r in records[start:start + size]]
            for offset, answer in server.submit(batch, start):
                rejected = answer.get("rejected") or []  # indexes count from 0 per request
                for r in rejected:
                    error = str(r.get("error")).split(": ", 1)[-1]
                    tally.problems.append(f"{_where(records, offset, r.get('index'))}: "
                                          f"refused by the server: {error}")
                settled += len(rejected)
                tally.accepted += int(answer.get("accepted") or 0)
                if answer.get("job_id"):
                    jobs[answer["job_id"]] = _Sent(offset,
                                                   {str(r.get("error")) for r in rejected})
                    tally.jobs += 1
            bar.n = settled
            bar.refresh()
        _wait(server, records, jobs, tally, bar, settled)
    finally:
        bar.close()


def _wait(server: Server, records: list[dict[str, Any]], jobs: dict[str, _Sent],
          tally: Tally, bar: Any, settled: int) -> None:
    pending = set(jobs)
    while pending:
        for job_id in sorted(pending):
            job, sent = server.job(job_id), jobs[job_id]
            sent.done = int(job.get("articles_done") or 0)
            if job.get("state") not in ("done", "failed"):
                continue
            pending.discard(job_id)
            tally.added += int(job.get("added") or 0)
            tally.updated += int(job.get("updated") or 0)
            tally.unchanged += int(job.get("unchanged") or 0)
            tally.chunks += int(job.get("chunks_embedded") or 0)
            own = [str(e) for e in job.get("errors") or [] if str(e) not in sent.refused]
            if job.get("state") == "failed" and not own:
                own = ["indexing failed"]
            for error in own:
                head, _, reason = error.partition(": ")
                number = head.removeprefix("record ")  # "record N: ..." names the request's
                where = (_where(records, sent.offset, int(number)) if number.isdigit()
                         else f"job {job_id}")
                tally.problems.append(f"{where}: {reason if number.isdigit() else error}")
        bar.n = settled + sum(s.done for s in jobs.values())
        bar.refresh()
        if pending:
            time.sleep(POLL_S)
