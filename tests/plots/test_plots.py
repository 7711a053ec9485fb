"""Every plot renders to a PNG (Agg backend) and returns a matplotlib Figure."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402
from test_predict import count_data, logit_data, sleep_fit  # noqa: E402

import hierbayes as hb  # noqa: E402
from hierbayes import plots  # noqa: E402


def _render(fig, path) -> None:
    assert isinstance(fig, Figure)
    fig.savefig(path, dpi=60)
    plt.close(fig)
    with open(path, "rb") as fh:
        assert fh.read(8) == b"\x89PNG\r\n\x1a\n"
    assert path.stat().st_size > 5_000  # something was drawn


@pytest.fixture(scope="module")
def sleep():
    # Rendering needs some draws, not a posterior: prior draws in place of NUTS (about a second).
    df = hb.datasets.load("sleepstudy")
    return hb.Model("Reaction ~ Days + (Days | Subject)", df).fit(backend="prior", draws=200, chains=2, random_seed=1)


@pytest.fixture(scope="module")
def sleep_check(sleep):
    return sleep.ppc(ndraws=300, random_seed=1)


PLOTS = {
    "caterpillar": lambda f, c: plots.caterpillar(f),
    "caterpillar_slope": lambda f, c: f.plot_caterpillar(term="Days"),
    "forest": lambda f, c: f.plot_forest(),
    "forest_with_intercept": lambda f, c: plots.forest(f, intercept=True),
    "variance_components": lambda f, c: f.plot_variance_components(),
    "prediction_lines": lambda f, c: f.plot_prediction_lines("Days"),
    "prediction_lines_some": lambda f, c: plots.prediction_lines(f, "Days", levels=["308", "309"], population="exclude", points=False),
    "margins_grid": lambda f, c: f.margins(at={"Days": np.arange(10)}).plot(),
    "margins_by": lambda f, c: f.margins(at={"Days": [0, 9]}, by="Subject", groups="include").plot(),
    "margins_dydx": lambda f, c: f.margins(dydx="Days").plot(),
    "ppc_density": lambda f, c: c.plot(),
    "ppc_pit": lambda f, c: c.plot("pit"),
    "ppc_stat": lambda f, c: c.plot_stat("sd"),
    "ppc_grouped": lambda f, c: c.plot_grouped(stat="sd"),
    "ppc_stat_of_a_fit": lambda f, c: plots.ppc_stat(f, "sd"),  # given a fit, its fit.ppc()
}


@pytest.mark.parametrize("name", list(PLOTS))
def test_gaussian_plots_render(name, sleep, sleep_check, tmp_path):
    _render(PLOTS[name](sleep, sleep_check), tmp_path / f"{name}.png")


@pytest.mark.slow  # a NUTS fit of its own process; test_ppc checks LOO-PIT's values fast
def test_loo_pit_renders(tmp_path):
    # LOO-PIT reweights the draws towards each left-out row: it needs a posterior (NUTS)
    check = sleep_fit().ppc(ndraws=300, random_seed=1)
    _render(check.plot_loo_pit(), tmp_path / "loo_pit.png")


@pytest.mark.slow  # two GLMM fits
def test_count_and_binary_checks_render(tmp_path):
    # these plots need draws, not a posterior: prior draws in place of NUTS

    count_model = hb.Model("y ~ x + (1 | g)", count_data(), family="poisson")
    pois = count_model.fit(backend="prior", draws=200, chains=2, random_seed=1).ppc(ndraws=200, random_seed=1)
    _render(pois.plot(), tmp_path / "rootogram.png")
    _render(pois.plot_grouped(stat="sd"), tmp_path / "grouped.png")
    logit_model = hb.Model("y ~ x + arm + (1 | g)", logit_data(), family="bernoulli")
    logit = logit_model.fit(backend="prior", draws=200, chains=2, random_seed=1)
    check = logit.ppc(ndraws=200, random_seed=1)
    _render(check.plot(), tmp_path / "calibration.png")
    _render(logit.margins(dydx="arm", ndraws=100).plot(), tmp_path / "contrast.png")


def test_prior_predictive_plots_render(tmp_path):
    df = hb.datasets.load("sleepstudy")
    check = hb.Model("Reaction ~ Days + (Days | Subject)", df).prior_predictive(draws=100, random_seed=1)
    _render(check.plot(), tmp_path / "prior.png")
    _render(check.plot_grouped(), tmp_path / "prior_grouped.png")
    prior_binary = hb.Model("y ~ x + arm + (1 | g)", logit_data(), family="bernoulli").prior_predictive(draws=100, random_seed=1)
    _render(prior_binary.plot(), tmp_path / "prior_binary.png")


def test_plot_errors_name_valid_choices(sleep, sleep_check):
    with pytest.raises(hb.SpecError, match="valid"):
        plots.forest(sleep, terms=["nope"])
    with pytest.raises(hb.SpecError, match="Subject"):
        plots.prediction_lines(sleep, "Days", group="school")
    with pytest.raises(hb.SpecError, match="numeric covariate"):
        plots.prediction_lines(sleep, "Subject")
    # the response and the grouping factor are not covariates to draw lines over
    with pytest.raises(hb.SpecError, match=r"no numeric covariate 'Reaction'; valid: \['Days'\]$"):
        plots.prediction_lines(sleep, "Reaction")
    with pytest.raises(hb.SpecError, match="PPC kinds"):
        sleep_check.plot("violin")
    with pytest.raises(hb.SpecError, match=r"hb.plots.loo_pit takes a fit or its predictive check \(fit.ppc\(\)\), not a DataFrame"):
        plots.loo_pit(sleep.fixef())
    plt.close("all")


def test_ppc_shows_its_plot_in_notebooks(sleep_check):
    png = sleep_check._repr_png_()
    assert png[:8] == b"\x89PNG\r\n\x1a\n" and len(png) > 5_000
