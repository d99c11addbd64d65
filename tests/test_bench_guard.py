"""The training scripts in bench/ never fit on the check year (rtqa-2024): asked to, they
stop at once with a message saying why and what to use instead, before reading anything.
Bench scripts given a missing input name it."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.parametrize("argv", [
    ["bench/train_ranker.py", "--train", "rtqa-2023", "rtqa-2024"],
    ["bench/ranker_synthetic.py", "--slices", "rtqa-2024"],
    ["bench/train_reader.py", "--home", "/nonexistent", "--slice", "rtqa-2024", "--write"],
    ["bench/train_reader.py", "--home", "/nonexistent", "--fit-on", "rtqa-2024"],
])
def test_training_on_the_check_year_is_refused(argv: list[str]) -> None:
    out = subprocess.run([sys.executable, *argv], cwd=ROOT, capture_output=True, text=True,
                         timeout=120)
    assert out.returncode == 1
    assert "rtqa-2024 is the check year" in out.stderr


def test_the_ranker_feature_is_measured_only_on_a_year_the_ranker_never_saw(
        tmp_path: Path) -> None:
    model = tmp_path / "ranker.onnx"

    def run(*argv: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([sys.executable, "bench/ranker_feature.py", "--model",
                               str(model), *argv], cwd=ROOT, capture_output=True, text=True,
                              timeout=120)

    missing = run("--slice", "rtqa-2022")
    assert missing.returncode == 1 and "train_ranker.py writes it" in missing.stderr
    model.with_suffix(".report.json").write_text(
        json.dumps({"model": {"train_slices": ["rtqa-2023"]}}), encoding="utf-8")
    seen = run("--slice", "rtqa-2023")
    assert seen.returncode == 1 and "trained on rtqa-2023" in seen.stderr
    check_year = run("--slice", "rtqa-2024")  # its CV fits on the slice: never the check year
    assert check_year.returncode == 2 and "invalid choice" in check_year.stderr


def test_the_llm_bench_names_a_missing_questions_file() -> None:
    out = subprocess.run([sys.executable, "bench/llm_bench.py", "--questions",
                          "/nonexistent/questions.jsonl"], cwd=ROOT, capture_output=True,
                         text=True, timeout=120)
    assert out.returncode == 1
    assert "no such questions file: /nonexistent/questions.jsonl" in out.stderr
