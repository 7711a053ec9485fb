"""Bundled real data sets (lme4, mlmRev, rstanarm, brms classics and MRP census cells).

>>> from hierbayes import datasets
>>> df = datasets.load("sleepstudy")
>>> datasets.names()[:4]
['sleepstudy', 'gcse', 'Exam', 'Penicillin']

Factor columns load as pandas ``Categorical`` with string levels in R's level order
(numeric labels sorted as numbers: ``'1', '2', ..., '10'``), so the first level is the
reference level of treatment contrasts, as in R. See ``README.md`` next to this file for
sources and the classic model of each set.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass, field
from importlib import resources

import pandas as pd

from ..errors import DataError, did_you_mean

__all__ = ["load", "names", "describe"]


@dataclass(frozen=True)
class _DataSet:
    """Where a data set lives and which of its columns are factors (with their level order)."""

    file: str
    factors: tuple[str, ...] = ()
    orders: dict[str, tuple[str, ...]] = field(default_factory=dict)
    description: str = ""


_SETS: dict[str, _DataSet] = {
    "sleepstudy": _DataSet(
        "sleepstudy.csv", ("Subject",),
        description="Reaction times over 10 days of sleep deprivation (lme4)",
    ),
    "gcse": _DataSet(
        "gcse.csv", ("school",),
        description="GCSE scores and London reading test by school (Rabe-Hesketh & Skrondal)",
    ),
    "Exam": _DataSet(
        "Exam.csv",
        ("school", "schgend", "vr", "intake", "sex", "type", "student"),
        {"schgend": ("mixed", "boys", "girls")},
        description="London exam scores by school (mlmRev::Exam)",
    ),
    "Penicillin": _DataSet(
        "Penicillin.csv", ("plate", "sample"),
        description="Penicillin assay, crossed plate x sample (lme4)",
    ),
    "Pastes": _DataSet(
        "Pastes.csv", ("batch", "cask", "sample"),
        description="Paste strength, cask nested in batch (lme4)",
    ),
    "Dyestuff": _DataSet(
        "Dyestuff.csv", ("Batch",), description="Dyestuff yield by batch (lme4)"
    ),
    "radon": _DataSet(
        "radon.csv", ("county",), description="Minnesota radon by county (rstanarm)"
    ),
    "InstEval": _DataSet(
        "InstEval.csv", ("s", "d", "service", "dept"),
        description="Lecture evaluations, crossed students x lecturers x dept (lme4)",
    ),
    "cbpp": _DataSet(
        "cbpp.csv", ("herd", "period"),
        description="Contagious bovine pleuropneumonia incidence by herd and period (lme4)",
    ),
    "epilepsy": _DataSet(
        "epilepsy.csv", ("Trt", "patient", "visit", "obs"),
        description="Seizure counts by patient and visit (brms)",
    ),
    "roaches": _DataSet("roaches.csv", description="Roach counts, pest management (rstanarm)"),
    "wells": _DataSet("wells.csv", description="Bangladesh well switching (rstanarm)"),
    "kidney": _DataSet(
        "kidney.csv", ("recur", "sex", "disease"),
        {"sex": ("male", "female"), "disease": ("other", "GN", "AN", "PKD")},
        description="Kidney infection recurrence times, censored (brms)",
    ),
    "cake": _DataSet(
        "cake.csv", ("replicate", "recipe", "temperature"),
        description="Cake breaking angle, split-plot recipe x temperature (lme4)",
    ),
    "poststrat_df": _DataSet(
        "mrp/poststrat_df.csv",
        ("state", "eth", "age", "educ"),
        {
            "eth": ("White", "Black", "Hispanic", "Other"),
            "age": ("18-29", "30-39", "40-49", "50-59", "60-69", "70+"),
            "educ": ("No HS", "HS", "Some college", "4-Year College", "Post-grad"),
        },
        description="MRP census cells: state x ethnicity x sex x age x education, with counts",
    ),
    "statelevel_predictors": _DataSet(
        "mrp/statelevel_predictors.csv",
        ("state", "region"),
        {"region": ("Northeast", "North Central", "South", "West")},
        description="MRP state-level predictors: Republican vote share and region",
    ),
    "survey": _DataSet(
        "mrp/survey.csv",
        ("state", "eth", "age", "educ", "region"),
        {
            "eth": ("White", "Black", "Hispanic", "Other"),
            "age": ("18-29", "30-39", "40-49", "50-59", "60-69", "70+"),
            "educ": ("No HS", "HS", "Some college", "4-Year College", "Post-grad"),
            "region": ("Northeast", "North Central", "South", "West"),
        },
        description="Simulated non-representative survey (5,000 respondents) for MRP, known truth",
    ),
    "survey_truth": _DataSet(
        "mrp/survey_truth.csv", ("state",),
        description="True state values behind the simulated MRP survey",
    ),
}

_BY_KEY = {name.lower(): name for name in _SETS}
_ALIASES = {
    "mrp/poststrat_df": "poststrat_df",
    "poststrat": "poststrat_df",
    "mrp/statelevel_predictors": "statelevel_predictors",
    "mrp/survey": "survey",
    "mrp_survey": "survey",
    "mrp/survey_truth": "survey_truth",
}


def names() -> list[str]:
    """Names of the bundled data sets, as accepted by :func:`load`.

    Returns
    -------
    list of str
        Names as the R packages spell them (``InstEval``); ``load`` ignores case.
    """
    return list(_SETS)


def describe() -> dict[str, str]:
    """One-line description of each bundled data set, keyed by name."""
    return {name: s.description for name, s in _SETS.items()}


def _resolve(name: str) -> str:
    if not isinstance(name, str):
        raise DataError(f"data set name must be a string, not {type(name).__name__}")
    key = name.strip().lower()
    key = key.removesuffix(".csv")
    key = _ALIASES.get(key, key)
    if key not in _BY_KEY:
        raise DataError(
            f"unknown data set {name!r}.{did_you_mean(name, _SETS)} Available: {names()}"
        )
    return _BY_KEY[key]


def _level_order(values: pd.Series, given: tuple[str, ...] | None) -> list[str]:
    """R's level order: given order, else numbers sorted as numbers, else sorted text."""
    present = list(pd.unique(values.dropna()))
    if given is not None:
        extra = sorted(set(present) - set(given))
        return [*given, *extra]
    try:
        return sorted(present, key=lambda v: (float(v), v))
    except ValueError:
        return sorted(present)


@functools.cache
def _read(key: str) -> pd.DataFrame:
    spec = _SETS[key]
    path = resources.files(__name__).joinpath("data", *spec.file.split("/"))
    with path.open("r", encoding="utf-8") as handle:
        frame = pd.read_csv(handle, dtype={c: str for c in spec.factors})
    for column in spec.factors:
        order = _level_order(frame[column], spec.orders.get(column))
        frame[column] = pd.Categorical(frame[column], categories=order)
    return frame


def load(name: str) -> pd.DataFrame:
    """Load a bundled data set.

    Parameters
    ----------
    name : str
        One of :func:`names`, in any case (``"insteval"`` and ``"InstEval"`` both work).

    Returns
    -------
    pandas.DataFrame
        A fresh copy: changing it does not change what the next ``load`` returns. Factor
        columns are ``Categorical`` with string levels.

    Raises
    ------
    DataError
        For an unknown name, listing the available ones.
    """
    return _read(_resolve(name)).copy(deep=True)
