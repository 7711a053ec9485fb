"""The ``[data]`` table of a model file (:mod:`hierbayes.modelfile`): where the data come
from and how they are prepared (filter, categorical columns, centred predictors)."""

from __future__ import annotations

import ast
import re
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from .errors import DataError, did_you_mean

#: What a model file's filter may contain: columns, numbers and text, arithmetic, comparisons
#: and boolean logic (pandas' query would also run method calls: a shared model file could
#: then write files when opened).
_FILTER_NODES = (
    ast.Expression, ast.BoolOp, ast.And, ast.Or, ast.UnaryOp, ast.Not, ast.USub, ast.UAdd, ast.Invert,
    ast.BinOp, ast.Add, ast.Sub, ast.Mult, ast.Div, ast.Mod, ast.Pow, ast.FloorDiv, ast.BitAnd, ast.BitOr,
    ast.Compare, ast.Eq, ast.NotEq, ast.Lt, ast.LtE, ast.Gt, ast.GtE, ast.In, ast.NotIn,
    ast.Name, ast.Load, ast.Constant, ast.List, ast.Tuple,
)

__all__ = ["DataConfig", "read_table"]

#: The cells read as missing: R's read.csv's "NA", empty fields and NaN. pandas' default list
#: also has "None", "null", "N/A", ...: levels such as mlmRev's momEd "None" would be lost.
MISSING_CELLS = ("", "NA", "NaN", "nan")


def read_table(path: Path, text_columns: list[str] | tuple[str, ...] = ()) -> pd.DataFrame:
    """A CSV (TSV by its suffix) read as R's ``read.csv`` reads it: only "NA", empty fields and
    NaN are missing; ``text_columns`` are read as text (labels such as ``01`` keep their zero).

    Raises
    ------
    DataError
        When the file cannot be read or parsed.
    """
    sep = "\t" if path.suffix.lower() == ".tsv" else ","
    try:
        return pd.read_csv(path, sep=sep, dtype={c: str for c in text_columns}, keep_default_na=False,
                           na_values=list(MISSING_CELLS))
    except (OSError, ValueError, pd.errors.ParserError) as exc:
        raise DataError(f"cannot read {str(path)!r}: {exc}") from None


@dataclass(frozen=True)
class DataConfig:
    """Where the data come from and how they are prepared."""

    source: str
    base: Path
    filter: str | None = None
    factors: tuple[str, ...] = ()
    ordered: tuple[tuple[str, tuple[str, ...]], ...] = ()
    group_mean_center: tuple[tuple[str, str], ...] = ()
    grand_mean_center: tuple[tuple[str, str | None], ...] = ()
    group_mean: tuple[tuple[str, str], ...] = ()
    missing: str = "error"

    @property
    def is_file(self) -> bool:
        s = self.source
        return s.lower().endswith((".csv", ".csv.gz", ".tsv")) or "/" in s or "\\" in s

    def describe(self) -> str:
        text = str(self.path) if self.is_file else f"bundled data set {self.source!r}"
        return text + (f", filter {self.filter!r}" if self.filter else "")

    @property
    def path(self) -> Path:
        return (self.base / Path(self.source).expanduser()).resolve()

    def load(self) -> pd.DataFrame:
        """Read, filter and derive columns; returns a new DataFrame.

        Raises
        ------
        DataError
            For a missing file, an unknown data set, a filter pandas cannot evaluate or that
            keeps no rows, or a bad centering request.
        """
        df = self._read()
        if self.filter:
            df = self._apply_filter(df)
        return self._derive(df)

    def _read(self) -> pd.DataFrame:
        if not self.is_file:
            from . import datasets

            df = datasets.load(self.source)
        else:
            if not self.path.is_file():
                raise DataError(f"data file {str(self.path)!r} not found (source = {self.source!r})")
            df = read_table(self.path, (*self.factors, *(column for column, _ in self.ordered)))
        for column in (*self.factors, *(column for column, _ in self.ordered)):
            if column not in df.columns:
                raise DataError(
                    f"{'factors' if column in self.factors else 'ordered'} lists {column!r}, which is not a column "
                    f"of the data.{did_you_mean(column, map(str, df.columns))}"
                )
            if not isinstance(df[column].dtype, pd.CategoricalDtype) and column in self.factors:
                df[column] = pd.Categorical(df[column].astype(str), categories=_level_order(df[column]))
        for column, levels in self.ordered:
            text = df[column].astype(str).where(df[column].notna())
            unknown = sorted(set(text.dropna()) - set(levels))
            if unknown:
                raise DataError(f"ordered = {{ {column} = {list(levels)} }} lacks the value(s) {unknown[:5]} "
                                f"of {column!r}")
            df[column] = pd.Categorical(text, categories=list(levels), ordered=True)
        return df

    def _apply_filter(self, df: pd.DataFrame) -> pd.DataFrame:
        check_filter(self.filter)
        try:
            out = df.query(self.filter, engine="python")
        except Exception as exc:  # noqa: BLE001 - pandas raises many types for a bad query
            raise DataError(
                f"filter {self.filter!r} could not be evaluated ({type(exc).__name__}: {exc}); "
                f"columns: {list(map(str, df.columns))}"
            ) from None
        if not isinstance(out, pd.DataFrame) or out.empty:
            raise DataError(f"filter {self.filter!r} keeps no rows of {len(df)}")
        return out

    def _derive(self, df: pd.DataFrame) -> pd.DataFrame:
        from .design.centering import add_group_mean, grand_mean_center, group_mean_center

        for column, by in self.group_mean_center:
            df = group_mean_center(df, column, by=by)
        for column, by in self.grand_mean_center:
            df = grand_mean_center(df, column, by=by)
        for column, by in self.group_mean:
            df = add_group_mean(df, column, by=by)
        return df


def _level_order(values: pd.Series) -> list[str]:
    present = sorted({str(v) for v in values.dropna()})
    try:
        return sorted(present, key=float)
    except ValueError:
        return present


def check_filter(text: str) -> None:
    """DataError unless ``text`` is a comparison of columns, numbers and text with boolean
    logic (``nstu > 4 and sex == "girl"``; backquoted names allowed), naming what is not."""
    plain = re.sub(r"`[^`]*`", "column", text)
    try:
        tree = ast.parse(plain.strip(), mode="eval")
    except SyntaxError:
        raise DataError(f"filter {text!r} is not an expression of columns, comparisons and and/or/not") from None
    for node in ast.walk(tree):
        if not isinstance(node, _FILTER_NODES):
            what = {ast.Call: "a function or method call", ast.Attribute: "an attribute (x.y)",
                    ast.Subscript: "an index (x[...])"}.get(type(node), type(node).__name__)
            raise DataError(
                f"filter {text!r} has {what}; a filter compares columns with numbers or text, joined "
                "by and / or / not (e.g. \"nstu > 4 and sex == 'girl'\")"
            )
