"""Follow-up questions without an LLM: fold the needed context of earlier turns into the
retrieval query.

The rule (`context_questions`; `Assistant.ask` retrieves with the carried questions
and the question joined, oldest first):

1. A question *leans on* the conversation when
   a. it uses a word that points back: a pronoun or place/time word such as "there",
      "it", "they", "their", "he", "she", "the group" (*strong* references), or
      "this", "that", "these", "those", "such", "then", "more", "else" (*weak*
      references, which count only when the question names nothing itself, because
      "the man that leads HTS" uses "that" as a relative pronoun); or
   b. it opens like a continuation: "and ...", "but ...", "what about ...",
      "how about ..."; or
   c. it has fewer than two keywords of its own, or fewer than three and no name
      (capitalised word, acronym or number).
2. Such a question is retrieved together with the latest earlier question that stood on
   its own and the latest follow-up asked since (at most `MAX_CARRIED` earlier questions),
   oldest first, then the question itself.
3. Any other question is retrieved exactly as asked, so a change of topic ("Who leads
   HTS?") is not polluted by the previous one.
4. A question with a strong reference (rule 1a: "there", "it", "they", ...) points at
   what the conversation was just about, so `Assistant.ask` answers it from the
   *focus* first: the articles of the top `FOCUS_PASSAGES` passages retrieved for the
   carried questions alone. Other articles come after them, and are used to answer only
   when the focus has nothing relevant. A continuation that names something new ("And
   in Iraq?") gets no focus: it moves to another subject.

The answerer still scores sentences against the question itself; words carried over
from earlier turns count half (see `assistant.extractive._overlap`), so the context
steers retrieval without outvoting the new question.

The cues of rules 1a and 1b are read once, by `assistant.question.analyse`
(`Question.refers_back`, `weak_reference`, `continues`; word lists `STRONG_REFERENCE`,
`WEAK_REFERENCE`, `CONTINUATION` there); this module applies the rule to them.

Example over the seed article:
    "Where are remaining IS cells?"            -> retrieved as asked
    "Who attacks the truffle hunters there?"   -> "Where are remaining IS cells? Who
                                                   attacks the truffle hunters there?"
"""

from __future__ import annotations

from collections.abc import Sequence

from assistant.question import Question, analyse, as_question

MAX_CARRIED = 2  # earlier questions folded into one retrieval query
FOCUS_PASSAGES = 3  # passages of the carried questions whose articles form the focus


def needs_context(question: str | Question) -> bool:
    """Whether the question cannot be understood without the conversation (rule 1)."""
    q = as_question(question)
    if q.refers_back or q.continues:
        return True
    named = bool(q.names)
    if q.weak_reference and not named:
        return True
    n_keywords = len(q.keywords)
    return n_keywords < 2 or (n_keywords < 3 and not named)


def refers_back(question: str | Question) -> bool:
    """Whether the question points at something said before ("there", "it", ...: rule 4)."""
    return as_question(question).refers_back


def context_questions(question: str | Question, history: Sequence[str]) -> list[str]:
    """The earlier user questions (oldest first) folded into the retrieval query of
    `question`: empty when it stands alone (rules 1-3)."""
    history = [h for h in (" ".join(str(h).split()) for h in history) if h]
    if not history or not needs_context(question):
        return []
    carried: list[str] = []
    for earlier in reversed(history):
        carried.insert(0, earlier)
        if not needs_context(analyse(earlier)):
            break
    if len(carried) > MAX_CARRIED:  # keep the standalone question and the latest follow-ups
        carried = [carried[0], *carried[len(carried) - MAX_CARRIED + 1:]]
    return carried
