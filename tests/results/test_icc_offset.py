"""The ICC of a count model with an offset is taken at the mean linear predictor including the
rows' mean offset (Nakagawa et al.'s lambda; performance::icc counts offsets). It had left the
offset out, so Owls' ICC was 0.34, 0.79 or 0.11 as the exposure was counted in broods, tenths
or tens of broods."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import hierbayes as hb
from hierbayes.params import CENTRED_INTERCEPT
from hierbayes.results import tables


@pytest.fixture(scope="module")
def owls_like() -> pd.DataFrame:
    rng = np.random.default_rng(3)
    nest = np.repeat(np.arange(20), 8)
    brood = rng.integers(2, 7, size=len(nest)).astype(float)
    u = rng.normal(0, 0.5, 20)[nest]
    y = rng.poisson(brood * np.exp(0.3 + u))
    return pd.DataFrame({"y": y, "brood": brood, "brood10": brood / 10, "nest": nest.astype(str)})


def test_the_icc_does_not_depend_on_the_units_of_the_exposure(owls_like) -> None:
    fit = hb.Model("y ~ offset(log(brood)) + (1 | nest)", owls_like, family="poisson").fit(
        backend="prior", draws=100, chains=2, random_seed=1)
    post = fit.posterior
    mean_offset = float(np.log(owls_like["brood"]).mean())
    table = fit.icc()
    ours = table["mean"].iloc[0]
    assert f"includes the rows' mean offset ({mean_offset:.3g})" in table.attrs["scale"]
    assert ours == pytest.approx(tables.icc(post, fit.spec, mean_offset=mean_offset)["mean"].iloc[0])
    assert ours != pytest.approx(tables.icc(post, fit.spec)["mean"].iloc[0], rel=1e-3)
    # the same posterior with the exposure in tenths: the intercept grows by log(10), the offset's mean
    # falls by it, and the ICC is unchanged
    tenths = post.assign({CENTRED_INTERCEPT: post[CENTRED_INTERCEPT] + np.log(10)})
    same = tables.icc(tenths, fit.spec, mean_offset=mean_offset - np.log(10))["mean"].iloc[0]
    assert same == pytest.approx(ours)
