"""What :func:`hierbayes.compare` checks before it ranks models: elpd is a sum over rows of
log densities of *the response*, so fits are comparable only on the same rows and on the
same response scale.

* Different rows (a different number of rows, other row labels or other response values)
  are a :class:`~hierbayes.errors.DataError` naming the fits and their row counts.
* Responses that are ``log(y)``, ``log10(y)``, ``log2(y)`` or ``sqrt(y)`` of the response
  ``y`` of another fit are put on the scale of ``y`` with the log-Jacobian of the
  transformation, log|dz/dy| (``-log y`` for ``log``, ``-log(2 sqrt(y))`` for ``sqrt``), added to each
  row's log-likelihood (ArviZ's ``loo(log_jacobian=...)``), with a
  :class:`ResponseScaleWarning` saying which fits were adjusted. Any other difference of
  responses is a :class:`~hierbayes.errors.SpecError` naming both responses.
* A bernoulli/binomial fit on collapsed binomial cells has one log-likelihood term per cell.
  Next to fits on rows (or on other cells) it is compared row by row: its posterior gives
  each row's log-likelihood, exactly what the fit on rows would have.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
import pandas as pd

from ..errors import DataError, SpecError
from ..families import get_family
from .predict import row_design, training_frame

#: log|dz/dy| of the response transformations whose Jacobian is known: text ({y} the
#: response column) and function
JACOBIANS = {
    "log": ("-log({y})", lambda y: -np.log(y)),
    "log10": ("-log({y}) - log(log(10))", lambda y: -np.log(y) - np.log(np.log(10.0))),
    "log2": ("-log({y}) - log(log(2))", lambda y: -np.log(y) - np.log(np.log(2.0))),
    "sqrt": ("-log(2 sqrt({y}))", lambda y: -np.log(2.0 * np.sqrt(y))),
}
_NAME = r"[A-Za-z_.][A-Za-z0-9_.]*"
_TRANSFORMED = re.compile(rf"^\s*(?:np\.)?({'|'.join(JACOBIANS)})\s*\(\s*({_NAME})\s*\)\s*$")
_PLAIN = re.compile(rf"^\s*({_NAME})\s*$")


class ResponseScaleWarning(UserWarning):
    """compare() put fits of transformed responses on the scale of the untransformed one."""


@dataclass(frozen=True)
class Comparand:
    """One fit as compare() sees it: its response and the rows it was fitted on."""

    name: str
    response: str  # the response expression as written ("log(Reaction)")
    variable: str | None  # the data column under the transformation, None if unknown
    transform: str | None  # None (plain column), a key of JACOBIANS, or "other"
    labels: pd.Index  # row labels of the training rows, in design order
    values: np.ndarray | None  # the untransformed response values of those rows
    cells: np.ndarray | None  # cell of every row for a collapsed fit

    @property
    def n_rows(self) -> int:
        return len(self.labels)

    @property
    def collapsed(self) -> bool:
        return self.cells is not None


def is_fit(value: object) -> bool:
    return hasattr(value, "model") and hasattr(value, "idata")


def describe(name: str, fit) -> Comparand:
    """The response and rows of a hierbayes Fit."""
    model = fit.model
    expr = model.spec.response.expr
    design = row_design(model)
    frame = training_frame(model)
    transformed, plain = _TRANSFORMED.match(expr), _PLAIN.match(expr)
    if transformed:
        transform, variable = transformed.group(1), transformed.group(2)
    elif plain:
        transform, variable = None, plain.group(1)
    else:
        transform, variable = "other", None
    values = None
    if variable is not None and variable in frame.columns:
        column = frame[variable]
        numeric = column.to_numpy(dtype=float) if column.dtype.kind in "biuf" else None
        values = numeric if numeric is not None else np.asarray(design.y, dtype=float)
    cells = getattr(model.design, "cell_of_row", None)
    return Comparand(
        name=name,
        response=expr,
        variable=variable,
        transform=transform,
        labels=frame.index,
        values=values,
        cells=None if cells is None else np.asarray(cells),
    )


def check_rows(items: list[Comparand]) -> None:
    """Raise DataError unless every fit was fitted on the same rows (count, labels, values)."""
    counts = ", ".join(f"{c.name!r} on {c.n_rows} rows" for c in items)
    if len({c.n_rows for c in items}) > 1:
        raise DataError(
            f"compare: the fits were fitted on different rows ({counts}). elpd is a sum over "
            "rows, so fits are comparable only on the same rows: refit them on the same data"
        )
    first = items[0]
    for other in items[1:]:
        if not other.labels.equals(first.labels):
            reordered = first.labels.sort_values().equals(other.labels.sort_values())
            raise DataError(
                f"compare: {first.name!r} and {other.name!r} were fitted on {first.n_rows} rows each, but "
                + ("the same rows in a different order: elpd is compared row by row, so refit one on the "
                   "other's row order (df.loc[...] with the other's index)" if reordered else
                   "not the same rows (their row labels differ). elpd is a sum over rows, so fits are "
                   "comparable only on the same rows: refit them on the same data")
            )
        if first.values is not None and other.values is not None and first.variable == other.variable:
            differ = int(np.sum(~np.isclose(first.values, other.values, rtol=1e-12, atol=0.0, equal_nan=True)))
            if differ:
                raise DataError(
                    f"compare: {first.name!r} and {other.name!r} were fitted on {first.n_rows} rows each, "
                    f"but the response {first.variable!r} differs in {differ} of them: the fits used "
                    "different data. Refit them on the same data"
                )


def log_jacobians(fits: Mapping[str, object], items: list[Comparand]) -> dict[str, np.ndarray]:
    """Per fit whose response must be put on the common scale, the per-row log|dz/dy|.

    Raises SpecError when the responses differ in a way without a known Jacobian.
    """
    if len({c.response.replace(" ", "") for c in items}) <= 1:
        return {}
    variables = {c.variable for c in items}
    unknown = [c for c in items if c.transform == "other"]
    listing = ", ".join(f"{c.name!r} models {c.response!r}" for c in items)
    if unknown or len(variables) != 1 or None in variables:
        raise SpecError(
            f"compare: the fits model different responses ({listing}); their elpd are densities on "
            "different scales and cannot be compared. hierbayes puts log(y) and sqrt(y) on the "
            "scale of y (and log10, log2); for other differences refit the models on one response"
        )
    out = {}
    for c in items:
        if c.transform is None:
            continue
        family = get_family(fits[c.name].model.spec.family)
        if family.response_kind != "continuous":
            raise SpecError(
                f"compare: the fits model different responses ({listing}); {c.name!r} models "
                f"{c.response!r} with the {family.name} family, which has no density on the scale of "
                f"{c.variable!r}. Refit the models on one response"
            )
        y = c.values
        if y is None or not np.all(y > 0):
            raise DataError(
                f"compare: {c.name!r} models {c.response!r}, but {c.variable!r} has values <= 0 or "
                "missing, where the Jacobian of the transformation is undefined"
            )
        out[c.name] = JACOBIANS[c.transform][1](y)
    return out


def jacobian_text(item: Comparand) -> str:
    """log|dz/dy| of a fit's response transformation as text ("-log(Reaction)")."""
    return JACOBIANS[item.transform][0].format(y=item.variable)


def adjustment_note(items: list[Comparand], adjusted: Mapping[str, np.ndarray]) -> str:
    """The warning text saying which fits were put on which scale."""
    variable = items[0].variable
    parts = [
        f"{c.name!r} ({c.response}) by adding log|dz/dy| = {jacobian_text(c)}"
        for c in items
        if c.name in adjusted
    ]
    return (
        f"compare: the fits model different responses; their elpd are put on the scale of {variable!r}: "
        + "; ".join(parts)
        + " to each row's log-likelihood (column 'log_jacobian' of the table)"
    )


def by_rows(items: list[Comparand]) -> set[str]:
    """Collapsed fits to compare by rows: all of them unless every fit is collapsed into the
    same cells (then cells are compared with cells)."""
    collapsed = [c for c in items if c.collapsed]
    if not collapsed:
        return set()
    same_cells = len(collapsed) == len(items) and all(
        np.array_equal(c.cells, collapsed[0].cells) for c in collapsed[1:]
    )
    return set() if same_cells else {c.name for c in collapsed}


def count_points(value: object) -> int | None:
    """Number of pointwise terms of a precomputed comparand (DataTree or ELPDData)."""
    if hasattr(value, "children") and "log_likelihood" in value.children:
        ll = value["log_likelihood"].to_dataset()
        sizes = [int(np.prod([s for d, s in ll[v].sizes.items() if d not in ("chain", "draw")])) for v in ll.data_vars]
        return sizes[0] if sizes else None
    n = getattr(value, "n_data_points", None)
    return None if n is None else int(n)
