"""Cholesky factors and triangular solves of many small (K x K) systems at once, written out
element by element so that every operation acts on a whole batch (numpy arrays or PyTensor
tensors alike). For the K of group terms this beats batched LAPACK calls in numpy (about a
microsecond per tiny matrix) and fuses into one loop under XLA.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any


def cholesky_lower(M: Sequence[Sequence[Any]], k: int, sqrt: Callable[[Any], Any]) -> list[list[Any]]:
    """Lower Cholesky factor ``C`` (``C C' = M``) as a nested list, ``C[i][j]`` for j <= i.

    ``M[i][j]`` (i >= j) are batches of the entries; ``sqrt`` is ``np.sqrt`` or ``pt.sqrt``.
    """
    C: list[list[Any]] = [[None] * k for _ in range(k)]
    for i in range(k):
        for j in range(i + 1):
            s = M[i][j]
            for m in range(j):
                s = s - C[i][m] * C[j][m]
            C[i][j] = sqrt(s) if i == j else s / C[j][j]
    return C


def solve_lower(C: list[list[Any]], b: Sequence[Any]) -> list[Any]:
    """``a`` with ``C a = b`` (forward substitution), ``b`` a list of K batches."""
    a: list[Any] = []
    for i in range(len(b)):
        t = b[i]
        for m in range(i):
            t = t - C[i][m] * a[m]
        a.append(t / C[i][i])
    return a
