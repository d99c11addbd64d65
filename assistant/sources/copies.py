"""One story, many copies (issue 32, point 3): what the reader sees of a story's copies.

* Passages: a passage whose text another, better-ranked passage already has (a wire
  copy, a page fetched under two URLs) is read once; the copy's article is remembered.
* Citations: each names the other articles of its article's story (`index.story`, as
  grouped at ingest) and the articles whose identical passage was dropped, as *also
  published by*, at most `MAX_COPIES`, earliest first.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import replace

from assistant.answer import Answer, Copy
from index.article import Article
from index.retrieve import Passage

MAX_COPIES = 10
SPARE = 4  # passages retrieved beyond k, to take the place of dropped copies
_SPACE = re.compile(r"\s+")


def distinct(passages: Sequence[Passage]) -> tuple[list[Passage], dict[str, list[Passage]]]:
    """The passages with each text once (the best-ranked copy kept), and the dropped
    copies by the chunk id of the passage kept."""
    kept: list[Passage] = []
    first: dict[str, Passage] = {}
    dropped: dict[str, list[Passage]] = {}
    for p in passages:
        key = _SPACE.sub(" ", p.text).strip().casefold()
        seen = first.get(key)
        if seen is None or seen.article_id == p.article_id:
            first.setdefault(key, p)
            kept.append(p)
        else:
            dropped.setdefault(seen.chunk_id, []).append(p)
    return kept, dropped


def with_copies(answer: Answer, dropped: Mapping[str, list[Passage]],
                members: Mapping[str, Sequence[Article]]) -> Answer:
    """`answer` with each citation's `also`: the other articles of its story (`members`,
    by story id) and those whose copy of its passage was dropped (`distinct`)."""
    if dropped:
        answer = replace(answer, copies={cid: tuple(dict.fromkeys(p.article_id for p in ps))
                                         for cid, ps in dropped.items()})
    if not answer.citations:
        return answer
    stories = {p.chunk_id: p.group for p in answer.retrieved}
    cited = []
    for c in answer.citations:
        found: dict[str, Copy] = {}
        for p in dropped.get(c.chunk_id, ()):
            found.setdefault(p.article_id, Copy(article_id=p.article_id, title=p.title,
                                                date=p.date, source=p.source, url=p.url))
        for a in members.get(stories.get(c.chunk_id, ""), ()):
            found.setdefault(a.id, Copy(article_id=a.id, title=a.title, date=a.date,
                                        source=a.source, url=a.url))
        found.pop(c.article_id, None)
        also = sorted(found.values(), key=lambda x: (x.date is None, x.date, x.article_id))
        cited.append(replace(c, also=tuple(also[:MAX_COPIES])) if also else c)
    return replace(answer, citations=tuple(cited))


def cited_stories(answer: Answer) -> list[str]:
    """The story ids of the cited passages (recorded ones only)."""
    stories = {p.chunk_id: p.story for p in answer.retrieved if p.story}
    return list(dict.fromkeys(stories[c.chunk_id] for c in answer.citations
                              if c.chunk_id in stories))
