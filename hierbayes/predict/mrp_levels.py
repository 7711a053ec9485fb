"""Level names and listings shared by the MRP modules.

How a value is named as a level (as the design names group levels), how columns are
given (one name or a list), how long lists are shown in messages, and which levels look
like the same level spelled twice.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Sequence

import pandas as pd

from ..design.levels import level_name
from ..errors import DataError

__all__ = ["as_columns", "level_names", "level_strings", "lookalikes", "shown"]

_LISTED = 10


def level_names(values: Sequence[object]) -> list[str]:
    """The level name of each value (:func:`hierbayes.design.level_name`)."""
    return [level_name(v) for v in values]


def shown(values: Sequence[object], limit: int = _LISTED) -> str:
    """Values for a message: the first ``limit`` quoted, then "and N more".

    Parameters
    ----------
    values : sequence
        Levels, rows or column names.
    limit : int
        How many to list.
    """
    values = list(values)
    text = ", ".join(repr(str(v)) for v in values[:limit])
    return text + (f" and {len(values) - limit} more" if len(values) > limit else "")


def as_columns(by: str | Sequence[str] | None, what: str) -> tuple[str, ...]:
    """Column names given as one name, a list of names or None (no columns).

    Parameters
    ----------
    by : str, sequence of str or None
        What the user passed.
    what : str
        The argument, for the error message (``"by="``).

    Raises
    ------
    DataError
        When ``by`` holds something other than column names.
    """
    if by is None:
        return ()
    if isinstance(by, str):
        return (by,)
    out = tuple(by)
    if not all(isinstance(c, str) for c in out):
        raise DataError(f"{what} must be a column name or a list of column names, got {by!r}")
    return out


def level_strings(series: pd.Series) -> pd.Series:
    """The level name of every value, as the design names group levels."""
    return series.map(level_name).astype(object)


def _squash(text: str) -> str:
    """A spelling-insensitive form of a level: 'Post-grad' and 'Postgrad' both 'postgrad'."""
    return re.sub(r"[^0-9a-z]", "", text.lower())


def lookalikes(missing: Sequence[str], candidates: Sequence[str]) -> list[tuple[str, str]]:
    """Pairs (survey level, table level) that are probably the same level spelled twice.

    Parameters
    ----------
    missing : sequence of str
        Levels not found among ``candidates``.
    candidates : sequence of str
        The levels they should have been.

    Returns
    -------
    list of (str, str)
        Each missing level with its look-alike candidate (same letters and digits ignoring
        case and punctuation, or a close spelling).
    """
    pairs = []
    squashed = {_squash(c): c for c in candidates}
    for name in missing:
        if _squash(name) in squashed:
            pairs.append((name, squashed[_squash(name)]))
            continue
        hits = difflib.get_close_matches(name, list(candidates), n=1, cutoff=0.8)
        if hits:
            pairs.append((name, hits[0]))
    return pairs
