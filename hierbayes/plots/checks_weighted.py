"""Density and ECDF checks of a weighted fit: the data's and the replications' distributions
weighted by the rows' inclusion weights (:mod:`hierbayes.predict.ppc_weights`), drawn with
matplotlib (ArviZ's checks take no weights)."""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np

from ..predict.ppc_weights import WEIGHTS_NOTE
from . import notebook  # noqa: F401 - one picture per plot in Jupyter

__all__ = ["weighted_distribution"]


def _density(values: np.ndarray, w: np.ndarray, grid: np.ndarray) -> np.ndarray:
    from scipy.stats import gaussian_kde

    keep = w > 0
    if np.ptp(values[keep]) == 0:
        return np.zeros_like(grid)
    return gaussian_kde(values[keep], weights=w[keep])(grid)


def _ecdf(values: np.ndarray, w: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    order = np.argsort(values)
    return values[order], np.cumsum(w[order]) / np.sum(w)


def weighted_distribution(check, kind: str, num_samples: int = 50, random_seed: int = 0):
    """``kind`` "density" (weighted kernel densities) or "ecdf" (weighted ECDFs) of the data
    (black) over ``num_samples`` replicated data sets.

    Returns
    -------
    matplotlib.figure.Figure
    """
    y, yrep, w = check.y, check.yrep, check.weights
    rng = np.random.default_rng(random_seed)
    picked = yrep[rng.choice(yrep.shape[0], size=min(num_samples, yrep.shape[0]), replace=False)]
    fig, ax = plt.subplots(figsize=(6.5, 4.0))
    if kind == "density":
        low, high = np.min([y.min(), picked.min()]), np.max([y.max(), picked.max()])
        grid = np.linspace(low, high, 256)
        for values in picked:
            ax.plot(grid, _density(values, w, grid), color="C0", alpha=0.2, lw=0.8)
        ax.plot(grid, _density(y, w, grid), color="k", lw=2, label="data")
        ax.set_ylabel("weighted density")
    else:
        for values in picked:
            ax.step(*_ecdf(values, w), where="post", color="C0", alpha=0.2, lw=0.8)
        ax.step(*_ecdf(y, w), where="post", color="k", lw=2, label="data")
        ax.set_ylabel("weighted ECDF")
    ax.plot([], [], color="C0", alpha=0.5, label=f"{check.source} predictive")
    name = check.model.spec.response.expr
    ax.set_xlabel(name)
    ax.legend(frameon=False)
    ax.set_title(f"{name}: {check.source} predictive check ({kind}),\n{WEIGHTS_NOTE}", fontsize=10)
    fig.tight_layout()
    return fig
