"""Group codes and slope columns of one group term, for the training data and for new data.

Codes are computed from the grouping columns (one integer per row, levels in categorical
order or sorted), so no rows x levels indicator matrix is ever built; a nested or crossed
factor ``a:b`` is indexed by its level combinations that occur in the data.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence

import numpy as np
import pandas as pd

from ..errors import DataError
from ..spec.ir import GroupTerm
from . import checks
from .levels import level_name
from .plan import ParsedText
from .terms_encoder import TermsEncoder
from .types import GroupBlock, NewGroupBlock

__all__ = ["GroupEncoder"]


def _factor_codes(series: pd.Series, name: str) -> tuple[np.ndarray, list[str]]:
    """Codes 0..J-1 and level names of one grouping column (categorical order kept)."""
    if isinstance(series.dtype, pd.CategoricalDtype):
        cat = series.cat.remove_unused_categories()
        codes, categories = cat.cat.codes.to_numpy(), cat.cat.categories
    else:
        try:
            codes, categories = pd.factorize(series, sort=True)
        except TypeError:
            raise DataError(
                f"grouping factor {name!r} mixes values of different types (e.g. numbers and "
                "text); convert the column to one type"
            ) from None
    names = [level_name(v) for v in categories]
    if len(set(names)) < len(names):
        raise DataError(
            f"grouping factor {name!r} has distinct values that print the same (e.g. 1 and "
            "'1'); convert the column to one type"
        )
    return np.asarray(codes, dtype=np.int64), names


def _lookup_codes(series: pd.Series, index: dict[str, int]) -> tuple[np.ndarray, np.ndarray]:
    """Training codes of new values (-1 when unseen), and each row's level name."""
    cat = pd.Categorical(series)
    names = np.asarray([level_name(v) for v in cat.categories], dtype=object)
    table = np.asarray([index.get(n, -1) for n in names], dtype=np.int64)
    codes = cat.codes.astype(np.int64)
    return table[codes] if len(table) else np.full(len(codes), -1, np.int64), names[codes]


def _ravel(codes: Sequence[np.ndarray], dims: tuple[int, ...], group: str) -> np.ndarray:
    try:
        return np.ravel_multi_index(tuple(codes), dims).astype(np.int64)
    except ValueError:
        raise DataError(
            f"grouping factor {group!r} has too many level combinations to index"
        ) from None


class GroupEncoder:
    """Group codes and slope columns of one group term."""

    def __init__(self, term: GroupTerm, slopes: tuple[ParsedText, ...]) -> None:
        self.term = term
        terms = tuple(e.text for e in slopes)
        self.slopes = TermsEncoder(term.intercept, terms, f"'({term.label})'")
        self.column_index: list[dict[str, int]] = []
        self.dims: tuple[int, ...] = ()
        self.keys = np.zeros(0, dtype=np.int64)
        self.levels: tuple[str, ...] = ()

    def fit_codes(self, frame: pd.DataFrame) -> np.ndarray:
        """Codes 0..J-1 of the level combination of every row; sets ``levels``."""
        coded = [_factor_codes(frame[c], c) for c in self.term.factor]
        self.column_index = [{n: i for i, n in enumerate(names)} for _, names in coded]
        self.dims = tuple(len(names) for _, names in coded)
        if len(coded) == 1:
            codes, names = coded[0]
            self.levels = tuple(names)
            return codes
        key = _ravel([c for c, _ in coded], self.dims, self.term.group)
        self.keys, codes = np.unique(key, return_inverse=True)
        parts = np.unravel_index(self.keys, self.dims)
        self.levels = tuple(
            ":".join(coded[c][1][parts[c][j]] for c in range(len(coded)))
            for j in range(len(self.keys))
        )
        return codes.astype(np.int64)

    def fit_block(self, frame: pd.DataFrame, codes: np.ndarray) -> GroupBlock:
        X = self.slopes.fit(frame)
        checks.check_finite_matrix(X, self.slopes.names, f"'({self.term.label})'", frame.index)
        return GroupBlock(self.term, codes, X, self.slopes.names, self.levels)

    def transform(self, frame: pd.DataFrame, raw: pd.DataFrame) -> NewGroupBlock:
        """Encode new rows: known levels get their code, unseen ones -1 and a new index."""
        pairs = zip(self.term.factor, self.column_index, strict=True)
        looked = [_lookup_codes(raw[column], index) for column, index in pairs]
        codes = self._combined_codes([c for c, _ in looked])
        unseen = codes < 0
        new_codes = np.full(len(codes), -1, dtype=np.int64)
        new_levels: tuple[str, ...] = ()
        if unseen.any():
            names = functools.reduce(lambda a, b: a + ":" + b, [n[unseen] for _, n in looked])
            found, uniques = pd.factorize(pd.Series(names, dtype=object), sort=False)
            new_codes[unseen] = found
            new_levels = tuple(str(u) for u in uniques)
        X = self.slopes.transform(frame)
        return NewGroupBlock(codes, X, new_levels, new_codes, self.term)

    def _combined_codes(self, per_column: list[np.ndarray]) -> np.ndarray:
        if len(per_column) == 1:
            return per_column[0]
        known = np.all(np.stack(per_column) >= 0, axis=0)
        codes = np.full(len(known), -1, dtype=np.int64)
        if known.any():
            key = _ravel([c[known] for c in per_column], self.dims, self.term.group)
            pos = np.searchsorted(self.keys, key)
            pos_clipped = np.minimum(pos, len(self.keys) - 1)
            match = self.keys[pos_clipped] == key
            codes[np.flatnonzero(known)[match]] = pos_clipped[match]
        return codes
