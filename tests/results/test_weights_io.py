"""A weighted fit saved and loaded keeps its weights (the columns and the spec's settings)."""

from __future__ import annotations

import numpy as np
import pandas as pd

import hierbayes as hb


def test_saved_weighted_fit_keeps_its_weights(tmp_path):
    rng = np.random.default_rng(3)
    g = np.repeat(np.arange(5), 6)
    df = pd.DataFrame({"y": rng.normal(size=30), "x": rng.normal(size=30), "g": g.astype(str),
                       "w": rng.uniform(0.5, 2.0, 30), "w2": np.linspace(1, 2, 5)[g], "unused": 0.0})
    model = hb.Model("y ~ x + (1|g)", df, weights="w", group_weights={"g": "w2"}, weight_scaling="effective")
    fit = model.fit(draws=10, chains=1, random_seed=1, progressbar=False, backend="prior")
    path = tmp_path / "weighted.nc"
    fit.save(path)
    loaded = hb.load(path)
    assert loaded.spec.group_weights == (("g", "w2"),) and loaded.spec.weight_scaling == "effective"
    assert {"w", "w2"} <= set(loaded.model.data.columns) and "unused" not in loaded.model.data.columns
    np.testing.assert_allclose(loaded.model.design.row_weights, model.design.row_weights)
    np.testing.assert_allclose(loaded.model.design.groups[0].prior_weights, model.design.groups[0].prior_weights)
