"""Banded residual covariance (Stata's ``residuals(banded k, t(visit))``): unstructured over
the visits within k visits of each other, zero beyond.

As for ``unstructured`` (an MMRM), each visit has its own residual sd and the time variable
names visits. The band counts positions in the ordered visits (a pandas Categorical's order,
numbers by value, text in natural order: "Week 4" before "Week 12"): visits coded 1, 2, 3, ...
(as Stata's ``t()`` is) are k apart when their codes differ by k; with visits missing from
every group (weeks 0, 2, 4, 8) the neighbours in the list are one apart. A banded correlation matrix with free band entries is not positive definite for
all values. Its Cholesky factor is banded with the same width, and each row of the factor
is a unit vector; the row is written in hyperspherical form from values in (-1, 1), the
canonical partial correlations (as the LKJ distribution's construction). Every vector of
such values gives a positive definite banded correlation and every positive definite banded
correlation has exactly one. The values are the parameter ``band_cor_cpc`` (prior class
``band_cor``: Uniform(-1, 1) each by default); the posterior reports the matrix ``band_cor``.

Registered here and nowhere else (see :mod:`.residuals`).
"""

from __future__ import annotations

import numpy as np

from .residuals import ResidualKind, ResidualParameter, register_residual_kind


def band_pairs(n_levels: int, band: int) -> list[tuple[int, int]]:
    """(row, column) of the free entries of the banded Cholesky factor, row by row: the
    visits within ``band`` of each, before it."""
    return [(i, j) for i in range(n_levels) for j in range(max(0, i - band), i)]


def banded_correlation(cpc, n_levels: int, band: int, xp):
    """(n_levels, n_levels) banded correlation from the 1-D vector ``cpc`` of canonical
    partial correlations (one per entry of :func:`band_pairs`), for numpy or
    ``pytensor.tensor``."""
    zero = cpc[0] * 0.0
    cells = [[zero] * n_levels for _ in range(n_levels)]
    position = 0
    for i in range(n_levels):
        left = zero + 1.0  # the squared length the row still has
        for j in range(max(0, i - band), i):
            z = cpc[position]
            position += 1
            cells[i][j] = z * xp.sqrt(left)
            left = left * (1.0 - z**2)
        cells[i][i] = xp.sqrt(left)
    factor = xp.stack([xp.stack(row) for row in cells])
    return factor @ factor.T


def _visits(params, times, xp):
    cor = params["band_cor"]  # (J, L, L): each group's matrix (its by level's)
    codes = np.asarray(times, dtype=int)
    J = codes.shape[0]
    return cor[np.arange(J)[:, None, None], codes[:, :, None], codes[:, None, :]]


def banded_kind(order: tuple[int, ...]) -> ResidualKind:
    """Banded(k): visit sds and correlations within k visits, zero beyond."""
    (k,) = order
    return ResidualKind(
        f"banded{k}", f"unstructured within {k} visit(s), zero covariance beyond (Stata's banded {k})",
        aliases=(), time="levels", min_times=k + 1, sd_by_time=True, order=order, correlation=_visits,
        parameters=(ResidualParameter(
            "band_cor", "banded", f"residual correlations between visits at most {k} apart",
            size=lambda rd: len(band_pairs(len(rd.time_levels), k))),),
    )


def _needs_order(params, times, xp):
    raise AssertionError("residuals('banded') is made with an order (hb.residuals checks it)")


BANDED = register_residual_kind(ResidualKind(
    "banded", "unstructured within k visits, zero beyond (needs order=k)", aliases=("band",),
    parameters=(), time="levels", min_times=2, correlation=_needs_order, sd_by_time=True,
    order_args=("k",), with_order=banded_kind, order_required=True,
))
