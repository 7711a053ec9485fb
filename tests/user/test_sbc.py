"""Simulation-based calibration (hb.sbc): rank computations, the uniformity test and plot,
and (slow) SBC of a gaussian random-slope model and a logit random-intercept model.

The slow tests fit 100 simulated data sets each (4 chains x 250 draws, 250 tuning steps),
spread over two worker processes (gaussian) and a Dask LocalCluster of two workers (logit),
and require uniform ranks (chi-square p > 0.01) for every population parameter.
"""

from __future__ import annotations

import importlib
import time

import matplotlib

matplotlib.use("Agg")

import numpy as np
import pandas as pd
import pytest

import hierbayes as hb
from hierbayes.errors import SamplingError, SpecError
from hierbayes.sbc import SBCResult, SBCSettings, rank_bins, rank_of_truth

# ------------------------------------------------------------------------- fast: pieces


def test_rank_of_truth_counts_thinned_draws_below_truth() -> None:
    draws = np.arange(1000, dtype=float).reshape(4, 250, 1)  # chain-major 0..999
    # 100 draws thinned evenly: 0, ~10.09, ..., 999; 3 of them are below 25
    ranks = rank_of_truth(draws, np.array([25.0]), 100)
    assert ranks.tolist() == [3]
    assert rank_of_truth(draws, np.array([-1.0]), 99).tolist() == [0]
    assert rank_of_truth(draws, np.array([1e9]), 99).tolist() == [99]


def test_ranks_are_uniform_when_truth_is_a_posterior_draw() -> None:
    # the truth and L draws exchangeable -> rank uniform on 0..L
    rng = np.random.default_rng(0)
    L, n = 19, 4000
    ranks = [rank_of_truth(rng.normal(size=(1, L, 1)), rng.normal(size=1), L)[0] for _ in range(n)]
    counts = np.bincount(ranks, minlength=L + 1)
    expected = n / (L + 1)
    assert counts.min() > expected - 4 * np.sqrt(expected)
    assert counts.max() < expected + 4 * np.sqrt(expected)


def test_rank_bins_divide_the_possible_ranks() -> None:
    assert rank_bins(99, 100) == 10  # 100 ranks, 10 sims per bin
    assert rank_bins(99, 1000) == 20  # capped at 20 bins
    assert rank_bins(99, 30) == 2  # at least 2 bins
    for L, n in [(99, 100), (63, 200), (100, 50)]:
        assert (L + 1) % rank_bins(L, n) == 0


def _result(ranks: pd.DataFrame, L: int = 99) -> SBCResult:
    fits = pd.DataFrame(
        {"divergences": 0, "treedepth_hits": 0, "max_r_hat": 1.0, "min_ess_bulk": 500.0, "seconds": 1.0, "error": ""},
        index=ranks.index,
    )
    return SBCResult(
        ranks=ranks, truth=ranks * 0.0, fits=fits, posterior_mean=ranks * 0.0, posterior_sd=ranks * 0.0,
        ranked_draws=L, settings=SBCSettings(), seconds=1.0, executor="serial", workers=1, formula="y ~ 1",
    )


def test_uniformity_test_accepts_uniform_and_rejects_skewed_ranks() -> None:
    rng = np.random.default_rng(1)
    n = 200
    ranks = pd.DataFrame({
        "uniform": rng.integers(0, 100, n),
        # an overconfident (too narrow) posterior piles ranks at both ends
        "narrow": np.where(rng.random(n) < 0.5, rng.integers(0, 10, n), rng.integers(90, 100, n)),
        # a posterior biased upwards puts the truth low
        "biased": rng.integers(0, 60, n),
    })
    res = _result(ranks)
    table = res.uniformity(bins=10)
    assert table.loc["uniform", "p_value"] > 0.01
    assert table.loc["narrow", "p_value"] < 1e-6
    assert table.loc["biased", "p_value"] < 1e-6
    assert table.loc["uniform", "n"] == n and table.loc["uniform", "df"] == 9
    assert not res.ok()
    assert res.bin_counts(10).sum().tolist() == [n, n, n]
    with pytest.raises(SpecError, match=r"bins=7.*100 possible ranks.*valid bins: \[2, 4, 5, 10"):
        res.uniformity(bins=7)
    assert "narrow" in str(res)


def test_rank_histogram_plot() -> None:
    rng = np.random.default_rng(2)
    res = _result(pd.DataFrame({"a": rng.integers(0, 100, 100), "b": rng.integers(0, 100, 100)}))
    fig = res.plot()
    axes = [ax for ax in fig.axes if ax.get_visible()]
    assert len(axes) == 2
    assert axes[0].get_title().startswith("a\np = ")
    with pytest.raises(SpecError, match=r"no SBC parameter 'c'.*Valid: \['a', 'b'\]"):
        res.plot(parameters=["c"])
    import matplotlib.pyplot as plt

    plt.close(fig)


def test_sbc_argument_errors_do_not_fit(monkeypatch: pytest.MonkeyPatch) -> None:
    sbc_module = importlib.import_module("hierbayes.sbc")  # hb.sbc is the function

    def no_fit(*args, **kwargs):
        raise AssertionError("no fit should start for invalid SBC arguments")

    monkeypatch.setattr(sbc_module, "run_chunk", no_fit)
    monkeypatch.setattr(sbc_module, "prior_draws", no_fit)
    df = pd.DataFrame({"y": np.arange(20.0), "g": np.repeat(["a", "b", "c", "d"], 5)})
    model = hb.Model("y ~ 1 + (1 | g)", df)
    with pytest.raises(SpecError, match="needs a hierbayes.Model"):
        hb.sbc("y ~ 1", n_sims=10)
    with pytest.raises(SamplingError, match=r"ranked_draws=999 exceeds the 400 posterior draws"):
        hb.sbc(model, n_sims=10, draws=100, chains=4, ranked_draws=999)
    with pytest.raises(SamplingError, match=r"executor='threads'.*\['process', 'dask', 'serial'\]"):
        hb.sbc(model, n_sims=10, executor="threads")
    with pytest.raises(SamplingError, match=r"n_sims=1"):
        hb.sbc(model, n_sims=1)
    with pytest.raises(SpecError, match=r"no parameter 'sd_G'.*Did you mean 'sd_g'"):
        hb.sbc(model, n_sims=10, var_names=["sd_G"])


def test_dask_client_receives_the_fits(monkeypatch: pytest.MonkeyPatch) -> None:
    """The Dask plumbing with a user's client (threads, so the patched fit is seen)."""
    distributed = pytest.importorskip("distributed")
    sbc_module = importlib.import_module("hierbayes.sbc")
    def fake_chunk(job, sims):  # runs on the worker (a pickled copy): report the chunk size
        n = len(sims[0].truth)
        return [
            sbc_module.SimResult(s.index, np.full(n, s.index), s.truth, np.ones(n), 0, len(sims), 1.0, 400.0, 0.1)
            for s in sims
        ]

    def fake_prior(model, pins, targets, n_sims, seed):  # skip PyMC's prior sampler
        truth = pd.DataFrame({"Intercept": np.arange(n_sims) * 0.5, "sd_g[Intercept]": 1.0, "sigma": 2.0})
        return truth, np.zeros((n_sims, 20))

    monkeypatch.setattr(sbc_module, "run_chunk", fake_chunk)
    monkeypatch.setattr(sbc_module, "prior_draws", fake_prior)
    df = pd.DataFrame({"y": np.linspace(0.0, 1.0, 20), "g": np.repeat(["a", "b", "c", "d"], 5)})
    model = hb.Model("y ~ 1 + (1 | g)", df)
    with distributed.Client(processes=False, n_workers=1, threads_per_worker=2, dashboard_address=None) as client:
        res = hb.sbc(model, n_sims=12, random_seed=5, client=client)
    assert res.executor == "dask" and res.workers == 1
    assert (res.fits["treedepth_hits"] == 3).all()  # 4 chunks of 3 for one worker
    assert res.ranks.index.tolist() == list(range(12))
    assert res.ranks["sd_g[Intercept]"].tolist() == list(range(12))
    np.testing.assert_array_equal(res.posterior_mean.to_numpy(), res.truth.to_numpy())
    assert list(res.ranks.columns) == ["Intercept", "sd_g[Intercept]", "sigma"]


def test_ctrl_c_keeps_the_finished_simulations(monkeypatch: pytest.MonkeyPatch) -> None:
    sbc_module = importlib.import_module("hierbayes.sbc")
    done: list[int] = []

    def fake_chunk(job, sims):
        if len(done) == 3:
            raise KeyboardInterrupt
        done.extend(s.index for s in sims)
        n = len(sims[0].truth)
        return [sbc_module.SimResult(s.index, np.zeros(n), s.truth, np.ones(n), 0, 0, 1.0, 400.0, 0.1) for s in sims]

    def fake_prior(model, pins, targets, n_sims, seed):
        return pd.DataFrame({"Intercept": np.zeros(n_sims), "sd_g[Intercept]": 1.0, "sigma": 2.0}), np.zeros((n_sims, 20))

    monkeypatch.setattr(sbc_module, "run_chunk", fake_chunk)
    monkeypatch.setattr(sbc_module, "prior_draws", fake_prior)
    df = pd.DataFrame({"y": np.linspace(0.0, 1.0, 20), "g": np.repeat(["a", "b", "c", "d"], 5)})
    with pytest.raises(SamplingError, match=r"interrupted by the user after 3 of 10 fits.*\.partial") as info:
        hb.sbc(hb.Model("y ~ 1 + (1 | g)", df), n_sims=10, executor="serial")
    partial = info.value.partial
    assert isinstance(partial, SBCResult) and partial.ranks.index.tolist() == [0, 1, 2]


# ------------------------------------------------------------------------- slow: SBC


def _report(name: str, res: SBCResult, seconds: float) -> None:
    print(f"\n[{name}] wall {seconds:.0f} s")
    print(res)
    print(res.fits[["divergences", "max_r_hat", "min_ess_bulk", "seconds"]].describe().round(3))


def _assert_calibrated(res: SBCResult, n_sims: int) -> None:
    assert res.n_sims == n_sims
    assert (res.fits["error"] == "").all(), res.fits.loc[res.fits["error"] != "", "error"].tolist()
    ranks = res.ranks.to_numpy()
    assert np.isfinite(ranks).all()
    assert ranks.min() >= 0 and ranks.max() <= res.ranked_draws
    table = res.uniformity(bins=10)
    bad = table[table["p_value"] <= 0.01]
    assert bad.empty, f"non-uniform SBC ranks:\n{bad}\n{res.bin_counts(10)}"


@pytest.mark.slow
def test_sbc_gaussian_random_slope_unstructured(tmp_path) -> None:
    rng = np.random.default_rng(11)
    J, n = 8, 10
    df = pd.DataFrame({
        "g": np.repeat([f"g{j}" for j in range(J)], n),
        "x": np.tile(np.linspace(-1.0, 1.0, n), J),
    })
    df["y"] = rng.normal(size=len(df))  # placeholder: SBC simulates the response
    model = hb.Model("y ~ x + (x | g)", df)  # (x | g): unstructured 2x2 covariance (LKJ)
    start = time.perf_counter()
    res = hb.sbc(model, n_sims=100, draws=250, tune=250, chains=4, random_seed=2024, executor="process", workers=2)
    _report("gaussian (x | g)", res, time.perf_counter() - start)
    assert set(res.parameters) == {"Intercept", "b[x]", "sd_g[Intercept]", "sd_g[x]", "cor_g[x,Intercept]", "sigma"}
    _assert_calibrated(res, 100)
    res.plot().savefig(tmp_path / "sbc_gaussian.png")


@pytest.mark.slow
def test_sbc_logit_random_intercept_on_dask() -> None:
    from hierbayes.families import FAMILIES

    if "bernoulli" not in FAMILIES:
        pytest.skip("the bernoulli family is not registered yet")
    rng = np.random.default_rng(12)
    J, n = 10, 20
    df = pd.DataFrame({
        "g": np.repeat([f"g{j}" for j in range(J)], n),
        "x": np.tile(np.linspace(-1.0, 1.0, 5), J * n // 5),
    })
    df["y"] = rng.integers(0, 2, len(df))  # placeholder
    model = hb.Model("y ~ x + (1 | g)", df, family="bernoulli")
    start = time.perf_counter()
    # no client: hb.sbc starts (and closes) a Dask LocalCluster of two worker processes
    res = hb.sbc(model, n_sims=100, draws=250, tune=250, chains=4, random_seed=2025, executor="dask", workers=2)
    _report("logit (1 | g)", res, time.perf_counter() - start)
    assert res.executor == "dask" and res.workers == 2
    assert set(res.parameters) == {"Intercept", "b[x]", "sd_g[Intercept]"}
    _assert_calibrated(res, 100)


def test_sbc_modules_leave_sampling_libraries_to_the_backend() -> None:
    """sbc.py, sbc_result.py and sbc_executors.py import no PyMC, PyTensor, JAX or numpyro
    (the refit engine is the backend's), each under 400 lines."""
    import ast
    from pathlib import Path

    root = Path(hb.__file__).parent
    for name in ("sbc.py", "sbc_result.py", "sbc_executors.py"):
        source = (root / name).read_text()
        assert len(source.splitlines()) < 400, name
        for node in ast.walk(ast.parse(source)):
            if isinstance(node, ast.Import):
                modules = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom):
                modules = [node.module or ""] if node.level == 0 else []
            else:
                continue
            for module in modules:
                assert module.split(".")[0] not in {"pymc", "pytensor", "jax", "numpyro", "nutpie"}, (name, module)
