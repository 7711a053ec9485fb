"""Row filters of a ModelSpec (``spec.subset``: Stata's ``if`` / ``in``) evaluated on a DataFrame.

Stata's rules, so a command gives the rows Stata would use:

* a numeric missing value (NaN, None) is larger than every number: ``x > 4`` is true and
  ``x < 4`` false where x is missing; ``x == .`` and ``missing(x)`` find the missing values;
* arithmetic with a missing value gives a missing value;
* ``&``, ``|``, ``!`` and the whole condition treat any value other than 0 (missing included)
  as true, as ``if x`` does in Stata;
* text columns compare with text in quotes (``"girls"``); a missing text is ``""``;
* ``_n`` is the row number (1 to ``_N``) in the data as given.

The filter is applied before anything else, so rows dropped for missing values in model
columns (``missing="drop"``) are dropped from the filtered rows, as in Stata.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from ..errors import DataError, did_you_mean
from ..spec.ir import ModelSpec
from ..spec.stata_expr import Node, expression_variables, parse_stata_expression

__all__ = ["rows_in_subset", "subset_mask"]


def _is_text(values: np.ndarray) -> bool:
    return values.dtype == object


def _column(data: pd.DataFrame, name: str) -> np.ndarray:
    series = data[name]
    if isinstance(series.dtype, pd.CategoricalDtype) or not (
        pd.api.types.is_numeric_dtype(series) or pd.api.types.is_bool_dtype(series)
    ):
        return np.array(["" if pd.isna(v) else str(v) for v in series], dtype=object)
    return series.astype("float64").to_numpy()


def _order_key(values: np.ndarray) -> np.ndarray:
    """Numbers with missing as +inf: Stata sorts '.' above every number."""
    return np.where(np.isnan(values), np.inf, values)


def _compare(op: str, left: np.ndarray, right: np.ndarray, text: str) -> np.ndarray:
    if _is_text(left) != _is_text(right):
        raise DataError(f"in the subset {text!r}: a comparison mixes text and numbers (type mismatch)")
    if not _is_text(left):
        left, right = _order_key(left), _order_key(right)
    result = {
        "==": np.equal, "!=": np.not_equal, ">": np.greater, "<": np.less,
        ">=": np.greater_equal, "<=": np.less_equal,
    }[op](left, right)
    return np.asarray(result, dtype=np.float64)


def _truth(values: np.ndarray, text: str) -> np.ndarray:
    if _is_text(values):
        raise DataError(f"in the subset {text!r}: text where a true/false value is needed (type mismatch)")
    return values != 0  # NaN != 0: missing counts as true, as in Stata


def _numeric(values: np.ndarray, text: str) -> np.ndarray:
    if _is_text(values):
        raise DataError(f"in the subset {text!r}: arithmetic on text (type mismatch)")
    return values


def _missing(values: np.ndarray) -> np.ndarray:
    return values == "" if _is_text(values) else np.isnan(values)


def _evaluate(node: Node, data: pd.DataFrame, text: str) -> np.ndarray:
    n = data.shape[0]
    if node.kind == "number":
        return np.full(n, np.nan if node.value is None else float(node.value))  # type: ignore[arg-type]
    if node.kind == "string":
        return np.full(n, node.value, dtype=object)
    if node.kind == "name":
        if node.value == "_n":
            return np.arange(1, n + 1, dtype=np.float64)
        if node.value == "_N":
            return np.full(n, float(n))
        return _column(data, str(node.value))
    args = [_evaluate(a, data, text) for a in node.args]
    if node.kind == "call":
        return _call(str(node.value), args, text)
    if node.kind == "unary":
        if node.op == "!":
            return (~_truth(args[0], text)).astype(np.float64)
        return -_numeric(args[0], text)
    left, right = args
    if node.op in ("==", "!=", ">", "<", ">=", "<="):
        return _compare(node.op, left, right, text)
    if node.op == "&":
        return (_truth(left, text) & _truth(right, text)).astype(np.float64)
    if node.op == "|":
        return (_truth(left, text) | _truth(right, text)).astype(np.float64)
    if node.op == "+" and _is_text(left) and _is_text(right):
        return left + right
    a, b = _numeric(left, text), _numeric(right, text)
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        out = {"+": np.add, "-": np.subtract, "*": np.multiply, "/": np.divide, "^": np.power}[node.op](a, b)
    return np.where(np.isfinite(out), out, np.nan)  # x/0 is missing in Stata


def _call(name: str, args: list[np.ndarray], text: str) -> np.ndarray:
    if name == "missing":
        out = np.zeros(len(args[0]), dtype=bool)
        for a in args:
            out |= _missing(a)
        return out.astype(np.float64)
    if name == "inlist":
        first = args[0]
        hits = np.zeros(len(first), dtype=bool)
        for other in args[1:]:
            hits |= _compare("==", first, other, text) == 1
        return hits.astype(np.float64)
    value, low, high = args  # inrange(z, a, b): a <= z <= b, a missing a counts as -inf
    if _is_text(value):
        return ((_compare(">=", value, low, text) == 1) & (_compare("<=", value, high, text) == 1)).astype(np.float64)
    lower = np.where(np.isnan(low), -np.inf, low)
    return ((value >= lower) & (_order_key(value) <= _order_key(high)) & ~np.isnan(value)).astype(np.float64)


def subset_mask(text: str, data: pd.DataFrame) -> np.ndarray:
    """Boolean mask of the rows of ``data`` for which the Stata expression ``text`` is true.

    Parameters
    ----------
    text : str
        A Stata expression (``"nstu > 4"``).
    data : pandas.DataFrame
        The data; only the columns the expression names are read.

    Returns
    -------
    numpy.ndarray
        One bool per row.

    Raises
    ------
    DataError
        For a column that is not in the data, or text compared with numbers.
    """
    node = parse_stata_expression(text)
    for name in expression_variables(node):
        if name not in data.columns:
            hint = did_you_mean(name, [str(c) for c in data.columns])
            raise DataError(f"the subset {text!r} uses the column {name!r}, which is not in the data.{hint}")
    return _truth(_evaluate(node, data, text), text)


def rows_in_subset(spec: ModelSpec, data: pd.DataFrame) -> tuple[pd.DataFrame, np.ndarray]:
    """The rows of ``data`` in ``spec.subset`` and their positions in ``data``.

    Returns ``data`` itself and all positions when the spec has no subset.

    Raises
    ------
    DataError
        When no row is left, or as :func:`subset_mask`.
    """
    positions = np.arange(data.shape[0])
    if not spec.subset:
        return data, positions
    mask = subset_mask(spec.subset, data)
    if not mask.any():
        raise DataError(f"no rows of the data are in the subset {spec.subset!r}")
    return data.iloc[positions[mask]], positions[mask]
