"""The default fixed-effect prior is joint on the decorrelated design (issue 13, item 4).

Pinheiro & Bates' dialyzer model (a raw quartic in pressure times blood flow) is the
reference: independent per-column priors put posterior means up to 2.4 posterior sd from
lme4's REML estimates; the joint prior leaves the data to decide.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from conftest import fit_quiet

import hierbayes as hb
from hierbayes.priors import JOINT_SOURCE

REFS = Path(__file__).parent.parent / "refs" / "priors"
DIALYZER = (
    "rate ~ (pressure + I(pressure**2) + I(pressure**3) + I(pressure**4)) * QB"
    " + (pressure + I(pressure**2) || Subject)"
)


def _frame(n: int = 120, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    x = np.tile(np.arange(1.0, 11.0), n // 10)
    a = np.tile([-1.0, 1.0], n // 2)
    b = np.repeat([-1.0, 1.0], n // 2)
    g = np.repeat([f"g{i}" for i in range(n // 10)], 10)
    y = 3 + 0.5 * x + a + rng.normal(0, 1, n)
    return pd.DataFrame({"y": y, "x": x, "a": a, "b": b, "g": g})


def _per_column_sd(df: pd.DataFrame, col: np.ndarray) -> float:
    return 2.5 * float(np.std(df["y"])) / float(np.std(col))


def test_orthogonal_design_keeps_the_per_column_scales():
    df = _frame()
    priors = hb.Model("y ~ a * b + (1 | g)", df).priors
    assert priors.joint is not None and priors.joint.terms == ("a", "b", "a:b")
    expected = [_per_column_sd(df, c) for c in (df.a, df.b, df.a * df.b)]
    np.testing.assert_allclose(priors.joint.marginal_sds, expected, rtol=1e-9)
    np.testing.assert_allclose(priors.joint.covariance, np.diag(np.square(expected)), atol=1e-9)
    assert priors.get("b", None, "a:b").kwargs["sigma"] == pytest.approx(expected[2])


def test_collinear_columns_widen_by_sqrt_vif():
    df = _frame()
    priors = hb.Model("y ~ x + I(x**2) + a + (1 | g)", df).priors
    X = np.column_stack([df.x, df.x**2, df.a])
    vif = []
    for j in range(3):
        others = np.column_stack([np.ones(len(df)), np.delete(X, j, axis=1)])
        resid = X[:, j] - others @ np.linalg.lstsq(others, X[:, j], rcond=None)[0]
        vif.append(np.var(X[:, j]) / np.var(resid))  # 1 / (1 - R^2_j)
    expected = [_per_column_sd(df, X[:, j]) * np.sqrt(vif[j]) for j in range(3)]
    assert vif[0] > 10  # x and x^2 are collinear; a is orthogonal to both
    np.testing.assert_allclose(priors.joint.marginal_sds, expected, rtol=1e-8)
    got = [e.prior.kwargs["sigma"] for e in priors.entries if e.address.kind == "b"]
    np.testing.assert_allclose(got, expected, rtol=1e-8)
    text = str(priors)
    assert "MvNormal(0, Sigma_b)" in text and "sqrt(VIF)" in text and JOINT_SOURCE in text


def test_no_intercept_cell_means_keep_independent_scales():
    df = _frame()
    priors = hb.Model("y ~ 0 + C(a) + (1 | g)", df).priors
    # the two dummies are collinear once centred (they sum to one); uncentred they are orthogonal
    dummies = [(df.a == v).astype(float) for v in (-1.0, 1.0)]
    expected = [_per_column_sd(df, d) for d in dummies]
    np.testing.assert_allclose(priors.joint.covariance, np.diag(np.square(expected)), atol=1e-9)


def test_compiled_model_draws_the_joint_prior():
    from hierbayes.backends.pymc.prior import sample_prior

    df = _frame()
    model = hb.Model("y ~ x + I(x**2) + a + (1 | g)", df)
    compiled = model.compile()
    assert "b" in [v.name for v in compiled.model.deterministics]
    assert compiled.model.named_vars_to_dims["b"] == ("b_term",)
    draws = sample_prior(compiled, draws=4000, random_seed=3)["b"].values.reshape(-1, 3)
    cov = model.priors.joint.covariance
    np.testing.assert_allclose(draws.std(axis=0), np.sqrt(np.diag(cov)), rtol=0.06)
    corr = cov[0, 1] / np.sqrt(cov[0, 0] * cov[1, 1])
    assert corr < -0.9  # x and x^2 trade off
    assert np.corrcoef(draws[:, 0], draws[:, 1])[0, 1] == pytest.approx(corr, abs=0.03)


@pytest.mark.slow  # 15-30 s of cold compilation: in the slow suite
def test_override_of_one_term_leaves_the_others_joint():
    from hierbayes.backends.pymc.prior import sample_prior

    df = _frame()
    formula = "y ~ x + I(x**2) + a + (1 | g)"
    default = hb.Model(formula, df).priors
    user = hb.Prior("StudentT", nu=3.0, mu=0.0, sigma=1.0)  # another family than Normal: allowed
    model = hb.Model(formula, df, priors={"b:a": user})
    table = model.priors
    assert table.get("b", None, "a") == user
    assert table.joint.terms == ("x", "I(x^2)")
    np.testing.assert_allclose(table.joint.covariance, default.joint.covariance[:2, :2])
    sources = {e.address.term: e.source for e in table.entries if e.address.kind == "b"}
    assert sources == {"x": JOINT_SOURCE, "I(x^2)": JOINT_SOURCE, "a": "user (b:a)"}
    draws = sample_prior(model.compile(), draws=4000, random_seed=4)["b"].values.reshape(-1, 3)
    assert abs(np.corrcoef(draws[:, 0], draws[:, 2])[0, 1]) < 0.05
    assert np.corrcoef(draws[:, 0], draws[:, 1])[0, 1] < -0.9
    # one default term left: no joint prior; independent priors of several families
    mixed = hb.Model(formula, df, priors={"b:a": user, "b:x": hb.Prior("Normal", mu=0.0, sigma=2.0)})
    assert mixed.priors.joint is None
    draws = sample_prior(mixed.compile(), draws=4000, random_seed=5)["b"].values.reshape(-1, 3)
    assert draws[:, 0].std() == pytest.approx(2.0, rel=0.06)
    # a class-wide override makes every term independent, with the user's prior
    every = hb.Model(formula, df, priors={"b": hb.Prior("Normal", mu=0.0, sigma=10.0)})
    assert every.priors.joint is None
    assert "b" in [v.name for v in every.pymc_model.free_RVs]


CASES = {
    # Pinheiro & Bates (2000) sec. 5.2; former default: max |z| 2.38
    "dialyzer_quartic": ("dialyzer.csv", {"Subject": str, "QB": str}, DIALYZER),
    # 4 ages, saturated cubic, VIF up to 7.6e5; former default: max |z| 13.5
    "orthodont_cubic": ("orthodont.csv", {"Subject": str},
                        "distance ~ (age + I(age**2) + I(age**3)) * Female + (1 | Subject)"),
}


@pytest.mark.slow
@pytest.mark.parametrize("name", sorted(CASES))
def test_raw_polynomials_against_lme4(name):
    """lme4 REML fits of raw polynomials with interactions (the R calls are in
    refs/priors/<name>.R and in the JSON's function_call): the default joint prior leaves
    every coefficient within 0.5 posterior sd of lme4; independent per-column priors (the
    former default, Normal(0, 2.5 sd(y) / sd(x))) put some more than 1 sd away."""
    csv, dtypes, formula = CASES[name]
    df = pd.read_csv(REFS / csv, dtype=dtypes)
    ref = json.loads((REFS / f"{name}.json").read_text())
    lme4 = [e["estimate"] for e in ref["fixed_effects"]]

    def max_z(fit) -> float:
        table = fit.fixef()
        assert len(table) == len(lme4)  # same column order as lme4's
        return float(np.max(np.abs((table["mean"].to_numpy() - lme4) / table["sd"].to_numpy())))

    model = hb.Model(formula, df)
    fit = fit_quiet(model, draws=1000, tune=1000)
    assert fit.diagnostics.divergences == 0
    assert max_z(fit) < 0.5
    joint = model.priors.joint
    old = {f"b:{t}": hb.Prior("Normal", mu=0.0, sigma=float(s)) for t, s in zip(joint.terms, joint.column_scales)}
    assert max_z(fit_quiet(hb.Model(formula, df, priors=old), draws=1000, tune=1000)) > 1.0
