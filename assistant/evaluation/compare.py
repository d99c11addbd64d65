"""Comparing evaluation runs (`newsqa eval --compare DIR...`): the headline metrics side
by side with their changes, and a bar chart."""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from assistant.evaluation.case import EvalError
from assistant.evaluation.figure import new_figure
from assistant.evaluation.report import (
    HEADLINE,
    SECTIONS,
    fmt,
    md_table,
    metric_kind,
    text_table,
)


def plot_compare(names: Sequence[str], reports: Sequence[dict[str, Any]], path: Path) -> Path:
    """Grouped bars of the headline rate metrics, one colour per run."""
    keys = [(k, label) for k, label, kind, _ in HEADLINE if kind == "rate"
            and any(r["metrics"].get(k) is not None for r in reports)]
    fig = new_figure(max(6.4, 1.0 + 0.9 * len(keys)), 4.6)
    ax = fig.add_subplot()
    width = 0.8 / max(len(reports), 1)
    for i, (name, rep) in enumerate(zip(names, reports, strict=True)):
        xs = [j + i * width for j in range(len(keys))]
        ys = [rep["metrics"].get(k) or 0.0 for k, _ in keys]
        ax.bar(xs, ys, width=width, label=name)
    ax.set_xticks([j + width * (len(reports) - 1) / 2 for j in range(len(keys))])
    ax.set_xticklabels([label for _, label in keys], rotation=30, ha="right", fontsize=8)
    ax.set_ylim(0, 1.3)  # head room for the legend
    ax.set_yticks([0, 0.2, 0.4, 0.6, 0.8, 1.0])
    ax.grid(axis="y", alpha=0.3)
    ax.legend(fontsize=8, loc="upper center", ncol=min(len(reports), 3))
    ax.set_title("Runs compared")
    fig.tight_layout()
    fig.savefig(path)
    return path


def load_report(run_dir: Path) -> dict[str, Any]:
    """report.json of an earlier run; EvalError if the folder has none."""
    path = run_dir / "report.json"
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise EvalError(f"{run_dir} is not an eval output folder (no report.json)") from None
    except (OSError, ValueError) as exc:
        raise EvalError(f"cannot read {path}: {exc}") from None
    if not isinstance(data, dict) or "metrics" not in data:
        raise EvalError(f"{path} is not an evaluation report")
    return data


def compare(run_dirs: Sequence[Path], out_dir: Path) -> str:
    """Compare runs: the first is the baseline, every later run shows its value and the
    difference. Writes compare.md, compare.json and compare.png to `out_dir`; returns the
    terminal table."""
    if len(run_dirs) < 2:
        raise EvalError("--compare needs at least two eval output folders")
    reports = [load_report(d) for d in run_dirs]
    names = _names(run_dirs)
    keys = [key for _, _, ks in SECTIONS for key in ks]
    rows, data = [], {}
    for key in keys:
        vals = [r["metrics"].get(key) for r in reports]
        if all(v is None for v in vals):
            continue
        base = vals[0]
        cells = [fmt(base, metric_kind(key))]
        for v in vals[1:]:
            delta = "" if v is None or base is None else f" ({_signed(v - base, metric_kind(key))})"
            cells.append(fmt(v, metric_kind(key)) + delta)
        rows.append((key, *cells))
        data[key] = vals
    header = ("metric", *names)
    out_dir.mkdir(parents=True, exist_ok=True)
    png = plot_compare(names, reports, out_dir / "compare.png")
    cfg_rows = [(name, str(r["config"].get("questions_file")), str(r["config"].get("k")),
                 str(r["config"].get("index", {}).get("articles")),
                 str(r["config"].get("retrieval", {}).get("mode")),
                 (r["config"].get("git_commit") or "?")[:10],
                 str(r["config"].get("timestamp")))
                for name, r in zip(names, reports, strict=True)]
    cfg_header = ("run", "questions", "k", "articles", "retrieval", "commit", "time")
    md = ["# newsqa eval comparison", "", md_table(cfg_rows, cfg_header), "",
          md_table(rows, header), "", f"![comparison]({png.name})", ""]
    (out_dir / "compare.md").write_text("\n".join(md), encoding="utf-8")
    (out_dir / "compare.json").write_text(json.dumps(
        {"runs": [str(d) for d in run_dirs], "metrics": data}, indent=2) + "\n",
        encoding="utf-8")
    return text_table(cfg_rows, cfg_header) + "\n\n" + text_table(rows, header)


def _signed(delta: float, kind: str) -> str:
    return f"{delta:+.0f}" if kind == "ms" else f"{delta:+.3f}"


def _names(run_dirs: Sequence[Path]) -> list[str]:
    """Short distinct column names: the folder names, made unique with an index."""
    names = [d.resolve().name or str(d) for d in run_dirs]
    if len(set(names)) < len(names):
        names = [f"{i}:{n}" for i, n in enumerate(names, start=1)]
    return names
