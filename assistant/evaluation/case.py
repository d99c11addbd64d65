"""Evaluation cases: a question with its gold answers, read from question files (one
JSON object a line). Accepts the benchmark format of
`../shared/bench/*/questions*.jsonl` (id, question, date, choices, answers, gold_ids,
supporting_ids) and the minimal `{"id", "question", "answers"}`. Bad lines are reported
with their line number and skipped; the rest are evaluated."""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from assistant.errors import AssistantError
from assistant.evaluation.metrics import normalize


class EvalError(AssistantError):
    """The evaluation cannot run (missing question file, no valid question, bad folder)."""


class Case(BaseModel):
    """One line of a question file. Unknown fields (e.g. `source`) are kept."""

    model_config = ConfigDict(extra="allow")

    id: str = Field(description="Question id, unique in the file.")
    question: str = Field(min_length=1, description="The question text.")
    answers: list[str] = Field(
        default_factory=list,
        description="Gold answer strings; empty means 'no answer expected'.",
    )
    date: dt.date | None = Field(None, description="Day the question was asked (answer as of it).")
    choices: list[str] | None = Field(None, description="Multiple-choice options.")
    gold_ids: list[str] = Field(default_factory=list, description="Gold source article ids.")
    supporting_ids: list[str] = Field(
        default_factory=list, description="Article ids whose text holds every gold answer."
    )
    answerable: bool | None = Field(
        None, description="Explicit: can the indexed articles answer it? (seed file)"
    )

    @field_validator("id", mode="before")
    @classmethod
    def _id_as_text(cls, value: Any) -> Any:
        if isinstance(value, int) and not isinstance(value, bool):
            return str(value)
        return value

    @field_validator("id", "question")
    @classmethod
    def _not_blank(cls, value: str) -> str:
        value = " ".join(value.split())
        if not value:
            raise ValueError("must not be blank")
        return value

    @field_validator("choices")
    @classmethod
    def _two_choices(cls, value: list[str] | None) -> list[str] | None:
        if value is not None and len(value) < 2:
            raise ValueError("needs at least two options (or leave choices out)")
        return value

    @property
    def gold_choice(self) -> int | None:
        """Index of the correct option: the first choice equal (normalised) to a gold
        answer; None without choices."""
        if not self.choices:
            return None
        golds = {normalize(a) for a in self.answers}
        for i, choice in enumerate(self.choices):
            if normalize(choice) in golds:
                return i
        return None

    @property
    def is_answerable(self) -> bool | None:
        """True/False/None (unknown). An explicit `answerable` field wins; otherwise a
        non-empty `supporting_ids` means answerable; a benchmark line (one that has a
        `supporting_ids` field) with it empty is unknown; a minimal line without that
        field is answerable exactly when it lists gold answers."""
        if self.answerable is not None:
            return self.answerable
        if self.supporting_ids:
            return True
        if "supporting_ids" in self.model_fields_set:
            return None
        return bool(self.answers)


@dataclass(frozen=True)
class LineError:
    """A line of the question file that was skipped, and why."""

    path: str
    line: int
    reason: str

    def __str__(self) -> str:
        return f"{self.path}:{self.line}: {self.reason}"


@dataclass
class QuestionFile:
    """The valid questions of a file, in file order, and the lines that were skipped."""

    path: Path
    questions: list[Case] = field(default_factory=list)
    errors: list[LineError] = field(default_factory=list)


def parse_line(raw: str) -> Case:
    """One JSON line as a Case; raises ValueError with a one-line reason."""
    try:
        obj = json.loads(raw)
    except json.JSONDecodeError as exc:
        raise ValueError(f"not valid JSON ({exc.msg} at column {exc.colno})") from None
    if not isinstance(obj, dict):
        raise ValueError(f"expected a JSON object, got {type(obj).__name__}")
    try:
        q = Case.model_validate(obj)
    except ValidationError as exc:
        problems = []
        for err in exc.errors():
            where = ".".join(str(p) for p in err["loc"]) or "line"
            problems.append(f"{where}: {err['msg']}")
        raise ValueError("; ".join(problems)) from None
    if q.choices and q.answers and q.gold_choice is None:
        raise ValueError("answers: none of the gold answers is one of the choices")
    return q


def load_questions(path: Path) -> QuestionFile:
    """Read a question file. Blank lines are ignored; unreadable lines, invalid fields and
    repeated ids become `LineError`s (1-based line numbers) and the line is skipped."""
    try:
        text = path.read_text(encoding="utf-8-sig")
    except FileNotFoundError:
        raise EvalError(f"no question file at {path}") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise EvalError(f"cannot read the question file {path}: {exc}") from None
    out = QuestionFile(path=path)
    seen: dict[str, int] = {}
    for lineno, raw in enumerate(text.splitlines(), start=1):
        if not raw.strip():
            continue
        try:
            q = parse_line(raw)
        except ValueError as exc:
            out.errors.append(LineError(str(path), lineno, str(exc)))
            continue
        if q.id in seen:
            out.errors.append(
                LineError(str(path), lineno, f"id {q.id!r} repeats line {seen[q.id]}")
            )
            continue
        seen[q.id] = lineno
        out.questions.append(q)
    return out
