"""HTML extraction time and peak memory against page size (issue 33, point 3):
trafilatura as `index.parse.parse_html` called it before (`before`: the raw page to
`trafilatura.bare_extraction`) and `parse_html` now (`after`: element cap, hidden text
removed, trafilatura's fast path above `FAST_ELEMENTS`). Measurements only.

Each page is generated and parsed in its own process (peak RSS from
resource.getrusage, the page string included), stopped at --timeout. Shapes:

  tiny      <p>x</p> repeated in <body> (the issue's 8 MB page of 1M tiny paragraphs)
  article   <p>Paragraph N says a few words.</p> repeated inside <article> (the slowest
            shape found: trafilatura's `//p//text()` XPath runs on it in the main path
            and again in the fallback comparison; libxml2 grows with its square)

    .venv/bin/python bench/parse_bench.py                      # both shapes, 10k..1M
    .venv/bin/python bench/parse_bench.py --shapes tiny --sizes 10000 1000000 --timeout 60
    .venv/bin/python bench/parse_bench.py --modes after --max-elements 10000000 --sizes 80000

Prints one JSON line per measurement and writes them all to bench/out/parse_bench.json.
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import time
from typing import Any

from harness import OUT, ROOT

SIZES = [10_000, 20_000, 40_000, 80_000, 160_000, 320_000, 1_000_000]
SHAPES = ["tiny", "article"]


def page(shape: str, n: int) -> str:
    """An HTML page of `n` paragraphs (n + 3 elements with html, head and body)."""
    if shape == "tiny":
        return "<html><body>" + "<p>x</p>" * n + "</body></html>"
    if shape == "article":
        paragraphs = "".join(f"<p>Paragraph {i} says a few words.</p>" for i in range(n))
        return f"<html><body><article>{paragraphs}</article></body></html>"
    raise ValueError(f"unknown shape {shape!r}")


def one(shape: str, n: int, mode: str, max_elements: int | None = None) -> dict[str, Any]:
    """Parse one generated page in this process: seconds, peak RSS, what came out
    (`after` with `max_elements`: that element limit instead of the default)."""
    raw = page(shape, n)
    t0 = time.perf_counter()
    if mode == "before":
        import trafilatura

        doc = trafilatura.bare_extraction(raw, include_comments=False, include_tables=False,
                                          with_metadata=True)
        outcome = f"{len(getattr(doc, 'text', None) or ''):,} chars"
    else:
        from index.errors import ParseError
        from index.parse import MAX_HTML_ELEMENTS, parse_html

        try:
            article = parse_html(raw, path="page.html",
                                 max_elements=max_elements or MAX_HTML_ELEMENTS)
            outcome = f"{len(article.text):,} chars"
        except ParseError as exc:
            outcome = f"skipped: {exc.reason.split(';')[0]}"
    seconds = time.perf_counter() - t0
    if max_elements is not None:
        mode = f"{mode} (limit {max_elements:,})"
    return {"shape": shape, "paragraphs": n, "mode": mode, "page_mb": round(len(raw) / 1e6, 2),
            "seconds": round(seconds, 2),
            "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // 1024,
            "outcome": outcome}


def measure(shape: str, n: int, mode: str, timeout: float,
            max_elements: int | None = None) -> dict[str, Any]:
    """`one` in a fresh process, stopped after `timeout` seconds."""
    label = mode if max_elements is None else f"{mode} (limit {max_elements:,})"
    code = ("import json, sys; sys.path.insert(0, 'bench'); import parse_bench; "
            f"print(json.dumps(parse_bench.one({shape!r}, {n}, {mode!r}, {max_elements!r})))")
    try:
        done = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True,
                              text=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        return {"shape": shape, "paragraphs": n, "mode": label, "seconds": None,
                "outcome": f"still parsing after {timeout:g} s (stopped)"}
    if done.returncode != 0:
        return {"shape": shape, "paragraphs": n, "mode": label, "seconds": None,
                "outcome": f"failed: {done.stderr.strip().splitlines()[-1:]}"}
    result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    ap.add_argument("--shapes", nargs="+", choices=SHAPES, default=SHAPES)
    ap.add_argument("--sizes", nargs="+", type=int, default=SIZES, help="paragraphs per page")
    ap.add_argument("--modes", nargs="+", choices=["before", "after"],
                    default=["before", "after"])
    ap.add_argument("--timeout", type=float, default=120.0,
                    help="seconds one page may take before it is stopped")
    ap.add_argument("--max-elements", type=int, default=None,
                    help="`after` with this element limit instead of the setting's default "
                    "(e.g. 10000000: what the fast path alone does with big pages)")
    args = ap.parse_args()
    rows = []
    for shape in args.shapes:
        for mode in args.modes:
            stopped = False
            for n in sorted(args.sizes):
                if stopped:  # a bigger page of the same shape would only take longer
                    row = {"shape": shape, "paragraphs": n, "mode": mode, "seconds": None,
                           "outcome": "not run: a smaller page was stopped"}
                else:
                    row = measure(shape, n, mode, args.timeout,
                                  args.max_elements if mode == "after" else None)
                    stopped = row["seconds"] is None
                print(json.dumps(row), flush=True)
                rows.append(row)
    OUT.mkdir(parents=True, exist_ok=True)
    (OUT / "parse_bench.json").write_text(json.dumps(rows, indent=1) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
