"""The scripts that make what ships (training/) start from the repository root, and never
fit on the check year (rtqa-2024): asked to, they stop at once with a message saying why
and what to use instead, before reading anything. Measurements (bench/) that score a
model refuse a year it was trained on. Bench scripts given a missing input name it."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
# Every script in training/ (run as `.venv/bin/python training/NAME.py`); the modules they
# share (paths.py, finetune.py) are not run.
TRAINING_SCRIPTS = sorted(p.name for p in (ROOT / "training").glob("*.py")
                          if "__main__" in p.read_text(encoding="utf-8"))


def test_the_scripts_that_make_what_ships_are_in_training() -> None:
    assert TRAINING_SCRIPTS == ["calibrate_confidence.py", "ranker_data.py",
                                "ranker_synthetic.py", "train_reader.py", "train_span.py"]
    assert not [p.name for p in (ROOT / "bench").glob("*.py")
                if p.name.startswith(("train_", "calibrate_confidence", "ranker_"))]


@pytest.mark.parametrize("script", TRAINING_SCRIPTS)
def test_a_training_script_starts_from_the_repository_root(script: str) -> None:
    out = subprocess.run([sys.executable, f"training/{script}", "--help"], cwd=ROOT,
                         capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr[-2000:]
    assert out.stdout.startswith("usage: ") and "Traceback" not in out.stderr


def _eval_run(folder: Path, questions: str) -> Path:
    folder.mkdir()
    (folder / "report.json").write_text(
        json.dumps({"config": {"questions_file": questions}}), encoding="utf-8")
    (folder / "results.jsonl").write_text("", encoding="utf-8")
    return folder


@pytest.mark.parametrize("argv", [
    ["training/train_span.py", "--train", "rtqa-2024"],
    ["training/train_span.py", "--train", "rtqa-2023", "rtqa-2024"],
    ["training/ranker_synthetic.py", "--slices", "rtqa-2024"],
    ["training/train_reader.py", "--home", "/nonexistent", "--slice", "rtqa-2024", "--write"],
    ["training/train_reader.py", "--home", "/nonexistent", "--fit-on", "rtqa-2024"],
    # cross-validation fits on the slice too: the check year is measured --weights-only
    ["training/train_reader.py", "--home", "/nonexistent", "--slice", "rtqa-2024"],
    ["training/train_reader.py", "--home", "/nonexistent", "--slice", "rtqa-2024",
     "--weights-only", "--ablate"],
    ["training/calibrate_confidence.py", "--train", "{tmp}/rtqa-2022", "{tmp}/rtqa-2024"],
    ["training/calibrate_confidence.py", "--train", "{tmp}/E22", "{tmp}/E24"],
])
def test_training_on_the_check_year_is_refused(argv: list[str], tmp_path: Path) -> None:
    _eval_run(tmp_path / "rtqa-2022", "../shared/bench/rtqa-2022/questions.jsonl")
    _eval_run(tmp_path / "rtqa-2024", "../shared/bench/rtqa-2022/questions.jsonl")
    _eval_run(tmp_path / "E22", "../shared/bench/rtqa-2022/questions.jsonl")
    _eval_run(tmp_path / "E24", "../shared/bench/rtqa-2024/questions.jsonl")  # by its report
    argv = [a.replace("{tmp}", str(tmp_path)) for a in argv]
    out = subprocess.run([sys.executable, *argv], cwd=ROOT, capture_output=True, text=True,
                         timeout=120)
    assert out.returncode == 1, out.stderr[-2000:]
    assert "rtqa-2024 is the check year" in out.stderr


def test_a_span_models_feature_is_measured_only_on_a_year_the_model_never_saw(
        tmp_path: Path) -> None:
    model = tmp_path / "span.onnx"

    def run(*argv: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([sys.executable, "bench/span_feature.py", "--model", str(model),
                               *argv], cwd=ROOT, capture_output=True, text=True, timeout=120)

    missing = run("--slice", "rtqa-2022")
    assert missing.returncode == 1 and "training/train_span.py writes it" in missing.stderr
    model.with_suffix(".report.json").write_text(
        json.dumps({"model": {"train_slices": ["rtqa-2023"]}}), encoding="utf-8")
    seen = run("--slice", "rtqa-2023")
    assert seen.returncode == 1 and "trained on rtqa-2023" in seen.stderr
    check_year = run("--slice", "rtqa-2024")  # its CV fits on the slice: never the check year
    assert check_year.returncode == 1
    assert "measure rtqa-2024 with --check" in check_year.stderr


def test_a_span_model_trained_on_the_check_year_never_ships(tmp_path: Path) -> None:
    model = tmp_path / "span.onnx"
    model.write_bytes(b"model")
    model.with_suffix(".report.json").write_text(
        json.dumps({"model": {"train_slices": ["rtqa-2023", "rtqa-2024"]}}), encoding="utf-8")
    out = subprocess.run([sys.executable, "training/train_span.py", "--ship", str(model)],
                         cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert out.returncode == 1 and "rtqa-2024" in out.stderr
    gone = subprocess.run([sys.executable, "training/train_span.py", "--ship",
                           str(tmp_path / "none.onnx")], cwd=ROOT, capture_output=True,
                          text=True, timeout=120)
    assert gone.returncode == 1 and "train it with training/train_span.py" in gone.stderr


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
sys.path.insert(0, "training")
import torch
from train_span import build_model
a, b, c = build_model(1, 0), build_model(1, 0), build_model(1, 1)
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
