"""A covariance structure is one builder: a new one defined here, nowhere else, works end to end.

The structure is compound symmetry with heterogeneous sds ("csh", SAS's ``type=CSH``): one
sd per column and one common correlation. Its spec-side description (name, one sd per
column, a Beta(2, 2) default prior on the correlation) and its PyMC builder are registered
together by the decorator below; the model, the priors table, every parameterization and
the results then take it like a built-in structure.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from conftest import fit_quiet

import hierbayes as hb
from hierbayes.backends.pymc.compile import compile_model
from hierbayes.backends.pymc.covariance import (
    BlockCovariance,
    block_sd,
    builder_for,
    covariance_builder,
    exchangeable_correlation_cholesky,
    scaled_cholesky,
)
from hierbayes.spec.covariance import CovarianceStructure, registered_names

CSH = CovarianceStructure(
    "csh", "one sd per column and one common correlation", shared_sd=False,
    default_cor=("Beta", {"alpha": 2.0, "beta": 2.0}),
)


@covariance_builder(CSH)
def csh(block, names, priors) -> BlockCovariance:
    sd = block_sd(block, names, priors)
    if block.n_columns == 1:
        return BlockCovariance.diagonal(sd, 1)
    chol = scaled_cholesky(sd, exchangeable_correlation_cholesky(block, names, priors))
    return BlockCovariance.correlated(chol, block.n_columns)


SDS = np.array([1.0, 0.5, 0.3])
RHO = 0.4


def simulate(J: int = 40, n: int = 15, seed: int = 3) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    cov = np.outer(SDS, SDS) * ((1 - RHO) * np.eye(3) + RHO)
    u = rng.multivariate_normal(np.zeros(3), cov, size=J)
    g = np.repeat(np.arange(J), n)
    X = np.column_stack([np.ones(J * n), rng.normal(size=(J * n, 2))])
    y = X @ np.array([1.0, 0.5, -0.5]) + np.einsum("nk,nk->n", X, u[g]) + rng.normal(0, 0.5, J * n)
    df = pd.DataFrame({"x1": X[:, 1], "x2": X[:, 2], "y": y})
    df["g"] = pd.Categorical([f"g{j:02d}" for j in g])
    df["a"] = pd.Categorical([f"a{j // 8}" for j in g])  # groups g nested in a
    return df


@pytest.fixture(scope="module")
def data():
    return simulate()


def test_toy_structure_has_its_default_priors(data):
    model = hb.Model("y ~ x1 + x2 + (x1 + x2 | g)", data=data, covariance={"g": "csh"})
    assert model.spec.groups[0].covariance is hb.Covariance("csh")
    table = {e.address.key(): e.prior for e in model.priors.entries}
    assert {"sd:g:Intercept", "sd:g:x1", "sd:g:x2"} <= set(table)
    assert table["cor:g"] == hb.Prior("Beta", alpha=2.0, beta=2.0)


@pytest.mark.parametrize("parameterization", ["centered", "noncentered", "marginal"])
def test_toy_structure_compiles_in_every_parameterization(data, parameterization):
    model = hb.Model("y ~ x1 + x2 + (x1 + x2 | g)", data=data, covariance={"g": "csh"})
    compiled = compile_model(model.design, model.priors, parameterization)
    names = {v.name for v in compiled.model.free_RVs} | {v.name for v in compiled.model.deterministics}
    assert {"sd_g", "rho_g", "cor_g"} <= names
    assert compiled.parameterization == {"g": parameterization}
    point = compiled.model.initial_point()
    assert np.isfinite(compiled.model.compile_logp(mode="FAST_COMPILE")(point))


def test_toy_structure_nested(data):
    model = hb.Model("y ~ x1 + (x1 | a) + (x1 | a:g)", data=data, covariance={"a": "csh", "a:g": "csh"})
    compiled = compile_model(model.design, model.priors, {"a:g": "nested", "a": "centered"})
    assert compiled.parameterization["a_g"] == "nested"
    point = compiled.model.initial_point()
    assert np.isfinite(compiled.model.compile_logp(mode="FAST_COMPILE")(point))


@pytest.mark.slow
def test_toy_structure_samples_and_recovers(data):
    model = hb.Model("y ~ x1 + x2 + (x1 + x2 | g)", data=data, covariance={"g": "csh"})
    fit = fit_quiet(model, chains=2, draws=400, tune=400)
    vc = fit.varcorr(prob=0.99).set_index(["group", "term"])
    sds = vc.loc["g"].loc[["sd(Intercept)", "sd(x1)", "sd(x2)"]]
    assert sds["mean"].nunique() == 3, "one sd per column"
    for (term, row), truth in zip(sds.iterrows(), SDS):
        assert row["lower"] <= truth <= row["upper"], f"{term}: {truth} outside [{row['lower']:.3f}, {row['upper']:.3f}]"
    cors = vc.loc["g"][vc.loc["g"].index.str.startswith("cor")]
    assert len(cors) == 3 and cors["mean"].nunique() == 1, "one common correlation"
    assert cors["lower"].iloc[0] <= RHO <= cors["upper"].iloc[0]
    assert -0.5 < cors["mean"].iloc[0] < 1.0


def test_unknown_structure_lists_the_registered_ones(data):
    with pytest.raises(hb.SpecError, match="unknown covariance structure 'toeplitz'") as err:
        hb.Model("y ~ x1 + (x1 | g)", data=data, covariance={"g": "toeplitz"})
    for name in ("unstructured", "independent", "identity", "exchangeable", "csh"):
        assert repr(name) in str(err.value)
    assert set(registered_names()) >= {"unstructured", "independent", "identity", "exchangeable", "csh"}
    with pytest.raises(hb.SpecError, match="unknown covariance structure 'banded'"):
        hb.Covariance("banded")


def test_a_name_takes_one_builder():
    assert builder_for("csh").build is csh
    with pytest.raises(hb.SpecError, match="already has a builder"):
        covariance_builder(CSH)(lambda block, names, priors: None)
    with pytest.raises(hb.SpecError, match="already registered with another description"):
        covariance_builder(CovarianceStructure("csh", "something else", shared_sd=True))(csh)


def test_a_default_correlation_prior_is_checked_when_registered():
    bad = CovarianceStructure("bad_cor", "a correlation prior on the wrong support", shared_sd=True,
                              default_cor=("HalfNormal", {"sigma": 1.0}))
    with pytest.raises(hb.PriorError, match="cor"):
        covariance_builder(bad)(csh)
    assert "bad_cor" not in registered_names()
