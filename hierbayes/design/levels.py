"""The text of a level: how a grouping or factor value is named everywhere in hierbayes.

Group levels, factor levels in error messages, poststratification cells and raking margins
all name a value the same way, so ``308``, ``308.0`` and ``np.int64(308)`` are one level.
"""

from __future__ import annotations

import numpy as np

__all__ = ["level_name"]


def level_name(value: object) -> str:
    """The text of one level value.

    Parameters
    ----------
    value : object
        A value of a grouping or factor column.

    Returns
    -------
    str
        ``'308'`` for 308, 308.0 and ``np.int64(308)``; ``'True'`` for booleans; ``str(value)``
        otherwise (``'A'`` for 'A').
    """
    if isinstance(value, bool | np.bool_):
        return str(bool(value))
    if isinstance(value, np.integer):
        return str(int(value))
    if isinstance(value, float | np.floating) and float(value).is_integer():
        return str(int(value))
    return str(value)
