"""A numeric column made a factor in the formula by any of R's calls (``factor(nitro)``,
``as.factor``, ``relevel``, formulae's ``C``) is a factor for contrasts and margins, as
emmeans treats it; ``factor(nitro)`` once passed only as ``C(nitro)``."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import hierbayes as hb
from hierbayes.errors import SpecError
from hierbayes.predict.conditional import check_predictor, is_factor


def _data() -> pd.DataFrame:
    rng = np.random.default_rng(2)
    return pd.DataFrame({"y": rng.normal(size=48), "nitro": np.tile([0.0, 0.2, 0.4, 0.6], 12),
                         "x": rng.uniform(1, 2, 48), "g": np.repeat(np.arange(8), 6)})


@pytest.mark.parametrize("term", ["factor(nitro)", "as.factor(nitro)", "C(nitro)", "relevel(factor(nitro), ref = '0.2')"])
def test_a_numeric_column_wrapped_in_a_factor_call_is_a_factor(term: str) -> None:
    model = hb.Model(f"y ~ {term} + x + (1 | g)", _data())
    assert is_factor(model, "nitro")
    assert not is_factor(model, "x")
    check_predictor(model, "nitro", "over", factor=True)


def test_a_transformed_numeric_column_stays_numeric() -> None:
    model = hb.Model("y ~ log(x) + nitro + (1 | g)", _data())
    assert not is_factor(model, "x") and not is_factor(model, "nitro")
    with pytest.raises(SpecError, match="numeric in the model"):
        check_predictor(model, "nitro", "over", factor=True)


def test_a_call_given_for_the_column_names_the_column() -> None:
    model = hb.Model("y ~ factor(nitro) + (1 | g)", _data())
    with pytest.raises(SpecError, match=r"name the column: over='nitro'"):
        check_predictor(model, "factor(nitro)", "over", factor=True)
