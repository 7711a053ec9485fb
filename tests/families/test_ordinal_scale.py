"""An ordinal response's categories: those that occur (as R's factor() gives them to clm and
polr), and the data's own numbers wherever the response comes back (predictions, predictive
checks, margins), so that a 1-5 rating is not reported as 0-4 in one place and 1-5 in another."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest

import hierbayes as hb
from hierbayes.families import encode_ordinal


def test_integer_codes_keep_the_categories_that_occur():
    codes, labels = encode_ordinal(pd.Series([3, 5, 7, 4, 6, 3]), "r", None)
    assert labels == ("3", "4", "5", "6", "7") and codes.tolist() == [0, 2, 4, 1, 3, 0]
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert encode_ordinal(pd.Series([1, 2, 3, 2]), "r", None)[1] == ("1", "2", "3")
        assert encode_ordinal(pd.Series([0, 2, 1]), "r", None)[1] == ("0", "1", "2")


@pytest.mark.parametrize("values, unseen", [([3, 4, 5, 7], "1, 2, 6"), ([1, 2, 4], "3"), ([0, 2], "1")])
def test_skipped_codes_are_named_in_a_warning(values, unseen):
    with pytest.warns(UserWarning, match=rf"response 'r' has no rows at {unseen}: the model has the"):
        encode_ordinal(pd.Series(values), "r", None)


def _wine(shift: int = 0, text: bool = False) -> pd.DataFrame:
    rng = np.random.default_rng(1)
    df = pd.DataFrame({"x": rng.normal(size=120), "g": np.repeat([f"j{i}" for i in range(12)], 10)})
    df["rating"] = np.clip(np.round(3 + df["x"] + rng.normal(size=120)), 1, 5).astype(int) + shift
    if text:
        df["rating"] = pd.Categorical(df["rating"].map(dict(zip(range(1, 6), "abcde", strict=True))),
                                      categories=list("abcde"), ordered=True)
    return df


@pytest.mark.parametrize("shift", [0, 2])
def test_predictions_and_checks_are_on_the_data_scale(shift):
    df = _wine(shift)
    fit = hb.Model("rating ~ x + (1 | g)", df, family="cumulative").fit(backend="prior", draws=40, chains=2, random_seed=1)
    draws = fit.predict(df.head(20), kind="response").values
    assert set(np.unique(draws)) <= set(range(1 + shift, 6 + shift))
    table = fit.ppc(random_seed=1).pvalues()
    assert table.loc["mean", "observed"] == pytest.approx(df["rating"].mean())


def test_text_categories_come_back_as_numbers_one_to_k():
    df = _wine(text=True)
    fit = hb.Model("rating ~ x + (1 | g)", df, family="cumulative").fit(backend="prior", draws=40, chains=2, random_seed=1)
    assert set(np.unique(fit.predict(df.head(20), kind="response").values)) <= {1, 2, 3, 4, 5}
    assert fit.ppc(random_seed=1).pvalues().loc["mean", "observed"] == pytest.approx(df["rating"].cat.codes.mean() + 1)


def test_exponentiated_coefficients_leave_the_cutpoints_on_their_scale():
    df = _wine()
    fit = hb.Model("rating ~ x + (1 | g)", df, family="cumulative").fit(backend="prior", draws=40, chains=2, random_seed=1)
    raw, ratios = fit.fixef(), fit.fixef(exponentiate=True)
    cut = [t for t in raw.index if t.startswith("Intercept[")]
    assert len(cut) == 4
    np.testing.assert_allclose(ratios.loc[cut, "mean"], raw.loc[cut, "mean"])
    assert ratios.loc["x", "median"] == pytest.approx(np.exp(raw.loc["x", "median"]), rel=0.02)  # 80 draws: medians of pairs
    assert "cutpoints Intercept[k] are not exponentiated" in ratios.attrs["note"]
    assert "not exponentiated" in str(fit.summary(exponentiate=True))


def test_unused_categories_of_an_ordered_response_are_named_in_a_warning():
    # integer codes that skip a value were warned of; an ordered Categorical's unused level was not
    df = _wine(text=True)
    df["rating"] = df["rating"].cat.add_categories(["f"])
    with pytest.warns(UserWarning, match=r"response 'rating' has no rows at f: the model has the 5 categories "
                                         r"that occur \(a, b, c, d, e\)"):
        hb.Model("rating ~ x + (1 | g)", df, family="cumulative")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        hb.Model("rating ~ x + (1 | g)", _wine(text=True), family="cumulative")
