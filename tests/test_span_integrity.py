"""A reader's span model that cannot be trusted is never used, and never costs an answer:
a missing, corrupt, foreign (another model's inputs or outputs) or tampered (sha256 not
the recorded one) file is named in one warning with the setting that picks the file, asks
still answer with verified quotes (no short answer, exit 0), and `newsqa check` names the
file and what to do (exit 1). The shipped file is never touched: the bad ones are copies,
picked with NEWSQA_ANSWER__SPAN_MODEL."""

from __future__ import annotations

import hashlib
import json
import logging
import os
import re
import shutil
from collections.abc import Callable
from pathlib import Path

import pytest

from assistant.reader.model import (
    PATH_SETTING,
    ModelUnavailable,
    SpanModel,
    model_path,
    shipped,
)
from assistant.service import Assistant
from assistant.settings import Settings
from tests.conftest import SEED_FILE, run_cli
from tests.fakes import FakeEmbedder
from ui import cli

QUESTION = "Where are remaining IS cells?"


def _record(model: Path) -> None:
    """A span.json beside `model` naming its own sha256 (so the file passes that check and
    fails on what it is)."""
    digest = hashlib.sha256(model.read_bytes()).hexdigest()
    model.with_suffix(".json").write_text(json.dumps({"sha256": digest}), encoding="utf-8")


def corrupt(folder: Path) -> Path:
    model = folder / "span.onnx"
    model.write_bytes(b"\x08\x07garbage, not a protobuf" * 100)
    _record(model)
    return model


def foreign(folder: Path) -> Path:
    """A valid ONNX model of another shape: one float input, one output."""
    from onnx import TensorProto, helper

    graph = helper.make_graph(
        [helper.make_node("Relu", ["pixels"], ["out"])], "other",
        [helper.make_tensor_value_info("pixels", TensorProto.FLOAT, [1, 3])],
        [helper.make_tensor_value_info("out", TensorProto.FLOAT, [1, 3])])
    return _saved(graph, folder, opset=13)


def _saved(graph: object, folder: Path, opset: int) -> Path:
    """`graph` saved as `folder/span.onnx`, with a record of its sha256 beside it."""
    import onnx
    from onnx import helper

    model = folder / "span.onnx"
    onnx.save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", opset)]),
              str(model))
    _record(model)
    return model


def foreign_outputs(folder: Path) -> Path:
    """A valid ONNX model with the span model's inputs, but one score per window instead
    of a start and end logit per word piece."""
    from onnx import TensorProto, helper

    ints = [helper.make_tensor_value_info(n, TensorProto.INT64, ["batch", "pieces"])
            for n in ("input_ids", "attention_mask", "token_type_ids")]
    nodes = [helper.make_node("Cast", ["input_ids"], ["f"], to=TensorProto.FLOAT),
             helper.make_node("ReduceSum", ["f"], ["start"], axes=[1], keepdims=1),
             helper.make_node("ReduceMax", ["f"], ["end"], axes=[1], keepdims=1)]
    outs = [helper.make_tensor_value_info(n, TensorProto.FLOAT, ["batch", 1])
            for n in ("start", "end")]
    return _saved(helper.make_graph(nodes, "window-score", ints, outs), folder, opset=11)


def tampered(folder: Path) -> Path:
    """The shipped model with one byte of its weights changed, beside the shipped
    record: ONNX Runtime still loads it; only its sha256 tells."""
    data = bytearray(model_path().read_bytes())
    data[len(data) // 2] ^= 0x01  # inside the weights: the file stays a valid model
    model = folder / "span.onnx"
    model.write_bytes(bytes(data))
    shutil.copyfile(model_path().with_suffix(".json"), model.with_suffix(".json"))
    return model


def missing(folder: Path) -> Path:
    return folder / "span.onnx"


BAD: dict[str, tuple[Callable[[Path], Path], str]] = {
    "missing": (missing, "is missing"),
    "corrupt": (corrupt, "could not be loaded by ONNX Runtime: not a valid model file"),
    "foreign": (foreign, "is not a span model: it takes pixels and gives 1 output(s)"),
    "foreign outputs": (foreign_outputs, "is not a span model: on 4 word pieces it gives "
                        "outputs of shape (1, 1) and (1, 1)"),
    "tampered": (tampered, "is not the file its record names"),
}


def test_the_tampered_copy_is_a_loadable_model(tmp_path: Path) -> None:
    # So the test below shows the sha256 check at work, not ONNX Runtime refusing it.
    model = tampered(tmp_path)
    scores = SpanModel(model, verify=False).score("who won?", ["Ann Lee won."], [[(0, 7)]])
    assert scores[0][0] is not None
    with pytest.raises(ModelUnavailable, match="is not the file its record names"):
        SpanModel(model, verify=True).score("who won?", ["Ann Lee won."], [[(0, 7)]])


def test_the_shipped_model_passes_its_checks_when_it_loads() -> None:
    model = shipped()
    assert model.problem() is None
    assert shipped(model_path()) is model  # one load per process, however it is named
    assert 0 < model.load_seconds["read_and_sha256"] < model.load_seconds["total"]


@pytest.mark.parametrize("kind", sorted(BAD))
def test_a_bad_model_is_named_once_and_not_used(kind: str, tmp_path: Path,
                                                caplog: pytest.LogCaptureFixture) -> None:
    make, reason = BAD[kind]
    model = make(tmp_path)
    caplog.set_level(logging.WARNING, logger="assistant.reader.model")
    scorer = shipped(model)
    for _ in range(2):
        with pytest.raises(ModelUnavailable, match=re.escape(reason)):
            scorer.score("who won?", ["Ann Lee won."], [[(0, 7)]])
    failure = scorer.problem()
    assert failure is not None and reason in str(failure)
    warnings = [r.getMessage() for r in caplog.records if "span model" in r.getMessage()]
    assert len(warnings) == 1, warnings
    assert str(model.resolve()) in warnings[0] and PATH_SETTING in warnings[0]
    assert "pip install -e ." in warnings[0] and "no short answer" in warnings[0]


@pytest.fixture
def cli_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The CLI on a temporary home with the fake embedder, its settings read from the
    environment (so NEWSQA_ANSWER__SPAN_MODEL reaches it), the seed article indexed."""
    home = tmp_path / "home"
    for key in [k for k in os.environ if k.startswith("NEWSQA_")]:
        monkeypatch.delenv(key)

    def fake_open(args):  # type: ignore[no-untyped-def]
        return Assistant(Settings(home=args.home or home), embedder=FakeEmbedder())

    monkeypatch.setattr(cli, "_open", fake_open)
    return home


@pytest.mark.parametrize("kind", sorted(BAD))
def test_asks_answer_with_quotes_and_check_names_the_model(
        kind: str, cli_home: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    code, _, _ = run_cli(capsys, "ingest", "--quiet", str(SEED_FILE))
    assert code == 0
    make, reason = BAD[kind]
    (tmp_path / "bad").mkdir()
    model = make(tmp_path / "bad")
    monkeypatch.setenv(PATH_SETTING, str(model))
    code, out, err = run_cli(capsys, "ask", "--json", QUESTION,
                             "Who is the head of the Kurdish-led forces?")
    assert code == 0, err
    answers = [json.loads(line) for line in out.strip().splitlines()]
    assert len(answers) == 2
    first = answers[0]
    assert not first["abstained"] and first["citations"]
    assert first["short_answer"] is None  # without its model, the reader says nothing
    text = SEED_FILE.read_text(encoding="utf-8")
    for c in first["citations"]:
        assert c["quote"] in text  # verified quotes, as ever
    assert "Traceback" not in err
    warned = [line for line in err.splitlines() if "span model" in line]
    assert len(warned) == 1, err  # once per process, for both questions
    assert warned[0].startswith("newsqa: warning: ") and reason in warned[0]
    assert str(model.resolve()) in warned[0] and PATH_SETTING in warned[0]

    code, out, err = run_cli(capsys, "check")
    assert code == 1
    assert "consistent" in out  # the index itself is fine
    named = [line for line in out.splitlines() if str(model.resolve()) in line]
    assert len(named) == 1 and reason in named[0]
    assert "pip install -e ." in named[0] and "training/train_span.py" in named[0]


def test_check_is_clean_with_the_shipped_model(cli_home: Path,
                                               capsys: pytest.CaptureFixture[str]) -> None:
    run_cli(capsys, "ingest", "--quiet", str(SEED_FILE))
    code, out, _ = run_cli(capsys, "check")
    assert code == 0 and "span model" not in out


def test_short_answers_off_means_no_model_and_no_finding(
        cli_home: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    run_cli(capsys, "ingest", "--quiet", str(SEED_FILE))
    monkeypatch.setenv(PATH_SETTING, str(corrupt(tmp_path)))
    monkeypatch.setenv("NEWSQA_ANSWER__SHORT_ANSWERS", "false")
    code, out, err = run_cli(capsys, "check")
    assert code == 0 and "span model" not in out + err
