"""The data shift of hierarchical centring (backends/pymc/centring.py): the intercept holder's
total effects, and those of the terms drawn around it, are located at their groups' mean
linear predictor, and the rows see only the within-group fixed columns. A shift: the log
density is the plainly centred model's at corresponding points."""

from __future__ import annotations

import numpy as np
import pandas as pd
from pymc_checks import jax_function as _jax
from pymc_checks import random_points as _random_points
from test_speed_paths import _assert_same_density_as_plainly_centred

import hierbayes as hb
from hierbayes.backends.pymc.centring import column_means, data_shift, holder_chain
from hierbayes.backends.pymc.compile import compile_model


def _regions(seed: int = 2) -> pd.DataFrame:
    """mmmec's structure: 6 nations of 4 regions, a region-level covariate (uvb), counts."""
    rng = np.random.default_rng(seed)
    nation = np.repeat(np.arange(6), 12)
    region = np.repeat(np.arange(24), 3)
    uvb = rng.normal(size=24)[region]
    eta = 1.0 - 0.3 * uvb + rng.normal(0, 0.4, 6)[nation] + rng.normal(0, 0.2, 24)[region]
    return pd.DataFrame({"y": rng.poisson(np.exp(eta)), "uvb": uvb, "x": rng.normal(size=72),
                         "nation": pd.Categorical(nation), "region": pd.Categorical(region)})


def test_column_means_and_the_chain():
    design = hb.Model("y ~ uvb + x + (1 | nation/region)", _regions(), family="poisson").design
    nation, region = design.groups
    X = np.column_stack([design.X[:, 1], np.ones(design.n_obs)])
    means = column_means(region, X)
    assert means.shape == (24, 2)
    assert np.allclose(means[region.codes, 0], design.X[:, 1])  # uvb is constant within a region
    assert np.allclose(means[:, 1], 1.0)
    assert holder_chain(0, {1: (0, np.zeros(24, int))}) == [0, 1]
    _, within = data_shift(design, [0, 1], X)
    assert np.allclose(within[:, 0], 0.0)  # nothing of uvb is left within regions


def test_totals_are_located_at_the_groups_mean_linear_predictor():
    model = hb.Model("y ~ uvb + x + (1 | nation/region)", _regions(), family="poisson")
    design = model.design
    compiled = compile_model(design, model.priors, {"nation": "centered", "nation:region": "nested"})
    m = compiled.model
    nation, region = design.groups
    keys = [k for k in compiled.parameterization]
    # the nation effects are integrated out (integrated_top.py): only the regions' totals are sampled
    assert "re_nation__total" not in m.named_vars and "z_nation" in {v.name for v in m.value_vars}
    names = ["Intercept_c", "b", *[f"re_{k}" for k in keys], "re_nation_region__total"]
    f = _jax(m, [m[n] for n in names])
    slopes = design.X[:, 1:] - design.X[:, 1:].mean(axis=0)
    xbar_r = column_means(region, slopes)
    parent = np.asarray(pd.Series(nation.codes).groupby(region.codes).first())
    for point in _random_points(m, np.random.default_rng(4)):
        ic, b, re_n, re_r, tot_r = f(*point)
        assert np.allclose(tot_r[:, 0], ic + xbar_r @ b + re_n[parent, 0] + re_r[:, 0])


def test_the_data_shift_leaves_the_density_unchanged(monkeypatch):
    model = hb.Model("y ~ uvb + x + (1 | nation/region)", _regions(), family="poisson")
    _assert_same_density_as_plainly_centred(model, {"nation": "centered", "nation:region": "nested"}, monkeypatch)
