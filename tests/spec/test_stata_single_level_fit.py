"""A Stata single-level command fitted end to end, against R: MASS's ``?housing`` example.

Data and reference (R 4.x, MASS), ``tests/data/housing.csv`` with the factors as their codes
(Stata's factor variables are numbers)::

    library(MASS)
    h <- housing
    write.csv(data.frame(Sat = as.integer(h$Sat), Infl = as.integer(h$Infl),
                         Type = as.integer(h$Type), Cont = as.integer(h$Cont), Freq = h$Freq),
              "housing.csv", row.names = FALSE)
    m <- polr(Sat ~ Infl + Type + Cont, weights = Freq, data = housing)
    coef(m); m$zeta; sqrt(diag(vcov(m)))
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

import hierbayes as hb

#: polr's estimates and standard errors: Infl 2, 3; Type 2, 3, 4; Cont 2; then the cut points
POLR = {"b": ([0.5664, 1.2888, -0.5724, -0.3662, -1.0910, 0.3603],
              [0.10465, 0.12716, 0.11924, 0.15517, 0.15149, 0.09554]),
        "Intercept": ([-0.4961, 0.6907], [0.1248, 0.1255])}


def test_ologit_with_frequency_weights_is_polr():
    # the command a Stata user types for MASS's example; it had been refused, naming meologit
    housing = pd.read_csv(Path(__file__).parents[1] / "data" / "housing.csv")
    fit = hb.read_stata("bayes, rseed(1): ologit Sat i.Infl i.Type i.Cont [fw=Freq]").fit(
        housing, draws=500, progressbar=False)
    assert fit.diagnostics.ok
    for name, (estimate, se) in POLR.items():
        mean = fit.posterior[name].mean(("chain", "draw")).values
        # 1,681 counted rows: the posterior is the likelihood's, within a fifth of a standard error
        np.testing.assert_array_less(np.abs(mean - np.array(estimate)), 0.2 * np.array(se))
