"""The shipped MRP survey is the one examples/mrp_simulation.py draws, with its truth; and
``Predictions`` shows numbers when printed."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pandas.testing as pdt
import xarray as xr

import hierbayes as hb
from hierbayes.predict.predict import Predictions

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
sys.path.insert(0, str(EXAMPLES))

import mrp_simulation as sim  # noqa: E402

# The seeds documented in hierbayes/datasets/README.md and data/mrp/README.md.
TRUTH_SEED, SURVEY_SEED, RESPONDENTS = 20240601, 2, 5000


def test_survey_is_the_documented_simulation():
    truth = sim.simulate_truth(TRUTH_SEED)
    expected = sim.simulate_survey(truth, n=RESPONDENTS, seed=SURVEY_SEED)
    shipped = hb.datasets.load("survey")
    pdt.assert_frame_equal(shipped, expected, check_categorical=False, check_dtype=False)
    for column in ("eth", "age", "educ", "region"):
        assert list(shipped[column].cat.categories) == list(expected[column].cat.categories), column
    truth_table = hb.datasets.load("survey_truth").set_index("state")["truth"]
    expected_truth = truth.state.reindex(truth_table.index.astype(str)).to_numpy()
    np.testing.assert_allclose(truth_table.to_numpy(), expected_truth, atol=1e-6)


def test_survey_matches_the_census_tables():
    survey = hb.datasets.load("mrp_survey")
    cells = hb.datasets.load("poststrat_df")
    states = hb.datasets.load("statelevel_predictors").set_index("state")
    for column in ("eth", "age", "educ"):
        assert list(survey[column].cat.categories) == list(cells[column].cat.categories), column
    assert set(survey["male"]) == {-0.5, 0.5}
    np.testing.assert_allclose(
        survey["repvote"].to_numpy(), states["repvote"].reindex(survey["state"].astype(str)).to_numpy()
    )
    assert set(survey["y"]) == {0, 1}
    assert "survey" in hb.datasets.names() and "survey_truth" in hb.datasets.describe()


def _predictions(n_rows: int) -> Predictions:
    rng = np.random.default_rng(0)
    values = rng.normal(np.arange(n_rows) * 10.0, 1.0, size=(2, 100, n_rows))
    draws = xr.DataArray(
        values,
        dims=("chain", "draw", "obs"),
        coords={"obs": np.arange(n_rows), "row": ("obs", np.arange(n_rows) + 100)},
        name="y",
    )
    data = pd.DataFrame({"x": np.arange(n_rows, dtype=float)}, index=np.arange(n_rows) + 100)
    return Predictions(draws=draws, data=data, kind="mean", groups="include", new_groups="sample")


def test_predictions_repr_shows_the_first_rows_with_numbers():
    pred = _predictions(8)
    text = repr(pred)
    lines = text.splitlines()
    assert lines[0].startswith("<hierbayes.Predictions kind='mean'")
    assert "8 rows x 2 chains x 100 draws" in lines[0]
    assert lines[1].split() == ["mean", "lower", "upper"]
    body = lines[2:7]
    assert [int(line.split()[0]) for line in body] == [100, 101, 102, 103, 104]
    means = [float(line.split()[1]) for line in body]
    np.testing.assert_allclose(means, np.arange(5) * 10.0, atol=0.5)
    assert "first 5 of 8 rows" in lines[-1] and ".summary()" in lines[-1]
    assert "<table" in pred._repr_html_() and "&lt;hierbayes.Predictions" in pred._repr_html_()


def test_predictions_head_matches_summary():
    pred = _predictions(3)
    head = pred.head(2, prob=0.9)
    full = pred.summary(0.9)
    pdt.assert_frame_equal(head, full[["mean", "lower", "upper"]].iloc[:2])
    assert "first" not in repr(pred)
