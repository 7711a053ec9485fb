"""The speed paths of gaussian models give the same posterior as the per-row model.

* The integrated ("marginal") likelihood equals the dense multivariate normal density of
  every group, exactly (at random parameter values).
* The sufficient-statistics likelihood equals the per-row likelihood, exactly.
* Group effects drawn after sampling follow their exact conditional posterior.
* Fitted by NUTS, the marginal model and the per-row model agree within Monte Carlo error.
* The parameterization is chosen per term from the data, reported and overridable.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import xarray as xr
from conftest import fit_quiet
from pymc_checks import group_mvn as _group_mvn
from pymc_checks import jax_function as _jax
from pymc_checks import random_points as _random_points

import hierbayes as hb
from hierbayes.backends.pymc.centring import nesting
from hierbayes.backends.pymc.compile import (
    DATA_RICH_RATIO,
    choose_parameterization,
    compile_model,
    information_ratio,
    parent_information_ratio,
    plan_parameterization,
)
from hierbayes.backends.pymc.sample import cache_dir
from hierbayes.errors import SpecError
from hierbayes.results.conditional import conditional_group_effects

# ------------------------------------------------------------------ exact likelihood checks


@pytest.fixture(scope="module")
def small_gcse(gcse):
    keep = gcse["school"].isin(gcse["school"].unique()[:12])
    df = gcse[keep].reset_index(drop=True)
    df["school"] = df["school"].cat.remove_unused_categories()
    return df


@pytest.mark.parametrize(
    "formula",
    [
        "gcse ~ lrt + (lrt | school)",  # unstructured (LKJ), K = 2
        "gcse ~ lrt + (lrt || school)",  # independent
        "gcse ~ lrt + (1 | school)",  # K = 1
        "gcse ~ lrt + (1 + lrt + schgend | school)",  # K = 3: the unrolled Cholesky
    ],
)
def test_marginal_likelihood_is_the_dense_gaussian_density(small_gcse, formula):
    model = hb.Model(formula, small_gcse)
    compiled = compile_model(model.design, model.priors, "marginal")
    assert compiled.likelihood == "marginal"
    m = compiled.model
    key = "school"
    outs = [m.potentials[0], m["Intercept"], m[f"sd_{key}"], m["sigma"]]
    has_b = "b" in m.named_vars
    has_cor = f"cor_{key}" in m.named_vars
    outs += [m["b"]] if has_b else []
    outs += [m[f"cor_{key}"]] if has_cor else []
    fn = _jax(m, outs)
    design = model.design
    blk = design.groups[0]
    rng = np.random.default_rng(1)
    for point in _random_points(m, rng):
        pot, ic, sd, sigma, *rest = fn(*point)
        b = rest[0] if has_b else np.zeros(0)
        cor = rest[-1] if has_cor else np.eye(blk.n_columns)
        sd = np.broadcast_to(np.atleast_1d(sd), (blk.n_columns,))
        beta = np.r_[ic, b]
        cov = np.outer(sd, sd) * cor
        expected = _group_mvn(np.asarray(design.y, float), design.X @ beta, blk.codes, blk.X, cov, float(sigma))
        assert pot == pytest.approx(expected, rel=1e-9, abs=1e-7)


def test_marginal_with_other_sampled_terms_is_the_conditional_density():
    """Crossed design: one term integrated out given the sampled effects of the other."""
    df = hb.datasets.load("Penicillin")
    model = hb.Model("diameter ~ 1 + (1 | plate) + (1 | sample)", df)
    compiled = compile_model(model.design, model.priors, {"plate": "marginal", "sample": "noncentered"})
    assert compiled.parameterization == {"plate": "marginal", "sample": "noncentered"}
    m = compiled.model
    fn = _jax(m, [m.potentials[0], m["Intercept"], m["sd_plate"], m["sigma"], m["re_sample"]])
    design = model.design
    plate, sample = design.groups
    rng = np.random.default_rng(2)
    for point in _random_points(m, rng):
        pot, ic, sd, sigma, re_sample = fn(*point)
        mean = ic + re_sample[sample.codes, 0]
        cov = np.atleast_2d(np.asarray(sd, float) ** 2).reshape(1, 1)
        expected = _group_mvn(np.asarray(design.y, float), mean, plate.codes, plate.X, cov, float(sigma))
        assert pot == pytest.approx(expected, rel=1e-9, abs=1e-7)


@pytest.mark.parametrize(
    "formula, parameterization",
    [
        ("Reaction ~ Days + (Days | Subject)", "centered"),
        ("Reaction ~ Days + (Days | Subject)", "noncentered"),
        ("Reaction ~ Days", None),
        ("Reaction ~ 0 + Days + (1 | Subject)", "centered"),
    ],
)
def test_sufficient_statistics_equal_the_per_row_likelihood(sleepstudy, formula, parameterization):
    model = hb.Model(formula, sleepstudy)
    fast = compile_model(model.design, model.priors, parameterization)
    rows = compile_model(model.design, model.priors, parameterization, likelihood_form="rows")
    assert fast.likelihood == "sufficient statistics"
    assert rows.likelihood == "rows"
    assert [v.name for v in fast.model.value_vars] == [v.name for v in rows.model.value_vars]
    f_fast = _jax(fast.model, [fast.model.logp()])
    f_rows = _jax(rows.model, [rows.model.logp()])
    rng = np.random.default_rng(3)
    for point in _random_points(rows.model, rng):
        a = f_fast(*point)[0]
        b = f_rows(*point)[0]
        assert a == pytest.approx(b, rel=1e-9, abs=1e-6)


def _nested_sim(seed=7, dept_sd=0.5, n_dept=8):
    """Students crossed with lecturers nested in departments (InstEval's structure)."""
    rng = np.random.default_rng(seed)
    dept = np.repeat(np.arange(n_dept), 400)
    lect = np.repeat(np.arange(10 * n_dept), 40)  # 10 lecturers per department
    stud = rng.integers(0, 400, len(lect))
    y = (2.0 + rng.normal(0, dept_sd, n_dept)[dept] + rng.normal(0, 1.0, 10 * n_dept)[lect]
         + rng.normal(0, 0.3, 400)[stud] + rng.normal(0, 1.0, len(lect)))
    return pd.DataFrame({"y": y, "x": rng.normal(size=len(y)), "dept": pd.Categorical(dept),
                         "lect": pd.Categorical(lect), "stud": pd.Categorical(stud)})


def _integrated_tops(design, compiled) -> list[tuple[str, str, np.ndarray]]:
    """(top key, child key, parent codes) of every chain top integrated out
    (backends/pymc/integrated_top.py)."""
    from hierbayes.backends.pymc.centring import nesting
    from hierbayes.backends.pymc.integrated_top import integrable

    keys = list(compiled.parameterization)
    plan = list(compiled.parameterization.values())
    return [(keys[j], keys[i], parent) for i, (j, parent) in nesting(design, plan).items()
            if plan[j] != "nested" and integrable(design.groups[j]) and integrable(design.groups[i])]


def _log_jacobian(tops, sds: dict, noncentred: set) -> float:
    """log |dv / dzeta| of the integrated tops, v = mean + spread zeta per top group (or
    of ``z = v / tau`` where the plain model is non-centred)."""
    total = 0.0
    for top, child, parent in tops:
        tau, sd = float(np.ravel(sds[top])[0]), float(np.ravel(sds[child])[0])
        m = np.bincount(parent).astype(float)
        shrink = m * tau**2 / (m * tau**2 + sd**2)
        total += float(np.sum((0.0 if top in noncentred else np.log(tau)) + 0.5 * np.log1p(-shrink)))
    return total


def _assert_same_density_as_plainly_centred(model, plan, monkeypatch, likelihood_form=None):
    """Hierarchical centring is a shift: at corresponding points (``re_<key>`` read off the
    shifted model) the log density equals the plainly centred model's, plus the log Jacobian
    of a chain top integrated out (its effects drawn as ``mean + spread zeta``)."""
    from hierbayes.backends.pymc import compile as compile_module
    from hierbayes.backends.pymc import plan as plan_module

    shifted = compile_model(model.design, model.priors, plan, likelihood_form=likelihood_form)
    m = shifted.model
    keys = [k for k, how in shifted.parameterization.items() if how != "marginal"]
    assert any(how == "nested" for how in shifted.parameterization.values())
    nested = [k for k in keys if shifted.parameterization[k] == "nested"]
    assert {f"re_{k}__total" for k in nested} <= {v.name for v in m.value_vars}
    tops = _integrated_tops(model.design, shifted)
    sd_keys = sorted({k for top, child, _ in tops for k in (top, child)})
    with monkeypatch.context() as patch:
        patch.setattr(compile_module, "intercept_holder", lambda *a: None)
        patch.setattr(plan_module, "centre_nested", lambda design, plan, given: plan)
        patch.setattr(compile_module, "nesting", lambda *a: {})
        plain_plan = {g: ("centered" if how == "nested" else how) for g, how in plan.items()}
        plain = compile_model(model.design, model.priors, plain_plan, likelihood_form=likelihood_form)
    assert plain.likelihood == shifted.likelihood
    f_shifted = _jax(m, [m.logp(), *[m[f"re_{k}"] for k in keys], *[m[f"sd_{k}"] for k in sd_keys]])
    f_plain = _jax(plain.model, [plain.model.logp()])
    rng = np.random.default_rng(6)
    for point in _random_points(m, rng):
        lp, *out = f_shifted(*point)
        effects, sds = out[:len(keys)], dict(zip(sd_keys, out[len(keys):]))
        values = dict(zip([v.name for v in m.value_vars], point))
        values.update({f"re_{k}": e for k, e in zip(keys, effects)})
        noncentred = {top for top, _, _ in tops if shifted.parameterization[top] == "noncentered"}
        values.update({f"z_{k}": values[f"re_{k}"] / np.ravel(sds[k])[0] for k in noncentred})
        other = [values[v.name] for v in plain.model.value_vars]
        assert lp == pytest.approx(f_plain(*other)[0] + _log_jacobian(tops, sds, noncentred), rel=1e-10)


@pytest.mark.slow
def test_hierarchical_centring_is_a_shift_of_the_centred_model(monkeypatch):
    pastes = hb.Model("strength ~ 1 + (1 | batch/cask)", hb.datasets.load("Pastes"))
    _assert_same_density_as_plainly_centred(
        pastes, {"batch": "centered", "batch:cask": "nested"}, monkeypatch, likelihood_form="rows"
    )
    # three levels: c around b around a, a around the intercept
    rng = np.random.default_rng(1)
    a = np.repeat(np.arange(3), 24)
    b = np.repeat(np.arange(12), 6)
    c = np.repeat(np.arange(36), 2)
    df = pd.DataFrame({"y": rng.normal(size=72), "x": rng.normal(size=72),
                       "a": pd.Categorical(a), "b": pd.Categorical(b), "c": pd.Categorical(c)})
    three = hb.Model("y ~ x + (1 | a) + (1 | b) + (1 | c)", df)
    _assert_same_density_as_plainly_centred(
        three, {"a": "centered", "b": "nested", "c": "nested"}, monkeypatch, likelihood_form="rows"
    )
    # correlated slopes: (x | a) + (x | a:b), b's effects drawn around a's (MvNormal)
    slopes = hb.Model("y ~ x + (x | a) + (x | a:b)", df)
    _assert_same_density_as_plainly_centred(
        slopes, {"a": "centered", "a:b": "nested"}, monkeypatch, likelihood_form="rows"
    )
    # with a crossed term integrated out (InstEval's crossed model)
    crossed = hb.Model("y ~ x + (1 | stud) + (1 | lect) + (1 | dept)", _nested_sim())
    _assert_same_density_as_plainly_centred(
        crossed, {"stud": "marginal", "lect": "nested", "dept": "centered"}, monkeypatch
    )
    # ... and a non-centred parent carrying the intercept: lect ~ N(Intercept + z sd, sd_lect)
    _assert_same_density_as_plainly_centred(
        crossed, {"stud": "marginal", "lect": "nested", "dept": "noncentered"}, monkeypatch
    )


def test_data_rich_nested_terms_are_centred_on_their_parent():
    formula = "y ~ 1 + (1 | stud) + (1 | lect) + (1 | dept)"
    model = hb.Model(formula, _nested_sim(n_dept=40))
    design = model.design
    # the parent is centred or not by what its children say about it: 10 lecturers per
    # department, m tau_P^2 / tau_C^2 = 10 * 0.5^2 / 1 = 2.5 here and 10 * 0.1^2 = 0.1 below
    assert plan_parameterization(design, None, "identity") == ["marginal", "nested", "centered"]
    # a term the user names keeps what it was given
    assert plan_parameterization(design, {"lect": "centered"}, "identity") == ["marginal", "centered", "centered"]
    with pytest.raises(SpecError, match="'stud': its groups are not nested"):
        compile_model(design, model.priors, {"stud": "nested", "lect": "centered"})
    weak = hb.Model(formula, _nested_sim(dept_sd=0.1, n_dept=40)).design
    assert plan_parameterization(weak, None, "identity") == ["marginal", "nested", "noncentered"]
    # the same ratio over 8 departments: the posterior of tau_P reaches k < 1 (F(7, 72)'s
    # 99% point is 2.9, so k >= 1 is not assured below k_hat ~ 4.8): non-centred
    few = hb.Model(formula, _nested_sim()).design
    assert plan_parameterization(few, None, "identity") == ["marginal", "nested", "noncentered"]
    # the moment estimate recovers m tau_P^2 / tau_C^2 = 20 * 0.5^2 / 1 = 5 (40 parents)
    rng = np.random.default_rng(3)
    parent_of = np.repeat(np.arange(40), 20)
    child = np.repeat(np.arange(800), 10)
    y = rng.normal(0, 0.5, 40)[parent_of][child] + rng.normal(0, 1.0, 800)[child] + rng.normal(0, 1.0, 8000)
    big = hb.Model("y ~ 1 + (1 | c) + (1 | p)", pd.DataFrame(
        {"y": y, "c": pd.Categorical(child), "p": pd.Categorical(parent_of[child])})).design
    (inner, (outer, parent)), = nesting(big, ["nested", "centered"]).items()
    assert 3.5 < parent_information_ratio(big.groups[inner], parent, 40, big) < 7.0


def test_parent_of_an_integrated_out_term_is_chosen_by_its_children():
    """Pastes: 10 batches of 3 casks, the casks integrated out. The rows say a batch is
    data-rich (6 rows each), but its effect is seen through 3 cask means with sd 2.9 around
    it: m tau_P^2 / (tau_C^2 + sigma^2/n) = 0.57, so non-centred (centred: divergences)."""
    design = hb.Model("strength ~ 1 + (1 | batch/cask)", hb.datasets.load("Pastes")).design
    batch, cask = design.groups
    assert information_ratio(batch, design) > DATA_RICH_RATIO  # what the rows' estimate alone says
    assert plan_parameterization(design, None, "identity") == ["noncentered", "marginal"]
    assert plan_parameterization(design, {"batch": "centered"}, "identity") == ["centered", "marginal"]


# ------------------------------------------------------------------ conditional draws


def _posterior(S, **arrays):
    """A posterior Dataset with S identical draws (1 chain) of each given value."""
    data = {}
    for name, (value, dims) in arrays.items():
        v = np.asarray(value, float)
        data[name] = xr.DataArray(np.broadcast_to(v, (1, S, *v.shape)).copy(), dims=("chain", "draw", *dims))
    return xr.Dataset(data, coords={"chain": [0], "draw": np.arange(S)})


def _dense_conditional(y_res, codes, Z, cov, sigma, j):
    idx = codes == j
    P = Z[idx].T @ Z[idx] / sigma**2 + np.linalg.inv(cov)
    C = np.linalg.inv(P)
    return C @ Z[idx].T @ y_res[idx] / sigma**2, C


def test_conditional_draws_follow_the_exact_conditional_posterior(small_gcse):
    model = hb.Model("gcse ~ lrt + (lrt | school)", small_gcse)
    design = model.design
    blk = design.groups[0]
    S = 8000
    beta = np.array([0.1, 0.55])
    sd = np.array([3.0, 0.2])
    cor = np.array([[1.0, 0.4], [0.4, 1.0]])
    post = _posterior(
        S,
        Intercept=(beta[0], ()),
        b=(beta[1:], ("b_term",)),
        sigma=(7.5, ()),
        sd_school=(sd, ("school__term",)),
        cor_school=(cor, ("school__term", "school__term_bis")),
    ).assign_coords(b_term=["lrt"])
    draws = conditional_group_effects(post, design, "school", np.random.default_rng(4))
    assert draws.dims == ("chain", "draw", "school__level", "school__term")
    assert list(draws.coords["school__level"].values) == list(blk.levels)
    u = draws.values[0]  # (S, J, K)
    y_res = np.asarray(design.y, float) - design.X @ beta
    cov = np.outer(sd, sd) * cor
    for j in (0, 5, 11):
        mean, C = _dense_conditional(y_res, blk.codes, blk.X, cov, 7.5, j)
        se = np.sqrt(np.diag(C) / S)
        np.testing.assert_array_less(np.abs(u[:, j].mean(axis=0) - mean), 4.5 * se)
        emp = np.cov(u[:, j].T)
        # sampling sd of a variance estimate: var * sqrt(2 / S)
        tol = 4.5 * np.sqrt(2.0 / S) * np.sqrt(np.outer(np.diag(C), np.diag(C)))
        np.testing.assert_array_less(np.abs(emp - C), tol)


def test_conditional_draws_with_other_terms_use_their_effects():
    df = hb.datasets.load("Penicillin")
    model = hb.Model("diameter ~ 1 + (1 | plate) + (1 | sample)", df)
    design = model.design
    plate, sample = design.groups
    S = 6000
    re_sample = np.linspace(-1.0, 1.0, sample.n_levels)[:, None]
    post = _posterior(
        S,
        Intercept=(23.0, ()),
        sigma=(0.55, ()),
        sd_plate=(0.85, ()),
        re_sample=(re_sample, ("sample__level", "sample__term")),
    )
    u = conditional_group_effects(post, design, "plate", np.random.default_rng(5)).values[0]
    y_res = np.asarray(design.y, float) - 23.0 - re_sample[sample.codes, 0]
    for j in (0, 7, 23):
        mean, C = _dense_conditional(y_res, plate.codes, plate.X, np.array([[0.85**2]]), 0.55, j)
        assert abs(u[:, j, 0].mean() - mean[0]) < 4.5 * np.sqrt(C[0, 0] / S)
        assert abs(u[:, j, 0].var() - C[0, 0]) < 4.5 * np.sqrt(2.0 / S) * C[0, 0]


@pytest.mark.parametrize("k", [2, 3, 6])
def test_unrolled_cholesky_solves_equal_lapack(k):
    from hierbayes.results.conditional import solve_unrolled

    rng = np.random.default_rng(k)
    A = rng.normal(size=(50, 9, k, k))
    M = A @ np.swapaxes(A, -1, -2) + 0.1 * np.eye(k)
    b, z = rng.normal(size=(2, 50, 9, k))
    C = np.linalg.cholesky(M)
    expected = np.linalg.solve(M, b[..., None])[..., 0] + np.linalg.solve(np.swapaxes(C, -1, -2), z[..., None])[..., 0]
    np.testing.assert_allclose(solve_unrolled(M, b, z), expected, rtol=1e-9, atol=1e-12)


# ------------------------------------------------------------------ choosing the parameterization


def _sim(J, n_per, tau, sigma=1.0, seed=0):
    rng = np.random.default_rng(seed)
    g = np.repeat(np.arange(J), n_per)
    x = rng.normal(size=len(g))
    y = 1.0 + 0.5 * x + rng.normal(0, tau, J)[g] + rng.normal(0, sigma, len(g))
    return pd.DataFrame({"y": y, "x": x, "g": pd.Categorical(g)})


def test_data_rich_groups_are_centred_sparse_ones_are_not():
    rich = hb.Model("y ~ x + (1 | g)", _sim(40, 200, 1.0)).design
    sparse = hb.Model("y ~ x + (1 | g)", _sim(300, 3, 0.2)).design
    assert information_ratio(rich.groups[0], rich) > 50 * DATA_RICH_RATIO
    assert information_ratio(sparse.groups[0], sparse) < DATA_RICH_RATIO
    assert choose_parameterization(rich.groups[0], rich) == "centered"
    assert choose_parameterization(sparse.groups[0], sparse) == "noncentered"


def test_gaussian_default_integrates_out_the_largest_term():
    df = hb.datasets.load("Penicillin")
    design = hb.Model("diameter ~ 1 + (1 | plate) + (1 | sample)", df).design
    plan = plan_parameterization(design, None, "identity")
    assert plan[0] == "marginal"  # plate: 24 levels, sample: 6
    assert plan[1] in ("centered", "noncentered")
    assert plan_parameterization(design, "centered", "identity") == ["centered", "centered"]
    assert plan_parameterization(design, {"sample": "marginal"}, "identity")[1] == "marginal"
    assert plan_parameterization(design, {"sample": "marginal"}, "identity")[0] != "marginal"
    assert plan_parameterization(design, "marginal", "identity")[0] == "marginal"


def test_parameterization_errors_say_what_is_valid(sleepstudy):
    design = hb.Model("Reaction ~ Days + (Days | Subject)", sleepstudy).design
    with pytest.raises(SpecError, match="valid values are"):
        plan_parameterization(design, "sideways", "identity")
    with pytest.raises(SpecError, match="not grouping factors.*Subject"):
        plan_parameterization(design, {"subject": "centered"}, "identity")
    with pytest.raises(SpecError, match="gaussian likelihood with the identity link"):
        plan_parameterization(design, "marginal", "log")
    df = hb.datasets.load("Penicillin")
    crossed = hb.Model("diameter ~ 1 + (1 | plate) + (1 | sample)", df).design
    with pytest.raises(SpecError, match="only one group term"):
        plan_parameterization(crossed, {"plate": "marginal", "sample": "marginal"}, "identity")


def test_non_gaussian_models_are_never_marginal():
    cbpp = hb.datasets.load("cbpp")
    model = hb.Model("cbind(incidence, size - incidence) ~ period + (1 | herd)", cbpp, family="binomial")
    plan = plan_parameterization(model.design, None, "logit")
    assert plan == ["noncentered"]
    with pytest.raises(SpecError, match="binomial"):
        compile_model(model.design, model.priors, "marginal")


def test_cache_directory_follows_the_environment(monkeypatch, tmp_path):
    monkeypatch.setenv("HIERBAYES_CACHE_DIR", str(tmp_path))
    assert cache_dir() == str(tmp_path)
    monkeypatch.setenv("HIERBAYES_CACHE_DIR", "off")
    assert cache_dir() is None
    monkeypatch.delenv("HIERBAYES_CACHE_DIR")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    assert cache_dir() == str(tmp_path / "hierbayes")


@pytest.mark.slow  # two samplers compiled and run to 400 draws
def test_vectorised_chains_sample_the_same_posterior(sleepstudy, monkeypatch, tmp_path):
    """chain_loop="vmap" (the GPU default) against "map" (the CPU default), both on CPU."""
    import arviz as az

    from hierbayes.backends.pymc.jaxnuts import sample_jax_cached

    monkeypatch.setenv("HIERBAYES_CACHE_DIR", str(tmp_path))
    compiled = hb.Model("Reaction ~ Days + (Days || Subject)", sleepstudy).compile()
    runs = {}
    for loop in ("map", "vmap"):
        run = sample_jax_cached(compiled.model, draws=400, tune=400, chains=4, cores=2,
                                random_seed=3, target_accept=0.9, dense_mass=True, chain_loop=loop)
        assert not run.cached and run.idata.posterior.sizes["draw"] == 400
        runs[loop] = az.summary(run.idata.posterior.to_dataset()[["Intercept", "b", "sigma", "sd_Subject"]],
                                round_to="none")
    a, b = runs["map"], runs["vmap"]
    z = (a["mean"] - b["mean"]).abs() / np.sqrt(a["mcse_mean"] ** 2 + b["mcse_mean"] ** 2)
    assert z.max() < 4.5, z
    with pytest.raises(ValueError, match="chain_loop"):
        sample_jax_cached(compiled.model, draws=10, tune=10, chains=2, cores=1,
                          random_seed=1, target_accept=0.9, dense_mass=False, chain_loop="pmap")


# ------------------------------------------------------------------ sampled posteriors agree


def _rows_fit(model, parameterization):
    """The plain per-row model (one observed y per row), fitted."""
    model._compiled = compile_model(model.design, model.priors, parameterization, likelihood_form="rows")
    return fit_quiet(model)


@pytest.fixture(scope="module")
def sleep_fits(sleepstudy):
    formula = "Reaction ~ Days + (Days | Subject)"
    marginal = fit_quiet(hb.Model(formula, sleepstudy))
    suffstats = fit_quiet(hb.Model(formula, sleepstudy, parameterization="centered"))
    rows = _rows_fit(hb.Model(formula, sleepstudy), "noncentered")
    return {"marginal": marginal, "sufficient statistics": suffstats, "rows": rows}


def _summaries(fit):
    import arviz as az

    post = fit.posterior[["Intercept", "b", "sd_Subject", "sigma", "re_Subject"]]
    cor = fit.posterior["cor_Subject"].isel(Subject__term=0, Subject__term_bis=1, drop=True)
    post = post.assign(cor=cor)
    return az.summary(post, round_to="none", ci_prob=0.9)


@pytest.mark.slow
@pytest.mark.parametrize("fast", ["marginal", "sufficient statistics"])
def test_fast_likelihoods_give_the_per_row_posterior(sleep_fits, fast):
    a = _summaries(sleep_fits[fast])
    b = _summaries(sleep_fits["rows"])
    assert list(a.index) == list(b.index)
    mcse = np.sqrt(a["mcse_mean"] ** 2 + b["mcse_mean"] ** 2)
    z = (a["mean"] - b["mean"]).abs() / mcse
    # 42 quantities: a 4.5-sigma bound is exceeded by chance with probability < 1e-3
    assert z.max() < 4.5, z.sort_values().tail()
    # posterior sds: relative sampling error about 1 / sqrt(2 ESS)
    rel = (a["sd"] / b["sd"] - 1.0).abs()
    tol = 4.5 * np.sqrt(1.0 / (2 * a["ess_bulk"]) + 1.0 / (2 * b["ess_bulk"]))
    assert (rel < tol).all(), (rel / tol).sort_values().tail()


@pytest.mark.slow
def test_fits_report_the_parameterization(sleep_fits):
    marginal = sleep_fits["marginal"]
    assert marginal.info.parameterization == {"Subject": "marginal"}
    assert sleep_fits["sufficient statistics"].info.parameterization == {"Subject": "centered"}
    assert "Parameterization: Subject marginal" in str(marginal.summary())
    # the integrated-out effects are stored under the per-row model's name and dims
    re = marginal.posterior["re_Subject"]
    assert re.dims == ("chain", "draw", "Subject__level", "Subject__term")
    assert set(marginal.ranef()) == {"Subject"}
    assert marginal.diagnostics.max_r_hat <= 1.01
    assert marginal.diagnostics.divergences == 0
