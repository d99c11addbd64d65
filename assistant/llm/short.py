"""An LLM answer's short answer, weighed by the reader over the answer's verified quotes.

The model's short answer stands when it is found verbatim in a verified quote and is of
the kind asked (`fits`): a scripted model's "the Badia desert", quoted, was replaced by
the reader's own, wrong "Iraq" before. The reader contributes the confidence: its
calibrated belief in that very answer over the quotes (low when it believes another),
and the answers it believes instead become the alternatives, so a doubt shows as "Not
sure; the articles suggest the Badia desert [1] or Iraq [2]", never as a silent
replacement. Without a model answer that stands, the reader's own answer is given, as
for the extractive path.

Why a check of kind at all: SmolLM2-135M's verbatim short answers, stated as facts
before any check, were right for none of the 19 seed questions it answered ("Islamic
State" for "Which US general ..."), and "Heavy" stands verbatim in the quote that answers
"Which heavy bombers ...?".
"""

from __future__ import annotations

from dataclasses import replace
from typing import TYPE_CHECKING

from assistant.answer import Answer, ShortAnswer
from assistant.extractive import newest_date
from assistant.question import Question
from assistant.reader.kind import fits
from assistant.reader.variant import same_answer
from assistant.sentence import normalize

if TYPE_CHECKING:
    from assistant.reader.span import Reader, Span

def weigh_short_answer(question: Question, answer: Answer, reader: Reader) -> Answer:
    """`answer` with its short answer and alternatives as the module docstring says."""
    from assistant.quote import short_answer_of
    from assistant.reader.model import ModelUnavailable
    from assistant.reader.span import Window, age_days

    if not answer.citations:
        return answer
    windows = [Window(article_id=c.article_id, start=c.start, end=c.end, head_end=c.end,
                      text=c.quote, relevance=answer.relevance or 0.5, passage_rank=i,
                      date=c.date)
               for i, c in enumerate(answer.citations)]
    newest = newest_date(answer.retrieved)
    try:
        reading = reader.weigh(question, windows,
                               [(p.article_id, p.text) for p in answer.retrieved],
                               newest=newest)
    except ModelUnavailable:  # warned about once (reader.model): as without a reader
        return answer
    spans = ([reading.span] if reading.span else []) + list(reading.alternatives)

    def located(span: Span) -> ShortAnswer:
        c = answer.citations[span.window]
        return short_answer_of(span, c)

    model = answer.short_answer
    short: ShortAnswer | None
    if model is not None and fits(question, model.text):
        agreed = next((s for s in spans if same_answer(s.text, model.text)), None)
        if agreed is not None:
            short = replace(model, belief=agreed.belief, confidence=agreed.confidence)
        else:
            belief = reading.beliefs.get(normalize(model.text), 0.0)
            calibration = getattr(reader, "calibration", None)
            window = windows[model.n - 1]
            short = replace(model, belief=belief, confidence=(
                calibration.probability(belief, age_days(window, newest))
                if calibration is not None else None))
    else:
        short = located(reading.span) if reading.span else None
    others = tuple(located(s) for s in spans
                   if short is None or not same_answer(s.text, short.text))
    return replace(answer, short_answer=short, alternatives=others)
