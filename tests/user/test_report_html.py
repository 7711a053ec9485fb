"""The HTML report (hierbayes.report_html, fit.report) for every model kind, and the trace plot
that skips constant scalars (hierbayes.plots.trace). Fits use the prior backend (~1 s)."""

from __future__ import annotations

import base64
import io
import re
import shutil
import subprocess

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import pytest
import xarray as xr

import hierbayes as hb
from hierbayes.errors import SpecError
from hierbayes.plots.trace import select_scalars, trace
from hierbayes.report_html import ReportLimits, safe_name, write_html_report

EMBEDDED = re.compile(r"src='data:image/png;base64,([A-Za-z0-9+/=]+)'")


def _data(n: int = 120, groups: int = 8, seed: int = 1) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    g = rng.integers(0, groups, n)
    x = rng.normal(size=n)
    y = 1 + 0.5 * x + rng.normal(size=groups)[g] + rng.normal(size=n)
    df = pd.DataFrame({"x": x, "g": [f"g{i}" for i in g], "h": [f"h{i}" for i in rng.integers(0, 4, n)], "y": y})
    df["c"] = np.digitize(y, [0.5, 1.5]) + 1
    df["size"] = 10
    df["k"] = rng.binomial(10, 0.4, n)
    return df


KINDS = {
    "no_groups": ("y ~ x", {}),
    "correlated": ("y ~ x + (x | g)", {}),
    "ordinal": ("c ~ x + (1 | g)", {"family": "cumulative"}),
    "binomial": ("k | trials(size) ~ x + (1 | g)", {"family": "binomial"}),
    "integrated_out": ("y ~ x + (1 | g)", {"parameterization": "marginal"}),
}


def _prior_fit(formula: str, df: pd.DataFrame | None = None, **kwargs):
    model = hb.Model(formula, data=_data() if df is None else df, **kwargs)
    return model.fit(backend="prior", draws=40, chains=2, random_seed=1)


def _images(page: str) -> list[np.ndarray]:
    from PIL import Image

    return [np.asarray(Image.open(io.BytesIO(base64.b64decode(data)))) for data in EMBEDDED.findall(page)]


# ------------------------------------------------------------------------------ trace


def _posterior_with_constants() -> xr.Dataset:
    rng = np.random.default_rng(0)
    corr = np.broadcast_to(np.eye(2), (2, 30, 2, 2)).copy()
    corr[..., 0, 1] = corr[..., 1, 0] = rng.uniform(-0.5, 0.5, (2, 30))
    return xr.Dataset({
        "mu": (("chain", "draw"), rng.normal(size=(2, 30))),
        "fixed": (("chain", "draw"), np.ones((2, 30))),
        "cor_g": (("chain", "draw", "g__term", "g__term_bis"), corr),
        "b": (("chain", "draw", "b_term"), rng.normal(size=(2, 30, 3))),
    }, coords={"g__term": ["Intercept", "x"], "g__term_bis": ["Intercept", "x"], "b_term": ["x1", "x2", "x3"]})


def test_trace_leaves_out_constant_scalars_and_names_them():
    posterior = _posterior_with_constants()
    chosen = select_scalars(posterior, ["mu", "fixed", "cor_g"])
    assert chosen.labels == ("mu", "cor_g[x, Intercept]")  # lower triangle only, no unit diagonal
    assert chosen.constant == ("fixed",)
    fig = trace(posterior, ["mu", "fixed", "cor_g"])
    assert len(fig.axes) == 4 and "constant, not drawn: fixed" in fig.hierbayes_note
    plt.close(fig)


def test_trace_treats_rounding_noise_as_constant():
    noisy = 1 + np.random.default_rng(0).choice([0.0, 2.2e-16], (2, 30))  # a unit diagonal after arithmetic
    posterior = xr.Dataset({"one": (("chain", "draw"), noisy), "nan": (("chain", "draw"), np.full((2, 30), np.nan))})
    assert select_scalars(posterior, ["one", "nan"]).constant == ("one", "nan")
    fig = trace(posterior, ["one"])
    assert fig.hierbayes_note == "constant, not drawn: one" and "no varying scalar" in fig.axes[0].texts[0].get_text()
    plt.close(fig)


def test_trace_caps_the_panels_and_says_how_many_were_left_out():
    chosen = select_scalars(_posterior_with_constants(), max_panels=2)
    assert chosen.labels == ("mu", "cor_g[x, Intercept]") and chosen.dropped == ("b[x1]", "b[x2]", "b[x3]")
    assert "3 more scalars not drawn (only the first 2)" in chosen.note


def test_trace_names_an_unknown_variable():
    with pytest.raises(SpecError, match=r"no posterior variable or fixed-effect term 'nope'; valid: \['mu', 'fixed'"):
        select_scalars(_posterior_with_constants(), ["nope"])


def test_trace_takes_fixed_effect_term_names_and_lists_no_internal_names():
    # plot_forest(terms=["Days"]) took term names and plot_trace refused them, listing b__z, Intercept_c, ...
    fit = _prior_fit("y ~ x + (x | g)")
    chosen = select_scalars(fit.posterior, ["x", "sigma"])
    assert chosen.labels == ("x", "sigma")
    with pytest.raises(SpecError) as info:
        fit.plot_trace(var_names=["xx"])
    listed = str(info.value).split("valid: ")[1]
    assert "'x'" in listed and "__" not in listed and "Intercept_c" not in listed


def test_fit_plot_trace_of_a_correlated_model_includes_cholesky_zeros_as_constant():
    fit = _prior_fit("y ~ x + (x | g)")
    fig = fit.plot_trace(var_names=["sd_g", "cor_g", "L_g"])
    assert "L_g[0, 1]" in fig.hierbayes_note  # the Cholesky factor's upper zero is not drawn
    labels = [ax.get_ylabel() for ax in fig.axes[::2]]
    assert labels[:3] == ["sd_g[Intercept]", "sd_g[x]", "cor_g[x, Intercept]"]
    plt.close(fig)


# ----------------------------------------------------------------------------- report


@pytest.mark.parametrize("kind", list(KINDS))
def test_report_of_every_model_kind(tmp_path, kind):
    formula, kwargs = KINDS[kind]
    fit = _prior_fit(formula, **kwargs)
    index = fit.report(tmp_path / "r")
    assert index == tmp_path / "r" / "index.html"
    page = index.read_text()
    for title in ("Summary", "Diagnostics", "Trace plots", "Group effects", "Posterior predictive check"):
        assert f">{title}</h2>" in page
    assert "class='failed'" not in page, re.findall(r"class='failed'>([^<]*)", page)
    assert "<link" not in page and "src='plots/" not in page  # self-contained
    images = _images(page)
    groups = fit.ranef()
    caterpillars = sum(len(set(t.columns.get_level_values(0))) for t in groups.values())
    assert len(images) == 2 + caterpillars + (1 if groups else 0)  # trace, ppc, grouped ppc
    assert all(im.ndim == 3 and im.shape[0] > 100 and im.shape[1] > 100 for im in images)
    files = {p.name for p in (tmp_path / "r").iterdir()}
    assert {"index.html", "diagnostics.csv", "summary_1_fixed_effects.csv"} <= files
    if groups:
        assert f"ranef_{next(iter(groups))}.csv" in files
    else:
        assert "no grouping factor" in page
    fixed = pd.read_csv(tmp_path / "r" / "summary_1_fixed_effects.csv")
    assert "mean" in fixed.columns and len(fixed)


def test_report_caps_many_groups_terms_and_levels_and_says_so(tmp_path):
    df = _data(n=600, groups=300)
    fit = _prior_fit("y ~ x + (x | g) + (1 | h)", df)
    report = write_html_report(fit, tmp_path, limits=ReportLimits(groups=1, terms=1, trace_panels=3))
    page = report.index.read_text()
    assert "caterpillar plots for the first 1 of 2 grouping factors" in report.notes
    assert "g: plots for the first 1 of 2 terms" in report.notes
    assert any("more scalars not drawn (only the first 3)" in note for note in report.notes)
    for note in report.notes:
        assert note in page
    heights = [im.shape[0] for im in _images(page)]
    assert max(heights) < 1000  # 300 levels on a fixed-height figure, not 36 inches tall
    assert sorted(p.name for p in (tmp_path / "plots").iterdir()) == [
        "caterpillar_g_Intercept.png", "ppc.png", "ppc_grouped_g.png", "trace.png"]


def test_a_plot_that_fails_is_named_with_its_reason(tmp_path, monkeypatch):
    from hierbayes import report_html

    def broken(*args, **kwargs):
        raise RuntimeError("no ink")

    monkeypatch.setattr(report_html, "trace", broken)
    fit = _prior_fit("y ~ x")
    report = write_html_report(fit, tmp_path, plots=True)
    message = "Trace plots of the reported parameters: not drawn (RuntimeError: no ink)"
    assert message in report.notes and f"class='failed'>{message}" in report.index.read_text()
    assert not (tmp_path / "plots" / "trace.png").exists() and (tmp_path / "plots" / "ppc.png").exists()


def test_report_without_plots_writes_tables_only(tmp_path):
    fit = _prior_fit("y ~ x + (1 | g)")
    report = write_html_report(fit, tmp_path, plots=False, title="no plots", details={"data": "simulated"})
    page = report.index.read_text()
    assert "<title>no plots</title>" in page and "<b>data</b>: simulated" in page
    assert not EMBEDDED.search(page) and not (tmp_path / "plots").exists()
    assert "ranef_g.csv" in report.files and "diagnostics.csv" in report.files


def test_safe_name():
    assert safe_name("C(schgend)[boys]") == "C_schgend__boys" and safe_name("::") == "x"


# ---------------------------------------------------------------------- in a browser

CHROMIUM = next((p for p in map(shutil.which, ("chromium", "chromium-browser", "google-chrome")) if p), None)


@pytest.mark.slow  # ~15 s: a prior fit, the report and a browser start
@pytest.mark.skipif(CHROMIUM is None, reason="no chromium on PATH; install it with "
                    "'apt-get install -y chromium' (only this test needs it)")
def test_report_renders_in_headless_chromium(tmp_path):
    from PIL import Image

    index = _prior_fit("y ~ x + (x | g)").report(tmp_path / "r")
    shot = tmp_path / "shot.png"
    command = [CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars",
               f"--user-data-dir={tmp_path / 'profile'}", "--window-size=1000,2400",
               f"--screenshot={shot}", index.as_uri()]
    run = subprocess.run(command, capture_output=True, text=True, timeout=120)
    assert run.returncode == 0 and shot.is_file(), run.stderr[-2000:]
    image = Image.open(shot).convert("RGB")
    assert image.size == (1000, 2400)
    pixels = np.asarray(image).reshape(-1, 3).astype(int)
    assert (pixels.min(axis=1) < 200).mean() > 0.02  # text and plots, not a blank page
    # matplotlib's first colour (C0, #1f77b4) only appears if the embedded PNGs were drawn
    c0 = np.abs(pixels - [31, 119, 180]).max(axis=1) < 30
    assert c0.sum() > 200, c0.sum()
