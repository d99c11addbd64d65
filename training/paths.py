"""Where the training scripts find the repository, the benchmark data and the output folder:
`bench/harness.py`'s, so a training run and a measurement read and write the same
`bench/out/` (git-ignored; training data, runs and reader caches are kept there).

Scripts run as `.venv/bin/python training/NAME.py`, so `training/` is on the path and they
`import paths` first; it puts `bench/` (for `harness`) and, through it, the repository root
on the path for the packages.
"""

from __future__ import annotations

import sys
from pathlib import Path

_BENCH = str(Path(__file__).resolve().parents[1] / "bench")
if _BENCH not in sys.path:
    sys.path.append(_BENCH)  # after training/, which the script's own folder put first

from harness import OUT, ROOT, SHARED  # noqa: E402

__all__ = ["OUT", "ROOT", "SHARED"]
