"""Rows and levels padded to size buckets (backends/pymc/padding.py): the padded sampler
graph is the model's log density plus independent standard normals on the padding levels,
data sets of one bucket share one graph structure (one compiled program), and draws come
back at the real sizes."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from pymc_checks import padded_minus_real

import hierbayes as hb
from hierbayes.backends.pymc import compile as compile_module
from hierbayes.backends.pymc.graph_data import sampler_graph
from hierbayes.backends.pymc.padding import XLA_CPU_SPLIT_ROWS, level_bucket, real_mask, row_bucket, trim_draws


def _panel(n_subjects: int, n_items: int = 12, seed: int = 0, family: str = "bernoulli") -> pd.DataFrame:
    """Subjects answering items (VerbAgg-like): a subject covariate, an item covariate."""
    rng = np.random.default_rng(seed)
    subject = np.repeat(np.arange(n_subjects), n_items)
    item = np.tile(np.arange(n_items), n_subjects)
    anger = rng.normal(size=n_subjects)[subject]
    hard = (np.arange(n_items) % 3 == 0).astype(float)[item]
    eta = -0.3 + 0.4 * anger - 0.8 * hard + rng.normal(0, 1.0, n_subjects)[subject] + rng.normal(0, 0.6, n_items)[item]
    if family == "bernoulli":
        y = rng.binomial(1, 1 / (1 + np.exp(-eta)))
    elif family == "cumulative":
        y = 1 + np.searchsorted([-1.0, 0.0, 1.0], eta + rng.logistic(size=len(eta)))
    elif family == "gamma":
        y = rng.gamma(4.0, np.exp(0.3 * eta) / 4.0)
    else:
        y = rng.poisson(np.exp(0.5 + 0.3 * eta))
    return pd.DataFrame({"y": y, "anger": anger, "hard": hard, "subject": [f"s{k}" for k in subject],
                         "item": [f"i{k}" for k in item], "exposure": rng.uniform(1, 3, len(y))})



CASES = [
    ("y ~ anger + hard + (1 | subject) + (1 | item)", "bernoulli", None),  # centred holder + adaptive
    ("y ~ anger + (1 + anger | item) + (1 | subject)", "bernoulli", None),  # correlated centred
    ("y ~ anger + offset(log(exposure)) + (1 | subject)", "poisson", {"subject": "noncentered"}),
    ("y ~ anger + hard + (1 | subject)", "cumulative", None),
    ("y ~ anger + (1 | subject) + (1 | item)", "gamma", None),
]


@pytest.mark.parametrize("formula,family,parameterization", CASES)
def test_the_padded_graph_is_the_model_plus_standard_normals(formula, family, parameterization):
    df = _panel(23, family=family)
    compiled = hb.Model(formula, df, family=family, parameterization=parameterization).compile()
    assert compiled.padding is not None and (compiled.padding.rows > len(df) or compiled.padding.grid is not None)
    assert compiled.padding.levels, "no term padded"
    real, padded = sampler_graph(compiled.model), compiled.padded_graph()
    for difference, extra in padded_minus_real(real, padded, np.random.default_rng(1)):
        assert difference == pytest.approx(extra, abs=1e-9)


def test_data_sets_of_one_bucket_share_the_program_structure():
    def key(df):
        return hb.Model(CASES[0][0], df, family="bernoulli").compile().padded_graph().lifted.key

    # 22 and 23 subjects (264 and 276 rows): one bucket of rows (280) and of subjects (23)
    assert row_bucket(22 * 12) == row_bucket(23 * 12) and level_bucket(22) == level_bucket(23)
    assert key(_panel(22, seed=1)) == key(_panel(23, seed=2))
    assert key(_panel(30, seed=3)) != key(_panel(23, seed=2))  # the next buckets


def test_only_plain_row_likelihoods_are_padded(sleepstudy):
    gaussian = hb.Model("Reaction ~ Days + (Days | Subject)", sleepstudy).compile()
    assert gaussian.likelihood != "rows" and gaussian.padding is None and gaussian.padded_graph is None
    df = _panel(20)
    weighted = hb.Model("y ~ anger + (1 | subject)", df.assign(w=1.0 + (df.index % 2)), family="bernoulli",
                        weights="w").compile()
    assert weighted.padding is None


def test_the_padding_fingerprints_apart():
    df = _panel(20)
    model = hb.Model("y ~ anger + (1 | subject)", df, family="bernoulli")
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(compile_module, "padding_for", lambda *args, **kwargs: None)
        unpadded = compile_module.compile_model(model.design, model.priors, None)
    assert unpadded.fingerprint != model.compile().fingerprint  # the graph cache keeps them apart


def test_row_buckets_are_few_and_tight():
    sizes = np.arange(1, 20_000)
    buckets = np.array([row_bucket(int(n)) for n in sizes])
    assert np.all(buckets >= sizes) and np.all(np.diff(buckets) >= 0)
    assert np.max(buckets[sizes > 50] / sizes[sizes > 50]) < 2 ** (1 / 8) + 1e-3
    assert len(np.unique(buckets)) < 120
    levels = np.array([level_bucket(int(n)) for n in sizes[:5000]])
    assert np.all(levels >= sizes[:5000]) and np.max(levels[50:] / sizes[50:5000]) < 2 ** (1 / 4) + 1e-3
    # fewer rows than XLA's threading threshold stay below it
    assert row_bucket(7584) == XLA_CPU_SPLIT_ROWS - 1 and row_bucket(XLA_CPU_SPLIT_ROWS) == XLA_CPU_SPLIT_ROWS


def test_trim_and_masks():
    draws = np.arange(2 * 3 * 5 * 2).reshape(2, 3, 5, 2)
    out = trim_draws(draws, ("g__level", "g__term"), {"g__level": 4, "obs": 7})
    assert out.shape == (2, 3, 4, 2) and np.array_equal(out, draws[:, :, :4])
    assert trim_draws(draws, ("other", "g__term"), {"g__level": 4}) is draws
    assert real_mask(3, 5).tolist() == [1.0, 1.0, 1.0, 0.0, 0.0]


@pytest.mark.slow  # two cold compilations
def test_a_fit_on_other_data_of_the_bucket_reuses_the_program(tmp_path, monkeypatch):
    monkeypatch.setenv("HIERBAYES_CACHE_DIR", str(tmp_path))
    from hierbayes.backends.pymc import jaxnuts

    monkeypatch.setattr(jaxnuts, "EXECUTABLES", {})
    formula = CASES[0][0]
    kwargs = dict(draws=500, tune=500, chains=2, random_seed=3, progressbar=False)
    first = hb.Model(formula, _panel(23, seed=2), family="bernoulli").fit(**kwargs)
    programs = sorted(p.name for p in (tmp_path / "programs").glob("*.bin"))
    jaxnuts.EXECUTABLES.clear()  # as a new process would: from disk
    other = _panel(22, seed=1)
    second = hb.Model(formula, other, family="bernoulli").fit(**kwargs)
    assert sorted(p.name for p in (tmp_path / "programs").glob("*.bin")) == programs, "compiled again"
    assert second.idata.posterior.sizes["subject__level"] == 22
    assert first.idata.posterior.sizes["subject__level"] == 23
    assert list(second.idata.posterior["re_subject"].coords["subject__level"].values) == sorted(set(other["subject"]))
    # the same posterior as the unpadded model's (same sampler, padding off)
    monkeypatch.setattr(compile_module, "padding_for", lambda *args, **kw: None)
    plain = hb.Model(formula, other, family="bernoulli").fit(**{**kwargs, "random_seed": 4})
    for name in ("Intercept", "b", "sd_subject", "sd_item", "re_subject"):
        a, b = second.idata.posterior[name], plain.idata.posterior[name]
        gap = np.abs(a.mean(("chain", "draw")) - b.mean(("chain", "draw"))) / b.std(("chain", "draw"))
        assert float(gap.max()) < (0.25 if name != "re_subject" else 0.35), name  # 22 effects: the largest of 22 gaps
