"""LS-means by visit x arm of an MMRM fit through ``margins`` (issue 15), against nlme::gls.

The MMRM: Orthodont's distances at ages 10, 12, 14 (visits v2-v4) with the age-8 distance as
baseline, ``distance ~ base + visit * Sex``, an unstructured 3 x 3 covariance over the visits
within Subject and no random effects. emmeans is not installed here, so R's LS-means are the
reference grid by hand (the covariate at its mean over the rows, as emmeans does), nlme 3.1.162::

    m <- merge(d[d$visit > 1, ], base, by = "Subject"); m$visit <- paste0("v", m$visit)
    f <- gls(distance ~ base + visit * Sex, data = m,
             correlation = corSymm(form = ~ as.integer(factor(visit)) | Subject),
             weights = varIdent(form = ~ 1 | visit), method = "REML")
    grid <- expand.grid(visit = c("v2", "v3", "v4"), Sex = c("Female", "Male")); grid$base <- mean(m$base)
    L <- model.matrix(~ base + visit * Sex, grid)
    lsmean <- L %*% coef(f); se <- sqrt(diag(L %*% vcov(f) %*% t(L)))
    Ld <- L[grid$Sex == "Male", ] - L[grid$Sex == "Female", ]     # Male - Female by visit

(``d`` is tests/rside/data/orthodont_unstructured.csv, ``base`` its visit-1 distances.)
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import hierbayes as hb

HERE = Path(__file__).parent
FORMULA = "distance ~ base + visit * Sex"

#: (visit, Sex) -> (LS-mean, SE) from the R call above.
LSMEANS = {
    ("v2", "Female"): (22.82049999, 0.5331356908), ("v3", "Female"): (23.68413636, 0.6019943297),
    ("v4", "Female"): (24.68413636, 0.5981287001), ("v2", "Male"): (23.40465626, 0.4381583211),
    ("v3", "Male"): (25.31090626, 0.4957016504), ("v4", "Male"): (27.06090626, 0.4924740144),
}
#: visit -> (Male - Female, SE).
DIFFERENCES = {"v2": (0.5841562645, 0.7058010573), "v3": (1.6267699008, 0.7937607024), "v4": (2.3767699008, 0.7888138882)}


def _mmrm_data() -> pd.DataFrame:
    d = pd.read_csv(HERE / "data" / "orthodont_unstructured.csv")
    base = d[d["visit"] == 1].set_index("Subject")["distance"]
    m = d[d["visit"] > 1].copy()
    m["base"] = m["Subject"].map(base).astype(float)
    m["visit"] = "v" + m["visit"].astype(str)
    return m[["Subject", "Sex", "visit", "base", "distance"]].reset_index(drop=True)


def _model() -> hb.Model:
    return hb.Model(FORMULA, _mmrm_data(), residuals=hb.residuals("unstructured", time="visit", group="Subject"))


def _cell_rows(base_mean: float) -> tuple[list[tuple[str, str]], np.ndarray]:
    """The reference grid's design rows in hierbayes' term order (Intercept first)."""
    cells = [(v, s) for v in ("v2", "v3", "v4") for s in ("Female", "Male")]
    rows = []
    for v, s in cells:
        male, v3, v4 = float(s == "Male"), float(v == "v3"), float(v == "v4")
        rows.append([1.0, base_mean, v3, v4, male, v3 * male, v4 * male])
    return cells, np.asarray(rows)


def test_margins_are_the_reference_grid_means_per_draw():
    """On prior draws: the margins at visit x Sex are L b with the baseline at its mean."""
    model = _model()
    fit = model.fit(backend="prior", draws=40, chains=2, random_seed=3, progressbar=False)
    assert list(fit.fixef().index) == ["Intercept", "base", "visit[v3]", "visit[v4]", "Sex[Male]",
                                       "visit[v3]:Sex[Male]", "visit[v4]:Sex[Male]"]
    post = fit.idata.posterior
    beta = np.concatenate([post["Intercept"].values.reshape(-1, 1), post["b"].values.reshape(80, -1)], axis=1)
    cells, L = _cell_rows(float(_mmrm_data()["base"].mean()))
    margins = fit.margins(at=["visit", "Sex"])
    grid = list(zip(margins.grid["visit"], margins.grid["Sex"], strict=True))
    expected = (beta @ L.T)[:, [cells.index(c) for c in grid]]
    np.testing.assert_allclose(margins.draws.values.reshape(80, -1), expected, rtol=1e-9, atol=1e-9)


@pytest.mark.slow
def test_lsmeans_and_differences_match_nlme():
    fit = _model().fit(draws=1000, tune=1000, chains=2, random_seed=1, progressbar=False)
    table = fit.margins(at=["visit", "Sex"]).summary()
    for _, row in table.iterrows():
        estimate, se = LSMEANS[(row["visit"], row["Sex"])]
        assert abs(row["mean"] - estimate) < 0.1 * se, (row["visit"], row["Sex"], row["mean"], estimate)
        # posterior sd a little wider than the REML plug-in SE (27 subjects; variance uncertainty)
        assert 0.95 < row["sd"] / se < 1.25, (row["visit"], row["Sex"], row["sd"], se)
    diffs = fit.contrasts("Sex", by="visit").summary()
    for _, row in diffs.iterrows():
        estimate, se = DIFFERENCES[row["visit"]]
        assert row["contrast"] == "Male - Female"
        assert abs(row["mean"] - estimate) < 0.1 * se and 0.95 < row["sd"] / se < 1.25
