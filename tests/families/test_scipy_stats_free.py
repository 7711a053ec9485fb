"""The formulas that replaced scipy.stats on the path of a fit (importing scipy.stats costs
0.4 s of a 3.5 s fresh-process fit) give scipy.stats' numbers, and building a model or
summarizing draws does not import it."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest
from scipy import stats

from hierbayes.backends.pymc.information import Information
from hierbayes.families import get_family
from hierbayes.families.links import PROBIT_UNIT
from hierbayes.families.prior_hooks import robust_scale
from hierbayes.results.weights_adjust_glmm import quadrature_cluster_loglik  # noqa: F401  (imports cleanly)

ROOT = Path(__file__).resolve().parents[2]
RNG = np.random.default_rng(4)
Y = RNG.normal(1.0, 2.0, size=50)
ETA = RNG.normal(0.5, 1.0, size=(3, 50))
AUX = {"sigma": np.array([0.5, 1.0, 3.0])[:, None]}


def test_gaussian_censoring_terms_and_quantiles() -> None:
    family = get_family("gaussian")
    mu, sigma = ETA, AUX["sigma"]
    np.testing.assert_allclose(family.log_cdf(Y, ETA, "identity", AUX, None), stats.norm.logcdf(Y, mu, sigma),
                               rtol=1e-12)
    np.testing.assert_allclose(family.log_ccdf(Y, ETA, "identity", AUX, None), stats.norm.logsf(Y, mu, sigma),
                               rtol=1e-12)
    p = np.array([0.025, 0.5, 0.975])[:, None]
    np.testing.assert_allclose(family.quantile(p, ETA, "identity", AUX, None), mu + sigma * stats.norm.ppf(p),
                               rtol=1e-12)


def test_lognormal_density_and_censoring_terms() -> None:
    family = get_family("lognormal")
    y = np.exp(Y)
    sigma = AUX["sigma"]
    np.testing.assert_allclose(family.log_likelihood(y, ETA, "identity", AUX, None),
                               stats.lognorm.logpdf(y, sigma, scale=np.exp(ETA)), rtol=1e-10)
    np.testing.assert_allclose(family.log_cdf(y, ETA, "identity", AUX, None),
                               stats.lognorm.logcdf(y, sigma, scale=np.exp(ETA)), rtol=1e-10)
    np.testing.assert_allclose(family.log_ccdf(y, ETA, "identity", AUX, None),
                               stats.lognorm.logsf(y, sigma, scale=np.exp(ETA)), rtol=1e-10)


def test_probit_unit_and_robust_scale() -> None:
    assert PROBIT_UNIT == pytest.approx(0.25 / stats.norm.pdf(0.0), rel=1e-15)
    assert robust_scale(Y) == pytest.approx(stats.median_abs_deviation(Y, scale="normal"), rel=1e-14)
    assert robust_scale(np.ones(5)) == 1.0  # MAD 0 and sd 0: the unit


@pytest.mark.parametrize(("df_noise", "ratio"), [(40.0, 3.0), (np.inf, 0.8), (7.5, 12.0)])
def test_the_information_bound_uses_the_f_and_chi2_quantiles(df_noise, ratio) -> None:
    info = Information(ratio=ratio, df_between=11.0, df_noise=df_noise)
    if np.isfinite(df_noise):
        crit = stats.f.ppf(0.99, 11.0, df_noise)
    else:
        crit = stats.chi2.ppf(0.99, 11.0) / 11.0
    assert info.lower(0.01) == pytest.approx(max((1.0 + ratio) / crit - 1.0, 0.0), rel=1e-12)


def test_building_a_model_and_summarizing_draws_do_not_import_scipy_stats() -> None:
    # NUTS does not either; the prior-only backend's draws do (PyTensor's samplers use it)
    code = textwrap.dedent("""
        import sys
        import numpy as np
        import xarray as xr
        import hierbayes as hb
        from hierbayes.results.stats import summarize
        df = hb.datasets.load("sleepstudy")
        model = hb.Model("Reaction ~ Days + (Days | Subject)", df)
        model.compile()
        hb.Model("cbind(incidence, size - incidence) ~ period + (1 | herd)", hb.datasets.load("cbpp"), family="binomial").compile()
        draws = np.random.default_rng(1).integers(0, 3, size=(2, 50, 3)).astype(float)  # ties in the ranks
        summarize(xr.DataArray(draws, dims=("chain", "draw", "p")))
        print(sorted(m for m in ("scipy.stats", "arviz_stats", "dask.array", "sparse") if m in sys.modules))
    """)
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300,
                         env={**os.environ, "PYTHONPATH": str(ROOT)})
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip().splitlines()[-1] == "[]"
