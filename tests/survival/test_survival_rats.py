"""survival's rats with brms' formula as an R user writes it, ``cens(1 - status)`` and the
litter frailty, fitted with every default and compared with the ML fit of the same weibull
model (slow).

Reference (R 4.2, survival 3.5; ``ml_ghq`` and ``surv_rows`` from make_refs.R: the gaussian
frailty on log time integrated out by 20-node adaptive Gauss-Hermite quadrature)::

    rd <- read.csv("tests/survival/data/rats.csv")
    s_r <- survreg(Surv(time, status) ~ rx, data = rd, dist = "weibull")
    f <- ml_ghq(~ rx, rd, surv_rows(rd$time, rd$status), rd$litter, "weibull",
                start = c(coef(s_r), log(s_r$scale), log(0.2)))
    f$par  # 5.271960 -0.187148 -1.388607 -1.096362   (Intercept, rx, log scale, log sd)
    f$se   # 0.127528  0.083815  0.141861  0.264199    logLik -279.3564

survreg itself refuses ``frailty.gaussian(litter)`` (survival 3.5); the documented Cox frailty,
``coxph(Surv(time, status) ~ rx + frailty(litter, distribution = "gaussian"), rd)``, gives a
log hazard ratio of 0.723 (se 0.316) for rx, against the weibull ML's -b / scale = 0.750.
"""

from __future__ import annotations

import math
import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import hierbayes as hb

HERE = Path(__file__).parent
ML = {"Intercept": (5.271960, 0.127528), "rx": (-0.187148, 0.083815)}
ML_LOG_SCALE, ML_LOG_SD, ML_LOG_SD_SE = -1.388607, -1.096362, 0.264199


@pytest.mark.slow
def test_rats_brms_formula_with_cens_expression_matches_ml_frailty() -> None:
    data = pd.read_csv(HERE / "data" / "rats.csv")
    fit = hb.Model("time | cens(1 - status) ~ rx + (1 | litter)", data, family="weibull").fit(
        random_seed=1, progressbar=False
    )
    diag = fit.diagnostics
    assert diag.divergences == 0
    assert diag.max_r_hat <= 1.01
    assert diag.min_ess_bulk >= 400
    table = fit.fixef()
    rx = table.loc["rx"]
    assert abs(rx["mean"] - ML["rx"][0]) < 0.5 * rx["sd"]
    # the table's Intercept is brms' log mean time; its note gives survreg's _cons
    cons = float(re.search(r": mean (-?[0-9.]+), sd", table.attrs["note"]).group(1))
    assert abs(cons - ML["Intercept"][0]) < 0.5 * table.loc["Intercept", "sd"]
    assert float(fit.posterior["shape"].median()) == pytest.approx(math.exp(-ML_LOG_SCALE), rel=0.1)
    lo, hi = np.exp(ML_LOG_SD + np.array([-1.96, 1.96]) * ML_LOG_SD_SE)
    assert lo < float(fit.posterior["sd_litter"].median()) < hi
    # log hazard ratio of rx: -shape * b draw by draw, against the ML's -b / scale
    loghr = fit.fixef(metric="loghr").loc["rx"]
    assert abs(loghr["mean"] - (-ML["rx"][0] / math.exp(ML_LOG_SCALE))) < 0.5 * loghr["sd"]
