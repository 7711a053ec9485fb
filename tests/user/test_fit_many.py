"""hb.fit_many: many fits on SBC's executors (threads, Dask), returned or saved."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import hierbayes as hb
from hierbayes.errors import ArgumentError

FAST = {"backend": "prior", "draws": 50, "chains": 2, "random_seed": 1}


@pytest.fixture(scope="module")
def survey() -> pd.DataFrame:
    rng = np.random.default_rng(4)
    n = 300
    df = pd.DataFrame({"g": rng.choice(list("abcdefgh"), n), "x": rng.normal(size=n)})
    df["q1"] = (rng.random(n) < 0.4).astype(int)
    df["q2"] = (rng.random(n) < 0.6).astype(int)
    df["y"] = df["x"] + rng.normal(size=n)
    return df


def test_many_outcomes_on_threads_in_order(survey):
    fits = hb.fit_many(["q1 ~ x + (1|g)", "q2 ~ x + (1|g)"], survey, model_kwargs={"family": "bernoulli"}, **FAST)
    assert [f.spec.response.expr for f in fits] == ["q1", "q2"]
    assert all(isinstance(f, hb.Fit) for f in fits)


def test_dict_of_models_saved_to_a_folder(survey, tmp_path):
    models = {"slope": hb.Model("y ~ x + (x|g)", survey), "intercept": "y ~ x + (1|g)"}
    paths = hb.fit_many(models, survey, folder=tmp_path / "fits", executor="serial", **FAST)
    assert list(paths) == ["slope", "intercept"]
    assert paths["slope"].endswith("000_slope.nc")
    assert hb.load(paths["intercept"]).formula == "y ~ x + (1 | g)"


def test_on_a_dask_client(survey):
    distributed = pytest.importorskip("distributed")
    with distributed.Client(processes=False, n_workers=1, threads_per_worker=2, dashboard_address=None) as client:
        fits = hb.fit_many(["y ~ x + (1|g)", "y ~ 1 + (1|g)"], survey, client=client, **FAST)
    assert [f.formula for f in fits] == ["y ~ x + (1 | g)", "y ~ 1 + (1 | g)"]


def test_arguments_checked(survey):
    with pytest.raises(ArgumentError, match=r"models=\[\]: empty"):
        hb.fit_many([], survey)
    with pytest.raises(ArgumentError, match="give a list .* not a str"):
        hb.fit_many("y ~ x", survey)
    with pytest.raises(ArgumentError, match=r"models\[0\]='y ~ x': a formula needs data="):
        hb.fit_many(["y ~ x"])
    with pytest.raises(ArgumentError, match="executor='gpu': valid values"):
        hb.fit_many(["y ~ x"], survey, executor="gpu")
    with pytest.raises(ArgumentError, match="executor='thread': a client= runs the fits on its Dask cluster"):
        hb.fit_many(["y ~ x"], survey, client=object(), executor="thread")
