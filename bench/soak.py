"""Weeks of following, compressed (issue 34, point 7): does a following server's memory stay
bounded, and its asks as fast, as the articles pile up?

A loopback feed (tests/webserver.py) gains `--articles` rtqa-2024 articles (read in place)
every `--every` seconds of the scenario; the feed lists its newest 50 items, as real feeds
do. `newsqa serve --follow FEED` polls it at the same interval (5 s at least) on a home
that starts with the seeds and the feed's first 10 articles, while `--clients` clients each
ask `--asks-per-s` rtqa-2024 questions a second over HTTP. `--speed` compresses the scenario:
at 4, two hours of following (2,400 articles) run in 30 minutes of wall time, the feed
and the polls four times as often; the asks keep their wall-clock rate.

Every `--sample-s` seconds: the server's RSS (VmRSS, and its anonymous and file-backed
parts), the articles indexed, and the asks finished since the last sample. The targets
are read from wall time: after the first 10 minutes, RSS grows <= 10% and never passes
1.5 GB, and ask p95 stays flat.

    .venv/bin/python bench/soak.py                                   # 2 h at speed 4: 30 min
    .venv/bin/python bench/soak.py --scenario-min 20 --speed 1       # a short real-time look

Results: bench/out/soak.json (every sample) and bench/out/soak.png (RSS, ask p50/p95 per
minute, articles, against wall minutes); a summary on stdout.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

from follow_bench import ENV, PYTHON, html_page, item, records
from harness import OUT, ROOT, percentile
from serve_bench import Server, health, load_questions

from tests.webserver import Route, WebServer, rss

FEED_WINDOW = 50  # items a feed lists: its newest


def memory(pid: int) -> dict[str, float]:
    """VmRSS and its parts (MB) of a live process."""
    out = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        key, _, value = line.partition(":")
        if key in ("VmRSS", "RssAnon", "RssFile", "VmHWM"):
            out[key] = int(value.split()[0]) / 1024
    return out


class Feed:
    """One RSS feed on `web` that gains articles when told."""

    def __init__(self, web: WebServer, recs: list[dict[str, Any]]) -> None:
        self.web, self.recs = web, recs
        self.items: list[dict[str, str]] = []  # newest first
        self.lock = threading.Lock()
        web.route("/soak.xml", Route(body=self.body, etag=True,
                                     content_type="application/rss+xml"))
        self.url = web.url("/soak.xml")

    def body(self) -> bytes:
        with self.lock:
            return rss("Soak Wire", self.items[:FEED_WINDOW])

    def grow(self, n: int) -> int:
        """Publish the next n articles; how many the feed has published."""
        with self.lock:
            for _ in range(n):
                if len(self.items) >= len(self.recs):
                    break
                i = len(self.items)
                path = f"/soak/{i}.html"
                self.web.route(path, Route(body=html_page(self.recs[i])))
                self.items.insert(0, item(self.web, path, self.recs[i]))
            return len(self.items)


def ask_loop(url: str, questions: list[str], client: int, rate: float, stop: threading.Event,
             done: list[tuple[float, float, bool]], lock: threading.Lock) -> None:
    """Ask `rate` questions a second until stopped; (finish time, seconds, ok) each."""
    import httpx

    step, due, i = 1 / rate, time.monotonic(), client
    with httpx.Client(timeout=60) as http:
        while not stop.is_set():
            t0 = time.perf_counter()
            try:
                r = http.post(url + "/api/ask", json={"question": questions[i % len(questions)]})
                ok = r.status_code == 200 and "answer" in r.json()
            except httpx.HTTPError:
                ok = False
            with lock:
                done.append((time.monotonic(), time.perf_counter() - t0, ok))
            i += 7  # clients walk the questions at different strides
            due += step
            stop.wait(max(0.0, due - time.monotonic()))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--scenario-min", type=float, default=120, help="scenario length")
    parser.add_argument("--speed", type=float, default=4, help="scenario minutes per wall minute")
    parser.add_argument("--every", type=float, default=15, help="scenario seconds between feed "
                        "growths and between polls")
    parser.add_argument("--articles", type=int, default=5, help="articles per growth")
    parser.add_argument("--clients", type=int, default=2)
    parser.add_argument("--asks-per-s", type=float, default=2, help="per client, wall clock")
    parser.add_argument("--sample-s", type=float, default=10)
    parser.add_argument("--env", action="append", default=[], metavar="K=V",
                        help="extra environment for the server (to compare settings)")
    parser.add_argument("--tag", default="soak", help="output names: bench/out/TAG.json|png")
    args = parser.parse_args()

    growths = int(args.scenario_min * 60 / args.every)
    recs = records(10 + growths * args.articles)
    base = Path(tempfile.mkdtemp(prefix="soak-"))
    home = base / "home"
    env = {**ENV, **dict(kv.split("=", 1) for kv in args.env)}
    web = WebServer()
    feed = Feed(web, recs)
    feed.grow(10)
    subprocess.run([PYTHON, "-m", "ui.cli", "--home", str(home), "ingest", "--quiet",
                    str(ROOT / "seeds"), feed.url], cwd=ROOT, check=True,
                   env={**os.environ, **env})
    interval = args.every / args.speed
    poll = max(interval, 5.0)  # the shortest interval `serve` accepts
    server = Server(home, env, ("--every", f"{poll:g}s", "--follow", feed.url))
    questions = load_questions("rtqa")
    stop, lock = threading.Event(), threading.Lock()
    done: list[tuple[float, float, bool]] = []
    clients = [threading.Thread(target=ask_loop, args=(server.url, questions, c,
                                                       args.asks_per_s, stop, done, lock))
               for c in range(args.clients)]
    start = time.monotonic()
    for t in clients:
        t.start()
    samples: list[dict[str, Any]] = []
    next_growth, next_sample, taken = start + interval, start, 0
    wall = args.scenario_min * 60 / args.speed
    try:
        while (now := time.monotonic()) < start + wall:
            if now >= next_growth:
                feed.grow(args.articles)
                next_growth += interval
            if now >= next_sample:
                with lock:
                    window = done[taken:]
                    taken = len(done)
                lat = [s for _, s, _ in window]
                samples.append({"wall_min": (now - start) / 60,
                                "articles": health(server.url)["articles"],
                                "published": len(feed.items), "asks": len(lat),
                                "errors": sum(not ok for *_, ok in window),
                                "ask_p50_s": percentile(lat, 50), "ask_p95_s": percentile(lat, 95),
                                **memory(server.proc.pid)})
                next_sample += args.sample_s
            time.sleep(min(next_growth, next_sample) - time.monotonic() if
                       min(next_growth, next_sample) > time.monotonic() else 0)
    finally:
        stop.set()
        for t in clients:
            t.join()
        server.stop()
        web.close()
    out = {"date": time.strftime("%Y-%m-%d"), "args": vars(args), "wall_min": wall / 60,
           "summary": summarise(samples, done, start), "samples": samples}
    OUT.mkdir(parents=True, exist_ok=True)
    (OUT / f"{args.tag}.json").write_text(json.dumps(out, indent=2))
    plot(samples, done, start, OUT / f"{args.tag}.png", args)
    print(json.dumps(out["summary"], indent=2))
    shutil.rmtree(base, ignore_errors=True)


def summarise(samples: list[dict[str, Any]], done: list[tuple[float, float, bool]],
              start: float) -> dict[str, Any]:
    """The targets' figures: RSS growth after the first 10 minutes (a third of a shorter
    run), peak, and ask p95 over each third of the time after that (flat: about equal)."""
    end = samples[-1]["wall_min"]
    settle = min(10.0, end / 3)
    after = [s for s in samples if s["wall_min"] >= settle]
    at10 = after[0]["VmRSS"]
    late = [(t - start) / 60 for t, _, _ in done]
    thirds = []
    for k in range(3):
        lo = settle + (end - settle) * k / 3
        hi = settle + (end - settle) * (k + 1) / 3
        lat = [s for (t, s, _), m in zip(done, late, strict=True) if lo <= m < hi]
        thirds.append(round(percentile(lat, 95) * 1000, 1) if lat else None)
    top = max(s["VmRSS"] for s in after)
    return {"settle_min": round(settle, 1), "rss_mb_at_10min": round(at10),
            "rss_mb_max_after_10min": round(top), "growth_after_10min": round(top / at10 - 1, 3),
            "rss_mb_peak": round(max(s.get("VmHWM", 0) for s in samples)),
            "rss_mb_final": round(samples[-1]["VmRSS"]),
            "anon_mb_at_10min": round(after[0]["RssAnon"]) if after else None,
            "anon_mb_final": round(samples[-1]["RssAnon"]),
            "articles_start": samples[0]["articles"], "articles_end": samples[-1]["articles"],
            "asks": len(done), "errors": sum(not ok for *_, ok in done),
            "ask_p95_ms_by_third_after_10min": thirds,
            "ask_p50_ms": round(percentile([s for _, s, _ in done], 50) * 1000, 1),
            "ask_p95_ms": round(percentile([s for _, s, _ in done], 95) * 1000, 1)}


def plot(samples: list[dict[str, Any]], done: list[tuple[float, float, bool]], start: float,
         path: Path, args: argparse.Namespace) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    minutes = [s["wall_min"] for s in samples]
    fig, axes = plt.subplots(3, 1, figsize=(8, 8), sharex=True)
    axes[0].plot(minutes, [s["VmRSS"] for s in samples], label="RSS")
    axes[0].plot(minutes, [s["RssAnon"] for s in samples], label="anonymous")
    axes[0].axhline(1536, color="grey", linestyle=":", label="1.5 GB")
    axes[0].set_ylabel("MB")
    axes[0].legend(loc="lower right")
    bins: dict[int, list[float]] = {}
    for t, s, _ in done:
        bins.setdefault(int((t - start) / 60), []).append(s * 1000)
    keys = sorted(bins)
    axes[1].plot([k + .5 for k in keys], [percentile(bins[k], 95) for k in keys], label="p95")
    axes[1].plot([k + .5 for k in keys], [percentile(bins[k], 50) for k in keys], label="p50")
    axes[1].set_ylabel("ask ms (per minute)")
    axes[1].legend(loc="upper right")
    axes[2].plot(minutes, [s["articles"] for s in samples])
    axes[2].set_ylabel("articles indexed")
    axes[2].set_xlabel(f"wall minutes (scenario x{args.speed:g}: "
                       f"{args.articles} articles every {args.every:g} s)")
    fig.suptitle("serve --follow: memory, asks and articles over time")
    fig.tight_layout()
    fig.savefig(path, dpi=90)


if __name__ == "__main__":
    main()
