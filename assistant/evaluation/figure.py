"""The figure every evaluation plot draws on (report.md's plots, the calibration plots,
the comparison chart).

Plots use matplotlib's object API on the Agg canvas (no pyplot, no display, no global
backend switch), so this works on a headless machine and inside the chat server.
"""

from __future__ import annotations

from typing import Any


def new_figure(width: float = 6.4, height: float = 4.0) -> Any:
    """A matplotlib figure drawn off-screen (Agg), without pyplot's global state."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=(width, height), dpi=110)
    FigureCanvasAgg(fig)
    return fig
