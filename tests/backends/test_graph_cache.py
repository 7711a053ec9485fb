"""The stored graph arguments of the cached NUTS programs (:mod:`hierbayes.backends.pymc.graph_cache`):
a process that fits a model it fitted before reads them instead of rebuilding the graph,
and gets the same draws."""

from __future__ import annotations

import numpy as np
import pymc as pm
import pytest

import hierbayes as hb
from hierbayes.backends.pymc import jaxnuts
from hierbayes.backends.pymc.graph_cache import arguments_of, load_arguments, save_arguments
from hierbayes.backends.pymc.graph_data import sampler_graph

VERSIONS = "test-versions"


def _graph():
    y = np.array([0.3, -1.2, 2.5, 0.7])
    with pm.Model() as model:
        mu = pm.Normal("mu", 0.0, 10.0)
        sigma = pm.HalfNormal("sigma", 2.0)
        pm.Normal("y", mu, sigma, observed=y)
    return sampler_graph(model)


def test_arguments_round_trip(monkeypatch, tmp_path) -> None:
    monkeypatch.setenv("HIERBAYES_CACHE_DIR", str(tmp_path))
    stored = arguments_of(_graph())
    assert load_arguments("fp", VERSIONS) is None
    save_arguments("fp", VERSIONS, stored)
    loaded = load_arguments("fp", VERSIONS)
    assert loaded is not None
    assert (loaded.value_names, loaded.output_names, loaded.structure_key) == (
        stored.value_names, stored.output_names, stored.structure_key)
    assert stored.value_names == ["mu", "sigma_log__"] and stored.output_names == ["mu", "sigma"]
    for got, want in zip([*loaded.data, *loaded.start], [*stored.data, *stored.start], strict=True):
        assert got.dtype == want.dtype
        np.testing.assert_array_equal(got, want)
    # another model, or the same one under other library versions, has its own entry
    assert load_arguments("other fp", VERSIONS) is None
    assert load_arguments("fp", "other versions") is None


def test_a_damaged_entry_reads_as_none(monkeypatch, tmp_path) -> None:
    monkeypatch.setenv("HIERBAYES_CACHE_DIR", str(tmp_path))
    save_arguments("fp", VERSIONS, arguments_of(_graph()))
    (npz,) = (tmp_path / "programs").glob("*-graph.npz")
    npz.write_bytes(npz.read_bytes()[:40])
    assert load_arguments("fp", VERSIONS) is None


def test_nothing_is_stored_with_caching_off_or_without_a_fingerprint(monkeypatch, tmp_path) -> None:
    monkeypatch.setenv("HIERBAYES_CACHE_DIR", str(tmp_path))
    save_arguments("", VERSIONS, arguments_of(_graph()))
    assert not list(tmp_path.rglob("*-graph.*"))
    monkeypatch.setenv("HIERBAYES_CACHE_DIR", "off")
    save_arguments("fp", VERSIONS, arguments_of(_graph()))
    assert load_arguments("fp", VERSIONS) is None
    assert not list(tmp_path.rglob("*-graph.*"))


@pytest.mark.slow  # one cold compile of the sampler
def test_a_refit_of_the_same_model_reads_the_graph_and_draws_the_same(monkeypatch, tmp_path) -> None:
    monkeypatch.setenv("HIERBAYES_CACHE_DIR", str(tmp_path))
    df = hb.datasets.load("sleepstudy")
    settings = dict(draws=40, tune=40, chains=2, cores=1, random_seed=5, progressbar=False)
    first = hb.Model("Reaction ~ Days + (Days | Subject)", df).fit(**settings)
    assert len(list((tmp_path / "programs").glob("*-graph.npz"))) == 1
    monkeypatch.setattr(jaxnuts, "EXECUTABLES", {})  # as in a new process

    def refuse(model):
        raise AssertionError("the graph was rebuilt")

    monkeypatch.setattr(jaxnuts, "sampler_graph", refuse)
    again = hb.Model("Reaction ~ Days + (Days | Subject)", df).fit(**settings)
    for name in ("Intercept", "sigma", "sd_Subject"):
        np.testing.assert_array_equal(first.idata.posterior[name].values, again.idata.posterior[name].values)
    # other data of the same structure: the graph is built (and the program reused)
    other = df.assign(Reaction=df["Reaction"] + 1.0)
    with pytest.raises(AssertionError, match="the graph was rebuilt"):
        hb.Model("Reaction ~ Days + (Days | Subject)", other).fit(**settings)
