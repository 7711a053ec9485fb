"""A residual structure's parameters in the prior table: defaults, overrides by key, errors,
and the overriding prior in the compiled model (no sampling)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import hierbayes as hb
from hierbayes.errors import PriorError


def _panel(J: int = 6, T: int = 4, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    df = pd.DataFrame({"g": np.repeat([f"g{j}" for j in range(J)], T), "t": np.tile(np.arange(1, T + 1), J)})
    df["v"] = "v" + df["t"].astype(str)
    df["x"] = rng.normal(size=len(df))
    df["y"] = rng.normal(size=len(df))
    return df


def _rows(model: hb.Model) -> dict[str, tuple[str, str]]:
    frame = model.priors.to_frame()
    return {c: (p, s) for c, p, s in zip(frame["class"], frame["prior"], frame["source"])}


def test_structure_defaults_are_in_the_prior_table() -> None:
    df = _panel()
    ar1 = hb.Model("y ~ x + (1 | g)", df, residuals=hb.residuals("ar1", time="t", group="g"))
    assert _rows(ar1)["ar1_phi"] == ("Uniform(lower=-1, upper=1)", "default")
    exch = hb.Model("y ~ x", df, residuals=hb.residuals("exchangeable", time="t", group="g"))
    assert _rows(exch)["exch_rho"][0] == "Uniform(lower=-0.3333, upper=1)"  # -1/(T-1), T = 4
    exp = hb.Model("y ~ x", df, residuals=hb.residuals("exponential", time="t", group="g"))
    assert _rows(exp)["exp_range"][0] == "InverseGamma(alpha=1, beta=1)"  # observations 1 apart
    # the median gap between a group's consecutive observations, unsorted and unequal spacing too
    uneven = df.assign(t=df["t"].map({1: 0.0, 2: 7.0, 3: 14.0, 4: 15.0})).sample(frac=1, random_state=1)
    exp = hb.Model("y ~ x", uneven, residuals=hb.residuals("exponential", time="t", group="g"))
    assert _rows(exp)["exp_range"][0] == "InverseGamma(alpha=1, beta=7)"
    un = hb.Model("y ~ x", df, residuals=hb.residuals("unstructured", time="v", group="g"))
    assert _rows(un)["unstr_cor"] == ("LKJ(eta=1)", "default")
    assert _rows(un)["sigma_ratio"] == ("LogNormal(mu=0, sigma=1)", "default")
    plain = hb.Model("y ~ x + (1 | g)", df)
    assert not {"ar1_phi", "sigma_ratio"} & set(_rows(plain))


def test_overrides_by_key_reach_the_compiled_model() -> None:
    df = _panel()
    ar1 = hb.Model(
        "y ~ x + (1 | g)", df, residuals=hb.residuals("ar1", time="t", group="g"),
        priors={"ar1_phi": hb.Prior("Uniform", lower=0, upper=1)},
    )
    assert _rows(ar1)["ar1_phi"] == ("Uniform(lower=0, upper=1)", "user (ar1_phi)")
    model = ar1.compile().model
    lower, upper = (float(v.data) for v in model["ar1_phi"].owner.inputs[-2:])
    assert (lower, upper) == (0.0, 1.0)
    un = hb.Model(
        "y ~ x", df, residuals=hb.residuals("unstructured", time="v", group="g"),
        priors={"unstr_cor": hb.Prior("LKJ", eta=4), "sigma_ratio": hb.Prior("HalfNormal", sigma=2)},
    )
    assert _rows(un)["unstr_cor"] == ("LKJ(eta=4)", "user (unstr_cor)")
    model = un.compile().model
    assert "halfnormal" in str(model["sigma_ratio"].owner.op).lower()
    assert float(model["unstr_cor_chol"].owner.inputs[-1].data) == 4.0  # eta


@pytest.mark.parametrize("prior, message", [
    (hb.Prior("Uniform", lower=-2, upper=1), r"'ar1_phi'.*leaves the parameter's range \[-1, 1\]"),
    (hb.Prior("Normal", mu=0, sigma=1), r"'ar1_phi'.*Normal has real support.*interval support.*\['Uniform'\]"),
    (hb.Prior("Uniform", lower=0.5, upper=0.2), r"'ar1_phi'.*lower=0.5 must be below upper=0.2"),
])
def test_invalid_structure_priors(prior, message) -> None:
    df = _panel()
    with pytest.raises(PriorError, match=message):
        hb.Model("y ~ x", df, residuals=hb.residuals("ar1", time="t", group="g"), priors={"ar1_phi": prior}).priors


def test_exchangeable_prior_must_keep_the_groups_positive_definite() -> None:
    df = _panel()
    with pytest.raises(PriorError, match=r"'exch_rho'.*range \[-0.33333\d*, 1\]; give lower >= -0.33333"):
        hb.Model(
            "y ~ x", df, residuals=hb.residuals("exchangeable", time="t", group="g"),
            priors={"exch_rho": hb.Prior("Uniform", lower=-0.5, upper=1)},
        ).priors


def test_structure_key_without_the_structure_is_unknown() -> None:
    with pytest.raises(PriorError, match=r"no parameter matches the prior key 'ar1_phi'"):
        hb.Model("y ~ x + (1 | g)", _panel(), priors={"ar1_phi": hb.Prior("Uniform", lower=0, upper=1)}).priors


def test_prior_sensitivity_checks_the_structure_parameters_whose_prior_is_not_uniform() -> None:
    """exp_range and sigma_ratio (one row per by= level, under one prior) are power-scaled;
    a Uniform prior (ar1_phi) is not: scaling a constant log density changes nothing."""
    df = _panel(J=12, T=5)
    df["arm"] = np.where(df["g"].isin(["g0", "g1", "g2", "g3", "g4", "g5"]), "a", "b")
    exp = hb.Model("y ~ x + (1 | g)", df, residuals=hb.residuals("exponential", time="t", group="g"))
    table = exp.fit(backend="prior", draws=300, chains=2, random_seed=1).prior_sensitivity()
    assert table.loc["exp_range", "key"] == "exp_range" and table.loc["exp_range", "source"] == "default"
    ar1 = hb.Model("y ~ x", df, residuals=hb.residuals("ar1", time="t", group="g", by="arm"))
    table = ar1.fit(backend="prior", draws=300, chains=2, random_seed=1).prior_sensitivity()
    assert not any(label.startswith("ar1_phi") for label in table.index)
    ratios = [label for label in table.index if label.startswith("sigma_ratio")]
    assert ratios and set(table.loc[ratios, "key"]) == {"sigma_ratio"}
