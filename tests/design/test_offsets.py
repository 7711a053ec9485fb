"""Offsets: ``offset(expr)`` is added to the linear predictor with coefficient 1.

From the formula (and level equations) through the design, the default priors, every
likelihood form of the PyMC backend, collapsing into cells, the conditional draws of
integrated-out effects, predictions, the pointwise log-likelihood and poststratification.
Exact checks at fixed parameter values; one tiny fit for recovery and the reports; the
comparison with lme4 is slow.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import scipy.stats as st
import xarray as xr
from conftest import fit_quiet
from hypothesis import given, settings
from hypothesis import strategies as hst
from pymc_checks import group_mvn, jax_function, random_points

import hierbayes as hb
from hierbayes.backends.pymc.compile import compile_model
from hierbayes.design import build_design
from hierbayes.design.collapse import collapse_design, count_cells
from hierbayes.errors import DataError, FormulaSyntaxError
from hierbayes.params import FIXED_DIM
from hierbayes.predict.loglik import pointwise_log_likelihood
from hierbayes.predict.predict import encode_rows, prediction_draws
from hierbayes.priors import resolve_priors
from hierbayes.results.conditional import conditional_group_effects
from hierbayes.spec.levels import parse_levels
from hierbayes.spec.lower import parse_formula

DATA = Path(__file__).parent.parent / "data"


def _counts(seed: int = 3, n: int = 300, groups: int = 12) -> pd.DataFrame:
    """Poisson counts with exposure t: log mu = -1 + 0.5 x + log t + u_g. log t is nearly
    collinear with x, so a free coefficient for log(t) is poorly identified."""
    rng = np.random.default_rng(seed)
    g = rng.integers(0, groups, n)
    x = rng.normal(size=n)
    log_t = 1.5 + x + rng.normal(0, 0.1, n)
    u = rng.normal(0, 0.4, groups)
    y = rng.poisson(np.exp(-1.0 + 0.5 * x + log_t + u[g]))
    return pd.DataFrame({"y": y, "x": x, "t": np.exp(log_t), "g": pd.Categorical([f"g{j}" for j in g])})


def _gaussian(seed: int = 4, n: int = 120) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    g = rng.integers(0, 8, n)
    x = rng.normal(size=n)
    o = rng.normal(5, 2, n)
    y = 1.0 + 0.3 * x + o + rng.normal(0, 0.7, 8)[g] + rng.normal(0, 1, n)
    return pd.DataFrame({"y": y, "x": x, "o": o, "g": pd.Categorical([f"g{j}" for j in g])})


def _posterior(design, rng: np.random.Generator, draws: int = 6, extra: dict | None = None) -> xr.Dataset:
    """Made-up draws with the posterior's names (one chain) for an intercept + x + (1|g)
    model."""
    (block,) = design.groups
    J = block.n_levels
    coords = {"chain": [0], "draw": np.arange(draws)}
    ds = xr.Dataset(
        {
            "Intercept": (("chain", "draw"), rng.normal(-1, 0.1, (1, draws))),
            "b": (("chain", "draw", FIXED_DIM), rng.normal(0.5, 0.1, (1, draws, 1))),
            "sd_g": (("chain", "draw"), rng.uniform(0.2, 0.5, (1, draws))),
            "re_g": (("chain", "draw", "g__level", "g__term"), rng.normal(0, 0.4, (1, draws, J, 1))),
        },
        coords={**coords, FIXED_DIM: ["x"], "g__level": list(block.levels), "g__term": ["Intercept"]},
    )
    for name, values in (extra or {}).items():
        ds[name] = (("chain", "draw"), values)
    return ds


def _eta(posterior: xr.Dataset, design) -> np.ndarray:
    """(S, n) intercept + b x + u_g, without any offset, from the made-up draws."""
    b0 = posterior["Intercept"].values.reshape(-1, 1)
    b1 = posterior["b"].values.reshape(-1, 1)
    u = posterior["re_g"].values.reshape(b0.shape[0], -1)
    x = design.X[:, 1]
    return b0 + b1 * x[None, :] + u[:, design.groups[0].codes]


# ------------------------------------------------------------------------------ front ends


def test_offset_lowers_into_the_offsets_not_the_terms():
    spec = parse_formula("y ~ x + offset(log(t)) + (1|g)")
    assert spec.fixed.offsets == ("log(t)",)
    assert spec.fixed.terms == ("x",)
    assert spec.to_formula() == "y ~ x + offset(log(t)) + (1 | g)"
    again = parse_formula(spec.to_formula())
    assert (again.fixed, again.groups) == (spec.fixed, spec.groups)


def test_several_offsets_are_kept_in_order_without_duplicates():
    spec = parse_formula("y ~ offset(a) + x + offset(log(t)) + offset(a) - 1")
    assert spec.fixed.offsets == ("a", "log(t)")
    assert spec.fixed.terms == ("x",)
    assert not spec.fixed.intercept


_TERMS = ["x", "z", "x:z", "I(x**2)"]
_OFFSETS = ["t", "log(t)", "log(a + 1)", "I(2 * b)"]


@settings(max_examples=60, deadline=None)
@given(hst.lists(hst.sampled_from([("term", t) for t in _TERMS] + [("offset", o) for o in _OFFSETS]), max_size=6))
def test_offsets_round_trip_through_the_formula(items):
    rhs = " + ".join(t if kind == "term" else f"offset({t})" for kind, t in items) or "1"
    spec = parse_formula(f"y ~ {rhs} + (1 | g)")
    # terms in R's order (main effects first), the same as without the offsets
    plain = " + ".join(t for kind, t in items if kind == "term") or "1"
    assert spec.fixed.terms == parse_formula(f"y ~ {plain} + (1 | g)").fixed.terms
    assert set(spec.fixed.terms) == {t for kind, t in items if kind == "term"}
    assert spec.fixed.offsets == tuple(dict.fromkeys(t for kind, t in items if kind == "offset"))
    again = parse_formula(spec.to_formula())
    assert again.fixed == spec.fixed


@pytest.mark.parametrize(
    "formula, message",
    [
        ("y ~ x + (1 + offset(t) | g)", "'offset(t)' inside a group term"),
        ("offset(t) ~ x", "'offset(t)' cannot be the response"),
        ("y ~ offset(a, b)", "offset() takes one expression"),
        ("y ~ x:offset(t)", "'offset(t)' must be a term of its own"),
        ("y ~ x - offset(t)", "an offset cannot be removed"),
    ],
)
def test_misplaced_offsets_are_errors_naming_the_term(formula, message):
    with pytest.raises(FormulaSyntaxError) as err:
        parse_formula(formula)
    assert message in str(err.value)


def test_level_equations_take_an_offset_in_the_level_1_equation():
    spec = parse_levels("y ~ b0 + b1*x + offset(log(t)); b0 ~ 1 | g; b1 ~ 1")
    assert spec.fixed.offsets == ("log(t)",)
    assert spec.fixed.terms == ("x",)
    assert "offset(log(t))" in spec.levels.text
    with pytest.raises(FormulaSyntaxError, match="an offset belongs in the level-1 equation"):
        parse_levels("y ~ b0 + b1*x; b0 ~ 1 + offset(t) | g; b1 ~ 1")


# ---------------------------------------------------------------------------------- design


def test_design_offset_is_the_sum_of_the_evaluated_expressions():
    df = _counts()
    spec = parse_formula("y ~ x + offset(log(t)) + offset(x) + (1 | g)", family="poisson")
    design = build_design(spec, df)
    assert design.fixed_names == ("Intercept", "x")
    np.testing.assert_allclose(design.offset, np.log(df["t"]) + df["x"])
    new = design.encoder.encode_new(df.assign(t=2 * df["t"]).drop(columns="y"))
    np.testing.assert_allclose(new.offset, np.log(2 * df["t"]) + df["x"])
    assert build_design(parse_formula("y ~ x + (1 | g)", family="poisson"), df).offset is None


def test_offset_of_a_column_and_of_an_I_expression():
    df = _gaussian()
    design = build_design(parse_formula("y ~ x + offset(o) + offset(I(o / 2)) + (1 | g)"), df)
    np.testing.assert_allclose(design.offset, 1.5 * df["o"])


def test_non_finite_offsets_name_the_expression_and_the_rows():
    df = _counts()
    df.loc[[4, 9], "t"] = [0.0, -1.0]
    spec = parse_formula("y ~ x + offset(log(t)) + (1 | g)", family="poisson")
    with pytest.raises(DataError, match=r"offset 'log\(t\)' has non-finite values .* rows 4, 9"):
        build_design(spec, df)


def test_missing_offset_values_follow_the_missing_policy():
    df = _counts()
    df.loc[[2, 5], "t"] = np.nan
    spec = parse_formula("y ~ x + offset(log(t)) + (1 | g)", family="poisson")
    with pytest.raises(DataError, match="'t'"):
        build_design(spec, df)
    with pytest.warns(UserWarning, match="dropped 2 rows"):
        design = build_design(spec, df, missing="drop")
    assert design.n_obs == len(df) - 2
    np.testing.assert_allclose(design.offset, np.log(df["t"].dropna()))


def test_offset_columns_are_required_in_data_and_newdata():
    df = _counts()
    spec = parse_formula("y ~ x + offset(log(t)) + (1 | g)", family="poisson")
    with pytest.raises(DataError, match=r"column 't' \(used by offset 'log\(t\)'\) is not in data"):
        build_design(spec, df.drop(columns="t"))
    design = build_design(spec, df)
    with pytest.raises(DataError, match=r"column 't' \(used by offset 'log\(t\)'\) is not in newdata"):
        design.encoder.encode_new(df.drop(columns=["t", "y"]))


def test_collapsing_keeps_rows_with_different_offsets_apart():
    rng = np.random.default_rng(5)
    n = 400
    df = pd.DataFrame({
        "y": rng.integers(0, 2, n), "x": rng.integers(0, 2, n).astype(float),
        "g": pd.Categorical(rng.choice(["a", "b"], n)), "t": rng.choice([1.0, 2.0], n),
    })
    plain = build_design(parse_formula("y ~ x + (1 | g)", family="bernoulli"), df)
    design = build_design(parse_formula("y ~ x + offset(log(t)) + (1 | g)", family="bernoulli"), df)
    assert count_cells(plain) == 4
    assert count_cells(design) == 8
    cells = collapse_design(design)
    np.testing.assert_allclose(cells.offset[cells.cell_of_row], design.offset)
    assert cells.trials.sum() == n


# ---------------------------------------------------------------------------------- priors


def test_default_intercept_prior_is_centred_on_the_offset_model():
    df = _counts()
    design = build_design(parse_formula("y ~ x + offset(log(t)) + (1 | g)", family="poisson"), df)
    mu = resolve_priors(design).get("Intercept").kwargs["mu"]
    assert mu == pytest.approx(np.log(df["y"].sum() / df["t"].sum()))


def test_gaussian_default_priors_are_those_of_y_minus_the_offset():
    df = _gaussian()
    with_offset = build_design(parse_formula("y ~ x + offset(o) + (1 | g)"), df)
    shifted = build_design(parse_formula("y ~ x + (1 | g)"), df.assign(y=df["y"] - df["o"]))
    assert str(resolve_priors(with_offset)) == str(resolve_priors(shifted))


# -------------------------------------------------------------------------- PyMC backend


@pytest.mark.parametrize("parameterization", ["noncentered", "centered"])
def test_poisson_rows_likelihood_adds_the_offset(parameterization):
    df = _counts(n=80, groups=6)
    model = hb.Model("y ~ x + offset(log(t)) + (1 | g)", df, family="poisson")
    m = compile_model(model.design, model.priors, parameterization).model
    fn = jax_function(m, [m.logp(vars=[m["y"]]), m["Intercept"], m["b"], m["re_g"]])
    design = model.design
    for point in random_points(m, np.random.default_rng(1)):
        loglik, b0, b, re = fn(*point)
        eta = b0 + design.X[:, 1] * b[0] + re[design.groups[0].codes, 0] + np.log(df["t"].to_numpy())
        assert loglik == pytest.approx(st.poisson.logpmf(df["y"], np.exp(eta)).sum(), rel=1e-9)


def test_gaussian_marginal_likelihood_with_an_offset_is_the_dense_density():
    df = _gaussian()
    model = hb.Model("y ~ x + offset(o) + (1 | g)", df)
    compiled = compile_model(model.design, model.priors, "marginal")
    assert compiled.likelihood == "marginal"
    m = compiled.model
    fn = jax_function(m, [m.potentials[0], m["Intercept"], m["b"], m["sd_g"], m["sigma"]])
    design = model.design
    block = design.groups[0]
    for point in random_points(m, np.random.default_rng(2)):
        pot, b0, b, sd, sigma = fn(*point)
        mean = design.X @ np.r_[b0, b] + df["o"].to_numpy()
        cov = np.atleast_2d(float(np.ravel(sd)[0]) ** 2)
        expected = group_mvn(df["y"].to_numpy(), mean, block.codes, block.X, cov, float(sigma))
        assert pot == pytest.approx(expected, rel=1e-9)


@pytest.mark.parametrize("formula", ["y ~ x + offset(o) + (1 | g)", "y ~ x + offset(o)"])
def test_gaussian_cross_products_with_an_offset_equal_the_rows(formula):
    df = _gaussian()
    model = hb.Model(formula, df)
    shifted = hb.Model(formula.replace(" + offset(o)", ""), df.assign(y=df["y"] - df["o"]))
    # non-centred: a centred random intercept would be drawn around the intercept in the
    # rows form only (hierarchical centring), and the two models' parameters would differ
    fast = compile_model(model.design, model.priors, "noncentered", likelihood_form="sufficient statistics")
    rows = compile_model(model.design, model.priors, "noncentered", likelihood_form="rows")
    assert fast.likelihood == "sufficient statistics"
    plain = compile_model(shifted.design, shifted.priors, "noncentered", likelihood_form="sufficient statistics")
    f_fast, f_rows = jax_function(fast.model, [fast.model.logp()]), jax_function(rows.model, [rows.model.logp()])
    f_plain = jax_function(plain.model, [plain.model.logp()])
    for point in random_points(rows.model, np.random.default_rng(3)):
        assert f_fast(*point)[0] == pytest.approx(f_rows(*point)[0], rel=1e-9)
        # the same as the model of y - offset without an offset (same priors too)
        assert f_fast(*point)[0] == pytest.approx(f_plain(*point)[0], rel=1e-9)


def test_conditional_draws_of_integrated_out_effects_use_y_minus_the_offset():
    df = _gaussian()
    with_offset = build_design(parse_formula("y ~ x + offset(o) + (1 | g)"), df)
    shifted = build_design(parse_formula("y ~ x + (1 | g)"), df.assign(y=df["y"] - df["o"]))
    rng = np.random.default_rng(0)
    posterior = _posterior(with_offset, rng, extra={"sigma": rng.uniform(0.8, 1.2, (1, 6))})
    a = conditional_group_effects(posterior, with_offset, "g", np.random.default_rng(1))
    b = conditional_group_effects(posterior, shifted, "g", np.random.default_rng(1))
    np.testing.assert_allclose(a.values, b.values)
    assert abs(float(a.mean())) < 1.0  # y - offset is centred near the intercept


def test_compiled_models_with_different_offsets_differ():
    """The offset is no column of X, but the compile fingerprint (which reuses cached
    samplers) still tells models with different offsets apart."""
    df = _counts(n=60, groups=5)
    one = hb.Model("y ~ x + offset(log(t)) + (1 | g)", df, family="poisson")
    two = hb.Model("y ~ x + offset(log(t)) + (1 | g)", df.assign(t=2 * df["t"]), family="poisson")
    np.testing.assert_array_equal(one.design.X, two.design.X)
    fp = [compile_model(m.design, m.priors, "noncentered").fingerprint for m in (one, two)]
    assert fp[0] != fp[1]


# ------------------------------------------------------------------- downstream of the fit


def test_pointwise_log_likelihood_uses_the_offset():
    df = _counts(n=80, groups=6)
    model = hb.Model("y ~ x + offset(log(t)) + (1 | g)", df, family="poisson")
    posterior = _posterior(model.design, np.random.default_rng(2))
    ll = pointwise_log_likelihood(posterior, model.spec, model.design).values.reshape(6, -1)
    eta = _eta(posterior, model.design) + np.log(df["t"].to_numpy())
    np.testing.assert_allclose(ll, st.poisson.logpmf(df["y"].to_numpy(), np.exp(eta)), rtol=1e-10)


@pytest.mark.parametrize("groups", ["include", "exclude", "marginal"])
def test_predictions_use_the_offset_of_newdata(groups):
    df = _counts(n=80, groups=6)
    model = hb.Model("y ~ x + offset(log(t)) + (1 | g)", df, family="poisson")
    posterior = _posterior(model.design, np.random.default_rng(3))
    new = df.drop(columns="y").iloc[:10]
    means = [
        prediction_draws(posterior, model, encode_rows(model, frame), kind="mean", groups=groups,
                         rng=np.random.default_rng(4))
        for frame in (new, new.assign(t=2 * new["t"]))
    ]
    np.testing.assert_allclose(means[1], 2 * means[0], rtol=1e-10)  # log link: exposure x 2
    training = prediction_draws(posterior, model, encode_rows(model), kind="linear", groups="include")
    np.testing.assert_allclose(training, _eta(posterior, model.design) + np.log(df["t"].to_numpy()))


def test_identity_link_offset_shifts_the_prediction():
    df = _gaussian()
    model = hb.Model("y ~ x + offset(o) + (1 | g)", df)
    posterior = _posterior(model.design, np.random.default_rng(5), extra={"sigma": np.ones((1, 6))})
    new = df.drop(columns="y").iloc[:5]
    a, b = (
        prediction_draws(posterior, model, encode_rows(model, f), kind="mean")
        for f in (new, new.assign(o=new["o"] + 3.0))
    )
    np.testing.assert_allclose(b - a, 3.0)


def test_poststratification_table_needs_the_offset_columns():
    from hierbayes.predict.mrp_checks import check_table

    df = _counts()
    model = hb.Model("y ~ x + offset(log(t)) + (1 | g)", df, family="poisson")
    cells = pd.DataFrame({"g": ["g0", "g1"], "x": [0.0, 0.0], "n": [10, 20]})
    with pytest.raises(DataError, match=r"lacks column\(s\) 't'.*the model has an offset"):
        check_table(hb.Poststrat(cells, count="n"), model)


# ----------------------------------------------------------------- one tiny fit: recovery


@pytest.fixture(scope="module")
def count_fit():
    df = _counts()
    model = hb.Model("y ~ x + offset(log(t)) + (1 | g)", df, family="poisson")
    return fit_quiet(model, chains=2, draws=200, tune=200), df


def test_fit_recovers_the_slope_and_intercept_with_the_offset_fixed(count_fit):
    fit, _ = count_fit
    fixef = fit.fixef()
    assert list(fixef.index) == ["Intercept", "x"]  # no row for the offset
    # log(t) is nearly collinear with x: with a free coefficient for it, x's posterior sd
    # is ten times larger and its mean wanders; fixed at 1, both are sharp and right.
    assert fixef.loc["x", "sd"] < 0.05
    assert abs(fixef.loc["x", "mean"] - 0.5) < 4 * fixef.loc["x", "sd"]
    assert abs(fixef.loc["Intercept", "mean"] - (-1.0)) < 0.5


def test_summary_prints_the_offset_and_predictions_follow_exposure(count_fit):
    fit, df = count_fit
    text = str(fit.summary())
    assert "Offset: log(t) (coefficient fixed at 1)" in text
    assert "offset(log(t))" not in text.split("Fixed effects")[1]
    new = df.drop(columns="y").iloc[:4]
    one = fit.predict(new, random_seed=1).mean
    two = fit.predict(new.assign(t=2 * new["t"]), random_seed=1).mean
    np.testing.assert_allclose(two, 2 * one, rtol=1e-10)
    cells = new.assign(n=1.0)
    table = hb.Poststrat(cells, count="n")
    est = [fit.poststratify(t, random_seed=1).draws.values for t in
           (table, hb.Poststrat(cells.assign(t=2 * cells["t"]), count="n"))]
    np.testing.assert_allclose(est[1], 2 * est[0], rtol=1e-10)


def test_saved_fit_keeps_its_offset(count_fit, tmp_path):
    fit, df = count_fit
    fit.save(tmp_path / "fit.nc")
    loaded = hb.load(tmp_path / "fit.nc")
    assert loaded.spec.fixed.offsets == ("log(t)",)
    np.testing.assert_allclose(loaded.model.design.offset, np.log(df["t"]))


# ------------------------------------------------------------------------ reference (slow)


@pytest.mark.slow
def test_owls_poisson_offset_matches_glmer():
    """glmmTMB's Owls (Roulin & Bersier 2007), 599 rows, 27 nests. ``tests/data/owls.csv``
    was written and the reference computed in R 4 (lme4, glmmTMB) with::

        data(Owls, package = "glmmTMB"); d <- Owls
        for (v in c("FoodTreatment", "SexParent", "Nest")) d[[v]] <- as.character(d[[v]])
        write.csv(d[, c("Nest", "FoodTreatment", "SexParent", "ArrivalTime",
                        "SiblingNegotiation", "BroodSize", "NegPerChick")],
                  "owls.csv", row.names = FALSE)
        m <- glmer(SiblingNegotiation ~ FoodTreatment + SexParent + offset(log(BroodSize))
                   + (1 | Nest), family = poisson, data = Owls)
        summary(m)$coefficients; VarCorr(m)

    (Intercept) 0.6249263, FoodTreatmentSatiated -0.5762148, SexParentMale 0.0141754;
    sd(Nest) 0.45274 (Laplace).
    """
    df = pd.read_csv(DATA / "owls.csv")
    model = hb.Model(
        "SiblingNegotiation ~ FoodTreatment + SexParent + offset(log(BroodSize)) + (1 | Nest)",
        df, family="poisson",
    )
    fit = fit_quiet(model)
    fixef = fit.fixef()
    ref = {"Intercept": 0.6249263, "FoodTreatment[Satiated]": -0.5762148, "SexParent[Male]": 0.0141754}
    for term, value in ref.items():
        assert abs(fixef.loc[term, "mean"] - value) < 0.5 * fixef.loc[term, "sd"], term
    # not divergences: this default (non-centred, 22 rows per nest) gave 1 in 2000 draws,
    # a matter of the parameterization rule, not of the offset
    assert fit.diagnostics.max_r_hat <= 1.01
