"""R's airquality with Solar.R imputed (``missing="model"``) beside a random intercept per
month: the imputation model's own month intercepts (5 months) are adaptive, not non-centred.

Non-centred, the imputation model's sd (``mi_Solar.R_sd``, 5 groups, prior scale the sd of
Solar.R) reached where that form has a ridge: R-hat 1.017 and 2 divergences at seed 1.

Reference for the fixed effects: the complete-case REML fit (7 of the 111 rows with an
Ozone lack Solar.R; the imputation adds them), R 4.2, lme4 1.1::

    lmer(Ozone ~ Solar.R + Wind + Temp + (1 | Month), airquality)
    #              Estimate  Std. Error
    # (Intercept) -71.91726   25.537312
    # Solar.R       0.05587824 0.02314028
    # Wind         -3.23859328 0.64700256
    # Temp          1.74604280 0.29066119      sd(Month) 5.24, residual 20.69
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

import hierbayes as hb

DATA = Path(__file__).parent / "data" / "airquality.csv"
FORMULA = "Ozone ~ Solar.R + Wind + Temp + (1 | Month)"
LMER = {"Solar.R": 0.05587824, "Wind": -3.23859328, "Temp": 1.74604280}


def test_the_imputation_models_few_group_intercepts_are_adaptive() -> None:
    model = hb.Model(FORMULA, pd.read_csv(DATA), missing="model")
    names = {v.name for v in model.pymc_model.free_RVs}
    assert "mi_Solar.R_w" in names and "mi_Solar.R_z" not in names
    assert "mi_Solar.R_z" in {v.name for v in model.pymc_model.deterministics}


@pytest.mark.slow
def test_airquality_with_imputed_solar_radiation_mixes_with_defaults() -> None:
    fit = hb.Model(FORMULA, pd.read_csv(DATA), missing="model").fit(random_seed=1, progressbar=False)
    diag = fit.diagnostics
    assert diag.divergences == 0
    assert diag.max_r_hat <= 1.01
    assert diag.min_ess_bulk >= 400
    table = fit.fixef()
    for term, estimate in LMER.items():
        assert abs(table.loc[term, "mean"] - estimate) < 0.5 * table.loc[term, "sd"], term
