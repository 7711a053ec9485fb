"""The stored graph arguments of the cached NUTS programs (:mod:`hierbayes.backends.pymc.graph_cache`):
a process that fits a model it fitted before reads them instead of rebuilding the graph,
and gets the same draws."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pymc as pm
import pytest

import hierbayes as hb
from hierbayes.backends.pymc import jaxnuts
from hierbayes.backends.pymc.graph_cache import arguments_of, load_arguments, save_arguments
from hierbayes.backends.pymc.graph_data import sampler_graph

VERSIONS = "test-versions"
ROOT = Path(__file__).resolve().parents[2]


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


@pytest.mark.slow  # one cold compile of the sampler
def test_a_refit_builds_no_model_and_lays_the_draws_out_as_before(monkeypatch, tmp_path) -> None:
    """The draws' layout (coordinates, dims, observed data, mass structure) is stored with
    the graph's data: a refit of a rows model (observed y) builds no PyMC model."""
    monkeypatch.setenv("HIERBAYES_CACHE_DIR", str(tmp_path))
    df = hb.datasets.load("cbpp")
    formula = "cbind(incidence, size - incidence) ~ period + (1 | herd)"
    settings = dict(draws=30, tune=30, chains=2, cores=1, random_seed=2, progressbar=False)
    first = hb.Model(formula, df, family="binomial").fit(**settings)
    monkeypatch.setattr(jaxnuts, "EXECUTABLES", {})  # as in a new process
    model = hb.Model(formula, df, family="binomial")
    again = model.fit(**settings)
    assert not model.compile().built  # the PyMC model was never built
    for group in ("posterior", "observed_data"):
        a, b = first.idata[group].to_dataset(), again.idata[group].to_dataset()
        assert set(a.data_vars) == set(b.data_vars) and dict(a.sizes) == dict(b.sizes)
        for name in a.data_vars:
            np.testing.assert_array_equal(a[name].values, b[name].values)
        for dim in a.dims:
            np.testing.assert_array_equal(a[dim].values, b[dim].values)


def _run_script(code: str, cache: Path, extra_env: dict | None = None) -> str:
    env = {**os.environ, "HIERBAYES_CACHE_DIR": str(cache), "PYTHONPATH": str(ROOT), **(extra_env or {})}
    out = subprocess.run([sys.executable, "-c", textwrap.dedent(code)], capture_output=True, text=True, env=env,
                         timeout=600)
    assert out.returncode == 0, out.stderr
    return out.stdout


@pytest.mark.slow  # one cold compile of the sampler in a fresh process, then a warm one
def test_a_warm_process_runs_the_cached_sampler_without_pymcs_jax_module(tmp_path) -> None:
    script = """
        import sys
        import hierbayes as hb
        fit = hb.Model("Reaction ~ Days + (Days | Subject)", hb.datasets.load("sleepstudy")).fit(
            draws=40, tune=40, chains=2, random_seed=5, progressbar=False)
        print(fit.info.sampler, "pymc.sampling.jax" in sys.modules, "pytensor.link.jax.dispatch" in sys.modules)
        fit.summary()
        print("arviz_base" in sys.modules, "arviz_stats" in sys.modules, "scipy.stats" in sys.modules)
        print("pymc" in sys.modules, "pytensor" in sys.modules)
    """
    cold = _run_script(script, tmp_path).split("\n")
    warm = _run_script(script, tmp_path).split("\n")
    assert cold[0] == "numpyro True True"  # building the graph jaxifies it
    assert warm[0] == "numpyro False False"  # loading it needs neither (0.3 s of imports)
    # the draws' container is imported while the chains ran; the summary's prior-sensitivity
    # check needs neither arviz_stats nor scipy.stats (1.3 s of imports)
    assert warm[1] == "True False False"
    # the model, its graph and the draws' layout are cached: no PyMC model is built, and
    # neither PyMC nor PyTensor is imported (backends/pymc/lazy.py)
    assert cold[2] == "True True" and warm[2] == "False False"


def test_configure_jax_keeps_the_users_device_count_and_adds_one_otherwise(tmp_path) -> None:
    code = """
        import os
        from hierbayes.backends.pymc.nuts_setup import configure_jax
        configure_jax()
        import jax
        print(os.environ["XLA_FLAGS"].count("--xla_force_host_platform_device_count"), len(jax.devices("cpu")),
              jax.config.jax_enable_x64)
    """
    own = _run_script(code, tmp_path, {"XLA_FLAGS": "--xla_force_host_platform_device_count=3"}).split()
    assert own == ["1", "3", "True"]
    other = _run_script(code, tmp_path, {"XLA_FLAGS": "--xla_cpu_enable_fast_math=false"}).split()
    assert other[0] == "1" and int(other[1]) >= 4 and other[2] == "True"
