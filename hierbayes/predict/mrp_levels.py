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

_LISTED = 10


def _names(values: Sequence[object]) -> list[str]:
    return [level_name(v) for v in values]


def _shown(values: Sequence[object], limit: int = _LISTED) -> str:
    values = list(values)
    text = ", ".join(repr(str(v)) for v in values[:limit])
    return text + (f" and {len(values) - limit} more" if len(values) > limit else "")


def _as_columns(by: str | Sequence[str] | None, what: str) -> tuple[str, ...]:
    if by is None:
        return ()
    if isinstance(by, str):
        return (by,)
    out = tuple(by)
    if not all(isinstance(c, str) for c in out):
        raise DataError(f"{what} must be a column name or a list of column names, got {by!r}")
    return out


def _level_strings(series: pd.Series) -> pd.Series:
    """The level name of every value, as the design names group levels."""
    return series.map(level_name).astype(object)


def _squash(text: str) -> str:
    """A spelling-insensitive form of a level: 'Post-grad' and 'Postgrad' both 'postgrad'."""
    return re.sub(r"[^0-9a-z]", "", text.lower())


def _lookalikes(missing: Sequence[str], candidates: Sequence[str]) -> list[tuple[str, str]]:
    """Pairs (survey level, table level) that are probably the same level spelled twice."""
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
