"""Interactions of factors without their main effects (R's ``factor(a):factor(b)``, Stata's
``i.a#i.b``): formulae deep-copies the formula's environment for them, which once failed on
the numpy module it holds ("cannot pickle 'module' object")."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import hierbayes as hb


def _data() -> pd.DataFrame:
    rng = np.random.default_rng(1)
    return pd.DataFrame({"y": rng.poisson(3, 60), "a": rng.integers(0, 3, 60), "b": rng.integers(0, 2, 60),
                         "g": np.repeat(np.arange(10), 6), "x": rng.uniform(1, 2, 60)})


@pytest.mark.parametrize("formula", [
    "y ~ C(a):C(b) + (1 | g)",
    "y ~ factor(a):factor(b) + np.log(x) + (1 | g)",
])
def test_factor_interactions_without_main_effects_build(formula: str) -> None:
    design = hb.Model(formula, _data(), family="poisson").design
    assert design.X.shape == (60, 6 + ("np.log" in formula))
    assert np.linalg.matrix_rank(design.X) == design.X.shape[1]


def test_statas_factor_interaction_builds() -> None:
    design = hb.Model(hb.from_stata("mepoisson y i.a#i.b || g:"), _data()).design
    assert sum(":" in name for name in design.fixed_names) == 4
