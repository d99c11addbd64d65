"""The reader's learned span scorer: the shipped file is the one its provenance records,
it loads without torch and reads the answer out of a window, and the reader takes its
score as a feature."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Sequence
from datetime import date
from importlib import resources
from pathlib import Path

import numpy as np
import pytest

from assistant.errors import AssistantError
from assistant.question import analyse
from assistant.reader.model import (
    ModelUnavailable,
    SpanModel,
    checksum,
    model_path,
    shipped,
)
from assistant.reader.span import FEATURES, SPAN_SCALE, SpanReader, Weights, Window

_HAMLIN = ("Damar Hamlin, a safety for the Buffalo Bills, collapsed on the field in "
           "Cincinnati on Monday night.")


def _at(text: str, part: str) -> tuple[int, int]:
    start = text.index(part)
    return start, start + len(part)


def test_the_shipped_model_is_the_one_its_provenance_records() -> None:
    about = json.loads(resources.files("assistant.reader").joinpath("span.json").read_text())
    assert checksum() == about["sha256"]
    assert model_path().stat().st_size <= 30_000_000
    # Anyone can rebuild it: the record names the script, its seed and its data.
    assert about["script"].startswith("training/train_span.py")
    assert about["seed"] == 0 and about["train_slices"] == ["rtqa-2023"]
    assert about["questions"] > 0 and about["pretraining"]["questions"] > 0


def test_the_model_reads_the_answer_out_of_its_window() -> None:
    spans = [_at(_HAMLIN, "Buffalo Bills"), _at(_HAMLIN, "Cincinnati"),
             _at(_HAMLIN, "Monday night")]
    team, city, day = shipped().score("Which team does Damar Hamlin play for?", [_HAMLIN],
                                      [spans])[0]
    assert team is not None and city is not None and day is not None
    assert team > city and team > day
    where = shipped().score("In which city did Damar Hamlin collapse?", [_HAMLIN],
                            [spans])[0]
    assert where[1] is not None and where[0] is not None and where[1] > where[0]


def test_the_models_threads_change_its_speed_not_its_scores() -> None:
    # The reader runs the model on one core (model.THREADS) beside spaCy: the answers must
    # be those two threads per run would give.
    spans = [[_at(_HAMLIN, "Buffalo Bills"), _at(_HAMLIN, "Cincinnati")]]
    question = "Which team does Damar Hamlin play for?"
    assert SpanModel(threads=1).score(question, [_HAMLIN], spans) == \
        SpanModel(threads=2).score(question, [_HAMLIN], spans)


def test_a_span_beyond_what_the_model_reads_has_no_score() -> None:
    long_window = "The council met again. " * 60 + "The winner was Ann Lee."
    score = shipped().score("Who won?", [long_window, _HAMLIN],
                            [[_at(long_window, "Ann Lee")], []])
    assert score == [[None], []]


def test_the_model_runs_without_torch() -> None:
    code = ("import sys; from assistant.reader.model import SpanModel; "
            "print(SpanModel().score('who won?', ['Ann Lee won.'], [[(0, 7)]])); "
            "assert 'torch' not in sys.modules, 'torch was imported'")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          cwd=Path(__file__).resolve().parents[1], timeout=120)
    assert done.returncode == 0, done.stderr


def test_a_missing_model_file_is_named_with_what_to_do(tmp_path: Path) -> None:
    missing = tmp_path / "span.onnx"
    with pytest.raises(AssistantError, match="span.onnx is missing") as raised:
        SpanModel(missing).score("who won?", ["Ann Lee won."], [[(0, 7)]])
    assert isinstance(raised.value, ModelUnavailable)
    assert "Reinstall the package (pip install -e .)" in raised.value.advice()


def test_a_broken_model_file_is_named_with_what_to_do(tmp_path: Path) -> None:
    broken = tmp_path / "span.onnx"
    broken.write_bytes(b"not a model")
    with pytest.raises(AssistantError, match="could not be loaded by ONNX Runtime") as raised:
        SpanModel(broken).score("who won?", ["Ann Lee won."], [[(0, 7)]])
    assert isinstance(raised.value, ModelUnavailable)
    assert "training/train_span.py" in raised.value.advice()


class _Prefers:
    """A span scorer that likes one text and cannot read another."""

    def __init__(self, liked: str, unread: str = "") -> None:
        self.liked, self.unread = liked, unread
        self.asked: list[list[tuple[int, int]]] = []

    def prefetch(self, question: str, texts: Sequence[str]) -> None:
        pass

    def score(self, question: str, texts: Sequence[str],
              spans: Sequence[Sequence[tuple[int, int]]]) -> list[list[float | None]]:
        self.asked = [list(s) for s in spans]
        return [[None if t[a:b] == self.unread else (15.0 if t[a:b] == self.liked else -5.0)
                 for a, b in row] for t, row in zip(texts, spans, strict=True)]


def test_the_reader_takes_the_span_score_as_a_feature() -> None:
    text = "Ann Lee beat Tom Cole and Bo Diaz in the vote in Leeds on Friday."
    window = Window(article_id="a1", start=0, end=len(text), head_end=len(text), text=text,
                    relevance=0.6, passage_rank=0, date=date(2024, 5, 2))
    only_span = np.array([1.0 if f == "span" else 0.0 for f in FEATURES])
    scorer = _Prefers("Tom Cole", unread="Bo Diaz")
    reader = SpanReader(weights=Weights(only_span, threshold=-1e9, source="test"),
                        scorer=scorer)
    cands = reader.candidates(analyse("Who won the vote?"), [window], [("a1", text)])
    # Every candidate's exact place in its window went to the model, once.
    assert sorted(scorer.asked[0]) == sorted({(c.mention.start, c.mention.end)
                                              for c in cands})
    col = FEATURES.index("span")
    by_text = {c.mention.text: float(c.features[col]) for c in cands}
    assert by_text["Tom Cole"] == pytest.approx(15.0 / SPAN_SCALE)
    # Unread is unlikely: below every score the model gave.
    assert by_text["Bo Diaz"] < min(v for t, v in by_text.items() if t != "Bo Diaz")
    span = reader.read(analyse("Who won the vote?"), [window], [("a1", text)])
    assert span is not None and span.text == "Tom Cole"


def test_windows_read_once_are_not_read_again() -> None:
    # The quiz options' scores read the same windows as the answer: the model runs once.
    model = SpanModel()
    reads: list[str] = []
    read = model._read

    def counted(question: str, text: str):  # type: ignore[no-untyped-def]
        reads.append(text)
        return read(question, text)

    model._read = counted  # type: ignore[method-assign]
    other = "Bo Diaz lost the vote."
    model.prefetch("Who won?", [_HAMLIN, other])
    first = model.score("Who won?", [_HAMLIN, other], [[_at(_HAMLIN, "Damar Hamlin")], []])
    again = model.score("Who won?", [_HAMLIN], [[_at(_HAMLIN, "Damar Hamlin")]])
    assert first[0] == again[0] and sorted(reads) == sorted([_HAMLIN, other])
    model.score("Who lost?", [other], [[(0, 7)]])  # another question is another read
    assert len(reads) == 3
