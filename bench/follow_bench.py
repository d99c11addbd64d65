"""Following feeds (issue 22), measured with the real model over real HTTP on loopback.

rtqa-2024 articles (read in place) are served as article pages by a local test server
(tests/webserver.py) and listed in feeds. In one run:
  1. `newsqa follow --once` over three feeds of 100 items each: indexed count, pages
     fetched, wall time, peak RSS of the process;
  2. a second poll: requests made (conditional), pages fetched;
  3. 5 items added to one feed: pages fetched by the next poll;
  4. `newsqa ingest` of a feed of 100 items of which 10 are broken (404, an image, a
     redirect loop, a redirect to a private address, a stall): indexed, named, exit code;
  5. `newsqa show --json` of every article cited by `ask --json` over 20 rtqa-2024
     questions: does text[start:end] equal the quote;
  6. filters: 60 rtqa-2024 questions asked with random since/until/source filters;
     citations outside the filter (must be 0);
  7. `newsqa serve --follow` over a seed home: 20 clients ask while the first poll
     indexes the 300 items: ask p50/p95, errors, server peak RSS.

    .venv/bin/python bench/follow_bench.py            # results: stdout, bench/out/follow.json
"""

from __future__ import annotations

import argparse
import gzip
import html
import json
import os
import random
import resource
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from datetime import UTC, date, timedelta
from email.utils import format_datetime
from pathlib import Path
from typing import Any

from harness import OUT, ROOT, SHARED
from serve_bench import Server, health, load_questions, run_clients

from tests.webserver import Route, WebServer, rss

PYTHON = sys.executable
FEEDS = ("Alpha Times", "Beta Post", "Gamma Daily")
ENV = {"NEWSQA_FETCH__ALLOWED_HOSTS": '["127.0.0.1"]', "NEWSQA_FETCH__READ_TIMEOUT_S": "3",
       "HF_HUB_OFFLINE": "1", "GRADIO_ANALYTICS_ENABLED": "False"}


def records(n: int) -> list[dict[str, Any]]:
    out = []
    with gzip.open(SHARED / "rtqa-2024" / "corpus.jsonl.gz", "rt") as f:
        for line in f:
            rec = json.loads(line)
            if rec.get("date") and len(rec.get("text", "")) > 400:
                out.append(rec)
            if len(out) >= n:
                break
    return out


def html_page(rec: dict[str, Any]) -> bytes:
    paras = "".join(f"<p>{html.escape(p.strip())}</p>" for p in rec["text"].split("\n")
                    if p.strip())
    return (f"<!doctype html><html><head><title>{html.escape(rec['title'])}</title>"
            f"<meta property='article:published_time' content='{rec['date']}'></head><body>"
            f"<nav>Home | World</nav><article><h1>{html.escape(rec['title'])}</h1>{paras}"
            "</article><footer>(c) test</footer></body></html>").encode()


def item(web: WebServer, path: str, rec: dict[str, Any]) -> dict[str, str]:
    day = date.fromisoformat(rec["date"][:10])
    from datetime import datetime

    stamp = format_datetime(datetime(day.year, day.month, day.day, 9, tzinfo=UTC))
    return {"title": rec["title"], "link": web.url(path), "guid": rec["id"], "pubDate": stamp}


def newsqa(home: Path, *args: str, timeout: float = 1800) -> tuple[int, str, str, float, float]:
    """(exit code, stdout, stderr, seconds, peak RSS MB of this child)."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    t0 = time.perf_counter()
    r = subprocess.run([PYTHON, "-m", "ui.cli", "--home", str(home), *args], cwd=ROOT,
                       env={**os.environ, **ENV}, capture_output=True, text=True,
                       timeout=timeout)
    seconds = time.perf_counter() - t0
    peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    # ru_maxrss of children is the largest child so far: only trustworthy when it grew
    return r.returncode, r.stdout, r.stderr, seconds, (peak if peak > before else before) / 1024


def serve_feeds(web: WebServer, recs: list[dict[str, Any]], prefix: str
                ) -> tuple[list[str], dict[str, list[dict[str, str]]]]:
    urls, lists = [], {}
    for f, name in enumerate(FEEDS):
        items = []
        for i, rec in enumerate(recs[f * 100:(f + 1) * 100]):
            path = f"/{prefix}/{f}/{i}.html"
            web.route(path, Route(body=html_page(rec)))
            items.append(item(web, path, rec))
        items.reverse()
        lists[name] = items
        web.route(f"/{prefix}/{f}.xml", Route(
            body=lambda name=name, items=items: rss(name, items), etag=True,
            content_type="application/rss+xml"))
        urls.append(web.url(f"/{prefix}/{f}.xml"))
    return urls, lists


def page_hits(web: WebServer, prefix: str) -> int:
    return sum(n for p, n in web.hits.items() if p.startswith(f"/{prefix}/") and
               p.endswith(".html"))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--skip-serve", action="store_true", help="leave out part 7")
    args = parser.parse_args()
    recs = records(420)
    web = WebServer()
    out: dict[str, Any] = {"date": time.strftime("%Y-%m-%d")}
    base = Path(tempfile.mkdtemp(prefix="follow-bench-"))
    home = base / "home"
    feeds, lists = serve_feeds(web, recs, "f")
    # The ONNX export of a fresh home (a one-time torch load) is not following: a home
    # with the model already exported, as every home after its first command.
    shome = base / "serve-home"
    subprocess.run([PYTHON, "-m", "ui.cli", "--home", str(shome), "ingest", "--quiet",
                    str(ROOT / "seeds")], cwd=ROOT, check=True, env={**os.environ, **ENV})
    for h in (home, base / "broken-home"):
        shutil.copytree(shome / "models", h / "models")

    # 1-3. follow: first poll, unchanged poll, 5 new items
    code, stdout, stderr, secs, rss_mb = newsqa(home, "follow", "--once", "--quiet", *feeds)
    info = newsqa(home, "info")[1]
    out["first_poll"] = {"exit": code, "seconds": round(secs, 1), "peak_rss_mb": round(rss_mb),
                         "pages_fetched": page_hits(web, "f"), "line": stdout.strip(),
                         "articles": int(info.split("articles: ")[1].split()[0])}
    hits, conditional = sum(web.hits.values()), sum(web.conditional.values())
    code, stdout, _, secs, _ = newsqa(home, "follow", "--once", "--quiet", *feeds)
    out["second_poll"] = {"exit": code, "requests": sum(web.hits.values()) - hits,
                          "conditional": sum(web.conditional.values()) - conditional,
                          "pages_fetched": sum(web.hits.values()) - hits - 3,
                          "line": stdout.strip()}
    for j, rec in enumerate(recs[300:305]):
        path = f"/f/new/{j}.html"
        web.route(path, Route(body=html_page(rec)))
        lists[FEEDS[0]].insert(0, item(web, path, rec))
    before = page_hits(web, "f")
    code, stdout, _, secs, _ = newsqa(home, "follow", "--once", "--quiet", *feeds)
    out["after_5_new"] = {"exit": code, "pages_fetched": page_hits(web, "f") - before,
                          "line": stdout.strip()}

    # 4. a feed with 10 broken items of 100
    items = []
    broken = {3: Route(status=404), 13: Route(status=404), 23: Route(status=404),
              33: Route(status=404), 43: Route(body=b"\x89PNG\r\n\x1a\n" + bytes(300)),
              53: Route(location="/b/53.html"), 63: Route(location="http://10.9.8.7/x"),
              73: Route(location="http://169.254.169.254/"), 83: Route(stall_s=5),
              93: Route(endless_mb=50)}
    for i, rec in enumerate(recs[305:405]):
        path = f"/b/{i}.html"
        web.route(path, broken.get(i, Route(body=html_page(rec))))
        items.append(item(web, path, rec))
    web.route("/b.xml", Route(body=rss("Broken Wire", items), content_type="application/rss+xml"))
    bhome = base / "broken-home"
    code, stdout, stderr, secs, _ = newsqa(bhome, "ingest", "--quiet", web.url("/b.xml"))
    named = [line for line in stderr.splitlines() if line.startswith("newsqa: skipped:")]
    out["broken_feed"] = {"exit": code, "summary": stdout.strip().splitlines()[-1],
                          "named": len(named), "messages": named, "seconds": round(secs, 1)}

    # 5. show: every cited article's text[start:end] is the quote
    questions = [json.loads(x)["question"] for x in
                 (SHARED / "rtqa-2024" / "questions.jsonl").read_text().splitlines()[:20]]
    _, stdout, _, _, _ = newsqa(home, "ask", "--json", *questions)
    cited = [c for line in stdout.splitlines() for c in json.loads(line)["citations"]]
    texts: dict[str, str] = {}
    for aid in sorted({c["article_id"] for c in cited}):
        code, shown, _, _, _ = newsqa(home, "show", "--json", aid)
        texts[aid] = json.loads(shown)["text"] if code == 0 else ""
    out["show"] = {"citations": len(cited), "articles": len(texts),
                   "exact": sum(texts[c["article_id"]][c["start"]:c["end"]] == c["quote"]
                                for c in cited)}

    # 6. filters over the followed rtqa-2024 articles: the titles of 60 of them as
    # questions (so the filters have something to keep or drop), random filters
    rng = random.Random(22)
    out["filters"] = check_filters(home, questions=[
        f"What happened: {r['title']}?" for r in rng.sample(recs[:300], 60)])

    # 7. serving while a --follow poll indexes 300 items
    if not args.skip_serve:
        out["serve"] = serve_while_following(base, web, recs)
    web.close()
    OUT.mkdir(parents=True, exist_ok=True)
    (OUT / "follow.json").write_text(json.dumps(out, indent=2))
    print(json.dumps(out, indent=2))


def check_filters(home: Path, questions: list[str]) -> dict[str, Any]:
    os.environ.update(ENV)
    from assistant.service import Assistant
    from assistant.settings import load_settings
    from index.scope import Scope

    bot = Assistant(load_settings(home=home))
    sources = [s for s in bot.sources() if s.name]
    first = min(s.first for s in sources if s.first)
    last = max(s.last for s in sources if s.last)
    rng = random.Random(2024)
    outside = cited = empty = retrieved = outside_retrieved = 0
    meta: dict[str, Any] = {}

    def inside(aid: str, want: Scope) -> bool:
        if aid not in meta:
            meta[aid] = bot.article(aid)
        art = meta[aid]
        return art is not None and want.admits(art.date, art.source)

    for q in questions:
        since = first + timedelta(days=rng.randint(0, max((last - first).days, 1)))
        until = since + timedelta(days=rng.randint(30, 720))
        names = rng.sample([s.name for s in sources], rng.randint(1, 2))
        scope = bot.resolve_scope(since if rng.random() < .8 else None,
                                  until if rng.random() < .8 else None, names)
        answer = bot.ask(q, scope=scope)
        want = scope or Scope()
        empty += not answer.citations
        for c in answer.citations:
            cited += 1
            outside += not inside(c.article_id, want)
        for p in answer.retrieved:
            retrieved += 1
            outside_retrieved += not inside(p.article_id, want)
    return {"questions": len(questions), "citations": cited, "outside_filter": outside,
            "passages": retrieved, "passages_outside_filter": outside_retrieved,
            "abstained": empty}


def serve_while_following(base: Path, web: WebServer, recs: list[dict[str, Any]]
                          ) -> dict[str, Any]:
    shome = base / "serve-home"  # seeds indexed at the start
    feeds, _ = serve_feeds(web, recs, "s")
    server = Server(shome, ENV, ("--every", "60m", *(a for f in feeds for a in ("--follow", f))))
    start_articles = health(server.url)["articles"]
    done = threading.Event()
    t0 = time.perf_counter()

    def watch() -> None:
        while time.perf_counter() - t0 < 1200:
            h = health(server.url)
            if h.get("follow") and h["follow"]["polls"] >= 1 and \
                    h["articles"] >= start_articles + 300:
                break
            time.sleep(1)
        done.set()

    watcher = threading.Thread(target=watch)
    watcher.start()
    result = run_clients([server.url], load_questions("seed"), clients=20, per_client=5,
                         until=done)
    watcher.join()
    final = health(server.url)
    result.update(indexed=final["articles"] - start_articles, ingest_s=time.perf_counter() - t0,
                  follow=final.get("follow"), peak_rss_mb=round(server.peak_rss_mb()))
    server.stop()
    return result


if __name__ == "__main__":
    main()
