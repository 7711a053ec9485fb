"""brms' ``mi()`` spelling of ``missing="model"``: ``y ~ mi(x) + z + (1 | g)`` marks the
predictor ``x`` as imputed and ``y | mi() ~ ...`` the response. The marks are taken out of
the formula text (the columns enter the model as plain columns) and kept as the list of
columns that may have holes; :mod:`hierbayes.design.missing` imputes them.

Unlike brms, which drops rows with holes in unmarked variables, a hole in a column that is
not marked is an error naming it (nothing is dropped silently); unlike brms' ``mi(x)``
sub-formula (``bf(x | mi() ~ z)``), the imputation model of a column is chosen
(:mod:`hierbayes.design.missing`), not written.
"""

from __future__ import annotations

import re

from ..errors import SpecError

__all__ = ["strip_mi"]

_PREDICTOR = re.compile(r"\bmi\(\s*([^()]*?)\s*\)")
_RESPONSE = re.compile(r"(\|\s*mi\(\s*\)\s*(?=~))|(\+\s*mi\(\s*\)\s*(?=[+~]))|(mi\(\s*\)\s*\+\s*)")


def strip_mi(formula: str) -> tuple[str, tuple[str, ...]]:
    """The formula without ``mi()`` marks and the marked columns (the response first when
    ``y | mi()`` marks it); no marks: the formula unchanged and an empty tuple.

    Raises
    ------
    SpecError
        For ``mi()`` around anything but one column name, or an empty ``mi()`` on the
        right-hand side.
    """
    if "mi(" not in formula or "~" not in formula:
        return formula, ()
    lhs, rhs = formula.split("~", 1)
    marked: list[str] = []
    lhs_new = _RESPONSE.sub("", lhs + "~")[:-1]
    if lhs_new != lhs:
        marked.append(lhs_new.split("|")[0].strip())
    if "mi(" in lhs_new:
        raise SpecError(f"mi() on the response is written 'y | mi() ~ ...'; got {lhs.strip()!r}")

    def column(match: re.Match) -> str:
        inner = match.group(1)
        if not re.fullmatch(r"[A-Za-z_.][\w.]*", inner or ""):
            raise SpecError(f"mi({inner}): mi() takes one column name (as mi(x)); transform the column in the "
                            "formula outside it, e.g. mi(x):z")
        marked.append(inner)
        return inner

    rhs_new = _PREDICTOR.sub(column, rhs)
    if "mi(" in rhs_new:
        raise SpecError("mi() takes one column name (as mi(x)); transform the column in the formula outside it")
    return f"{lhs_new}~{rhs_new}", tuple(dict.fromkeys(marked))
