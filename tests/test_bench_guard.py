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
    ["bench/train_span.py", "--train", "rtqa-2024"],
    ["bench/ranker_synthetic.py", "--slices", "rtqa-2024"],
    ["bench/train_reader.py", "--home", "/nonexistent", "--slice", "rtqa-2024", "--write"],
    ["bench/train_reader.py", "--home", "/nonexistent", "--fit-on", "rtqa-2024"],
])
def test_training_on_the_check_year_is_refused(argv: list[str]) -> None:
    out = subprocess.run([sys.executable, *argv], cwd=ROOT, capture_output=True, text=True,
                         timeout=120)
    assert out.returncode == 1
    assert "rtqa-2024 is the check year" in out.stderr


@pytest.mark.parametrize(("script", "model_name", "writer"), [
    ("bench/ranker_feature.py", "ranker.onnx", "train_ranker.py"),
    ("bench/span_feature.py", "span.onnx", "train_span.py"),
])
def test_a_models_feature_is_measured_only_on_a_year_the_model_never_saw(
        tmp_path: Path, script: str, model_name: str, writer: str) -> None:
    model = tmp_path / model_name

    def run(*argv: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([sys.executable, script, "--model", str(model), *argv],
                              cwd=ROOT, capture_output=True, text=True, timeout=120)

    missing = run("--slice", "rtqa-2022")
    assert missing.returncode == 1 and f"{writer} writes it" in missing.stderr
    model.with_suffix(".report.json").write_text(
        json.dumps({"model": {"train_slices": ["rtqa-2023"]}}), encoding="utf-8")
    seen = run("--slice", "rtqa-2023")
    assert seen.returncode == 1 and "trained on rtqa-2023" in seen.stderr
    check_year = run("--slice", "rtqa-2024")  # its CV fits on the slice: never the check year
    assert check_year.returncode in (1, 2)
    assert ("invalid choice" in check_year.stderr  # ranker_feature.py: not even a choice
            or "measure rtqa-2024 with --check" in check_year.stderr)  # span_feature.py


def test_a_span_model_trained_on_the_check_year_never_ships(tmp_path: Path) -> None:
    model = tmp_path / "span.onnx"
    model.write_bytes(b"model")
    model.with_suffix(".report.json").write_text(
        json.dumps({"model": {"train_slices": ["rtqa-2023", "rtqa-2024"]}}), encoding="utf-8")
    out = subprocess.run([sys.executable, "bench/train_span.py", "--ship", str(model)],
                         cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert out.returncode == 1 and "rtqa-2024" in out.stderr
    gone = subprocess.run([sys.executable, "bench/train_span.py", "--ship",
                           str(tmp_path / "none.onnx")], cwd=ROOT, capture_output=True,
                          text=True, timeout=120)
    assert gone.returncode == 1 and "train it with bench/train_span.py" in gone.stderr


def test_a_warm_ask_variant_with_an_unknown_flag_is_named() -> None:
    out = subprocess.run([sys.executable, "bench/warm_ask.py", "--home", "/nonexistent",
                          "--variant", "a=8:nospam"], cwd=ROOT, capture_output=True,
                         text=True, timeout=120)
    assert out.returncode == 2 and "unknown variant flag(s) ['nospam']" in out.stderr


def test_the_llm_bench_names_a_missing_questions_file() -> None:
    out = subprocess.run([sys.executable, "bench/llm_bench.py", "--questions",
                          "/nonexistent/questions.jsonl"], cwd=ROOT, capture_output=True,
                         text=True, timeout=120)
    assert out.returncode == 1
    assert "no such questions file: /nonexistent/questions.jsonl" in out.stderr


def test_the_check_year_ablation_refuses_weights_that_are_not_hand_features(
        tmp_path: Path) -> None:
    def check(*argv: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([sys.executable, "bench/span_feature.py", "--check", "--slice",
                               "rtqa-2024", *argv], cwd=ROOT, capture_output=True, text=True,
                              timeout=120)

    shipped = ROOT / "assistant" / "reader" / "weights.json"  # it weighs the span model
    weighs_span = check("--hand-weights", str(shipped))
    assert weighs_span.returncode == 1 and "weighs the span model's score" in weighs_span.stderr
    missing = check("--hand-weights", str(tmp_path / "none.json"))
    assert missing.returncode == 1 and "none.json is missing" in missing.stderr
    (tmp_path / "bad.json").write_text("{not json", encoding="utf-8")
    bad = check("--hand-weights", str(tmp_path / "bad.json"))
    assert bad.returncode == 1 and "is not a reader weights file" in bad.stderr


def test_the_quiz_rule_bench_names_a_missing_span_model(tmp_path: Path) -> None:
    out = subprocess.run([sys.executable, "bench/mc_rule.py", "--home", "/nonexistent",
                          "--span-model", str(tmp_path / "span.onnx"), "--reader", "0.5"],
                         cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert out.returncode == 1 and "span.onnx is missing" in out.stderr


def test_a_training_seed_fixes_the_new_heads_first_weights() -> None:
    # A rebuild with the recorded seed must start from the same model, head included.
    code = """
import sys
sys.path.insert(0, "bench")
import torch
from train_span import build_model as span_model
from train_ranker import build_model as ranker_model
for build in (span_model, ranker_model):
    a, b, c = build(1, 0), build(1, 0), build(1, 1)
    heads = [dict(m.named_parameters()) for m in (a, b, c)]
    names = [n for n in heads[0] if not n.startswith("bert.")]
    assert names, "no head parameters"
    assert all(torch.equal(heads[0][n], heads[1][n]) for n in names), "same seed differs"
    assert not all(torch.equal(heads[0][n], heads[2][n]) for n in names), "seed ignored"
print("ok")
"""
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True,
                         text=True, timeout=300)
    assert out.returncode == 0, out.stderr[-2000:]
    assert out.stdout.strip() == "ok"
