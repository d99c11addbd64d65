"""What the benchmark scripts share: where the repository, the benchmark data and the
output folder are, and one percentile, the eval's (`assistant.evaluation.metrics`), so a
p95 here means what it means in an eval report.

Scripts run as `.venv/bin/python bench/NAME.py`, so `bench/` is on the path and they
`import harness` first; it puts the repository root on the path for the packages, and
`training/` after `bench/`, so a measurement can use the code that made what it measures
(`span_feature.py`: the reader's fit, `train_reader`, and the span model's held-out
questions, `finetune`). The training scripts take their paths from here too
(`training/paths.py`).
"""

from __future__ import annotations

import math
import sys
from collections.abc import Sequence
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))
if str(ROOT / "training") not in sys.path:
    sys.path.append(str(ROOT / "training"))
SHARED = ROOT.parent / "shared" / "bench"  # read in place, never copied into the repository
OUT = ROOT / "bench" / "out"  # git-ignored


def percentile(values: Sequence[float], q: float) -> float:
    """The q-th percentile (0-100), interpolated between closest ranks as in the eval's
    reports; NaN for no values."""
    from assistant.evaluation.metrics import percentile as eval_percentile

    value = eval_percentile(values, q)
    return math.nan if value is None else value
