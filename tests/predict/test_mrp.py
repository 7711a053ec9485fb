"""MRP: the poststratification table, its checks, the poststratification arithmetic, the
collapse of bernoulli rows into binomial cells, and the simulated-survey example.

The arithmetic is tested on a synthetic posterior (no sampling), so those tests are exact
and fast; the statistical claims (MRP beats the raw means, intervals cover, collapsed and
row-level fits agree) need real fits and are marked slow.
"""

from __future__ import annotations

import sys
import types
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import xarray as xr
from scipy import special

import hierbayes as hb
from hierbayes.design.collapse import (
    CollapsedDesign,
    collapse_design,
    collapse_for_fit,
    count_cells,
)
from hierbayes.errors import DataError, SpecError
from hierbayes.families import get_family
from hierbayes.params import FIXED_DIM, block_names
from hierbayes.predict.mrp import Poststrat, cell_predictions, check_table, composition, poststratify
from hierbayes.predict.raking import rake

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
sys.path.insert(0, str(EXAMPLES))

import mrp_simulation as sim  # noqa: E402

SMALL_FORMULA = "y ~ male + repvote + region + (1 | state) + (1 | eth) + (1 | age) + (1 | educ)"


# ------------------------------------------------------------------------------ fixtures


@pytest.fixture(scope="module")
def truth() -> sim.Truth:
    return sim.simulate_truth()


@pytest.fixture(scope="module")
def survey(truth) -> pd.DataFrame:
    return sim.simulate_survey(truth, n=2000, seed=3)


@pytest.fixture(scope="module")
def model(survey) -> hb.Model:
    return hb.Model(SMALL_FORMULA, survey, family="bernoulli", collapse=True)


def fake_fit(
    model: hb.Model, chains: int = 2, draws: int = 30, seed: int = 0, spread: float = 1.0
) -> types.SimpleNamespace:
    """A stand-in for a Fit: random posterior draws with the names a real fit has.

    ``spread`` scales the draw-to-draw variation of the coefficients and group effects
    around fixed centres (the group sds stay near 0.5).
    """
    rng = np.random.default_rng(seed)
    design = model.design
    slopes = [n for n in design.fixed_names if n != "Intercept"]
    data = {
        "Intercept": (("chain", "draw"), -0.2 + spread * rng.normal(0, 0.3, (chains, draws))),
        "b": (("chain", "draw", FIXED_DIM), 0.2 + spread * rng.normal(0, 0.5, (chains, draws, len(slopes)))),
    }
    coords = {FIXED_DIM: slopes}
    for block, names in zip(design.groups, block_names(model.spec)):
        J, K = block.n_levels, block.n_columns
        sd = np.abs(rng.normal(0.5, 0.1, (chains, draws, K)))
        centre = rng.normal(0, 0.5, (1, 1, J, K))
        data[names.sd] = (("chain", "draw", names.column_dim), sd)
        data[names.effects] = (
            ("chain", "draw", names.level_dim, names.column_dim),
            centre + spread * rng.normal(0, 1, (chains, draws, J, K)) * sd[:, :, None, :],
        )
        coords[names.level_dim] = list(block.levels)
        coords[names.column_dim] = list(block.columns)
    posterior = xr.Dataset(data, coords=coords)
    return types.SimpleNamespace(model=model, posterior=posterior)


def manual_cell_means(fit, table: Poststrat) -> np.ndarray:
    """(S, C) inverse-logit of the linear predictor, written out by hand."""
    model = fit.model
    post = fit.posterior
    new = model.design.encoder.encode_new(table.cells)
    S = post.sizes["chain"] * post.sizes["draw"]
    beta = np.concatenate(
        [post["Intercept"].values.reshape(S, 1), post["b"].values.reshape(S, -1)], axis=1
    )
    eta = beta @ new.X.T
    for block, names in zip(new.groups, block_names(model.spec)):
        u = post[names.effects].values.reshape(S, -1)  # one intercept column per block
        assert (block.codes >= 0).all()
        eta += u[:, block.codes]
    return special.expit(eta)


# ========================================================================== Poststrat


def test_poststrat_counts_are_checked():
    cells = pd.DataFrame({"g": ["a", "b", "c"], "n": [10.0, 0.0, 5.5]})
    table = Poststrat(cells, count="n")
    assert table.total == 15.5 and table.n_cells == 3  # zero and fractional counts are fine
    with pytest.raises(DataError, match="count column 'm' is not in the table"):
        Poststrat(cells, count="m")
    with pytest.raises(DataError, match=r"finite numbers >= 0.*row 1"):
        Poststrat(cells.assign(n=[1.0, -2.0, 3.0]), count="n")
    with pytest.raises(DataError, match=r"row 2"):
        Poststrat(cells.assign(n=[1.0, 2.0, np.nan]), count="n")
    with pytest.raises(DataError, match="sums to 0"):
        Poststrat(cells.assign(n=0.0), count="n")


def test_poststrat_does_not_modify_input():
    cells = hb.datasets.load("poststrat_df")
    before = cells.copy()
    table = Poststrat(cells, count="n").join(hb.datasets.load("statelevel_predictors"), on="state")
    pd.testing.assert_frame_equal(cells, before)
    assert {"repvote", "region"} <= set(table.columns)
    assert table.predictor_keys == {"repvote": ("state",), "region": ("state",)}


def test_join_on_key(truth):
    table = truth.table
    cells = table.cells
    states = hb.datasets.load("statelevel_predictors")
    ak = states.loc[states["state"] == "AK", "repvote"].item()
    assert np.all(cells.loc[cells["state"] == "AK", "repvote"] == ak)
    assert table.n_cells == 12000 and table.total == 228_443_347
    assert cells["region"].cat.categories.tolist() == ["Northeast", "North Central", "South", "West"]


def test_join_errors():
    cells = hb.datasets.load("poststrat_df")
    states = hb.datasets.load("statelevel_predictors")
    table = Poststrat(cells, count="n")
    with pytest.raises(DataError, match=r"no row in the predictors: 'WY'"):
        table.join(states[states["state"] != "WY"], on="state")
    renamed = states.assign(state=states["state"].astype(str).replace({"WY": "Wy"}))
    with pytest.raises(DataError, match=r"close spellings: 'WY' ~ 'Wy'"):
        table.join(renamed, on="state")
    with pytest.raises(DataError, match="several rows for key"):
        table.join(pd.concat([states, states.iloc[:1]]), on="state")
    with pytest.raises(DataError, match="already in the poststratification table"):
        table.join(states, on="state").join(states, on="state")
    with pytest.raises(DataError, match="key column"):
        table.join(states, on="State")


def test_augment_joins_the_same_predictors(truth, survey):
    bare = survey.drop(columns=["repvote", "region"])
    back = truth.table.augment(bare)
    pd.testing.assert_series_equal(back["repvote"], survey["repvote"])
    assert back["region"].astype(str).tolist() == survey["region"].astype(str).tolist()


def test_subgroups_and_margins(truth):
    table = truth.table
    codes, groups = table.subgroups(["state", "eth"])
    assert len(groups) == 200 and codes.max() == 199
    assert list(groups.columns) == ["state", "eth"]
    margin = table.margin("educ")
    assert margin.index.tolist() == ["No HS", "HS", "Some college", "4-Year College", "Post-grad"]
    assert margin.sum() == table.total
    with pytest.raises(DataError, match="column.*'State'.*not in the poststratification table"):
        table.subgroups("State")


# ==================================================================== coding checks


def test_check_table_finds_misspelled_levels(truth, model):
    cells = truth.table.cells
    cells["educ"] = cells["educ"].cat.rename_categories({"Post-grad": "Postgrad"})
    with pytest.raises(DataError, match=r"'Post-grad' \(survey\) vs 'Postgrad' \(table\)"):
        check_table(Poststrat(cells, count="n"), model)


def test_check_table_finds_other_codings(truth, model):
    cells = truth.table.cells
    with pytest.raises(DataError, match=r"lacks column\(s\) 'repvote', 'region'.*Poststrat.join"):
        check_table(Poststrat(hb.datasets.load("poststrat_df"), count="n"), model)
    recoded = cells.assign(male=(cells["male"] > 0).astype(float))
    with pytest.raises(DataError, match="'male' is coded \\[-0.5, 0.5\\] in the survey"):
        check_table(Poststrat(recoded, count="n"), model)
    regions = cells.assign(region=cells["region"].cat.rename_categories({"West": "Pacific"}))
    with pytest.raises(DataError, match="'region'"):
        check_table(Poststrat(regions, count="n"), model)


def test_check_table_accepts_absent_and_uncovered_levels(truth, model, survey):
    coverage = check_table(truth.table, model)
    assert coverage.table_only == {}  # every state, ethnicity, age, education was sampled
    ca = Poststrat(truth.table.cells.query("state == 'CA'"), count="n")
    coverage = check_table(ca, model)
    assert "CA" not in coverage.survey_only["state"] and len(coverage.survey_only["state"]) == 49


# ============================================================== poststratify arithmetic


def test_population_total_is_the_count_weighted_mean_of_cells(truth, model):
    fit = fake_fit(model)
    table = truth.table
    whole = poststratify(fit, table, by=None)
    cells = cell_predictions(fit, table).values
    weighted = np.tensordot(cells, table.counts, axes=([2], [0])) / table.total
    np.testing.assert_allclose(whole.draws.values[..., 0], weighted, rtol=1e-12, atol=0)
    # and the cell predictions are the linear predictor written out by hand
    np.testing.assert_allclose(cells.reshape(-1, table.n_cells), manual_cell_means(fit, table), rtol=1e-12)
    assert whole.summary().index.tolist() == ["population"]


def test_state_estimates_match_manual_arithmetic(truth, model):
    fit = fake_fit(model)
    table = truth.table
    result = poststratify(fit, table, by="state")
    p = manual_cell_means(fit, table)
    n = table.counts
    state = table.cells["state"].astype(str).to_numpy()
    for s in ("AL", "WY", "CA"):
        m = state == s
        expected = p[:, m] @ n[m] / n[m].sum()
        got = result.draws.sel(subgroup=s).values.reshape(-1)
        np.testing.assert_allclose(got, expected, rtol=1e-12)
    summary = result.summary(prob=0.9)
    assert summary.index.name == "state" and len(summary) == 50
    assert {"mean", "sd", "lower", "upper", "population", "respondents", "sample_mean"} <= set(summary.columns)
    assert summary.attrs["interval"].startswith("90%")
    assert summary["population"].sum() == pytest.approx(table.total)


def test_nested_subgroups_aggregate_to_their_parent(truth, model):
    fit = fake_fit(model)
    table = truth.table
    by_state = poststratify(fit, table, by="state").draws
    by_two = poststratify(fit, table, by=["state", "eth"])
    pop = by_two.groups["population"].to_numpy()
    values = by_two.draws.values
    for s in ("NY", "ND"):
        m = by_two.groups["state"].astype(str).to_numpy() == s
        combined = values[..., m] @ pop[m] / pop[m].sum()
        np.testing.assert_allclose(combined, by_state.sel(subgroup=s).values, rtol=1e-12)
    assert by_two.summary().index.names == ["state", "eth"]
    by_region = poststratify(fit, table, by="region")  # a joined predictor works as `by`
    assert by_region.draws.sizes["subgroup"] == 4


def test_zero_count_cells_change_nothing(truth, model):
    fit = fake_fit(model)
    cells = truth.table.cells
    extra = cells.iloc[:50].assign(n=0.0)
    padded = Poststrat(pd.concat([cells, extra], ignore_index=True), count="n")
    a = poststratify(fit, truth.table, by="state").draws.values
    b = poststratify(fit, padded, by="state").draws.values
    np.testing.assert_allclose(a, b, rtol=1e-12)


def test_respondents_and_sample_means(truth, model, survey):
    result = poststratify(fake_fit(model), truth.table, by="state")
    summary = result.summary()
    counts = survey["state"].astype(str).value_counts()
    np.testing.assert_array_equal(summary["respondents"].to_numpy(), counts.reindex(summary.index.astype(str)).to_numpy())
    means = survey.groupby(survey["state"].astype(str))["y"].mean()
    np.testing.assert_allclose(summary["sample_mean"].to_numpy(), means.reindex(summary.index.astype(str)).to_numpy())


def test_states_without_respondents(truth, survey):
    absent = ["WY", "VT", "AK"]
    kept = survey[~survey["state"].isin(absent)].reset_index(drop=True)
    m = hb.Model(SMALL_FORMULA, kept, family="bernoulli")
    fit = fake_fit(m, chains=2, draws=200, spread=0.1)
    with pytest.warns(UserWarning, match="state: 3 level"):
        result = poststratify(fit, truth.table, by="state", random_seed=3)
    assert set(result.new_levels["state"]) == set(absent)
    note = next(n for n in result.notes if n.startswith("state:"))
    assert "no respondents" in note and "sd_state" in note and "repvote, region" in note
    summary = result.summary()
    assert (summary.loc[absent, "respondents"] == 0).all()
    assert summary.loc[absent, "sample_mean"].isna().all()
    assert np.isfinite(summary.loc[absent, "mean"]).all()
    # a fresh effect per draw (sd about 0.5 on the logit scale) widens the posterior far
    # beyond that of the same state with the effect set to 0 (draws vary 10x less)
    with pytest.warns(UserWarning, match="set to zero"):
        zero = poststratify(fit, truth.table, by="state", new_groups="zero")
    assert (summary.loc[absent, "sd"] > 3 * zero.summary().loc[absent, "sd"]).all()
    observed = summary.drop(index=absent)
    assert summary.loc[absent, "sd"].min() > 3 * observed["sd"].max()
    with pytest.raises(DataError, match=r"levels the model was not fit with.*state: .*'WY'"):
        poststratify(fit, truth.table, by="state", new_groups="error")
    # same seed, same draws
    with pytest.warns(UserWarning):
        again = poststratify(fit, truth.table, by="state", random_seed=3)
    np.testing.assert_array_equal(again.draws.values, result.draws.values)


def test_poststratify_argument_errors(truth, model):
    fit = fake_fit(model)
    with pytest.raises(DataError, match="must be a hierbayes.Poststrat"):
        poststratify(fit, truth.table.cells, by="state")
    with pytest.raises(DataError, match="new_groups"):
        poststratify(fit, truth.table, by="state", new_groups="drop")
    with pytest.raises(DataError, match="not in the poststratification table"):
        poststratify(fit, truth.table, by="county")


# ====================================================================== diagnostics


def test_composition(truth, survey):
    comp = composition(survey, truth.table)
    assert set(comp["variable"]) == {"state", "eth", "male", "age", "educ"}
    for _, part in comp.groupby("variable"):
        assert part["sample"].sum() == pytest.approx(1.0)
        assert part["population"].sum() == pytest.approx(1.0)
    educ = comp[comp["variable"] == "educ"].set_index("level")
    assert educ.loc["Post-grad", "ratio"] > 1 > educ.loc["No HS", "ratio"]  # the survey's bias


def test_rake_matches_margins(truth, survey):
    margins = {v: truth.table.margin(v) for v in ("state", "eth", "age")}
    w = rake(survey, margins)
    for column, margin in margins.items():
        got = pd.Series(w).groupby(survey[column].astype(str).to_numpy()).sum()
        expected = margin.copy()
        expected.index = expected.index.astype(str)
        np.testing.assert_allclose(got.reindex(expected.index), expected, rtol=1e-6)
    with pytest.raises(DataError, match="no respondents"):
        rake(survey[survey["state"] != "WY"], margins)


def test_mrp_plots(truth, model):
    import matplotlib

    matplotlib.use("Agg")
    from hierbayes import plots

    result = poststratify(fake_fit(model), truth.table, by="state")
    order = truth.table.cells.groupby("state", observed=True)["repvote"].first()
    fig = plots.mrp_estimates(result, order=order, truth=truth.state)
    assert len(fig.axes[0].get_xticklabels()) == 50
    assert plots.mrp_composition(composition(model.data, truth.table)).axes
    assert plots.mrp_raw_vs_model(result).axes


# ============================================================================ collapse


def test_collapse_keeps_sufficient_statistics(model, survey):
    design = model.design
    assert isinstance(design, CollapsedDesign)
    source = design.source
    assert design.n_rows == len(survey) and design.n_cells == count_cells(source) < len(survey)
    assert design.trials.sum() == len(survey) and design.y.sum() == survey["y"].sum()
    assert design.spec.family == "binomial" and model.spec.family == "bernoulli"
    # every row's cell has exactly that row's predictors
    np.testing.assert_array_equal(design.X[design.cell_of_row], source.X)
    for cell_block, row_block in zip(design.groups, source.groups):
        np.testing.assert_array_equal(cell_block.codes[design.cell_of_row], row_block.codes)
        np.testing.assert_array_equal(cell_block.rows_per_level(), row_block.rows_per_level())
    # the priors were scaled on the rows, not on the cells
    rows_only = hb.Model(SMALL_FORMULA, survey, family="bernoulli", collapse=False)
    assert str(rows_only.priors) == str(model.priors)


def test_collapsed_likelihood_equals_row_likelihood(model):
    """sum over rows of the bernoulli log-lik = sum over cells of the binomial log-lik minus
    the log binomial coefficients, for any linear predictor."""
    design = model.design
    source = design.source
    rng = np.random.default_rng(5)
    eta_cells = rng.normal(0, 1.5, (3, design.n_cells))
    bern, binom = get_family("bernoulli"), get_family("binomial")
    rows = bern.log_likelihood(source.y, eta_cells[:, design.cell_of_row], "logit", {}, None).sum(axis=1)
    cells = binom.log_likelihood(design.y, eta_cells, "logit", {}, design.trials).sum(axis=1)
    n, s = design.trials, design.y
    const = (special.gammaln(n + 1) - special.gammaln(s + 1) - special.gammaln(n - s + 1)).sum()
    np.testing.assert_allclose(rows, cells - const, rtol=1e-10)


def test_collapse_options(survey):
    gaussian = hb.Model("repvote ~ male + (1 | state)", survey)
    assert gaussian.design is collapse_for_fit(gaussian.design, "auto")
    with pytest.raises(SpecError, match="only bernoulli and binomial"):
        collapse_design(gaussian.design)
    with pytest.raises(SpecError, match="only bernoulli and binomial"):
        hb.Model("repvote ~ male + (1 | state)", survey, collapse=True)
    with pytest.raises(SpecError, match="collapse="):
        hb.Model(SMALL_FORMULA, survey, family="bernoulli", collapse="yes")
    rows = hb.Model(SMALL_FORMULA, survey, family="bernoulli", collapse=False)
    assert not isinstance(rows.design, CollapsedDesign)
    # a continuous predictor makes every row its own cell: "auto" leaves the rows alone
    noisy = survey.assign(x=np.random.default_rng(0).normal(size=len(survey)))
    auto = hb.Model("y ~ x + (1 | state)", noisy, family="bernoulli")
    assert not isinstance(auto.design, CollapsedDesign)
    forced = hb.Model("y ~ x + (1 | state)", noisy, family="bernoulli", collapse=True)
    assert forced.design.n_cells == len(survey)


def test_collapsed_encoder_predicts_rows_as_single_trials(model, survey):
    new = model.design.encoder.encode_new(survey.head(7))
    np.testing.assert_array_equal(new.trials, np.ones(7))


def test_collapse_binomial_rows():
    cbpp = hb.datasets.load("cbpp")
    doubled = pd.concat([cbpp, cbpp], ignore_index=True)
    m = hb.Model("incidence | trials(size) ~ period + (1 | herd)", doubled, family="binomial", collapse=True)
    assert m.design.n_cells == len(cbpp)
    assert m.design.trials.sum() == doubled["size"].sum() and m.design.y.sum() == doubled["incidence"].sum()


# ============================================================ fits (statistical claims)


@pytest.fixture(scope="module")
def example():
    import mrp_states

    return mrp_states.run()


@pytest.mark.slow
def test_example_mrp_beats_raw_and_covers(example):
    """Fixed seeds: the numbers examples/mrp_states.py prints."""
    comp = example.comparison
    assert comp.loc["MRP", "rmse"] <= 0.5 * comp.loc["raw sample mean", "rmse"]
    # 90% intervals over 50 states: a binomial(50, 0.9) count is below 40 with prob. < 1%
    assert 0.8 <= comp.loc["MRP", "coverage"] <= 1.0
    assert example.population_gap < 1e-12
    assert example.fit.model.design.n_cells < len(example.survey) / 2  # collapsed
    assert "Collapsed:" in str(example.fit.summary())


@pytest.fixture(scope="module")
def row_and_cell_fits(truth):
    """The same model and data fitted on rows and on cells (same seeds)."""
    survey = sim.simulate_survey(truth, n=1500, seed=4)
    formula = "y ~ male + repvote + (1 | state) + (1 | eth) + (1 | age)"
    fits = {}
    for collapse in (False, True):
        m = hb.Model(formula, survey, family="bernoulli", collapse=collapse)
        fits[collapse] = m.fit(draws=500, tune=500, chains=4, random_seed=11, progressbar=False)
    return fits


@pytest.mark.slow
def test_row_and_cell_fits_agree(row_and_cell_fits, truth):
    rows, cells = row_and_cell_fits[False], row_and_cell_fits[True]
    assert isinstance(cells.model.design, CollapsedDesign)
    assert not isinstance(rows.model.design, CollapsedDesign)
    a = rows.poststratify(truth.table, by="state", random_seed=1).summary()
    b = cells.poststratify(truth.table, by="state", random_seed=1).summary()
    # difference of two independent MCMC estimates, in units of their Monte Carlo error
    mcse = np.sqrt(a["sd"] ** 2 / a["ess_bulk"] + b["sd"] ** 2 / b["ess_bulk"])
    z = (a["mean"] - b["mean"]) / mcse
    assert np.abs(z).max() < 4.0, z.sort_values()
    fa, fb = rows.fixef(), cells.fixef()
    zf = (fa["mean"] - fb["mean"]) / np.sqrt(fa["sd"] ** 2 / fa["ess_bulk"] + fb["sd"] ** 2 / fb["ess_bulk"])
    assert np.abs(zf).max() < 4.0, zf
    # posterior sds agree too (the same posterior, not just the same centre)
    np.testing.assert_allclose(a["sd"], b["sd"], rtol=0.25)
