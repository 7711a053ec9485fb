"""The kinds of ``fit.ppc().plot(kind=...)``: which fit which response, what the new ones
(ecdf, intervals, scatter_avg, error_hist) draw, the errors for the others; caterpillar
plots that stay readable with 200 groups. Prior draws stand in for a posterior (fast)."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import pytest  # noqa: E402
from matplotlib.collections import PathCollection  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402
from test_predict import count_data, logit_data  # noqa: E402

import hierbayes as hb  # noqa: E402
from hierbayes.plots.common import MAX_FIGURE_HEIGHT, row_figure_height, thinned_rows  # noqa: E402
from hierbayes.predict.ppc_kinds import (  # noqa: E402
    PLOT_KINDS,
    checked_plot_kind,
    default_plot_kind,
    plot_kinds,
)


def _render(fig, path) -> Figure:
    assert isinstance(fig, Figure)
    fig.savefig(path, dpi=50)
    assert path.stat().st_size > 5_000
    return fig


@pytest.fixture(scope="module")
def sleep_check():
    df = hb.datasets.load("sleepstudy")
    fit = hb.Model("Reaction ~ Days + (Days | Subject)", df).fit(backend="prior", draws=100, chains=2, random_seed=1)
    return fit.ppc(random_seed=1)


@pytest.fixture(scope="module")
def count_check():
    fit = hb.Model("y ~ x + (1 | g)", count_data(), family="poisson").fit(backend="prior", draws=60, chains=2, random_seed=1)
    return fit.ppc(random_seed=1)


@pytest.fixture(scope="module")
def binary_check():
    fit = hb.Model("y ~ x + arm + (1 | g)", logit_data(), family="bernoulli").fit(backend="prior", draws=60, chains=2, random_seed=1)
    return fit.ppc(random_seed=1)


@pytest.fixture(scope="module")
def many_groups():
    rng = np.random.default_rng(1)
    groups = np.repeat([f"school{i:03d}" for i in range(200)], 4)
    x = rng.normal(size=groups.size)
    y = 1 + 0.5 * x + np.repeat(rng.normal(size=200), 4) + rng.normal(size=groups.size)
    df = pd.DataFrame({"y": y, "x": x, "g": groups})
    return hb.Model("y ~ x + (1 | g)", df).fit(backend="prior", draws=50, chains=2, random_seed=1)


def test_kinds_per_response_and_defaults():
    assert plot_kinds("continuous")[0] == "density"
    for kind in ("ecdf", "intervals", "scatter_avg", "error_hist"):
        assert kind in plot_kinds("continuous") and kind in plot_kinds("count")
    # counts and binary data get their bar plots (rootogram), binary no error histograms
    assert default_plot_kind("count") == default_plot_kind("binomial") == default_plot_kind("ordinal") == "rootogram"
    assert "rootogram" in plot_kinds("binary") and "error_hist" not in plot_kinds("binary")
    assert default_plot_kind("binary") == "calibration" and default_plot_kind("binary", "prior") == "stat"
    assert checked_plot_kind(None, "count") == "rootogram"
    assert checked_plot_kind("ecdf", "count") == "ecdf"
    assert set(PLOT_KINDS) == {"continuous", "censored", "count", "binomial", "binary", "ordinal"}
    # right-censored responses: Kaplan-Meier curves first (tests/predict/test_survival.py)
    assert default_plot_kind("censored") == "km" and "km" in plot_kinds("continuous")


def test_unknown_kind_lists_the_valid_ones_for_the_response(sleep_check, binary_check):
    with pytest.raises(hb.SpecError, match=r"valid PPC kinds for a continuous response are \['density', 'ecdf'"):
        sleep_check.plot("violin")
    with pytest.raises(hb.SpecError, match="a plot for binary responses"):
        sleep_check.plot("calibration")
    with pytest.raises(hb.SpecError, match=r"binary response are \['calibration', 'rootogram', 'pit', 'stat'\]"):
        binary_check.plot("error_hist")
    with pytest.raises(hb.SpecError, match="order='fitted' applies to kind='intervals' only"):
        sleep_check.plot("density", order="fitted")
    with pytest.raises(hb.SpecError, match=r"order='Age': not a column of the data; use 'fitted' or one of \['Reaction'"):
        sleep_check.plot("intervals", order="Age")
    assert sleep_check.plot_kinds == plot_kinds("continuous")


@pytest.mark.parametrize("kind", ["ecdf", "intervals", "scatter_avg", "error_hist"])
def test_new_kinds_render_for_a_continuous_response(kind, sleep_check, tmp_path):
    _render(sleep_check.plot(kind), tmp_path / f"{kind}.png")
    plt.close("all")


@pytest.mark.parametrize("kind", ["ecdf", "intervals", "error_hist"])
def test_kinds_render_for_counts(kind, count_check, tmp_path):
    _render(count_check.plot(kind), tmp_path / f"{kind}.png")
    plt.close("all")


def test_binary_kinds_render(binary_check, tmp_path):
    for kind in binary_check.plot_kinds:
        _render(binary_check.plot(kind), tmp_path / f"{kind}.png")
    plt.close("all")


def test_ecdf_pairs_the_overlay_with_the_pit_difference(sleep_check):
    fig = sleep_check.plot("ecdf")
    titles = [ax.get_title() for ax in fig.axes]
    assert titles == ["ECDFs: data (black) and replications", "PIT-ECDF minus uniform"]
    plt.close(fig)


def _observed_heights(fig) -> np.ndarray:
    """The y values of the black observed markers of an intervals plot."""
    (observed,) = [
        c for c in fig.axes[0].collections
        if isinstance(c, PathCollection) and np.allclose(c.get_facecolor()[0][:3], 0)
    ]
    return np.asarray(observed.get_offsets())[:, 1]


def test_intervals_follow_the_requested_order(sleep_check):
    y = sleep_check.y
    np.testing.assert_allclose(_observed_heights(sleep_check.plot("intervals")), y)
    by_fit = np.argsort(sleep_check.yrep.mean(axis=0), kind="stable")
    fig = sleep_check.plot("intervals", order="fitted")
    np.testing.assert_allclose(_observed_heights(fig), y[by_fit])
    assert fig.axes[0].get_xlabel() == "observations ordered by the predictive mean"
    days = np.asarray(sleep_check.model.data["Days"])
    np.testing.assert_allclose(_observed_heights(sleep_check.plot("intervals", order="Days")), y[np.argsort(days, kind="stable")])
    plt.close("all")


def test_scatter_avg_plots_data_against_the_predictive_mean(sleep_check):
    fig = sleep_check.plot("scatter_avg")
    (points,) = fig.axes[0].collections
    xy = np.asarray(points.get_offsets())
    np.testing.assert_allclose(xy[:, 0], sleep_check.yrep.mean(axis=0))
    np.testing.assert_allclose(xy[:, 1], sleep_check.y)
    plt.close(fig)


def test_error_hist_shows_a_few_single_draws(sleep_check):
    fig = sleep_check.plot("error_hist")
    panels = [ax for ax in fig.axes if ax.get_visible()]
    assert len(panels) == 6
    n = sleep_check.y.size
    for ax in panels:  # every panel holds all n errors of one draw
        assert sum(p.get_height() for p in ax.patches) == n
    fewer = sleep_check.plot("error_hist", num_samples=2)
    assert len([ax for ax in fewer.axes if ax.get_visible()]) == 2
    plt.close("all")


def test_thinned_rows_keep_the_ends_and_do_not_overlap():
    assert thinned_rows(10, 11.0).tolist() == list(range(10))
    rows = thinned_rows(200, 11.0)
    assert rows[0] == 0 and rows[-1] == 199
    steps = np.diff(rows)
    assert steps.min() >= 2 and len(rows) < 100
    assert row_figure_height(5) == 3.0 and row_figure_height(1000) == MAX_FIGURE_HEIGHT


def test_caterpillar_with_200_groups_stays_readable(many_groups, tmp_path):
    fig = _render(many_groups.plot_caterpillar(), tmp_path / "caterpillar200.png")
    assert fig.get_figheight() <= MAX_FIGURE_HEIGHT
    ax = fig.axes[0]
    labels = [t.get_text() for t in ax.get_yticklabels()]
    assert 30 <= len(labels) < 100
    # sorted: the lowest and the highest level are among those named
    means = many_groups.ranef()["g"]["Intercept"]["mean"].sort_values(kind="stable")
    assert labels[0] == means.index[0] and labels[-1] == means.index[-1]
    assert "200 levels of g (sorted), 1 in" in ax.get_ylabel()
    plt.close(fig)


def test_caterpillar_shows_the_most_extreme_levels(many_groups, tmp_path):
    fig = _render(many_groups.plot_caterpillar(extremes=20), tmp_path / "caterpillar20.png")
    ax = fig.axes[0]
    labels = [t.get_text() for t in ax.get_yticklabels()]
    means = many_groups.ranef()["g"]["Intercept"]["mean"]
    extreme = means.abs().sort_values(ascending=False, kind="stable").index[:20]
    assert sorted(labels) == sorted(extreme)
    assert [means[name] for name in labels] == sorted(means[extreme])  # sorted by effect
    assert "the 20 most extreme of 200 levels" in ax.get_title()
    with pytest.raises(hb.SpecError, match="extremes=0"):
        many_groups.plot_caterpillar(extremes=0)
    plt.close("all")


def test_a_rootogram_stops_near_the_data_and_says_where(count_check, tmp_path):
    # grouseticks (negative binomial): a replicate's 720 ran the axis far past the data's 85
    fig = _render(hb.plots.ppc(count_check, kind="rootogram"), tmp_path / "root.png")
    (ax,) = fig.axes
    top = float(np.nanmax(count_check.y))
    assert np.nanmax(count_check.yrep) > 10 * top  # prior draws: heavy-tailed replicates
    assert top < ax.get_xlim()[1] <= 3 * top * 1.05 + 1 and ax.get_xlim()[0] > -5
    (note,) = [t.get_text() for t in ax.texts if t.get_text().startswith("x-axis cut at")]
    assert f"(data's maximum {top:.4g})" in note and "of the replicated values" in note


def test_a_rootogram_whose_replicates_stay_near_the_data_is_not_cut():
    from hierbayes.plots.checks_axes import clip_rootogram

    fig, ax = plt.subplots()
    ax.set_xlim(-1, 36)
    clip_rootogram(fig, np.array([0, 5, 32]), np.array([[0, 3, 35], [1, 2, 30]]))
    assert ax.get_xlim() == (-1, 36) and not ax.texts
    plt.close(fig)


def test_the_density_check_shows_the_whole_observed_curve(sleep_check):
    # scots' attain (scores 1 to 10, many 10s): the observed density peaks at the end of its
    # range, where ArviZ's limits (5% above it) made its line stop at the top edge, as if cut off
    from hierbayes.plots.checks_axes import show_observed_density

    fig, ax = plt.subplots()
    x = np.linspace(1, 10, 50)
    ax.plot(x, 0.1 + 0.05 * np.sin(3 * x), color="C0")
    ax.plot(x, 0.562 * (x / 10) ** 8, color="k")
    ax.set_ylim(-0.028, 0.59)  # what ArviZ had set
    show_observed_density(fig)
    assert ax.get_ylim()[1] == pytest.approx(0.562 + 0.1 * (0.562 + 0.028))
    plt.close(fig)
    fig = hb.plots.ppc(sleep_check, kind="density")
    (ax,) = fig.axes
    low, high = ax.get_ylim()
    peak = max(np.nanmax(line.get_ydata()) for line in ax.lines)
    assert high >= peak + 0.1 * (peak - low) - 1e-12
    plt.close(fig)


@pytest.mark.parametrize("check, kind", [("binary_check", "calibration"), ("count_check", "rootogram"),
                                         ("sleep_check", "density")])
def test_check_axis_labels_are_named_and_inside_the_figure(request, check, kind):
    # the bernoulli calibration plot had its x label below the figure's edge
    fig = hb.plots.ppc(request.getfixturevalue(check), kind=kind)
    fig.canvas.draw()
    renderer = fig.canvas.get_renderer()
    for ax in fig.axes:
        label = ax.xaxis.label
        if kind == "calibration":
            assert label.get_text() == "predicted probability" and ax.get_ylabel() == "observed rate (CEP)"
        if label.get_text():
            assert label.get_window_extent(renderer).y0 >= 0  # not cut off below the figure
        ticks = [t for t in ax.get_xticklabels() if t.get_text()]
        assert all(t.get_window_extent(renderer).y0 >= 0 for t in ticks)
    plt.close(fig)
