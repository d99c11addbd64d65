"""Watched questions (issue 32, point 2): a question asked again after every write that
could change its answer, each change recorded with the old and new answers and the new
dated citations.

* `record`: what a watch keeps of an answer, and what counts as a change;
* `store`: the watches on disk (SQLite, safe against kill -9);
* `trigger`: which watches a write's new chunks could affect;
* `watcher`: adding, removing and re-checking, through `Assistant.ask`.
"""
