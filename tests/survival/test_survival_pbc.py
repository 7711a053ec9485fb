"""survival's pbc, the weibull AFT model of its documentation without group terms, as an R
user writes it, fitted with every default; and the start-point jitter that made it converge.

Data: ``data/pbc.csv``, survival's ``pbc`` without the 2 rows missing ``protime`` (416 rows;
``status`` 0 censored, 1 transplant, 2 dead)::

    d <- pbc[!is.na(pbc$protime), c("time","status","age","edema","bili","albumin","protime")]
    write.csv(d, "tests/survival/data/pbc.csv", row.names = FALSE)

Reference (R 4.2, survival 3.5)::

    m <- survreg(Surv(time, status == 2) ~ age + edema + log(bili) + log(albumin) + log(protime),
                 data = d, dist = "weibull")
    #              Value      Std. Error
    # (Intercept)  12.14729196 1.43876789
    # age          -0.02627299 0.00520169
    # edema        -0.64303912 0.17831629
    # log(bili)    -0.56602613 0.05492381
    # log(albumin)  1.63275042 0.42421351
    # log(protime) -1.71977692 0.51812488
    # scale 0.6704776 (shape 1.4915), logLik -1405.3592

Before the jitter was narrowed, seeds 1 and 5 of 1-6 left one chain of four stuck where it
started (step size 1e-38, log density -7e67, shape 20): R-hat 1.6.
"""

from __future__ import annotations

import math
import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import hierbayes as hb
from hierbayes.fixed_prior import joint_fixed_prior

HERE = Path(__file__).parent
FORMULA = "time | event(dead) ~ age + edema + log(bili) + log(albumin) + log(protime)"
SURVREG = {"age": (-0.02627299, 0.00520169), "edema": (-0.64303912, 0.17831629),
           "log(bili)": (-0.56602613, 0.05492381), "log(albumin)": (1.63275042, 0.42421351),
           "log(protime)": (-1.71977692, 0.51812488)}
SURVREG_CONS, SURVREG_SCALE = 12.14729196, 0.6704776


def _pbc() -> pd.DataFrame:
    data = pd.read_csv(HERE / "data" / "pbc.csv")
    data["dead"] = (data["status"] == 2).astype(int)
    return data


def test_jitter_keeps_every_row_within_one_unit_of_the_start():
    rng = np.random.default_rng(3)
    X = np.column_stack([rng.normal(size=400), rng.lognormal(0, 1.5, size=400)])  # a long tail
    prior = joint_fixed_prior(X, ["a", "b"], scale=2.5, weights=None, centred=True)
    width = prior.start_jitter(X)
    reach = np.abs((X - X.mean(0)) @ prior.factor()).sum(axis=1).max()
    assert width < 1.0 and width * reach == pytest.approx(1.0)  # s_y = scale / 2.5 = 1
    # without the long tail the jitter stays wider
    short = X.copy()
    short[:, 1] = rng.normal(size=400)
    assert joint_fixed_prior(short, ["a", "b"], scale=2.5, weights=None, centred=True).start_jitter(short) > 2 * width


def test_event_takes_the_expression_survival_writes():
    """``Surv(time, status == 2)``: ``event(status == 2)`` censors what ``event(dead)`` does."""
    data = _pbc()
    expression = hb.Model(FORMULA.replace("event(dead)", "event(status == 2)"), data, family="weibull")
    column = hb.Model(FORMULA, data, family="weibull")
    np.testing.assert_array_equal(expression.design.censoring.code, column.design.censoring.code)
    assert int((np.asarray(column.design.censoring.code) == 1).sum()) == int((data["status"] != 2).sum())


def test_pbc_start_jitter_of_the_fixed_effects_is_narrowed():
    compiled = hb.Model(FORMULA, _pbc(), family="weibull").compile()
    assert set(compiled.start_jitter) == {"b__z"} and 0 < compiled.start_jitter["b__z"] < 0.2


@pytest.mark.slow
def test_pbc_weibull_with_defaults_matches_survreg() -> None:
    fit = hb.Model(FORMULA, _pbc(), family="weibull").fit(random_seed=1, progressbar=False)
    diag = fit.diagnostics
    assert diag.divergences == 0 and diag.max_r_hat <= 1.01 and diag.min_ess_bulk >= 400
    table = fit.fixef()
    for term, (estimate, _) in SURVREG.items():
        assert abs(table.loc[term, "mean"] - estimate) < 0.5 * table.loc[term, "sd"], term
    # the table's Intercept is brms' log mean time; its note gives survreg's _cons
    cons = float(re.search(r": mean (-?[0-9.]+), sd", table.attrs["note"]).group(1))
    assert abs(cons - SURVREG_CONS) < 0.5 * table.loc["Intercept", "sd"]
    assert float(fit.posterior["shape"].median()) == pytest.approx(1 / SURVREG_SCALE, rel=0.05)
    assert math.isfinite(float(fit.posterior["shape"].max()))
