"""Whether a claim says the opposite of its evidence, though it shares their words.

Three symbolic checks, each naming what it found (`conflict`):

* **Polarity.** Every content word is read as affirmed or negated: a negator ("not",
  "n't", "never", "no", "no longer", "without", "neither/nor", "cannot"), a verb of not
  doing ("failed / refused / declined / unable / yet to", "denied that / denied
  attacking")
  negates the content word after it (and the one right beside that), within its clause.
  A word the claim and its evidence share, negated in one and never in the same polarity
  in the other, is a contradiction: "would allow ISIS to reconstitute" against "will not
  allow ISIS to reconstitute", "never attacked" against "attacked". "Not only", "no
  doubt" negate nothing.
* **Opposites.** A word of the claim whose opposite (`OPPOSITES`: rose / fell, won / lost,
  allowed / banned ...) the evidence states, while it never states the word itself, in
  the same polarity.
* **Roles.** Two names the claim and the evidence both state, around a verb they share:
  whoever acts (the first name in the active voice, the one after "by" in the passive)
  must be the same. "Brighton beat Chelsea" against "Chelsea beat Brighton", or against
  "Brighton was beaten by Chelsea".

These see words, not a parse: a negation far from its verb, or a role carried by other
verbs ("X is led by Y" against "Y was overthrown by X's leader"), passes them. The
measured rates are in docs/benchmarks.md (`bench/claim_check.py`).
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from assistant.llm.frame import frame_conflict
from assistant.llm.lexicon import (
    MONTHS,
    NEGATIVE_PREFIXES,
    OPPOSITES,
    VERB_BASES,
    WEEKDAYS,
    stem,
)
from assistant.sentence import STOPWORDS, names, normalize_numbers

_TOKEN = re.compile(r"[^\W\d_][\w'’-]*|\d+(?:[-/]\d+)+|\d[\d,.]*|[.,;:!?()\"“”]")
_CONTRACTIONS = {"can't": ("can", "not"), "won't": ("will", "not"), "cannot": ("can", "not"),
                 "shan't": ("shall", "not")}
_NEGATORS = frozenset("not never no none nobody nothing neither nor without".split())
# Verbs of not doing: they negate the verb after "to" ("failed to win").
_NOT_DOING = frozenset("""
fail fails failed failing refuse refuses refused refusing decline declines declined
declining unable
""".split())
# Denial negates its clause ("denied that he attacked", "denied attacking").
_DENY = frozenset("deny denies denied denying".split())
_SPARED = frozenset({("not", "only"), ("not", "just"), ("no", "doubt"), ("not", "least"),
                     ("nothing", "but"), ("not", "until")})
_CLAUSE_END = frozenset("""
. , ; : ! ? ( ) " “ ” but and or which who whom whose that because while although though
whereas after before when if since unless as
""".split())
SCOPE = 2  # content words a negator reaches ("did not immediately respond")
# Capitalised words that name no one who acts ("on Monday").
_NO_ACTOR = WEEKDAYS | MONTHS
# Words inside a negation that are not what it negates ("no longer", "not yet").
_PARTICLES = frozenset("longer yet ever even".split())
_BE = frozenset("is are was were be been being am 's".split())

_OPPOSITE: dict[str, frozenset[str]] = {}
for _a, _b in OPPOSITES:
    for _x, _y in ((stem(_a), stem(_b)), (stem(_b), stem(_a))):
        _OPPOSITE[_x] = _OPPOSITE.get(_x, frozenset()) | {_y}


def tokens(text: str, keep_case: bool = False) -> list[str]:
    """Lower-cased words and punctuation (as written with `keep_case`), with "n't" split
    off as "not"."""
    out: list[str] = []
    for tok in _TOKEN.findall(text.replace("’", "'")):
        low = tok.lower()
        if low in _CONTRACTIONS:
            out.extend(_CONTRACTIONS[low])
        elif low.endswith("n't") and len(low) > 3:
            out.extend(((tok if keep_case else low)[:-3], "not"))
        else:
            out.append(tok if keep_case else low)
    return out


def _content(tok: str) -> bool:
    return tok[0].isalnum() and tok not in STOPWORDS and tok not in _NEGATORS and len(tok) > 2


def _negates(tok: str, nxt: str) -> bool:
    """Whether `tok` (followed by `nxt`) opens a negation."""
    return (tok in _NEGATORS and (tok, nxt) not in _SPARED) or (
        tok in _NOT_DOING and nxt == "to") or (tok == "yet" and nxt == "to") or (
        tok in _DENY and (nxt == "that" or nxt.endswith("ing")))


def polarity(text: str, every_word: bool = False) -> dict[str, set[bool]]:
    """Each content word's stem -> the polarities it is stated in (True: affirmed). A
    negation reaches the first content word after it and the one right next to that
    ("not completely destroyed"), never past a function word ("failed to disclose [the
    price]"). Names (capitalised past the first word) are left out: a negation is about
    what is done."""
    written = tokens(text, keep_case=True)
    toks = [t.lower() for t in written]
    out: dict[str, set[bool]] = {}
    reach = 0  # content words the current negation still reaches
    negated = False
    touched = False  # the negation has reached a content word
    for i, tok in enumerate(toks):
        nxt = toks[i + 1] if i + 1 < len(toks) else ""
        if tok in _CLAUSE_END and not (tok == "that" and toks[i - 1] in _DENY):
            reach, negated = 0, False
            continue
        if _negates(tok, nxt):
            # A second negation within reach undoes the first ("not without").
            negated = not negated if reach else True
            reach, touched = SCOPE, False
            continue  # "denied" itself is said, not denied
        name = i > 0 and written[i][0].isupper()
        if every_word and tok.isalpha() and not name and not _content(tok):
            out.setdefault(stem(tok), set()).add(not (negated and reach > 0))
        if tok in _PARTICLES or name or not _content(tok):
            if touched and tok not in _PARTICLES:
                # A function word or a name after the negated words ends the negation:
                # "not allow [ISIS] to reconstitute" negates allowing only.
                reach, negated = 0, False
            continue
        out.setdefault(stem(tok), set()).add(not (negated and reach > 0))
        if reach:
            touched = True
            reach -= 1
            negated = negated and reach > 0
    return out


def negation_count(text: str) -> int:
    """How many negations `text` holds, counted as `polarity` reads them: "not", "n't",
    "never", "no longer", "failed / refused / declined / unable / yet to", "denied that"
    ..."""
    toks = tokens(text)
    n = 0
    for i, tok in enumerate(toks):
        n += _negates(tok, toks[i + 1] if i + 1 < len(toks) else "")
    return n


def _written(text: str, word_stem: str) -> str:
    """The word of `text` whose stem is `word_stem`, as written."""
    return next((t for t in tokens(text) if stem(t) == word_stem), word_stem)


def polarity_conflict(claim: str, evidence: str) -> str | None:
    """The first word the claim states in the opposite polarity of the evidence."""
    pc, pe = polarity(claim), polarity(evidence)
    for word, said in pc.items():
        there = pe.get(word)
        if there and not (said & there):
            how = "negates" if False in said else "affirms"
            return f"its sentence {how} '{_written(claim, word)}', which its quote does not"
    return None


def _opposites(word: str, stated: dict[str, set[bool]]) -> list[str]:
    """The words of `stated` (stems) that are `word`'s opposite: listed in `OPPOSITES`, or
    the same word with a negative prefix added or taken away ("approv" / "disapprov")."""
    out = [w for w in _OPPOSITE.get(word, ()) if w in stated]
    for prefix in NEGATIVE_PREFIXES:
        if len(word) > len(prefix) + 3 and word.startswith(prefix) and \
                word[len(prefix):] in stated:
            out.append(word[len(prefix):])
        if prefix + word in stated:
            out.append(prefix + word)
    return out


def opposite_conflict(claim: str, evidence: str) -> str | None:
    """A word of the claim whose opposite the evidence states instead, same polarity
    (function words too: "fewer than" for "more than"), about the same thing: the two
    share a word nearby ("demand to rise" is no opposite of "capacity has declined")."""
    pc, pe = polarity(claim, every_word=True), polarity(evidence, every_word=True)
    tc, te = tokens(claim), tokens(evidence)
    for word, said in pc.items():
        if word in pe:
            continue
        for other in _opposites(word, pe):
            if said & pe[other] and _near(tc, word) & _near(te, other):
                return (f"its sentence says '{_written(claim, word)}' where its quote says "
                        f"'{_written(evidence, other)}'")
    return None


def _positions(toks: Sequence[str], name: str) -> list[int]:
    first = tokens(name)
    if not first:
        return []
    n = len(first)
    return [i for i in range(len(toks) - n + 1) if list(toks[i:i + n]) == first]


def _agent(toks: Sequence[str], a: int, b: int, verb: str) -> int | None:
    """Which of the names at token indices a < b acts on `verb` between them: 0 (the
    first) in the active voice, 1 in the passive ("was beaten by"); None when the verb
    does not stand between them."""
    at = next((i for i in range(a + 1, b) if toks[i].isalpha() and stem(toks[i]) == verb),
              None)
    if at is None:
        return None
    passive = any(t in _BE for t in toks[max(a + 1, at - 2):at]) and "by" in toks[at + 1:b]
    return 1 if passive else 0


_VERB_FORMS = frozenset(stem(v) for v in VERB_BASES)


def _actions(text: str) -> set[str]:
    """Stems of the words that may name what is done: lower-case words, not numbers."""
    return {stem(t.lower()) for i, t in enumerate(tokens(text, keep_case=True))
            if t.isalpha() and (i == 0 or not t[0].isupper()) and _content(t.lower())}


def role_conflict(claim: str, evidence: str) -> str | None:
    """Two names around a shared verb with their roles exchanged (module docstring)."""
    tc, te = tokens(claim), tokens(evidence)
    found = []
    first = tokens(claim, keep_case=True)[:1]
    # The first word is a name where the evidence writes it capitalised ("Chelsea beat").
    opening = [first[0]] if first and first[0][0].isupper() and first[0] in tokens(
        evidence, keep_case=True)[1:] else []
    for name in dict.fromkeys(n for n in [*opening, *names(claim)] if len(n) >= 2):
        pc, pe = _positions(tc, name), _positions(te, name)
        if pc and pe and name.lower() not in STOPWORDS and name.lower() not in _NO_ACTOR:
            found.append((name, pc[0], pe[0]))
    # What is done, in a verb's form ("beat", "overthrew", "sued", "leads"), not a noun.
    verbs = {v for v in _actions(claim) & _actions(evidence)
             if v in _VERB_FORMS or any(stem(t) == v and t.endswith(("ed", "es", "s"))
                                         for t in tc + te)}
    for i, (n1, c1, e1) in enumerate(found):
        for n2, c2, e2 in found[i + 1:]:
            if c1 == c2 or e1 == e2:
                continue
            for verb in verbs - {stem(w) for n in (n1, n2) for w in tokens(n)}:
                ac = _agent(tc, min(c1, c2), max(c1, c2), verb)
                ae = _agent(te, min(e1, e2), max(e1, e2), verb)
                if ac is None or ae is None:
                    continue
                claim_agent = (n1, n2)[ac] if c1 < c2 else (n2, n1)[ac]
                evidence_agent = (n1, n2)[ae] if e1 < e2 else (n2, n1)[ae]
                if claim_agent != evidence_agent:
                    return (f"its sentence has {claim_agent} do what its quote says "
                            f"{evidence_agent} did ('{_written(claim, verb)}')")
    return None


def _near(toks: Sequence[str], word_stem: str, reach: int = 4) -> set[str]:
    """Content-word stems within `reach` tokens of any occurrence of `word_stem`."""
    out: set[str] = set()
    for i, t in enumerate(toks):
        if stem(t) == word_stem:
            out.update(stem(w) for w in toks[max(0, i - reach):i + reach + 1]
                       if w.isalpha() and _content(w) and stem(w) != word_stem)
    return out


def _value(tok: str) -> tuple[str, str] | None:
    """(kind, value) of a token that states a number, a year, a month or a weekday."""
    if tok in WEEKDAYS:
        return "weekday", tok
    if tok in MONTHS:
        return "month", tok
    if tok.isalpha() and (spelled := normalize_numbers(tok)).isdigit():
        return "number", spelled  # "five" -> "5"
    digits = tok.replace(",", "").rstrip(".")
    if re.fullmatch(r"\d+(?:\.\d+)?", digits):
        kind = "year" if re.fullmatch(r"1[5-9]\d\d|20\d\d", digits) else "number"
        return kind, digits
    return None


def _slots(text: str, reach: int = 4) -> list[tuple[str, str, set[str]]]:
    """Each value the text states: (kind, value, the content-word stems around it)."""
    toks = tokens(text)
    out = []
    for i, tok in enumerate(toks):
        kv = _value(tok)
        if kv is not None:
            near = {stem(w) for w in toks[max(0, i - reach):i + reach + 1]
                    if w.isalpha() and _content(w) and _value(w) is None}
            out.append((kv[0], kv[1], near))
    return out


def _same(a: str, b: str) -> bool:
    """Whether two values are one: "520000" and "520000.0", "monday" and "monday"."""
    try:
        return float(a) == float(b)
    except ValueError:
        return a == b


def value_conflict(claim: str, evidence: str) -> str | None:
    """A number, year, month or weekday the claim binds to what the evidence binds
    another one of its kind to: "60 mph winds" where the quote says "150 mph winds" and
    names 60 elsewhere, demand rising 2.3% where it rises 1.7% and capacity falls 2.3%.
    A value counts as bound to the words around it: the evidence's own use of the claim's
    value shares none of them while a rival's shares two or more (a paraphrase moves
    words around, so only a clear rival counts)."""
    theirs = _slots(evidence)
    for kind, value, near in _slots(claim):
        own = [len(near & n) for k, v, n in theirs if k == kind and _same(v, value)]
        if not own:
            continue  # absent: the names check speaks for it
        rival = max(((len(near & n), v) for k, v, n in theirs
                     if k == kind and not _same(v, value)), default=(0, ""))
        if max(own) == 0 and rival[0] >= 2:
            return f"its sentence ties {value} to what its quote ties {rival[1]} to"
    return None


def _name_slots(text: str, reach: int = 4) -> list[tuple[str, set[str]]]:
    """Each name the text states (a run of capitalised words past the first word), with
    the content-word stems around it (other names and values aside)."""
    written = tokens(text, keep_case=True)
    out: list[tuple[str, set[str]]] = []
    i = 1
    while i < len(written):
        if written[i][0].isupper() and written[i].lower() not in _NO_ACTOR:
            j = i
            while j + 1 < len(written) and written[j + 1][0].isupper():
                j += 1
            near = {stem(w.lower()) for w in written[max(0, i - reach):i] + written[
                j + 1:j + 1 + reach] if w.isalpha() and not w[0].isupper()
                and _content(w.lower())}
            out.append((" ".join(written[i:j + 1]).lower(), near))
            i = j + 1
        else:
            i += 1
    return out


def _initials(name: str) -> str:
    """"Bangladesh Sangbad Sangstha" -> "bss": an acronym names what it abbreviates."""
    return "".join(w[0] for w in name.split())


def name_conflict(claim: str, evidence: str) -> str | None:
    """A name the claim puts where the evidence puts another: as `value_conflict`, for
    names ("The band's drummer at the time was Ringo Starr" where the quote's drummer
    is Pete Best and Ringo Starr joined later)."""
    theirs = _name_slots(evidence)
    ours = _name_slots(claim)
    for name, near in ours:
        own = [len(near & n) for v, n in theirs if v == name]
        if not own:
            continue
        rival = max(((len(near & n), v) for v, n in theirs
                     if v != name and v not in name and name not in v
                     and _initials(v) != name and _initials(name) != v), default=(0, ""))
        # A swap: the rival, if the claim names it too, is not where the quote puts it
        # either ("The US ... disabling IS cells" keeps the US where the quote has it).
        if max(own) == 0 and rival[0] >= 2 and not any(
                v == rival[1] and near_v & n for v, near_v in ours for w, n in theirs
                if w == rival[1]):
            return f"its sentence puts {name} where its quote puts {rival[1]}"
    return None


def conflict(claim: str, evidence: str) -> str | None:
    """Why the claim contradicts the evidence (polarity, opposites, values, roles, a value
    or name in another's frame: `frame`), or None."""
    return (polarity_conflict(claim, evidence) or opposite_conflict(claim, evidence)
            or value_conflict(claim, evidence) or role_conflict(claim, evidence)
            or name_conflict(claim, evidence)
            or frame_conflict(tokens(claim, keep_case=True), tokens(evidence, keep_case=True)))
