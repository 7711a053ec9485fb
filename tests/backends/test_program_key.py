"""The cached NUTS programs are keyed by the model's structure and shapes, with the data
(and the priors scaled to them) passed as arguments: another data set of the same shapes
reuses the program, a different structure or shape does not, and a damaged entry is
rebuilt."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pymc as pm
import pytensor
import pytest

import hierbayes as hb
from hierbayes.backends.pymc.graph_data import lift_constants, sampler_graph, structure_key
from hierbayes.backends.pymc.jaxnuts import sample_jax_cached
from hierbayes.backends.pymc.nuts_setup import python_mode

FORMULA = "Reaction ~ Days + (Days | Subject)"


@pytest.fixture(scope="module")
def sleep():
    return hb.datasets.load("sleepstudy")


def _resample(df, seed):
    rng = np.random.default_rng(seed)
    return df.iloc[rng.integers(0, len(df), len(df))].reset_index(drop=True)


def _key(formula, df, **kwargs):
    return sampler_graph(hb.Model(formula, df, **kwargs).compile().model)


def test_the_key_ignores_data_values_and_priors_scaled_to_them(sleep):
    one, two = _key(FORMULA, sleep), _key(FORMULA, _resample(sleep, 1))
    assert one.lifted.key == two.lifted.key
    assert one.output_names == two.output_names
    # the data did change: the lifted constants (y, cross-products, prior scales) differ
    assert len(one.lifted.data) == len(two.lifted.data)
    assert any(not np.array_equal(a, b) for a, b in zip(one.lifted.data, two.lifted.data))
    # a group term integrated out reads the rows through per-group cross-products: another
    # number of rows per subject, the same program
    fewer_rows = sleep[sleep["Days"] < 8].reset_index(drop=True)
    assert _key(FORMULA, fewer_rows).lifted.key == one.lifted.key


def test_the_key_ignores_the_scales_of_given_priors(sleep):
    keys = {_key(FORMULA, sleep, priors={"sd": hb.Prior("HalfNormal", sigma=s)}).lifted.key for s in (30, 52.5)}
    assert len(keys) == 1
    assert _key(FORMULA, sleep, priors={"sd": hb.Prior("Exponential", lam=0.1)}).lifted.key not in keys


def test_the_key_follows_structure_and_shapes(sleep):
    base = _key(FORMULA, sleep).lifted.key
    assert _key("Reaction ~ Days + (Days || Subject)", sleep).lifted.key != base  # structure
    subjects = sleep["Subject"].astype(str)
    fewer = sleep.assign(Subject=subjects)[subjects != subjects.iloc[0]].reset_index(drop=True)
    assert _key(FORMULA, fewer).lifted.key == base  # 17 subjects: the same bucket of groups as 18
    copies = sleep.assign(Subject=subjects)[subjects.isin(subjects.unique()[:6])]
    copies = copies.assign(Subject=copies["Subject"] + "b")
    more = pd.concat([sleep.assign(Subject=subjects), copies], ignore_index=True)
    assert _key(FORMULA, more).lifted.key != base  # 24 subjects: the next bucket
    assert _key(FORMULA, sleep, family="student").lifted.key != base  # another likelihood


@pytest.mark.slow
def test_lifted_graph_computes_the_same_log_density(sleep):
    model = hb.Model(FORMULA, sleep).compile().model
    logp = model.logp()
    graph = lift_constants(model.value_vars, [logp])
    assert graph.data, "no data constant was lifted"
    point = [np.asarray(model.initial_point()[v.name]) + 0.1 for v in model.value_vars]
    f0 = pytensor.function(model.value_vars, logp, mode=python_mode())  # no C compiling
    f1 = pytensor.function([*model.value_vars, *graph.data_inputs], graph.outputs[0], mode=python_mode())
    np.testing.assert_allclose(f1(*point, *graph.data), f0(*point), rtol=1e-12)
    # other values for the data: another density, not the one compiled in
    moved = [d * 1.1 if d.dtype == np.float64 else d for d in graph.data]
    assert not np.isclose(f1(*point, *moved), f0(*point))


def test_structure_key_reads_constant_values_that_are_not_lifted():
    import pytensor.tensor as pt

    x = pt.vector("x")
    assert structure_key([x], [x * np.float32(2.0)]) != structure_key([x], [x * np.float32(3.0)])
    assert structure_key([x], [x * np.float32(2.0)]) == structure_key([x], [x * np.float32(2.0)])
    assert structure_key([x], [x * 2.0]) != structure_key([x], [x + 2.0])


@pytest.mark.slow
def test_padded_groups_add_nothing_to_the_log_density(sleep, monkeypatch):
    from hierbayes.backends.pymc import compile as compile_module
    from hierbayes.backends.pymc.graph_data import size_bucket

    assert [size_bucket(n) for n in (1, 2, 3, 16, 17, 18, 23, 24)] == [1, 2, 3, 16, 23, 23, 23, 32]
    model = hb.Model(FORMULA, sleep)
    values = []
    for bucket in (size_bucket, lambda n: n):
        monkeypatch.setattr(compile_module, "size_bucket", bucket)
        pm_model = compile_module.compile_model(model.design, model.priors, None).model
        point = [np.asarray(pm_model.initial_point()[v.name]) + 0.13 for v in pm_model.value_vars]
        values.append(pytensor.function(pm_model.value_vars, pm_model.logp(), mode=python_mode())(*point))
    assert abs(values[0] - values[1]) <= 1e-10 * abs(values[1])


def _toy(y):
    with pm.Model() as model:
        mu = pm.Normal("mu", 0.0, 10.0)
        pm.Normal("y", mu, 1.0, observed=np.asarray(y, dtype=float))
    return model


def _run(model):
    return sample_jax_cached(model, draws=200, tune=200, chains=1, cores=1, random_seed=1, target_accept=0.8,
                             dense_mass=False)


@pytest.mark.slow  # 15-30 s of cold compilation: in the slow suite
def test_new_data_reuse_the_program_and_a_damaged_entry_is_rebuilt(tmp_path, monkeypatch):
    monkeypatch.setenv("HIERBAYES_CACHE_DIR", str(tmp_path))
    from hierbayes.backends.pymc import jaxnuts

    monkeypatch.setattr(jaxnuts, "EXECUTABLES", {})  # nothing compiled earlier in this process
    rng = np.random.default_rng(0)
    first = _run(_toy(rng.normal(0.0, 1.0, 30)))
    assert not first.cached
    jaxnuts.EXECUTABLES.clear()  # as a new process would: from disk
    y = rng.normal(5.0, 1.0, 30)
    second = _run(_toy(y))
    assert second.cached, "same structure and shapes, other data: the program should be reused"
    # the draws are of the new data's posterior (the data are arguments, not baked in)
    assert abs(float(second.idata.posterior["mu"].mean()) - y.mean()) < 0.5
    (entry,) = (tmp_path / "programs").glob("*.bin")
    entry.write_bytes(b"damaged")
    jaxnuts.EXECUTABLES.clear()
    third = _run(_toy(y))
    assert not third.cached and entry.stat().st_size > 100  # rebuilt and stored again
    np.testing.assert_array_equal(third.idata.posterior["mu"], second.idata.posterior["mu"])
