"""A hostile site against `newsqa ingest URL` and `newsqa serve --follow` (issue 33): peak
RSS and wall time of each case, over real HTTP on loopback (tests/hostile.py).

CLI: each case is one `newsqa ingest URL` under `/usr/bin/time -v` on a home that already
holds the model export (its first, benign ingest), so a case's peak RSS is the process's,
compared with `newsqa info` and the benign page on the same home. Server: `newsqa serve
--follow FEED` on a fresh home whose feed lists every bomb beside a benign page; its
VmHWM (peak RSS) once ready, against after the poll.

    .venv/bin/python bench/hostile_fetch.py            # results: stdout, bench/out/hostile.json
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from harness import OUT, ROOT
from serve_bench import Server, health

from tests.hostile import (
    HostileSite,
    brotli_bomb,
    empty_deflate_blocks,
    gzip_bomb,
    gzip_bytes,
    respond,
    trickle_headers,
    zstd_bomb,
)
from tests.webserver import page, rss

PYTHON = sys.executable
ENV = {"NEWSQA_FETCH__ALLOWED_HOSTS": '["127.0.0.1"]', "HF_HUB_OFFLINE": "1",
       "GRADIO_ANALYTICS_ENABLED": "False", "NEWSQA_FETCH__TOTAL_TIMEOUT_S": "10",
       "NEWSQA_FETCH__READ_TIMEOUT_S": "5"}
GB4 = 4096  # MB of zeros in each bomb
BENIGN = page("Harbour reopens", ["The harbour of Springfield reopened on Monday after a "
                                  "renovation that cost 12 million dollars, officials said.",
                                  "Fishermen welcomed the new quay."])


def timed(home: Path, *args: str) -> dict[str, Any]:
    """One newsqa command under /usr/bin/time -v: exit code, peak RSS, wall, message."""
    cmd = ["/usr/bin/time", "-v", PYTHON, "-m", "ui.cli", "--home", str(home), *args]
    start = time.perf_counter()
    out = subprocess.run(cmd, cwd=ROOT, env={**os.environ, **ENV}, capture_output=True,
                         text=True, timeout=600)
    wall = time.perf_counter() - start
    rss = re.search(r"Maximum resident set size \(kbytes\): (\d+)", out.stderr)
    said = [ln for ln in out.stderr.splitlines() if ln.startswith("newsqa:")]
    return {"exit": out.returncode, "peak_rss_mb": int(rss.group(1)) / 1024 if rss else None,
            "wall_s": round(wall, 2), "message": said[0][:200] if said else ""}


def follow_once(home: Path, feed: str) -> dict[str, Any]:
    """`newsqa serve --follow FEED` on a fresh home: peak RSS once ready, and once the first
    poll (every item fetched, the good ones indexed) is done."""
    home.mkdir()
    server = Server(home, ENV, ("--follow", feed, "--every", "60m"))
    try:
        ready = server.peak_rss_mb()
        start = time.time()
        while time.time() - start < 300:
            follow = health(server.url).get("follow") or {}
            if follow.get("polls"):
                break
            time.sleep(1)
        return {"peak_rss_ready_mb": ready, "peak_rss_after_poll_mb": server.peak_rss_mb(),
                "poll_s": round(time.time() - start, 1), "follow": follow}
    finally:
        server.stop()


def main() -> None:
    site = HostileSite()
    cases = {
        "benign page": respond(BENIGN),
        "gzip bomb (4 GB in 4.3 MB)": respond(gzip_bomb(GB4), encoding="gzip"),
        "gzip, gzip bomb (4 GB in 10 KB)": respond(gzip_bytes(gzip_bomb(GB4)),
                                                   encoding="gzip, gzip"),
        "br bomb (4 GB in 2.7 MB)": respond(brotli_bomb(GB4), encoding="br"),
        "zstd bomb (4 GB in 200 KB)": respond(zstd_bomb(GB4), encoding="zstd"),
        "headers trickling 1 byte / 0.2 s": trickle_headers(60),
        "endless empty deflate blocks": empty_deflate_blocks(60),
    }
    paths = {}
    for i, (name, handler) in enumerate(cases.items()):
        paths[name] = f"/case{i}.html"
        site.on(paths[name], handler)
    results: dict[str, Any] = {"cli": {}, "serve": {}}
    with tempfile.TemporaryDirectory() as tmp:
        home = Path(tmp) / "cli"
        timed(home, "ingest", site.url(paths["benign page"]))  # the model export, once
        idle = results["cli"]["newsqa info (idle reference)"] = timed(home, "info")
        print(f"cli  newsqa info (idle reference): peak {idle['peak_rss_mb']:.1f} MB",
              flush=True)
        for name in cases:
            results["cli"][name] = timed(home, "ingest", site.url(paths[name]))
            r = results["cli"][name]
            print(f"cli  {name:38s} exit {r['exit']}  peak {r['peak_rss_mb']:7.1f} MB  "
                  f"{r['wall_s']:6.2f} s  {r['message'][:90]}", flush=True)

        for feed, names in (("benign", ["benign page"]), ("hostile", list(cases))):
            items = [{"title": name, "link": site.url(paths[name]), "guid": name}
                     for name in names]
            site.on(f"/{feed}.xml", respond(rss(feed, items),
                                           content_type="application/rss+xml"))
            results["serve"][feed] = s = follow_once(Path(tmp) / feed, site.url(f"/{feed}.xml"))
            print(f"serve --follow, {feed} feed ({len(names)} items): peak RSS "
                  f"{s['peak_rss_ready_mb']:.0f} MB ready -> {s['peak_rss_after_poll_mb']:.0f} "
                  f"MB after the poll ({s['poll_s']} s)", flush=True)
    site.close()
    OUT.mkdir(parents=True, exist_ok=True)
    (OUT / "hostile.json").write_text(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
