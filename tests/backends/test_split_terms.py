"""Random intercepts split along their level design (backends/pymc/mean_free.py, carried.py):
the same model in other coordinates, with the level-constant columns' parts carried by the
coefficients, beside an intercept holder or without one."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import hierbayes as hb
from hierbayes.backends.pymc.adaptive import effect_precision
from hierbayes.backends.pymc.fixed import JOINT_Z
from hierbayes.backends.pymc.mean_free import level_design

PRIORS = {
    "Intercept": hb.Prior("Normal", mu=0, sigma=5),
    "sd": hb.Prior("Exponential", lam=1),
}


def _crossed(seed: int = 4) -> pd.DataFrame:
    """12 subjects (g) with a continuous and a binary subject-level column (w, k) crossed
    with 8 items (h), two counts per pair, and a row-level column x."""
    rng = np.random.default_rng(seed)
    g, h = np.repeat(np.arange(12), 16), np.tile(np.repeat(np.arange(8), 2), 12)
    w, k = rng.normal(size=12)[g], (np.arange(12) % 3 == 0)[g]
    x = rng.normal(size=len(g))
    eta = 0.3 + 0.4 * x + 0.5 * w - 0.6 * k + rng.normal(0, 0.6, 12)[g] + rng.normal(0, 0.4, 8)[h]
    return pd.DataFrame({"c": rng.poisson(np.exp(eta)), "x": x, "w": w, "k": np.where(k, "yes", "no"),
                         "g": [f"s{j}" for j in g], "h": [f"i{j}" for j in h]})


def test_level_design_keeps_the_level_constant_columns_that_add_rank():
    codes = np.array([0, 0, 1, 1, 2, 2, 3, 3])
    level_column = np.array([1.0, 1.0, 2.0, 2.0, 0.0, 0.0, 5.0, 5.0])
    row_column = np.arange(8.0)
    columns = np.column_stack([row_column, level_column, 2.0 * level_column - 1.0])
    levels = level_design(codes, 4, columns - columns.mean(axis=0), [0, 1, 2], levels=6)
    assert levels.slopes == (1,)  # the row column varies within levels, the third is collinear
    assert levels.basis.shape == (6, 2)
    assert np.allclose(levels.basis.T @ levels.basis, np.eye(2))
    M = np.column_stack([np.r_[np.ones(4), 0, 0], np.r_[level_column[::2] - level_column[::2].mean(), 0, 0]])
    assert np.allclose(levels.coefficients @ M, np.eye(2))  # a = R^-1 U' u fits u on M


def _mapped_point(split, plain_names, design, point, holder: str | None):
    """The plain (non-centred) model's point equal to the split model's ``point``, and the
    log-Jacobian of the map: log p_split = log p_plain(mapped) + jacobian."""
    block = design.groups[0]
    levels = level_design(block.codes, block.n_levels,
                          design.X[:, 1:] - design.X[:, 1:].mean(axis=0), list(range(design.X.shape[1] - 1)))
    sd = float(np.exp(point["sd_g_log__"]).ravel()[0])
    spread = np.sqrt(1.0 + effect_precision(block, design, "log") * sd**2)
    z = np.asarray(point["z_g"]).ravel()
    projected = levels.basis @ (levels.basis.T @ z)
    u = sd * ((z - projected) / spread + projected)
    carried = levels.coefficients @ u
    shift = np.zeros(design.X.shape[1] - 1)
    shift[list(levels.slopes)] = carried[1:]
    mapped = {k: v for k, v in point.items() if k != "Intercept_c__total"}
    mapped["z_g"] = (u / sd).reshape(np.shape(point["z_g"]))
    mapped["Intercept_c"] = np.asarray(point["Intercept_c__total"]) - carried[0]
    factor = split.priors.joint.factor()
    mapped[JOINT_Z] = np.asarray(point[JOINT_Z]) - np.linalg.solve(factor, shift)
    if holder is not None:  # the holder's totals sit at the sampled totals: take the carried parts out
        hblock = design.groups[1]
        Xc = design.X[:, 1:] - design.X[:, 1:].mean(axis=0)
        xbar = np.stack([Xc[hblock.codes == j].mean(axis=0) for j in range(hblock.n_levels)])
        total = np.asarray(point[holder]).ravel()
        mapped[holder] = (total - carried[0] - xbar @ shift).reshape(np.shape(point[holder]))
    gram = levels.basis.T @ (levels.basis * spread[:, None])
    jacobian = -np.sum(np.log(spread)) + np.linalg.slogdet(gram)[1]
    return {k: mapped[k] for k in plain_names}, jacobian


@pytest.mark.parametrize("holder", [False, True])
def test_split_form_is_the_non_centred_model_in_other_coordinates(holder):
    """``u = sd (S (I - P) z + P z)`` with ``P`` the projection on g's level design (1, w,
    k), the intercept and the slopes of w and k sampled as totals carrying ``a = R^-1 U' u``
    (the joint prior's ``b__z`` shifted by ``A^-1``), and, with a centred holder h, its totals
    carrying ``a_1 + xbar_h a``: at any point log p equals the non-centred model's at the
    mapped point plus log det(S) + log det(U' S^-1 U)."""
    df = _crossed()
    formula = "c ~ x + w + k + (1|g) + (1|h)" if holder else "c ~ x + w + k + (1|g)"
    asked = {"g": "adaptive", "h": "centered"} if holder else {"g": "adaptive"}
    model = hb.Model(formula, df, family="poisson", priors=PRIORS, parameterization=asked)
    split = model.compile()
    plain = hb.Model(formula, df, family="poisson", priors=PRIORS,
                     parameterization={**asked, "g": "noncentered"}).compile()
    assert "Intercept_c__total" in split.model.named_vars
    point = {k: v + 0.3 + 0.1 * np.arange(np.size(v)).reshape(np.shape(v))
             for k, v in split.model.initial_point().items()}
    total = "re_h__total" if holder else None
    if holder:
        assert total in point and total in plain.model.initial_point()
    plain_names = list(plain.model.initial_point())
    mapped, jacobian = _mapped_point(model, plain_names, model.design, point, total)
    left = split.model.compile_logp(mode="FAST_COMPILE")(point)
    right = plain.model.compile_logp(mode="FAST_COMPILE")(mapped)
    assert left == pytest.approx(right + jacobian, rel=1e-10)
    # and the reported coefficients are the plain model's at the mapped point
    def reported(model, at):
        outputs = model.replace_rvs_by_values([model["b"], model["Intercept"], model["re_g"]])
        return model.compile_fn(outputs, inputs=model.value_vars, mode="FAST_COMPILE", on_unused_input="ignore")(at)

    for found, expected in zip(reported(split.model, point), reported(plain.model, mapped)):
        assert np.allclose(found, expected, rtol=1e-10)


def test_split_prior_draws_are_the_model_s():
    """Forward draws of the split form give ``u / sd`` iid N(0, 1) and the coefficients their
    own (joint) prior: the model unchanged."""
    df = _crossed()
    model = hb.Model("c ~ x + w + k + (1|g)", df, family="poisson", priors=PRIORS,
                     parameterization={"g": "adaptive"})
    compiled = model.compile()
    import pymc as pm

    prior = pm.sample_prior_predictive(draws=16000, model=compiled.model, random_seed=3,
                                       var_names=["re_g", "sd_g", "b"]).prior
    scaled = (prior["re_g"] / prior["sd_g"]).values.reshape(-1, 12)
    assert np.abs(scaled.mean(axis=0)).max() < 0.04  # each within 5 standard errors (0.008)
    assert np.abs(scaled.std(axis=0) - 1.0).max() < 0.03
    assert np.abs(np.corrcoef(scaled.T) - np.eye(12)).max() < 0.04
    b = prior["b"].values.reshape(-1, 3)
    expected = np.sqrt(np.diag(model.priors.joint.covariance))
    assert np.allclose(b.std(axis=0), expected, rtol=0.03)
    assert np.abs(b.mean(axis=0) / expected).max() < 0.04


def _subjects_and_items(items: int) -> pd.DataFrame:
    rng = np.random.default_rng(1)
    subjects = 60
    s, i = np.repeat(np.arange(subjects), items), np.tile(np.arange(items), subjects)
    anger = rng.integers(11, 40, subjects)[s]
    gender = np.where(np.arange(subjects) % 2 == 0, "F", "M")[s]
    btype = np.array(["curse", "scold", "shout"])[i % 3]
    eta = 0.05 * (anger - 20) - 0.8 * (i % 3) + rng.normal(0, 1.2, subjects)[s] + rng.normal(0, 1.0, items)[i]
    return pd.DataFrame({"r2": rng.random(len(s)) < 1 / (1 + np.exp(-eta)), "Anger": anger, "Gender": gender,
                         "btype": btype, "id": s.astype(str), "item": i.astype(str)})


@pytest.mark.parametrize("items, carried", [(24, ["Anger", "Gender[M]"]), (3, None)])
def test_data_rich_subjects_carry_their_level_columns(items, carried):
    """VerbAgg's plan: the items hold the intercept. With 24 answers each (data-rich: the rule
    would centre them) the subjects are split along (1, Anger, Gender), never the row-level
    btype; with 3 answers each they would carry only their mean, which beside the holder is
    left to it: not split (carried.py)."""
    from hierbayes.backends.pymc import compile as compile_module

    model = hb.Model("r2 ~ Anger + Gender + btype + (1|id) + (1|item)", _subjects_and_items(items),
                     family="bernoulli", parameterization={"id": "adaptive", "item": "centered"})
    seen = {}
    original = compile_module.level_designs

    def spy(*args, **kwargs):
        seen.update(original(*args, **kwargs))
        return seen

    compile_module.level_designs = spy
    try:
        compiled = model.compile()
    finally:
        compile_module.level_designs = original
    if carried is None:
        assert seen == {} and "z_id" in compiled.model.named_vars
        return
    assert list(seen) == [0]
    slopes = [n for n in model.design.fixed_names if n != "Intercept"]
    assert [slopes[j] for j in seen[0].slopes] == carried
    assert "re_item__total" in compiled.model.named_vars


@pytest.mark.parametrize("items, expected", [(24, 0.8), (3, 0.99)])
def test_target_acceptance_where_the_split_carries_columns(items, expected):
    """carried.carried_target: 0.8 where the subjects carry their level columns and both terms
    are data-rich with 20+ levels; else the planning rule's (3 items: not split, and a term of
    at most 5 levels asks for 0.99)."""
    model = hb.Model("r2 ~ Anger + Gender + btype + (1|id) + (1|item)", _subjects_and_items(items),
                     family="bernoulli", parameterization={"id": "adaptive", "item": "centered"})
    assert model.compile().target_accept == expected


def test_one_row_a_level_carries_no_columns():
    """An observation-level term (grouseticks' ``(1 | INDEX)``) is data-rich on counts but each
    level's columns are its row's: it carries none (carried.py); 16 rows a level do."""
    from hierbayes.backends.pymc.carried import carries_columns
    from hierbayes.backends.pymc.plan import choose_parameterization

    df = _crossed()
    rich = hb.Model("c ~ x + w + (1|g)", df, family="poisson").design
    assert carries_columns(rich.groups[0], rich)
    rng = np.random.default_rng(5)
    df["obs"] = [f"o{j}" for j in range(len(df))]
    df["c"] = rng.poisson(np.exp(3.0 + rng.normal(0.0, 0.5, len(df))))  # overdispersed large counts
    single = hb.Model("c ~ x + w + (1|obs)", df, family="poisson").design
    assert choose_parameterization(single.groups[0], single) == "centered"  # data-rich, one row a level
    assert not carries_columns(single.groups[0], single)
