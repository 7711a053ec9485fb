"""Which parameterization a censored or survival model's group terms get.

The planning rule reads the information a group's rows hold on its effect from the curvature
of their censored log-likelihood at a pilot fit, with the group sd at its Laplace maximum
(:mod:`hierbayes.backends.pymc.plan_censored`). Before it, these families fell back to "50 rows
a group and 20 groups": survival::colon's frailty per patient (2 rows each, sd 1.6 on the log
time scale) was non-centred and mixed at R-hat 1.022.

The reference for the slow test, from ``tests/survival/r_colon.R`` (R 4.2, survival 3.5;
make_refs.R's ``ml_ghq``, the frailty integrated out by 20-node adaptive Gauss-Hermite
quadrature, survreg's weibull parameterization)::

    f <- ml_ghq(~ rx + nodes + etype, d, surv_rows(d$time, d$status), d$id, "weibull",
                start = c(coef(s), log(s$scale), log(1)))
    #          (Intercept) rxLev+5FU     rxObs     nodes     etype log(scale)  log(sd)
    # estimate   7.3797790 0.5193404 -0.0143669 -0.141795 0.6221799 -1.041288 0.486951
    # se         0.1287862 0.1504069  0.1436380  0.016134 0.0282768  0.037231 0.036593
    # logLik -7383.642
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import hierbayes as hb
from hierbayes.backends.pymc.plan import choose_parameterization
from hierbayes.backends.pymc.plan_censored import censored_information

HERE = Path(__file__).parent
COLON = "time | cens(1 - status) ~ rx + nodes + etype + (1 | id)"
COLON_ML = {"rx[Lev+5FU]": (0.5193404, 0.1504069), "rx[Obs]": (-0.0143669, 0.1436380),
            "nodes": (-0.141795, 0.016134), "etype": (0.6221799, 0.0282768)}
COLON_LOG_SD, COLON_LOG_SD_SE, COLON_LOG_SCALE = 0.486951, 0.036593, -1.041288


def weibull_frailty(n_groups: int, rows: int, sd: float, seed: int = 0, shape: float = 2.0) -> pd.DataFrame:
    """Weibull times (brms' mean parameterization) with a gaussian frailty on log time and
    right censoring at a fixed follow-up that leaves about a third of the rows censored."""
    rng = np.random.default_rng(seed)
    g = np.repeat(np.arange(n_groups), rows)
    x = rng.normal(size=g.size)
    log_mean = 1.0 + 0.5 * x + sd * rng.normal(size=n_groups)[g]
    scale = np.exp(log_mean) / math.gamma(1 + 1 / shape)
    t = scale * rng.weibull(shape, size=g.size)
    limit = float(np.quantile(t, 0.67))
    return pd.DataFrame({"t": np.minimum(t, limit), "censored": (t > limit).astype(int), "x": x, "g": g})


def plan_of(formula: str, data: pd.DataFrame, family: str) -> tuple[str, object]:
    design = hb.Model(formula, data, family=family).design
    block = design.groups[0]
    return choose_parameterization(block, design), censored_information(block, design)


def test_a_frailty_of_two_rows_a_group_is_centred_where_the_rows_inform_it() -> None:
    # colon's shape: two rows a patient, a frailty sd well above the weibull's noise
    plan, info = plan_of("t | cens(censored) ~ x + (1 | g)", weibull_frailty(400, 2, sd=1.5), "weibull")
    assert plan == "centered"
    assert info.lower() > 1.0


def test_a_weak_frailty_stays_non_centred() -> None:
    plan, info = plan_of("t | cens(censored) ~ x + (1 | g)", weibull_frailty(400, 2, sd=0.15), "weibull")
    assert plan == "noncentered"
    assert info.ratio < 1.0


def test_the_group_sd_behind_the_rule_is_recovered() -> None:
    # k = tau^2 * precision: tau from the Laplace maximum; 300 groups of 4 rows, sd 0.6
    data = weibull_frailty(300, 4, sd=0.6, seed=3)
    design = hb.Model("t | cens(censored) ~ x + (1 | g)", data, family="weibull").design
    info = censored_information(design.groups[0], design)
    # the precision of a group's effect on log time: shape^2 * expected events (4 rows, 2/3
    # of them events, shape 2): about 10.7; the ratio 10.7 * 0.36 = 3.8 within a factor of 2
    # (2.8: the Laplace maximum of the sd, as glmer's, is low with 4 rows a group)
    assert 1.9 < info.ratio < 7.7


def test_a_censored_lognormal_and_an_uncensored_weibull_have_the_rule_too() -> None:
    data = weibull_frailty(400, 2, sd=1.5)
    assert plan_of("t | cens(censored) ~ x + (1 | g)", data, "lognormal")[0] == "centered"
    assert plan_of("t ~ x + (1 | g)", data.assign(t=data.t * (1 + data.censored)), "weibull")[0] == "centered"


def test_terms_with_slopes_and_uncensored_gaussian_models_are_left_to_their_rules() -> None:
    data = weibull_frailty(100, 4, sd=1.0)
    slopes = hb.Model("t | cens(censored) ~ x + (1 + x | g)", data, family="weibull").design
    assert censored_information(slopes.groups[0], slopes) is None
    plain = hb.Model("t ~ x + (1 | g)", data).design
    assert censored_information(plain.groups[0], plain) is None


@pytest.mark.parametrize(("name", "formula", "expected"), [
    # pbc's four histologic stages, 78 patients each: informed though few (k 21, 2.9 at the
    # F bound's 1%); the old rule wanted 20 groups. Centred: ESS 2,057 against 1,113 (seed 1).
    ("pbc_stage", "time | cens(1 - dead) ~ trt + age + (1 | stage)", "centered"),
    # rats' litters: 3 rats each, 42 events in 300: one-step moments put k at 28, the
    # Laplace maximum at 0.38
    ("rats", "time | cens(1 - status) ~ rx + (1 | litter)", "noncentered"),
    ("kidney", "time | cens(1 - status) ~ age + sex + (1 | patient)", "noncentered"),
])
def test_plans_on_survival_data(name: str, formula: str, expected: str) -> None:
    data = pd.read_csv(HERE / "data" / f"{name}.csv")
    if name == "pbc_stage":
        data = data.assign(dead=(data.status == 2).astype(int))
    assert plan_of(formula, data, "weibull")[0] == expected


@pytest.mark.slow
def test_colon_frailty_mixes_with_defaults_and_matches_the_ml_fit() -> None:
    data = pd.read_csv(HERE / "data" / "colon.csv")
    fit = hb.Model(COLON, data, family="weibull").fit(random_seed=1, progressbar=False)
    assert fit.info.parameterization == {"id": "centered"}
    diag = fit.diagnostics
    assert diag.divergences == 0
    assert diag.max_r_hat <= 1.01
    assert diag.min_ess_bulk >= 400
    table = fit.fixef()
    for term, (estimate, se) in COLON_ML.items():
        assert abs(table.loc[term, "mean"] - estimate) < 0.5 * se, term
    lo, hi = np.exp(COLON_LOG_SD + np.array([-1.96, 1.96]) * COLON_LOG_SD_SE)
    assert lo < float(fit.posterior["sd_id"].median()) < hi
    assert float(fit.posterior["shape"].median()) == pytest.approx(math.exp(-COLON_LOG_SCALE), rel=0.05)
