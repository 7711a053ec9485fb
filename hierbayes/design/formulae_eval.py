"""Running formulae: the function environment, its errors translated, matrices as floats.

Every place that evaluates model text with formulae (fixed part, slopes, response, trials,
offsets) goes through :func:`expand` inside :func:`translated_errors`, so formulae's own
exceptions become :class:`~hierbayes.errors.DataError` / :class:`~hierbayes.errors.SpecError`
naming the term.
"""

from __future__ import annotations

import contextlib
import io
import sys
import threading
import warnings
from collections.abc import Iterator, Sequence

import numpy as np
import pandas as pd
from formulae import design_matrices
from formulae.categorical import ENCODINGS
from formulae.environment import Environment
from formulae.transforms import TRANSFORMS

from ..errors import DataError, HierbayesError, SpecError
from .rterms import FACTOR_FUNCTIONS, FORMULA_FUNCTIONS

__all__ = [
    "CATEGORICAL_CALLEES",
    "FACTOR_CALLEES",
    "KNOWN_NAMES",
    "as_matrix",
    "expand",
    "formulae_errors",
    "translated_errors",
]

#: Names formulae resolves itself (transforms, encodings, hierbayes' R functions): not columns.
KNOWN_NAMES = frozenset(TRANSFORMS) | frozenset(ENCODINGS) | frozenset(FORMULA_FUNCTIONS)
#: Calls that make their argument a factor (``C(x)``, ``factor(x)``, ``relevel(x, ...)``).
FACTOR_CALLEES = frozenset({"C", "S", "T", "factor", "as.factor", *FACTOR_FUNCTIONS})
#: Calls whose argument is used as categories, not as numbers.
CATEGORICAL_CALLEES = FACTOR_CALLEES | {"B", "binary"}


class _SharedModule:
    """A module for formula terms (``np.log(x)``) that copies as itself: formulae deep-copies
    a formula's environment for interactions of factors without their main effects
    (``C(a):C(b)``, Stata's ``i.a#i.b``), and a module cannot be copied."""

    def __init__(self, module) -> None:
        self._module = module

    def __getattr__(self, name: str):
        return getattr(self._module, name)

    def __deepcopy__(self, memo: dict) -> _SharedModule:
        return self


def _environment() -> Environment:
    return Environment([{**FORMULA_FUNCTIONS, "np": _SharedModule(np)}])


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
    return formulae_errors(what, DataError, _FUNCTION_NAMES)


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


_QUIET_LOCK = threading.Lock()
_QUIET: dict[str, object] = {"depth": 0, "stdout": None, "warnings": None}


def _quiet_filters() -> None:
    warnings.simplefilter("ignore", FutureWarning)
    warnings.simplefilter("ignore", DeprecationWarning)
    warnings.filterwarnings("ignore", category=Warning, module=r"formulae(\.|$)")
    pandas_warnings = getattr(pd.errors, "Pandas4Warning", None)
    if pandas_warnings is not None:
        warnings.simplefilter("ignore", pandas_warnings)


@contextlib.contextmanager
def _quiet() -> Iterator[None]:
    """stdout swallowed and formulae's warnings ignored while any thread evaluates formulae.

    ``redirect_stdout`` and ``catch_warnings`` swap process-wide state and restore what they
    saw on entry; nested in several threads at once (Dask's threads encoding partitions,
    ``fit_many``'s threads) they can leave ``sys.stdout`` a StringIO for good. The first
    thread in swaps, the last one out restores."""
    with _QUIET_LOCK:
        if _QUIET["depth"] == 0:
            _QUIET["stdout"] = sys.stdout
            sys.stdout = io.StringIO()
            catcher = warnings.catch_warnings()
            catcher.__enter__()
            _quiet_filters()
            _QUIET["warnings"] = catcher
        _QUIET["depth"] += 1
    try:
        yield
    finally:
        with _QUIET_LOCK:
            _QUIET["depth"] -= 1
            if _QUIET["depth"] == 0:
                sys.stdout = _QUIET["stdout"]
                _QUIET["warnings"].__exit__(None, None, None)
                _QUIET["stdout"] = _QUIET["warnings"] = None


@contextlib.contextmanager
def formulae_errors(
    what: str,
    error: type[HierbayesError] = DataError,
    known_functions: Sequence[str] = (),
) -> Iterator[None]:
    """Run formulae quietly and turn its exceptions into hierbayes errors naming ``what``.

    formulae prints to stdout on failure and pandas 3 warns about calls formulae makes;
    both are silenced. Numpy floating-point warnings are silenced too: non-finite results
    are reported by :func:`hierbayes.design.checks.check_finite_matrix` instead.

    Parameters
    ----------
    what : str
        The term or expression being evaluated, for the message.
    error : type
        The exception class for failures that are not unknown names.
    known_functions : sequence of str
        Function names valid in terms, listed when a name is unknown.
    """
    try:
        with _quiet(), np.errstate(all="ignore"):
            yield
    except HierbayesError:
        raise
    except KeyError as exc:
        name = exc.args[0] if exc.args else "?"
        raise SpecError(
            f"could not evaluate {what}: {name!r} is neither a column of the data nor a known "
            f"function (functions: {', '.join(known_functions)})"
        ) from None
    except Exception as exc:  # noqa: BLE001 - formulae raises many kinds; all are translated
        raise error(f"could not evaluate {what}: {exc}") from None
