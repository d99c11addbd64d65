"""The training scripts in bench/ never fit on the check year (rtqa-2024): asked to, they
stop at once with a message saying why and what to use instead, before reading anything."""

from __future__ import annotations

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
