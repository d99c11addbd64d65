"""How soon a second app server answers from a poll another one wrote (issue 34's target: a
poll adding 1,000 articles to a 1M-chunk home is visible on a second server <= 10 s after
its job ends).

The home's Chroma folder is served by `chroma run` on loopback. A second app server
(`newsqa serve`) runs on its own data home, pointed at the same Chroma server, with its
keyword index at the position the home's was (the folder hard-linked: its files are
written new and renamed, never changed in place), as a server that has been running
beside the first. Then `newsqa ingest` (the first app server's write path) adds
`--articles` new articles (rtqa-2024 texts under new ids and titles, read in place). From
the moment the ingest returns, the second server is asked the last article's title until
it retrieves that article: the seconds it took, and the same for the first article.
Finally the articles are removed again, so the home is as it was.

    .venv/bin/python bench/second_server.py --home /tmp/scale/home --port 8765

Results: stdout and bench/out/second_server.json.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from harness import OUT, ROOT
from scale import rss_of, serve_chroma
from serve_bench import Server, corpus_records

ENV = {"HF_HUB_OFFLINE": "1", "GRADIO_ANALYTICS_ENABLED": "False",
       "ANONYMIZED_TELEMETRY": "False"}


def seconds_until_found(url: str, record: dict[str, Any], limit: float = 120) -> float | None:
    """Seconds until asking the record's title retrieves it on `url` (None: not in
    `limit`)."""
    import httpx

    t0 = time.perf_counter()
    while time.perf_counter() - t0 < limit:
        answer = httpx.post(url + "/api/ask", json={"question": record["title"], "k": 10},
                            timeout=120).json()
        if any(p.get("article_id") == record["id"]
               for p in answer.get("retrieved", []) + answer.get("citations", [])):
            return time.perf_counter() - t0
        time.sleep(0.2)
    return None


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--home", type=Path, required=True)
    parser.add_argument("--port", type=int, default=8765)
    parser.add_argument("--articles", type=int, default=1000)
    args = parser.parse_args()
    chroma = serve_chroma(args.home / "chroma", args.port)
    env = {**ENV, "NEWSQA_STORE__CHROMA_URL": f"http://127.0.0.1:{args.port}"}
    base = Path(tempfile.mkdtemp(prefix="second-server-"))
    second = base / "home"
    shutil.copytree(args.home / "models", second / "models")
    shutil.copytree(args.home / "keyword", second / "keyword", copy_function=os.link)
    recs = corpus_records(args.articles, skip=100)
    stamp = int(time.time())
    for i, rec in enumerate(recs):
        rec["id"] = f"probe{stamp}-{i}"
        rec["title"] = f"Probe {stamp} {i}: {rec.get('title', '')}"
        # its own first sentence: the home holds this text already (a copy's passage
        # with another's exact text gives way to the next passage)
        rec["text"] = f"Probe {stamp} {i} was filed for the visibility bench. {rec['text']}"
    batch = base / "poll.jsonl"
    batch.write_text("".join(json.dumps(r) + "\n" for r in recs))
    out: dict[str, Any] = {"date": time.strftime("%Y-%m-%d"), "articles": len(recs)}
    cli = [sys.executable, "-m", "ui.cli", "--home", str(args.home)]
    try:
        t0 = time.perf_counter()
        server = Server(second, env)
        out["second_server_ready_s"] = round(time.perf_counter() - t0, 1)
        try:
            t0 = time.perf_counter()
            subprocess.run([*cli, "ingest", "--quiet", str(batch)], cwd=ROOT, check=True,
                           env={**os.environ, **env}, capture_output=True)
            out["ingest_s"] = round(time.perf_counter() - t0, 1)
            last = seconds_until_found(server.url, recs[-1])
            first = seconds_until_found(server.url, recs[0])
            out["visible_last_s"] = None if last is None else round(last, 2)
            out["visible_first_s_after_that"] = None if first is None else round(first, 2)
            out["second_server_rss_mb"] = round(rss_of(server.proc.pid))
            out["chroma_server_rss_mb"] = round(rss_of(chroma.pid))
        finally:
            server.stop()
            subprocess.run([*cli, "remove", *(r["id"] for r in recs)], cwd=ROOT,
                           env={**os.environ, **env}, capture_output=True)
    finally:
        chroma.terminate()
        chroma.wait(60)
        shutil.rmtree(base, ignore_errors=True)
    OUT.mkdir(parents=True, exist_ok=True)
    (OUT / "second_server.json").write_text(json.dumps(out, indent=2))
    print(json.dumps(out, indent=2))


if __name__ == "__main__":
    main()
