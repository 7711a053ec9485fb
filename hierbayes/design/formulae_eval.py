"""Running formulae: the function environment, its errors translated, matrices as floats.

Every place that evaluates model text with formulae (fixed part, slopes, response, trials,
offsets) goes through :func:`expand` inside :func:`translated_errors`, so formulae's own
exceptions become :class:`~hierbayes.errors.DataError` / :class:`~hierbayes.errors.SpecError`
naming the term.
"""

from __future__ import annotations

import contextlib

import numpy as np
import pandas as pd
from formulae import design_matrices
from formulae.categorical import ENCODINGS
from formulae.environment import Environment
from formulae.transforms import TRANSFORMS

from ..errors import DataError
from . import checks
from .rterms import FACTOR_FUNCTIONS, FORMULA_FUNCTIONS

__all__ = [
    "CATEGORICAL_CALLEES",
    "FACTOR_CALLEES",
    "KNOWN_NAMES",
    "as_matrix",
    "expand",
    "translated_errors",
]

#: Names formulae resolves itself (transforms, encodings, hierbayes' R functions): not columns.
KNOWN_NAMES = frozenset(TRANSFORMS) | frozenset(ENCODINGS) | frozenset(FORMULA_FUNCTIONS)
#: Calls that make their argument a factor (``C(x)``, ``factor(x)``, ``relevel(x, ...)``).
FACTOR_CALLEES = frozenset({"C", "S", "T", "factor", "as.factor", *FACTOR_FUNCTIONS})
#: Calls whose argument is used as categories, not as numbers.
CATEGORICAL_CALLEES = FACTOR_CALLEES | {"B", "binary"}


def _environment() -> Environment:
    return Environment([dict(FORMULA_FUNCTIONS)])


_FUNCTION_NAMES = tuple(
    sorted(
        n for n in {*FORMULA_FUNCTIONS, *TRANSFORMS, "as.factor"} if n not in {"np", "as", "B", "p"}
    )
)


def translated_errors(what: str) -> contextlib.AbstractContextManager[None]:
    """Context in which formulae's errors become DataError/SpecError naming ``what``.

    Parameters
    ----------
    what : str
        The model text being evaluated and its role (``"term 'log(x)'"``).
    """
    return checks.formulae_errors(what, DataError, _FUNCTION_NAMES)


def expand(formula: str, frame: pd.DataFrame) -> object:
    """formulae's common-effects matrix of a right-hand side (missing values pre-checked).

    Parameters
    ----------
    formula : str
        A right-hand side such as ``"1 + x + C(g)"``.
    frame : pandas.DataFrame
        The (already checked) used columns.

    Returns
    -------
    formulae.matrices.CommonEffectsMatrix
    """
    return design_matrices(formula, frame, na_action="pass", env=_environment()).common


def as_matrix(values: object, n: int) -> np.ndarray:
    """``values`` as an (n, k) float64 matrix (a vector becomes one column)."""
    X = np.asarray(values, dtype=np.float64)
    return X.reshape(n, -1) if X.ndim != 2 else X
