"""Serving benchmark (issue 12): a real `newsqa serve` on loopback, driven over HTTP.

In ONE run, repeated `--runs` times (medians reported):
  1. 20 clients x 20 asks each through `POST /api/ask` on the seed index: asks/s, p50/p95
     latency, errors;
  2. the same clients, asking until every pushed article is indexed, while 300 articles
     (rtqa-2024 corpus, read in place) are pushed through `POST /api/articles` in
     batches: ask p50/p95, errors, whether /api/health counts every pushed article at the
     end and the newest is findable by its title;
  3. peak RSS of the server process (VmHWM) over the run;
  4. start under load (`--cold-runs`, default `--runs`): a fresh server on a fresh copy of
     the home, and from the moment it reports ready (`/api/health` "ready": true, every
     model loaded) the clients ask, with no warm-up of their own, while the 300 articles
     are pushed: the first ask's latency, ask p50/p95, errors;
and, once, the in-process warm ask on a big home (`--warm-home`, e.g. /var/tmp/rtqa24),
through bench/warm_ask.py, with and without the short-answer reader.

    .venv/bin/python bench/serve_bench.py                       # seed index, 3 runs
    .venv/bin/python bench/serve_bench.py --runs 1 --ask-threads 1 2 4
    .venv/bin/python bench/serve_bench.py --warm-home /var/tmp/rtqa24 --warm-slice rtqa-2024

Results: a markdown table on stdout and bench/out/serve.json.
"""

from __future__ import annotations

import argparse
import contextlib
import gzip
import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

from harness import OUT, ROOT, SHARED, percentile

PYTHON = sys.executable


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def load_questions(which: str) -> list[str]:
    """`seed`: the 28 seed questions (asked over and over, as the chat's users might);
    `rtqa`: 1,488 distinct rtqa-2024 quiz questions (plain), so few asks repeat."""
    path = (ROOT / "seeds" / "questions.jsonl" if which == "seed"
            else SHARED / "rtqa-2024" / "questions.jsonl")
    lines = path.read_text().splitlines()
    return [json.loads(line)["question"] for line in lines if line.strip()]


def corpus_records(n: int, skip: int = 0) -> list[dict[str, Any]]:
    out = []
    with gzip.open(SHARED / "rtqa-2024" / "corpus.jsonl.gz", "rt") as f:
        for i, line in enumerate(f):
            if i < skip:
                continue
            if len(out) >= n:
                break
            rec = json.loads(line)
            out.append({k: rec[k] for k in ("id", "title", "url", "date", "text") if rec.get(k)})
    return out


class Server:
    """`newsqa serve` in its own process on a free port, with its peak RSS."""

    def __init__(self, home: Path, env: dict[str, str], args: tuple[str, ...] = ()) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log = home / "serve-bench.log"
        self.proc = subprocess.Popen(
            [PYTHON, "-m", "ui.cli", "--home", str(home), "serve", "--port", str(self.port),
             *args],
            cwd=ROOT, env={**os.environ, **env}, stdout=self.log.open("w"),
            stderr=subprocess.STDOUT,
        )
        self.wait_ready()

    def wait_ready(self, timeout: float = 180) -> None:
        import httpx

        deadline = time.time() + timeout
        while time.time() < deadline:
            if self.proc.poll() is not None:
                raise SystemExit(f"server exited: {self.log.read_text()[-2000:]}")
            try:
                r = httpx.get(self.url + "/api/health", timeout=2)
                if r.status_code == 200 and r.json().get("ready", True):
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.5)
        raise SystemExit("server did not start")

    def peak_rss_mb(self) -> float:
        for line in Path(f"/proc/{self.proc.pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
        return float("nan")

    def stop(self) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.proc.kill()


def run_clients(urls: list[str], questions: list[str], clients: int, per_client: int,
                until: threading.Event | None = None) -> dict[str, Any]:
    """`clients` threads, each asking `per_client` questions in turn over HTTP (and
    going on until `until` is set, if given); client c asks questions c*per_client...,
    so clients ask different questions while the list lasts."""
    import httpx

    latencies: list[float] = []
    errors: list[str] = []
    lock = threading.Lock()

    def client(c: int) -> None:
        url = urls[c % len(urls)]  # with several servers, clients are spread over them
        with httpx.Client(timeout=60) as http:
            i = 0
            while i < per_client or (until is not None and not until.is_set()):
                q = questions[(c * per_client + i) % len(questions)]
                i += 1
                t0 = time.perf_counter()
                try:
                    r = http.post(url + "/api/ask", json={"question": q})
                    ok = r.status_code == 200 and "answer" in r.json()
                    problem = None if ok else f"{r.status_code}: {r.text[:200]}"
                except httpx.HTTPError as exc:
                    problem = repr(exc)
                with lock:
                    latencies.append(time.perf_counter() - t0)
                    if problem:
                        errors.append(problem)

    t0 = time.perf_counter()
    threads = [threading.Thread(target=client, args=(c,)) for c in range(clients)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    wall = time.perf_counter() - t0
    return {"asks": len(latencies), "asks_per_s": len(latencies) / wall,
            "p50_s": percentile(latencies, 50), "p95_s": percentile(latencies, 95),
            "errors": len(errors), "first_errors": errors[:3], "wall_s": wall}


def push(url: str, records: list[dict[str, Any]], batch: int) -> dict[str, Any]:
    """POST the records in batches, then wait for every job; returns job summaries."""
    import httpx

    jobs = []
    with httpx.Client(timeout=60) as http:
        for i in range(0, len(records), batch):
            r = http.post(url + "/api/articles", json={"articles": records[i:i + batch]})
            if r.status_code != 202:
                return {"error": f"{r.status_code}: {r.text[:300]}"}
            jobs.append(r.json()["job_id"])
        done: dict[str, Any] = {}
        deadline = time.time() + 1800
        while len(done) < len(jobs) and time.time() < deadline:
            for job in jobs:
                if job not in done:
                    state = http.get(url + f"/api/jobs/{job}").json()
                    if state.get("state") in ("done", "failed"):
                        done[job] = state
            time.sleep(0.5)
    return {"jobs": len(jobs), "failed": sum(s["state"] == "failed" for s in done.values()),
            "unfinished": len(jobs) - len(done),
            "errors": sum(len(s.get("errors") or []) for s in done.values())}


def health(url: str) -> dict[str, Any]:
    import httpx

    return dict(httpx.get(url + "/api/health", timeout=30).json())


def findable_by_title(url: str, record: dict[str, Any], seconds: float = 10) -> bool:
    """Whether asking the record's title retrieves it (within `seconds`: another server
    follows a push within seconds)."""
    import httpx

    deadline = time.monotonic() + seconds
    while True:
        answer = httpx.post(url + "/api/ask", json={"question": record["title"], "k": 10},
                            timeout=60).json()
        if any(p.get("article_id") == record["id"]
               for p in answer.get("retrieved", []) + answer.get("citations", [])):
            return True
        if time.monotonic() > deadline:
            return False
        time.sleep(0.5)


def one_run(home: Path, env: dict[str, str], args: argparse.Namespace, run: int
            ) -> dict[str, Any]:
    questions = load_questions(args.questions)
    with contextlib.ExitStack() as stack:
        servers = start_servers(home, env, args.processes, run, stack)
        urls = [s.url for s in servers]
        run_clients(urls, questions, 2 * len(urls), 3)  # warm up: model, index, spaCy
        ask = run_clients(urls, questions, args.clients, args.asks)
        before = health(urls[-1])
        records = corpus_records(args.push, skip=run * args.push)  # new articles each run
        result: dict[str, Any] = {}
        pushed = threading.Event()

        def pushing() -> None:
            try:
                result.update(push(urls[0], records, args.batch))
            finally:
                result["seconds"] = time.perf_counter() - t0
                pushed.set()

        pusher = threading.Thread(target=pushing)
        t0 = time.perf_counter()
        pusher.start()
        # The clients ask until every pushed article is indexed.
        during = run_clients(urls, questions[::-1], args.clients, args.asks, pushed)
        pusher.join()
        after = health(urls[-1])  # with several servers: one that was not pushed to
        return {
            "ask": ask,
            "during_push": during,
            "push": {**result, "articles": len(records),
                     "counted": after["articles"] - before["articles"],
                     "newest_findable": findable_by_title(urls[-1], records[-1])},
            "server_peak_rss_mb": sum(s.peak_rss_mb() for s in servers),
        }


def cold_start(home: Path, env: dict[str, str], args: argparse.Namespace, run: int
               ) -> dict[str, Any]:
    """Part 4: clients and a push from the moment a fresh server says it is ready."""
    import httpx

    questions = load_questions(args.questions)
    started = time.perf_counter()
    server = Server(home, env)  # returns once /api/health says ready
    try:
        ready_s = time.perf_counter() - started
        # The first two asks are seed questions the reader answers (most rtqa questions
        # abstain on the seed home before the reader, and would not show it loading).
        t0 = time.perf_counter()
        first = httpx.post(server.url + "/api/ask", json={"question": "Who leads HTS?"},
                           timeout=60)
        first_s = time.perf_counter() - t0
        second = run_clients([server.url], ["Where are remaining IS cells?"], 1, 1)
        records = corpus_records(args.push, skip=(run + 10) * args.push)
        pushed = threading.Event()
        result: dict[str, Any] = {}

        def pushing() -> None:
            try:
                result.update(push(server.url, records, args.batch))
            finally:
                pushed.set()

        pusher = threading.Thread(target=pushing)
        pusher.start()
        during = run_clients([server.url], questions, args.clients, args.asks, pushed)
        pusher.join()
        return {"ready_s": ready_s, "first_ask_s": first_s, "first_ok": first.status_code,
                "second_ask_s": second["p50_s"], "during_push": during, "push": result,
                "server_peak_rss_mb": server.peak_rss_mb()}
    finally:
        server.stop()


def start_servers(home: Path, env: dict[str, str], processes: int, run: int,
                  stack: contextlib.ExitStack) -> list[Server]:
    """One server on the embedded store in `home`; or `processes` servers, each with its
    own copy of `home`, on one `chroma run` holding the seed article."""
    if processes <= 1:
        server = Server(home, env)
        stack.callback(server.stop)
        return [server]
    port = free_port()
    chroma = subprocess.Popen(
        [str(Path(PYTHON).parent / "chroma"), "run", "--path", str(home / "chroma-server"),
         "--host", "127.0.0.1", "--port", str(port)],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    stack.callback(chroma.terminate)
    time.sleep(3)
    env = {**env, "NEWSQA_STORE__CHROMA_URL": f"http://127.0.0.1:{port}",
           "NEWSQA_STORE__COLLECTION": f"bench{run}"}
    subprocess.run([PYTHON, "-m", "ui.cli", "--home", str(home), "ingest", "--quiet",
                    str(ROOT / "seeds")], cwd=ROOT, check=True, env={**os.environ, **env})
    servers = []
    for i in range(processes):
        own = home.parent / f"{home.name}-p{i}"
        subprocess.run(["cp", "-a", str(home), str(own)], check=True)
        servers.append(Server(own, env))
        stack.callback(servers[-1].stop)
    return servers


def prepare_home(base: Path) -> Path:
    home = base / "home"
    subprocess.run([PYTHON, "-m", "ui.cli", "--home", str(home), "ingest", "--quiet",
                    str(ROOT / "seeds")], cwd=ROOT, check=True)
    return home


def median_of(runs: list[dict[str, Any]], *path: str) -> float:
    values = []
    for r in runs:
        v: Any = r
        for p in path:
            v = v[p]
        values.append(float(v))
    return statistics.median(values)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--clients", type=int, default=20)
    parser.add_argument("--asks", type=int, default=20, help="asks per client")
    parser.add_argument("--push", type=int, default=300, help="articles pushed per run")
    parser.add_argument("--batch", type=int, default=50, help="articles per POST")
    parser.add_argument("--questions", choices=("rtqa", "seed"), default="rtqa",
                        help="distinct rtqa-2024 questions, or the seed questions repeated")
    parser.add_argument("--ask-threads", type=int, nargs="*", default=[0],
                        help="NEWSQA_SERVE__ASK_THREADS values to compare (0: default)")
    parser.add_argument("--processes", type=int, default=1,
                        help="several servers on one Chroma server, clients spread over them")
    parser.add_argument("--cold-runs", type=int, help="start-under-load runs (default --runs)")
    parser.add_argument("--warm-home", type=Path, help="big home for the in-process warm ask")
    parser.add_argument("--warm-slice", default="rtqa-2024")
    parser.add_argument("--warm-n", type=int, default=200)
    args = parser.parse_args()

    out: dict[str, Any] = {"clients": args.clients, "asks_per_client": args.asks,
                           "questions": args.questions, "processes": args.processes,
                           "pushed": args.push, "cpus": os.cpu_count(), "by_threads": {}}
    if args.warm_home:
        from bench.warm_ask import measure  # type: ignore[import-not-found]

        out["warm_ask"] = measure(args.warm_home, args.warm_slice, args.warm_n, runs=3)
    with tempfile.TemporaryDirectory(prefix="newsqa-serve-bench-") as tmp:
        template = prepare_home(Path(tmp))
        for threads in args.ask_threads if args.runs else ():  # --runs 0: part 4 only
            env = {"NEWSQA_SERVE__ASK_THREADS": str(threads)} if threads else {}
            runs = []
            for run in range(args.runs):
                home = Path(tmp) / f"run-{threads}-{run}"
                subprocess.run(["cp", "-a", str(template), str(home)], check=True)
                runs.append(one_run(home, env, args, run))
                print(json.dumps(runs[-1]), file=sys.stderr, flush=True)
            out["by_threads"][str(threads or "default")] = {
                "runs": runs,
                "median": {
                    "asks_per_s": median_of(runs, "ask", "asks_per_s"),
                    "ask_p50_s": median_of(runs, "ask", "p50_s"),
                    "ask_p95_s": median_of(runs, "ask", "p95_s"),
                    "ask_errors": median_of(runs, "ask", "errors"),
                    "push_ask_p95_s": median_of(runs, "during_push", "p95_s"),
                    "push_ask_errors": median_of(runs, "during_push", "errors"),
                    "push_seconds": median_of(runs, "push", "seconds"),
                    "server_peak_rss_mb": median_of(runs, "server_peak_rss_mb"),
                },
                "all_counted": all(r["push"]["counted"] == r["push"]["articles"] for r in runs),
                "newest_findable": all(r["push"]["newest_findable"] for r in runs),
            }
        cold = []
        for run in range(args.runs if args.cold_runs is None else args.cold_runs):
            home = Path(tmp) / f"cold-{run}"
            subprocess.run(["cp", "-a", str(template), str(home)], check=True)
            cold.append(cold_start(home, {}, args, run))
            print(json.dumps(cold[-1]), file=sys.stderr, flush=True)
        if cold:
            out["cold_start"] = {"runs": cold, "median": {
                "ready_s": median_of(cold, "ready_s"),
                "first_ask_s": median_of(cold, "first_ask_s"),
                "second_ask_s": median_of(cold, "second_ask_s"),
                "ask_p50_s": median_of(cold, "during_push", "p50_s"),
                "ask_p95_s": median_of(cold, "during_push", "p95_s"),
                "errors": median_of(cold, "during_push", "errors"),
                "max_errors": max(r["during_push"]["errors"] for r in cold)}}
    (OUT).mkdir(parents=True, exist_ok=True)
    (OUT / "serve.json").write_text(json.dumps(out, indent=1))
    print(report(out))


def report(out: dict[str, Any]) -> str:
    lines = ["| ask threads | asks/s | p50 s | p95 s | errors | p95 s during push | "
             "errors during push | push s | all counted | newest findable | peak RSS MB |",
             "|---|---|---|---|---|---|---|---|---|---|---|"]
    for threads, r in out["by_threads"].items():
        m = r["median"]
        lines.append(
            f"| {threads} | {m['asks_per_s']:.1f} | {m['ask_p50_s']:.3f} | "
            f"{m['ask_p95_s']:.3f} | {m['ask_errors']:.0f} | {m['push_ask_p95_s']:.3f} | "
            f"{m['push_ask_errors']:.0f} | {m['push_seconds']:.1f} | {r['all_counted']} | "
            f"{r['newest_findable']} | {m['server_peak_rss_mb']:.0f} |")
    if "cold_start" in out:
        m = out["cold_start"]["median"]
        lines += ["", "start under load (medians): ready after "
                  f"{m['ready_s']:.1f} s; first ask {m['first_ask_s']:.3f} s, the next "
                  f"{m['second_ask_s']:.3f} s; {out['clients']} clients during the push: p50 "
                  f"{m['ask_p50_s']:.3f} s, p95 {m['ask_p95_s']:.3f} s, errors "
                  f"{m['errors']:.0f} (most in a run: {m['max_errors']})"]
    if "warm_ask" in out:
        lines.append("")
        lines.append("warm ask in process: " + json.dumps(out["warm_ask"].get("summary",
                                                                              out["warm_ask"])))
    return "\n".join(lines)


if __name__ == "__main__":
    main()
