"""A known truth over the real census cells, a non-representative survey drawn from it,
and the design-based estimates MRP is compared with (raw sample means, raked weights).

Used by ``examples/mrp_states.py``, ``bench/mrp_collapse.py`` and ``tests/predict/test_mrp.py``; the
survey shipped as ``hb.datasets.load("survey")`` is ``simulate_survey(simulate_truth(20240601),
n=5000, seed=2)`` (its state truth: ``hb.datasets.load("survey_truth")``).

The truth follows the structure of the MRP case study's model (Lopez-Martin, Phillips and
Gelman): a state effect explained partly by the Republican vote share and the region,
demographic main effects and three demographic interactions. The survey over-represents
older, more educated, white and female adults, who differ in the outcome, so raw means
are biased; small states get few respondents, so raw state means are noisy.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import special, stats

import hierbayes as hb
from hierbayes.predict.raking import kish_effective_size, rake

FORMULA = (
    "y ~ male + repvote + region + (1 | state) + (1 | eth) + (1 | educ) + (1 | age)"
    " + (1 | male:eth) + (1 | educ:age) + (1 | educ:eth)"
)
POSTSTRAT_VARS = ("state", "eth", "male", "age", "educ")

# Fixed parts of the truth (logit scale), in the datasets' level order.
ETH = {"White": -0.35, "Black": 0.9, "Hispanic": 0.45, "Other": 0.15}
EDUC = {"No HS": -0.45, "HS": -0.3, "Some college": 0.0, "4-Year College": 0.3, "Post-grad": 0.5}
AGE = {"18-29": 0.55, "30-39": 0.3, "40-49": 0.05, "50-59": -0.15, "60-69": -0.3, "70+": -0.4}
REGION = {"Northeast": 0.25, "North Central": 0.0, "South": -0.2, "West": 0.1}
INTERCEPT, MALE, REPVOTE = 0.1, -0.3, -4.0
SD_STATE, SD_INTERACTION = 0.3, 0.25

# Response propensity (log scale): who answers the survey.
SELECT_ETH = {"White": 0.35, "Black": -0.3, "Hispanic": -0.6, "Other": -0.2}
SELECT_EDUC = {"No HS": -1.0, "HS": -0.5, "Some college": 0.0, "4-Year College": 0.35, "Post-grad": 0.6}
SELECT_AGE = {"18-29": -0.8, "30-39": -0.45, "40-49": -0.1, "50-59": 0.2, "60-69": 0.45, "70+": 0.5}
SELECT_MALE = -0.25


@dataclass(frozen=True)
class Truth:
    """The true probability of every cell and the true value of every state."""

    cells: pd.DataFrame  # the census cells with repvote, region and the true p
    table: hb.Poststrat
    state: pd.Series  # true population share with y = 1, per state (index: state)
    population: float  # the true national value


def load_table() -> hb.Poststrat:
    """The 12,000 census cells with the state-level predictors joined on ``state``."""
    cells = hb.datasets.load("poststrat_df")
    states = hb.datasets.load("statelevel_predictors")
    return hb.Poststrat(cells, count="n").join(states, on="state")


def _effect(series: pd.Series, values: dict[str, float]) -> np.ndarray:
    return series.astype(str).map(values).to_numpy(dtype=float)


def _random_effect(rng: np.random.Generator, *columns: pd.Series, sd: float) -> np.ndarray:
    key = pd.Series(list(zip(*(c.astype(str) for c in columns))))
    codes, uniques = pd.factorize(key, sort=True)
    return rng.normal(0.0, sd, len(uniques))[codes]


def simulate_truth(seed: int = 20240601) -> Truth:
    """Draw the true cell probabilities (fixed by ``seed``) over the census cells."""
    rng = np.random.default_rng(seed)
    table = load_table()
    cells = table.cells
    states = cells["state"].cat.categories
    state_effect = pd.Series(rng.normal(0.0, SD_STATE, len(states)), index=states.astype(str))
    repvote = cells["repvote"].to_numpy(float)
    eta = (
        INTERCEPT
        + MALE * cells["male"].to_numpy(float)
        + REPVOTE * (repvote - 0.5)
        + _effect(cells["region"], REGION)
        + cells["state"].astype(str).map(state_effect).to_numpy(float)
        + _effect(cells["eth"], ETH)
        + _effect(cells["educ"], EDUC)
        + _effect(cells["age"], AGE)
        + _random_effect(rng, cells["male"], cells["eth"], sd=SD_INTERACTION)
        + _random_effect(rng, cells["educ"], cells["age"], sd=SD_INTERACTION)
        + _random_effect(rng, cells["educ"], cells["eth"], sd=SD_INTERACTION)
    )
    cells["p"] = special.expit(eta)
    n = cells["n"].to_numpy(float)
    weighted = pd.Series(n * cells["p"].to_numpy()).groupby(cells["state"].to_numpy()).sum()
    totals = pd.Series(n).groupby(cells["state"].to_numpy()).sum()
    state = (weighted / totals).rename("truth")
    state.index = state.index.astype(str)
    state.index.name = "state"
    population = float(np.sum(n * cells["p"]) / n.sum())
    return Truth(cells=cells, table=table, state=state, population=population)


def response_propensity(cells: pd.DataFrame) -> np.ndarray:
    """Relative chance that an adult of each cell answers the survey."""
    log_r = (
        _effect(cells["eth"], SELECT_ETH)
        + _effect(cells["educ"], SELECT_EDUC)
        + _effect(cells["age"], SELECT_AGE)
        + SELECT_MALE * (cells["male"].to_numpy(float) > 0)
    )
    return np.exp(log_r)


def simulate_survey(truth: Truth, n: int = 5000, seed: int = 1) -> pd.DataFrame:
    """``n`` respondents drawn with probability proportional to population x propensity,
    with their outcome ``y`` drawn from the true cell probability."""
    rng = np.random.default_rng(seed)
    cells = truth.cells
    weight = cells["n"].to_numpy(float) * response_propensity(cells)
    idx = rng.choice(len(cells), size=n, p=weight / weight.sum())
    survey = cells.iloc[idx][[*POSTSTRAT_VARS, "repvote", "region"]].reset_index(drop=True)
    survey["y"] = rng.binomial(1, cells["p"].to_numpy()[idx])
    return survey


# ============================================================ design-based estimates


def _wilson(p: np.ndarray, n: np.ndarray, prob: float) -> tuple[np.ndarray, np.ndarray]:
    """Wilson score interval for a proportion with (effective) sample size n."""
    z = stats.norm.ppf(0.5 + prob / 2)
    n = np.maximum(n, 1e-9)
    centre = (p + z**2 / (2 * n)) / (1 + z**2 / n)
    half = z * np.sqrt(p * (1 - p) / n + z**2 / (4 * n**2)) / (1 + z**2 / n)
    return centre - half, centre + half


def raw_estimates(survey: pd.DataFrame, states: pd.Index, prob: float = 0.9) -> pd.DataFrame:
    """Sample mean per state with a Wilson interval; a state without respondents gets the
    national sample mean and the national interval (flagged in ``respondents`` = 0)."""
    g = survey.groupby(survey["state"].astype(str), observed=True)["y"]
    mean, count = g.mean().reindex(states), g.size().reindex(states).fillna(0)
    national = survey["y"].mean()
    est = mean.fillna(national).to_numpy(float)
    n_eff = np.where(count > 0, count, len(survey))
    lower, upper = _wilson(est, n_eff, prob)
    return pd.DataFrame({"estimate": est, "lower": lower, "upper": upper, "respondents": count.to_numpy(int)},
                        index=states)


def raked_estimates(
    survey: pd.DataFrame, table: hb.Poststrat, states: pd.Index, prob: float = 0.9
) -> pd.DataFrame:
    """Weighted mean per state, with weights raked to the population margins of state,
    ethnicity, sex, age and education; interval from Kish's effective sample size."""
    margins = {v: table.margin(v) for v in POSTSTRAT_VARS}
    w = rake(survey, margins)
    state = survey["state"].astype(str).to_numpy()
    y = survey["y"].to_numpy(float)
    rows = []
    for s in states:
        m = state == s
        if not m.any():
            rows.append((np.average(y, weights=w), kish_effective_size(w)))
            continue
        rows.append((np.average(y[m], weights=w[m]), kish_effective_size(w[m])))
    est, n_eff = (np.array(v) for v in zip(*rows))
    lower, upper = _wilson(est, n_eff, prob)
    return pd.DataFrame({"estimate": est, "lower": lower, "upper": upper, "n_eff": n_eff}, index=states)


def score(estimates: pd.DataFrame, truth: pd.Series) -> dict[str, float]:
    """RMSE, mean absolute error and interval coverage against the true state values."""
    t = truth.reindex(estimates.index).to_numpy(float)
    e = estimates["estimate"].to_numpy(float)
    inside = (estimates["lower"].to_numpy() <= t) & (t <= estimates["upper"].to_numpy())
    return {
        "rmse": float(np.sqrt(np.mean((e - t) ** 2))),
        "mae": float(np.mean(np.abs(e - t))),
        "coverage": float(inside.mean()),
        "mean_width": float(np.mean(estimates["upper"] - estimates["lower"])),
    }
