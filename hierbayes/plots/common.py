"""Helpers shared by the plot modules."""

from __future__ import annotations

import math

import numpy as np

from ..errors import SpecError
from . import notebook  # noqa: F401 - one picture per plot in Jupyter

# Row plots (caterpillars, grouped checks) grow with their rows up to this height (inches).
MAX_FIGURE_HEIGHT = 11.0


def figure_of(plot_collection):
    """The matplotlib Figure behind an ArviZ PlotCollection."""
    return plot_collection.viz["figure"].item()


def retitle(fig, title: str):
    """Replace the variable-name titles ArviZ puts on its panels."""
    titled = [ax for ax in fig.axes if ax.get_title()]
    for ax in titled or fig.axes[:1]:
        ax.set_title(title, fontsize=10)
    return fig


def unknown_name(what: str, name, valid) -> None:
    """Raise the SpecError for a ``what`` called ``name`` that is not among ``valid``."""
    raise SpecError(f"no {what} {name!r}; valid: {list(valid)}")


def row_figure_height(n_rows: int, per_row: float = 0.12, base: float = 1.2, cap: float = MAX_FIGURE_HEIGHT) -> float:
    """Height in inches of a figure with one row per level: grows with ``n_rows``, at least
    3 and at most ``cap``.

    Parameters
    ----------
    n_rows : int
    per_row, base : inches per row and for the title and axis.
    cap : the largest height.

    Returns
    -------
    float
    """
    return min(cap, max(3.0, per_row * n_rows + base))


def thinned_rows(n_rows: int, height: float, fontsize: float = 7.0) -> np.ndarray:
    """Which of ``n_rows`` rows get a tick label on an axis ``height`` inches tall: every
    k-th, with k the smallest step that keeps labels ``fontsize`` points from overlapping,
    and always the first and the last row (the extremes of a sorted plot).

    Parameters
    ----------
    n_rows : int
    height : float
        Height of the figure in inches.
    fontsize : float
        Label size in points.

    Returns
    -------
    numpy.ndarray
        Row positions, increasing.
    """
    room = max(1, int(height * 72 * 0.8 / (1.35 * fontsize)))
    step = max(1, math.ceil(n_rows / room))
    rows = list(range(0, n_rows, step))
    if rows and rows[-1] != n_rows - 1:
        if n_rows - 1 - rows[-1] < step / 2:  # too close to the last row to name both
            rows[-1] = n_rows - 1
        else:
            rows.append(n_rows - 1)
    return np.array(rows, dtype=int)
