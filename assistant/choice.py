"""Multiple choice: pick the option the articles support best.

A quiz gives options; `Assistant.ask(..., choices=[...])` picks one and quotes the
evidence for it. The rule reads the passages retrieved for the question (in rank order)
and the cited quotes, plus, for each option, the passages retrieved for "question +
option" in the same "as of" window.

Rule (version "evidence-v4"):

    match(c, t) = 1                    if the normalised option occurs in the normalised
                                       text t as whole words (a passage's text is read
                                       with its article's title in front: headlines name
                                       the news)
                = 0.5 * coverage(c, t) otherwise; coverage = share of the option's
                                       distinctive keywords found in t: its keywords that
                                       are neither in the question nor in another option
                                       (if that leaves none: those not in the question;
                                       if still none: all its keywords)
    evidence(c) = sum over retrieved passages r (rank 1, 2, ...) of match(c, r) / rank
                + 1.0 * max over cited quotes q of match(c, q)
    own(c)      = sum over the passages retrieved for "question + c" (rank 1..5) of
                  match(c, r) / rank
    sent(c, P)  = max over sentences s of passages P with match(c, s) > 0 of
                  match(c, s) * (share of the question's keywords in s + 0.3 * score(P))
                  ("a sentence that is about the question names the option")
    score(c)    = 0.5 * evidence(c) / max evidence + 0.5 * own(c) / max own
                + 1.0 * sent(c, question's passages) + 0.5 * sent(c, own passages)
                  (a scaled term is 0 when all options score 0)

Matching compares normalised text (`sentence.normalize_numbers`) with number words written
as digits ("three months" = "3 months"). The weights come from a grid on the 810 rtqa-2022
questions; titles in front of passages and the exclusion rule each raised accuracy on
identical retrievals (bench/mc_rule.py; 0.7469 on rtqa-2022, each step in
docs/benchmarks.md). A conditional-logit fit of the weights, dense sentence similarity,
option frequency in the week's news and the short-answer reader's score of each option
(`WEIGHTS["reader"]`, replayed with bench/mc_rule.py --reader) gained nothing under
cross-validation, so they are not used: the reader's weight is 0 and it is not asked for
quiz options. own(c) stays at half weight because with few articles every option
retrieves the same passages and its rank order is noise.

The option with the highest score wins. Exclusion questions ("which of these is not...",
"all of these except:", see `Question.exclusion`) ask for the option the articles do NOT
support, so there the lowest score wins (method "exclusion"; ties at the bottom are broken
by the lowest similarity below). When no option has any evidence, or the best
ones tie (within 1e-9), the tied options are ranked by meaning instead: the cosine
similarity between the embedding of "question + option" and the best of the top
`FALLBACK_PASSAGES` retrieved passages. With nothing retrieved at all the first tied
option is returned (a guess, marked method="guess").

Keep it a function of (question, choices, answer, embedder): a later change can swap the
rule without touching the evaluation loop.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from assistant.question import Question, as_question
from assistant.sentence import keywords, match_words, normalize_numbers, split_sentences
from index.retrieve import Passage

if TYPE_CHECKING:
    from assistant.answer import Answer
    from index.embed import Embedder


RULE = "evidence-v4"
OWN_PASSAGES = 5
WEIGHTS = {"evidence": 0.5, "own": 0.5, "sent": 1.0, "own_sent": 0.5, "reader": 0.0}
QUOTE_BONUS = 1.0
PARTIAL_WEIGHT = 0.5
FALLBACK_PASSAGES = 3
_TIE = 1e-9


@dataclass(frozen=True)
class ChoicePick:
    """The chosen option, every option's evidence score, and how the pick was made:
    "evidence" (a clear winner), "exclusion" (the least supported option of a "which is
    not" question), "similarity" (tie or no evidence; meaning decided) or "guess"
    (nothing retrieved)."""

    index: int
    scores: tuple[float, ...]
    method: str


def is_exclusion(question: str | Question) -> bool:
    """True for "which of these is not ..." / "all of these except:" questions
    (`Question.exclusion`)."""
    return as_question(question).exclusion


def matchable_text(passage: Passage) -> str:
    """The text options are matched in: the article title, then the passage."""
    return f"{passage.title}. {passage.text}" if passage.title else passage.text


def distinctive_words(
    option: str, question_words: set[str], other_words: set[str] | None = None
) -> set[str]:
    """The option's keywords that can tell it apart (see the module docstring)."""
    words = match_words(option)
    return (words - question_words - (other_words or set())) or (words - question_words) or words


def match(
    option: str, text: str, question_words: set[str] | None = None,
    other_words: set[str] | None = None,
) -> float:
    """How well `text` mentions `option` (0..1): 1 for the whole phrase, else half the
    share of the option's distinctive keywords present (see the module docstring)."""
    norm_text = normalize_numbers(text)
    distinctive = distinctive_words(option, question_words or set(), other_words)
    return _match(normalize_numbers(option), distinctive, f" {norm_text} ", match_words(norm_text))


def _match(phrase: str, distinctive: set[str], padded: str, text_words: set[str]) -> float:
    if not phrase:
        return 0.0
    if f" {phrase} " in padded:
        return 1.0
    if not distinctive:
        return 0.0
    return PARTIAL_WEIGHT * len(distinctive & text_words) / len(distinctive)


def evidence_scores(question: str | Question, choices: Sequence[str], answer: Answer
                    ) -> list[float]:
    """evidence(c) for every option, from the answer's retrieved passages and quotes."""
    q_words = set(as_question(question).match_words)

    def prepared(texts: list[str]) -> list[tuple[str, set[str]]]:
        norm = [normalize_numbers(t) for t in texts]
        return [(f" {n} ", match_words(n)) for n in norm]

    passages = prepared([matchable_text(p) for p in answer.retrieved])
    quotes = prepared([c.quote for c in answer.citations])
    option_words = [match_words(c) for c in choices]
    scores = []
    for i, option in enumerate(choices):
        others = set().union(*(w for j, w in enumerate(option_words) if j != i))
        phrase, distinctive = normalize_numbers(option), distinctive_words(option, q_words, others)
        s = sum(
            _match(phrase, distinctive, padded, words) / rank
            for rank, (padded, words) in enumerate(passages, start=1)
        )
        if quotes:
            s += QUOTE_BONUS * max(_match(phrase, distinctive, p, w) for p, w in quotes)
        scores.append(s)
    return scores


def similarity_scores(
    question: str | Question, choices: Sequence[str], answer: Answer, embedder: Embedder
) -> list[float] | None:
    """Cosine of embed(question + option) with the closest of the top retrieved passages;
    None when nothing was retrieved."""
    passages = [p.text for p in answer.retrieved[:FALLBACK_PASSAGES]]
    if not passages:
        return None
    p_vecs = embedder.embed_documents(passages)
    text = as_question(question).text
    o_vecs = np.stack([embedder.embed_query(f"{text} {c}") for c in choices])
    return [float(x) for x in (o_vecs @ p_vecs.T).max(axis=1)]


@dataclass(frozen=True)
class _Prepared:
    """A passage in matchable form, made once per question however many options there
    are: its normalised text and keywords, and the same for each of its sentences with
    the share of the question's keywords in it."""

    text: tuple[str, set[str]]
    sentences: tuple[tuple[str, set[str], float], ...]
    score: float


def _prepare(passage: Passage, q_words: frozenset[str]) -> _Prepared:
    full = matchable_text(passage)
    sentences = []
    for s, e in split_sentences(full):
        text = full[s:e]
        share = len(q_words & keywords(text)) / max(len(q_words), 1)
        sentences.append((f" {normalize_numbers(text)} ", match_words(text), share))
    return _Prepared((f" {normalize_numbers(full)} ", match_words(full)),
                     tuple(sentences), passage.score)


def sentence_score(phrase: str, distinctive: set[str], passages: Sequence[_Prepared]) -> float:
    """sent(c, P) of the module docstring, for the normalised option `phrase`."""
    best = 0.0
    for p in passages:
        for padded, words, share in p.sentences:
            m = _match(phrase, distinctive, padded, words)
            if m > 0:
                best = max(best, m * (share + 0.3 * p.score))
    return best


def option_query(question: str, option: str) -> str:
    """The retrieval query for own(c)."""
    return f"{question} {option}"


def own_scores(
    question: str | Question, choices: Sequence[str], retrieve: Callable[[str], list[Passage]],
    main: Sequence[Passage] = (),
) -> list[tuple[float, float, float]]:
    """(own(c), sent(c, main passages), sent(c, own passages)) for every option."""
    q = as_question(question)
    q_words = set(q.match_words)
    sentence_words = q.keywords
    prepared: dict[str, _Prepared] = {}  # options often retrieve the same chunks

    def prep(passages: Sequence[Passage]) -> list[_Prepared]:
        for p in passages:
            if p.chunk_id not in prepared:
                prepared[p.chunk_id] = _prepare(p, sentence_words)
        return [prepared[p.chunk_id] for p in passages]

    main_prepared = prep(main)
    option_words = [match_words(c) for c in choices]
    out = []
    for i, option in enumerate(choices):
        others = set().union(*(w for j, w in enumerate(option_words) if j != i))
        phrase, distinctive = normalize_numbers(option), distinctive_words(option, q_words, others)
        own_prepared = prep(retrieve(option_query(q.text, option))[:OWN_PASSAGES])
        own = sum(_match(phrase, distinctive, *p.text) / rank
                  for rank, p in enumerate(own_prepared, start=1))
        out.append((own, sentence_score(phrase, distinctive, main_prepared),
                    sentence_score(phrase, distinctive, own_prepared)))
    return out


def _scaled(values: list[float]) -> list[float]:
    top = max(values, default=0.0)
    return [v / top for v in values] if top > 0 else [0.0] * len(values)


def reader_terms(reader: Sequence[float | None]) -> list[float]:
    """The reader's option scores (`SpanReader.option_scores`) as a term of the rule: how
    much better than the worst named option each option stands as the answer, scaled to
    the best; 0 for an option no window names."""
    named = [r for r in reader if r is not None]
    if len(named) < 1:
        return [0.0] * len(reader)
    floor = min(named) - 1.0  # the weakest named option still counts a little
    return _scaled([0.0 if r is None else r - floor for r in reader])


def pick_choice(
    question: str | Question, choices: Sequence[str], answer: Answer, embedder: Embedder,
    retrieve: Callable[[str], list[Passage]] | None = None,
    reader: Sequence[float | None] | None = None,
) -> ChoicePick:
    """Apply the rule in the module docstring; returns the option index (0-based).
    Without `retrieve`, only evidence(c) counts (the "evidence-v1" rule). `reader` holds
    the short-answer reader's score for each option (`reader_terms`), weighted by
    WEIGHTS["reader"]."""
    if not choices:
        raise ValueError("pick_choice needs at least one option")
    question = as_question(question)
    scores = _scaled(evidence_scores(question, choices, answer))
    if retrieve is not None:
        parts = own_scores(question, choices, retrieve, answer.retrieved)
        own = _scaled([p[0] for p in parts])
        w = WEIGHTS
        scores = [w["evidence"] * ev + w["own"] * o + w["sent"] * p[1] + w["own_sent"] * p[2]
                  for ev, o, p in zip(scores, own, parts, strict=True)]
    if reader is not None and WEIGHTS["reader"] and any(s > 0 for s in scores):
        scores = [s + WEIGHTS["reader"] * r
                  for s, r in zip(scores, reader_terms(reader), strict=True)]
    best = max(scores)
    exclusion = best > 0 and is_exclusion(question)
    target = min(scores) if exclusion else best
    tied = [i for i, s in enumerate(scores) if abs(target - s) <= _TIE]
    if best > 0 and len(tied) == 1:
        return ChoicePick(tied[0], tuple(scores), "exclusion" if exclusion else "evidence")
    candidates = tied if best > 0 else list(range(len(choices)))
    sims = similarity_scores(question, [choices[i] for i in candidates], answer, embedder)
    if sims is None:
        return ChoicePick(candidates[0], tuple(scores), "guess")
    # argmax/argmin: the first of equal similarities
    winner = candidates[int(np.argmin(sims) if exclusion else np.argmax(sims))]
    return ChoicePick(winner, tuple(scores), "exclusion" if exclusion else "similarity")
