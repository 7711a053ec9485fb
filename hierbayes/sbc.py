"""Simulation-based calibration (SBC; Talts, Betancourt, Simpson, Vehtari & Gelman 2018).

For each of ``n_sims`` simulations: draw the parameters from the model's prior, draw a data
set from the likelihood at those parameters (both with ``pm.sample_prior_predictive`` on the
compiled model, so the resolved priors of :attr:`Model.priors` are used as they are, not
rescaled to each simulated data set), fit the model to the simulated response with NUTS, and
record the rank of each true value among ``L`` thinned posterior draws (0..L). If the model
and the sampler agree, the ranks are uniform; :meth:`SBCResult.uniformity` tests that with a
chi-square test on binned ranks and :meth:`SBCResult.plot` draws the rank histograms.

Only the response changes between simulations (the predictors, groups and priors are those
of the model), so each worker process compiles the model's log density to JAX once and runs
every fit with numpyro's NUTS (hierbayes's default sampler) through numpyro's
``potential_fn_gen`` interface, with the data-dependent constants of the graph as arguments
(see :class:`_Engine`): the fits use the likelihood form :meth:`Model.fit` uses (rows,
cross-products, or a group term integrated out), without a JAX recompilation per data set.
Fits are spread over processes (``concurrent.futures``, the default) or a Dask cluster
(a ``dask.distributed.Client``, or a ``LocalCluster`` started for the run).

Cost: one JAX compilation per worker (tens of seconds) plus, per simulation, the fit and a
PyTensor graph rebuild (~0.5 s).
"""

from __future__ import annotations

import math
import multiprocessing
import os
import time
import uuid
import warnings
from collections.abc import Sequence
from concurrent.futures import ProcessPoolExecutor, as_completed
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass, replace

import numpy as np
import pandas as pd
from scipy import stats

from .design.types import Design
from .errors import ArgumentError, SamplingError, SpecError, did_you_mean
from .families import get_family
from .params import block_names
from .priors import PriorTable
from .sampler_args import check_sampler_arguments

__all__ = ["SBCResult", "sbc"]

EXECUTORS = ("process", "dask", "serial")
# numpyro's default maximum tree depth (also PyMC's and nutpie's)
MAX_TREE_DEPTH = 10


# ======================================================================= plain data


@dataclass(frozen=True)
class SBCSettings:
    """NUTS settings of every SBC fit and the number of thinned draws ranked (L)."""

    draws: int = 250
    tune: int = 250
    chains: int = 4
    target_accept: float = 0.9
    ranked_draws: int = 99


@dataclass(frozen=True)
class _Job:
    """What a worker needs to rebuild the model and fit it (pickled once per chunk)."""

    token: str
    design: Design
    priors: PriorTable
    parameterization: dict[str, str]  # pinned per grouping factor (see _pinned)
    targets: tuple[str, ...]
    settings: SBCSettings
    reference_y: tuple[np.ndarray, ...]  # simulated responses that reveal the data constants
    matrices: frozenset[str]  # correlation matrices among the targets


@dataclass(frozen=True)
class _Sim:
    index: int
    y: np.ndarray
    truth: np.ndarray  # one entry per ranked scalar, in label order
    seed: int


@dataclass(frozen=True)
class _SimResult:
    index: int
    ranks: np.ndarray
    post_mean: np.ndarray
    post_sd: np.ndarray
    divergences: int
    treedepth_hits: int
    max_r_hat: float
    min_ess_bulk: float
    seconds: float
    error: str = ""


# ===================================================================== the result


@dataclass(frozen=True)
class SBCResult:
    """Ranks of the true parameter values among posterior draws, one row per simulation.

    ranks : DataFrame (simulation x parameter) of ranks in 0..``ranked_draws``; NaN for a
        simulation whose fit failed.
    truth : DataFrame of the prior draws (true values) used to simulate each data set.
    fits : DataFrame per simulation: divergences, tree-depth hits, max R-hat and min bulk
        ESS of the ranked parameters, seconds, and an error message for failed fits.
    posterior_mean, posterior_sd : DataFrames like ``ranks``.
    ranked_draws : L, the number of thinned posterior draws each true value is ranked among.
    settings : the NUTS settings of the fits.
    seconds : wall time of the whole run; ``executor`` and ``workers`` say how it ran.
    """

    ranks: pd.DataFrame
    truth: pd.DataFrame
    fits: pd.DataFrame
    posterior_mean: pd.DataFrame
    posterior_sd: pd.DataFrame
    ranked_draws: int
    settings: SBCSettings
    seconds: float
    executor: str
    workers: int
    formula: str = ""

    @property
    def n_sims(self) -> int:
        return int(self.ranks.shape[0])

    @property
    def parameters(self) -> list[str]:
        return list(self.ranks.columns)

    def default_bins(self) -> int:
        """Largest divisor of L+1 giving at least 10 expected simulations per bin (<= 20)."""
        n = int(self.ranks.notna().all(axis=1).sum()) or self.n_sims
        return rank_bins(self.ranked_draws, n)

    def bin_counts(self, bins: int | None = None) -> pd.DataFrame:
        """Counts of ranks per bin (rows: bins, columns: parameters)."""
        bins = bins or self.default_bins()
        _check_bins(bins, self.ranked_draws)
        width = (self.ranked_draws + 1) // bins
        out = {}
        for name in self.parameters:
            r = self.ranks[name].dropna().to_numpy(dtype=int)
            out[name] = np.bincount(r // width, minlength=bins)[:bins]
        return pd.DataFrame(out, index=pd.RangeIndex(bins, name="bin"))

    def uniformity(self, bins: int | None = None) -> pd.DataFrame:
        """Chi-square test of uniform ranks per parameter.

        Parameters
        ----------
        bins : int, optional
            Number of equal-width rank bins; must divide L+1 so that each bin holds the same
            number of possible ranks. Default: :meth:`default_bins`.

        Returns
        -------
        pandas.DataFrame
            One row per parameter: ``n`` (simulations used), ``chi2``, ``df``, ``p_value``.
        """
        counts = self.bin_counts(bins)
        rows = {}
        for name in counts.columns:
            c = counts[name].to_numpy()
            test = stats.chisquare(c)
            rows[name] = {
                "n": int(c.sum()),
                "chi2": float(test.statistic),
                "df": len(c) - 1,
                "p_value": float(test.pvalue),
            }
        return pd.DataFrame.from_dict(rows, orient="index")

    def ok(self, alpha: float = 0.01, bins: int | None = None) -> bool:
        """True when no parameter's ranks reject uniformity at level ``alpha``."""
        return bool((self.uniformity(bins)["p_value"] > alpha).all())

    def plot(self, bins: int | None = None, band: float = 0.99, parameters: Sequence[str] | None = None):
        """Rank histograms with the ``band`` interval of a bin count under uniformity.

        Each panel is one parameter; the grey band is the central ``band`` interval of a
        Binomial(n, 1/bins) count, the line its expectation (Talts et al. 2018, fig. 1).

        Returns
        -------
        matplotlib.figure.Figure
        """
        import matplotlib.pyplot as plt

        counts = self.bin_counts(bins)
        names = list(parameters) if parameters is not None else list(counts.columns)
        unknown = [p for p in names if p not in counts.columns]
        if unknown:
            raise SpecError(
                f"no SBC parameter {unknown[0]!r}.{did_you_mean(unknown[0], counts.columns)} "
                f"Valid: {list(counts.columns)}"
            )
        k = len(names)
        ncols = min(4, k)
        nrows = math.ceil(k / ncols)
        fig, axes = plt.subplots(nrows, ncols, figsize=(3.0 * ncols, 2.4 * nrows), squeeze=False)
        pvals = self.uniformity(bins)["p_value"]
        nb = counts.shape[0]
        edges = np.arange(nb + 1)
        for ax, name in zip(axes.ravel(), names):
            c = counts[name].to_numpy()
            n = int(c.sum())
            lo, hi = stats.binom.interval(band, n, 1.0 / nb)
            ax.fill_between([0, nb], lo, hi, color="0.85", lw=0)
            ax.axhline(n / nb, color="0.4", lw=0.8)
            ax.stairs(c, edges, fill=True, color="C0", alpha=0.8)
            ax.set_title(f"{name}\np = {pvals[name]:.2g}", fontsize=9)
            ax.set_xticks([0, nb], ["0", str(self.ranked_draws)])
            ax.set_xlabel("rank", fontsize=8)
        for ax in axes.ravel()[k:]:
            ax.set_visible(False)
        fig.suptitle(f"SBC rank histograms ({self.n_sims} simulations, L = {self.ranked_draws})", fontsize=10)
        fig.tight_layout()
        return fig

    def __str__(self) -> str:
        table = self.uniformity()
        div = int((self.fits["divergences"] > 0).sum())
        failed = int((self.fits["error"] != "").sum())
        head = (
            f"SBC of {self.formula}: {self.n_sims} simulations, L = {self.ranked_draws}, "
            f"{self.settings.chains} chains x {self.settings.draws} draws (tune {self.settings.tune}); "
            f"{self.seconds:.0f} s on {self.workers} {self.executor} worker(s)\n"
            f"fits with divergences: {div}   failed fits: {failed}\n"
        )
        return head + table.to_string(float_format=lambda v: f"{v:.3g}")

    def __repr__(self) -> str:
        return f"<hierbayes.SBCResult {self.n_sims} simulations x {len(self.parameters)} parameters>"


def rank_bins(ranked_draws: int, n_sims: int, max_bins: int = 20, min_expected: int = 10) -> int:
    """The largest divisor of ``ranked_draws + 1`` with ``n_sims / bins >= min_expected``."""
    target = max(2, min(max_bins, n_sims // min_expected))
    values = ranked_draws + 1
    return max(d for d in range(1, target + 1) if values % d == 0)


def _check_bins(bins: int, ranked_draws: int) -> None:
    if bins < 2 or (ranked_draws + 1) % bins:
        divisors = [d for d in range(2, ranked_draws + 2) if (ranked_draws + 1) % d == 0]
        raise SpecError(
            f"bins={bins}: the {ranked_draws + 1} possible ranks (0..{ranked_draws}) must split "
            f"evenly; valid bins: {divisors[:12]}"
        )


# ========================================================== parameters that are ranked


def default_targets(model) -> list[str]:
    """PyMC names of the population parameters: Intercept, b, sd_*, cor_* (rho_* for
    exchangeable blocks) and the family's own parameters (sigma)."""
    pm_model = model.pymc_model
    present = set(pm_model.named_vars)
    out = [n for n in ("Intercept", "b") if n in present]
    for names in block_names(model.spec):
        out.append(names.sd)
        if names.rho in present:
            out.append(names.rho)
        elif names.cor in present:
            out.append(names.cor)
    out += [a for a in get_family(model.spec.family).aux if a in present]
    return [n for n in out if n in present]


def correlation_names(spec) -> frozenset[str]:
    """PyMC names of the correlation matrices (only their lower triangle is ranked)."""
    return frozenset(names.cor for names in block_names(spec))


def _scalar_positions(shape: tuple[int, ...], triangle: bool) -> list[tuple[int, ...]]:
    """Element positions of one variable that are ranked (strict lower triangle of a
    correlation matrix: the diagonal is 1 and the upper triangle repeats the lower)."""
    if triangle and len(shape) == 2:
        return [(i, j) for i in range(shape[0]) for j in range(i)]
    return list(np.ndindex(*shape)) if shape else [()]


def _labels(pm_model, name: str, shape: tuple[int, ...], triangle: bool) -> list[str]:
    dims = pm_model.named_vars_to_dims.get(name) or ()
    out = []
    for pos in _scalar_positions(shape, triangle):
        if not pos:
            out.append(name)
            continue
        parts = []
        for axis, i in enumerate(pos):
            coords = pm_model.coords.get(dims[axis]) if axis < len(dims) else None
            parts.append(str(coords[i]) if coords is not None else str(i))
        out.append(f"{name}[{','.join(parts)}]")
    return out


def _flatten(values: np.ndarray, lead: int, triangle: bool) -> np.ndarray:
    """(*lead_dims, *shape) -> (*lead_dims, n_scalars) for the ranked positions."""
    shape = values.shape[lead:]
    cols = [values[(Ellipsis, *pos)] if pos else values for pos in _scalar_positions(shape, triangle)]
    return np.stack(cols, axis=-1)


# ====================================================================== the engine


class _GraphChanged(Exception):
    """The graph built for a response differs from the reference graph beyond its data."""


class _Engine:
    """The model's log density compiled to JAX once per process, with its data as arguments.

    The model is built exactly as :meth:`Model.fit` builds it (whatever likelihood form the
    compiler chose: one term per row, cross-products, or a group term integrated out), once
    per reference response. The constants of the log-density graph that differ between the
    references are the ones computed from the response (``y`` itself, ``Z'y``, ``y'y``...);
    they become arguments of the compiled function. Each simulation rebuilds the (cheap)
    PyTensor graph for its response only to read those constants, so JAX compiles once. A
    response whose graph differs beyond those constants (PyTensor merges equal constants,
    e.g. ``y == trials`` when every trial succeeds) gets a compilation of its own.
    """

    def __init__(self, job: _Job) -> None:
        # first: importing PyMC's JAX bridge turns on 64-bit floats in JAX (floatX = float64)
        from pymc.sampling.jax import get_jaxified_graph  # isort: skip

        import jax
        import jax.numpy as jnp
        from jax import lax
        from numpyro.infer.hmc import hmc
        from pytensor.graph.replace import graph_replace

        from .backends.pymc.sample import enable_jax_cache

        enable_jax_cache()  # a later SBC of the same model loads the compiled fit from disk
        self.job = job
        s = job.settings
        builds = [self._build(y) for y in job.reference_y]
        # PyTensor merges equal constants (e.g. y == trials when every trial succeeds), which
        # changes the graph; compare only references with the most common number of constants
        sizes = [len(c) for _, _, c in builds]
        builds = [b for b, n in zip(builds, sizes) if n == max(set(sizes), key=sizes.count)]
        pm_model, logp, consts = builds[0]
        self.lifted = [
            i for i in range(len(consts))
            if any(not np.array_equal(consts[i].data, c[i].data) for _, _, c in builds[1:])
        ]
        self.reference = consts
        data_in = [consts[i].type() for i in self.lifted]
        logp = graph_replace([logp], dict(zip([consts[i] for i in self.lifted], data_in)), strict=True)[0]
        value_vars = pm_model.value_vars
        logp_fn = get_jaxified_graph(inputs=[*value_vars, *data_in], outputs=[logp])
        targets = pm_model.replace_rvs_by_values([pm_model[n] for n in job.targets])
        target_fn = get_jaxified_graph(inputs=value_vars, outputs=targets)
        point = pm_model.initial_point()
        z0 = [jnp.asarray(point[v.name]) for v in value_vars]
        total = s.tune + s.draws

        def potential_fn_gen(*data):
            return lambda z: -logp_fn(*z, *data)[0]

        def initial(key, data):
            # PyMC's jitter+adapt_diag start: uniform(-1, 1) around the initial point; the
            # first of 10 jittered points with a finite log density.
            keys = jax.random.split(key, len(z0))
            cands = [
                z + jax.random.uniform(k, (10, *z.shape), minval=-1.0, maxval=1.0, dtype=z.dtype)
                for z, k in zip(z0, keys)
            ]
            lp = jax.vmap(lambda *zs: logp_fn(*zs, *data)[0])(*cands)
            first = jnp.argmax(jnp.isfinite(lp))
            return [c[first] for c in cands]

        def one_chain(key, data):
            k_init, k_run = jax.random.split(key)
            init_kernel, sample_kernel = hmc(potential_fn_gen=potential_fn_gen, algo="NUTS")
            state = init_kernel(
                initial(k_init, data),
                num_warmup=s.tune,
                target_accept_prob=s.target_accept,
                max_tree_depth=MAX_TREE_DEPTH,
                model_args=tuple(data),
                rng_key=k_run,
            )

            def step(st, _):
                st = sample_kernel(st, model_args=tuple(data))
                return st, (st.z, st.diverging, st.num_steps)

            _, (zs, diverging, steps) = lax.scan(step, state, None, length=total)
            kept = [z[s.tune:] for z in zs]
            draws = jax.vmap(lambda *zz: target_fn(*zz))(*kept)
            return draws, diverging[s.tune:].sum(), (steps[s.tune:] >= 2**MAX_TREE_DEPTH - 1).sum()

        self._fit = jax.jit(jax.vmap(one_chain, in_axes=(0, None)))
        self._jax = jax

    def _build(self, y: np.ndarray):
        """The PyMC model for response ``y``, its log density and the graph's constants."""
        from pytensor.graph.traversal import graph_inputs
        from pytensor.tensor.variable import TensorConstant

        from .backends.pymc.compile import compile_model

        design = self.job.design
        y = np.asarray(y, dtype=np.asarray(design.y).dtype)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            compiled = compile_model(replace(design, y=y), self.job.priors, self.job.parameterization)
            logp = compiled.model.logp()
        consts = [v for v in graph_inputs([logp]) if isinstance(v, TensorConstant)]
        return compiled.model, logp, consts

    def data_for(self, y: np.ndarray) -> list[np.ndarray]:
        """The lifted constants for response ``y``; checks that nothing else changed."""
        _, _, consts = self._build(y)
        lifted = set(self.lifted)
        same = len(consts) == len(self.reference) and all(
            np.array_equal(c.data, r.data)
            for i, (c, r) in enumerate(zip(consts, self.reference)) if i not in lifted
        )
        if not same:
            raise _GraphChanged
        return [np.asarray(consts[i].data) for i in self.lifted]

    def run(self, sim: _Sim) -> _SimResult:
        jax = self._jax
        s = self.job.settings
        start = time.perf_counter()
        try:
            data = self.data_for(sim.y)
        except _GraphChanged:
            # this response gives a differently shaped graph: compile one engine just for it
            return _Engine(replace(self.job, reference_y=(sim.y,))).run(sim)
        keys = jax.random.split(jax.random.PRNGKey(sim.seed % 2**32), s.chains)
        draws, div, hits = self._fit(keys, data)
        values = np.concatenate(
            [_flatten(np.asarray(d), 2, n in self.job.matrices) for n, d in zip(self.job.targets, draws)],
            axis=-1,
        )  # (chains, draws, scalars)
        ranks = rank_of_truth(values, sim.truth, s.ranked_draws, sim.seed)
        rhat, ess = _convergence(values)
        return _SimResult(
            index=sim.index,
            ranks=ranks,
            post_mean=values.mean(axis=(0, 1)),
            post_sd=values.std(axis=(0, 1), ddof=1),
            divergences=int(np.asarray(div).sum()),
            treedepth_hits=int(np.asarray(hits).sum()),
            max_r_hat=rhat,
            min_ess_bulk=ess,
            seconds=time.perf_counter() - start,
        )


def rank_of_truth(draws: np.ndarray, truth: np.ndarray, ranked_draws: int, seed: int = 0) -> np.ndarray:
    """Rank (0..L) of each true value among L draws thinned evenly from all chains.

    Parameters
    ----------
    draws : (chains, draws, scalars) posterior draws.
    truth : (scalars,) the values the data were simulated with.
    ranked_draws : L; must not exceed chains x draws.
    seed : ties (possible only for discrete parameters) are broken at random.
    """
    flat = draws.reshape(-1, draws.shape[-1])
    idx = np.unique(np.round(np.linspace(0, flat.shape[0] - 1, ranked_draws)).astype(int))
    thinned = flat[idx]
    less = (thinned < truth).sum(axis=0)
    ties = (thinned == truth).sum(axis=0)
    rng = np.random.default_rng(seed)
    return less + rng.integers(0, ties + 1)


def _convergence(values: np.ndarray) -> tuple[float, float]:
    import arviz as az
    import xarray as xr

    ds = xr.Dataset({"v": (("chain", "draw", "p"), values)})
    with warnings.catch_warnings(), np.errstate(all="ignore"):
        warnings.simplefilter("ignore")
        rhat = np.asarray(az.rhat(ds)["v"].values, dtype=float)
        ess = np.asarray(az.ess(ds, method="bulk")["v"].values, dtype=float)
    return float(np.nanmax(rhat)) if np.isfinite(rhat).any() else math.nan, (
        float(np.nanmin(ess)) if np.isfinite(ess).any() else math.nan
    )


_ENGINES: dict[str, _Engine] = {}


def _run_chunk(job: _Job, sims: Sequence[_Sim]) -> list[_SimResult]:
    """Fit a chunk of simulations; the engine is built once per process and reused."""
    engine = _ENGINES.get(job.token)
    if engine is None:
        _ENGINES.clear()
        engine = _ENGINES[job.token] = _Engine(job)
    out = []
    for sim in sims:
        try:
            out.append(engine.run(sim))
        except Exception as exc:  # noqa: BLE001 - one failed fit must not lose the others
            n = len(sim.truth)
            nan = np.full(n, np.nan)
            error = f"{type(exc).__name__}: {exc}"
            out.append(_SimResult(sim.index, nan, nan, nan, 0, 0, math.nan, math.nan, 0.0, error))
    return out


# ====================================================================== executors


def _chunks(sims: list[_Sim], n_chunks: int) -> list[list[_Sim]]:
    n_chunks = max(1, min(n_chunks, len(sims)))
    return [sims[i::n_chunks] for i in range(n_chunks)]


def _run_serial(job: _Job, sims: list[_Sim], done: list[_SimResult]) -> None:
    for sim in sims:
        done.extend(_run_chunk(job, [sim]))


_MAIN_GUARD = (
    "worker processes are started fresh (spawned) and import the main script again; in a "
    "script, call hb.sbc() under `if __name__ == \"__main__\":`, or pass executor='serial'"
)


def _run_processes(job: _Job, sims: list[_Sim], workers: int, done: list[_SimResult]) -> None:
    # spawn, not fork: JAX is multithreaded and a forked copy of it can deadlock
    ctx = multiprocessing.get_context("spawn")
    pool = ProcessPoolExecutor(max_workers=workers, mp_context=ctx)
    try:
        futures = [pool.submit(_run_chunk, job, chunk) for chunk in _chunks(sims, 4 * workers)]
        for future in as_completed(futures):
            done.extend(future.result())
    except BrokenProcessPool:
        pool.shutdown(wait=False, cancel_futures=True)
        raise SamplingError(f"an SBC worker process died; {_MAIN_GUARD}") from None
    except BaseException:
        pool.shutdown(wait=False, cancel_futures=True)
        raise
    pool.shutdown(wait=True)


def _run_dask(job: _Job, sims: list[_Sim], workers: int, client, done: list[_SimResult]) -> int:
    try:
        from distributed import Client, LocalCluster, as_completed as dask_completed
    except ImportError:
        raise SamplingError(
            "executor='dask' needs dask.distributed: pip install 'dask[distributed]'"
        ) from None
    cluster = None
    if client is None:
        cluster = LocalCluster(
            n_workers=workers, threads_per_worker=1, processes=True, dashboard_address=None
        )
        client = Client(cluster)
    try:
        n_workers = max(1, len(client.nthreads()))
        job_future = client.scatter(job, broadcast=True)
        chunks = _chunks(sims, 4 * n_workers)
        futures = client.map(_run_chunk, [job_future] * len(chunks), chunks, pure=False)
        try:
            for future in dask_completed(futures):
                done.extend(future.result())
        except BaseException:
            client.cancel(futures)
            raise
        return n_workers
    finally:
        if cluster is not None:
            client.close()
            cluster.close()


# ======================================================================== sbc()


def _settings(draws: int, tune: int, chains: int, target_accept: float, ranked_draws: int) -> SBCSettings:
    try:
        checked = check_sampler_arguments(draws=draws, tune=tune, chains=chains, target_accept=target_accept)
    except ArgumentError as exc:
        raise SamplingError(str(exc)) from None
    if isinstance(ranked_draws, bool) or not isinstance(ranked_draws, (int, np.integer)) or ranked_draws < 1:
        raise SamplingError(f"ranked_draws={ranked_draws!r}: must be a whole number >= 1")
    draws, chains = checked.draws, checked.chains
    if ranked_draws > draws * chains:
        raise SamplingError(
            f"ranked_draws={ranked_draws} exceeds the {draws * chains} posterior draws "
            f"({chains} chains x {draws}); lower it or draw more"
        )
    return SBCSettings(draws, checked.tune, chains, checked.target_accept, int(ranked_draws))


def _pinned(model, compiled) -> dict[str, str]:
    """The compiled parameterization as a dict per grouping factor, so that every rebuild
    (with a simulated response) makes the same choice instead of choosing from the data."""
    pins: dict[str, str] = {}
    for names in block_names(model.spec):
        how = compiled.parameterization[names.key]
        if pins.setdefault(names.group, how) != how:
            raise SamplingError(
                f"SBC needs one parameterization per grouping factor, but the terms of "
                f"{names.group!r} were compiled differently; pass Model(parameterization="
                f"{{{names.group!r}: 'noncentered'}}) (or 'centered')"
            )
    return pins


def _prior_draws(model, pins: dict[str, str], targets: list[str], n_sims: int, seed: int):
    """True parameters and simulated responses from the model's prior.

    The draws come from the row-level form of the model (one observed ``y``; a term the fit
    integrates out is sampled here), which has the same prior and likelihood."""
    import pymc as pm

    from .backends.pymc.compile import compile_model

    rows = {g: ("noncentered" if how == "marginal" else how) for g, how in pins.items()}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        pm_model = compile_model(model.design, model.priors, rows, likelihood_form="rows").model
        obs = pm_model.observed_RVs[0].name
        prior = pm.sample_prior_predictive(
            draws=n_sims, model=pm_model, var_names=[*targets, obs], random_seed=seed
        )
    values, labels = [], []
    for name in targets:
        if name not in prior.prior:
            raise SpecError(
                f"var_names: {name!r} is not a parameter of the model's prior (it is drawn after sampling)"
            )
        arr = np.asarray(prior.prior[name].values)[0]  # (n_sims, *shape)
        triangle = name in correlation_names(model.spec)
        labels += _labels(pm_model, name, arr.shape[1:], triangle)
        values.append(_flatten(arr, 1, triangle))
    truth = pd.DataFrame(np.concatenate(values, axis=1), columns=labels)
    truth.index.name = "simulation"
    y = np.asarray(prior.prior_predictive[obs].values)[0]
    return truth, y


def sbc(
    model,
    n_sims: int = 100,
    *,
    draws: int = 250,
    tune: int = 250,
    chains: int = 4,
    target_accept: float = 0.9,
    ranked_draws: int = 99,
    var_names: Sequence[str] | None = None,
    random_seed: int | None = None,
    executor: str | None = None,
    client=None,
    workers: int | None = None,
) -> SBCResult:
    """Simulation-based calibration of a model and the NUTS sampler.

    Parameters
    ----------
    model : hierbayes.Model
        The model; its predictors, grouping factors and resolved priors (``model.priors``)
        are kept, only the response is simulated.
    n_sims : int
        Number of simulated data sets (and fits).
    draws, tune, chains, target_accept : NUTS settings of every fit.
    ranked_draws : int
        L: each true value is ranked among L posterior draws thinned evenly from all
        chains, so ranks run from 0 to L. L+1 should have divisors for binning (99 -> 100).
    var_names : sequence of str, optional
        PyMC variable names to rank; default the population parameters (Intercept, b,
        sd_*, cor_* off-diagonal, sigma).
    random_seed : int, optional
        Seeds the prior draws and every fit.
    executor : {"process", "dask", "serial"}, optional
        How fits are spread: a ``concurrent.futures`` process pool (default), a Dask cluster
        (``client`` if given, else a ``LocalCluster`` started and closed here), or this
        process.
    client : dask.distributed.Client, optional
        A Dask client to run the fits on; implies ``executor="dask"``.
    workers : int, optional
        Processes (or LocalCluster workers); default the number of CPUs.

    Returns
    -------
    SBCResult
        Ranks, uniformity tests (``.uniformity()``), rank histograms (``.plot()``).

    Raises
    ------
    SamplingError
        For invalid settings, or when interrupted (Ctrl-C); the exception's ``partial``
        attribute then holds the SBCResult of the simulations finished so far.
    """
    from .model import Model

    starting = getattr(multiprocessing.current_process(), "_inheriting", False)
    if multiprocessing.parent_process() is not None and starting:
        raise SamplingError(f"sbc() was called while a worker process was starting: {_MAIN_GUARD}")
    if not isinstance(model, Model):
        raise SpecError(f"sbc() needs a hierbayes.Model, got {type(model).__name__}")
    if not isinstance(n_sims, (int, np.integer)) or n_sims < 2:
        raise SamplingError(f"n_sims={n_sims!r}: must be an integer >= 2")
    settings = _settings(draws, tune, chains, target_accept, ranked_draws)
    executor = executor or ("dask" if client is not None else "process")
    if executor not in EXECUTORS:
        raise SamplingError(f"executor={executor!r}: valid executors are {list(EXECUTORS)}")
    if client is not None and executor != "dask":
        raise SamplingError(f"a Dask client was given but executor={executor!r}; use executor='dask'")
    workers = int(workers or os.cpu_count() or 1)

    compiled = model.compile()
    targets = list(var_names) if var_names is not None else default_targets(model)
    present = list(compiled.model.named_vars)
    for name in targets:
        if name not in present or name in {v.name for v in compiled.model.observed_RVs}:
            defaults = default_targets(model)
            valid = defaults + [v.name for v in compiled.model.free_RVs if v.name not in defaults]
            raise SpecError(f"var_names: no parameter {name!r}.{did_you_mean(name, valid)} Valid: {valid}")

    seeds = np.random.SeedSequence(random_seed)
    prior_seed, *fit_seeds = (int(s.generate_state(1)[0]) for s in seeds.spawn(n_sims + 1))
    pins = _pinned(model, compiled)
    truth, y = _prior_draws(model, pins, targets, n_sims, prior_seed)
    sims = [_Sim(i, y[i], truth.iloc[i].to_numpy(), fit_seeds[i]) for i in range(n_sims)]
    job = _Job(
        token=uuid.uuid4().hex,
        design=model.design,
        priors=model.priors,
        parameterization=pins,
        targets=tuple(targets),
        settings=settings,
        reference_y=tuple(y[: min(5, n_sims)]),
        matrices=correlation_names(model.spec),
    )

    done: list[_SimResult] = []
    start = time.perf_counter()
    try:
        if executor == "serial":
            _run_serial(job, sims, done)
            n_workers = 1
        elif executor == "process":
            _run_processes(job, sims, workers, done)
            n_workers = workers
        else:
            n_workers = _run_dask(job, sims, workers, client, done)
    except KeyboardInterrupt:
        partial = _assemble(done, truth, settings, time.perf_counter() - start, executor, workers, model)
        err = SamplingError(
            f"SBC was interrupted by the user after {len(done)} of {n_sims} fits; the finished "
            "ones are in this exception's .partial attribute"
        )
        err.partial = partial  # type: ignore[attr-defined]
        raise err from None
    return _assemble(done, truth, settings, time.perf_counter() - start, executor, n_workers, model)


def _assemble(done, truth, settings, seconds, executor, workers, model) -> SBCResult:
    done = sorted(done, key=lambda r: r.index)
    idx = pd.Index([r.index for r in done], name="simulation")
    cols = truth.columns

    def frame(attr: str) -> pd.DataFrame:
        if not done:
            return pd.DataFrame(columns=cols, index=idx, dtype=float)
        return pd.DataFrame(np.stack([getattr(r, attr) for r in done]), index=idx, columns=cols)

    fits = pd.DataFrame(
        {
            "divergences": [r.divergences for r in done],
            "treedepth_hits": [r.treedepth_hits for r in done],
            "max_r_hat": [r.max_r_hat for r in done],
            "min_ess_bulk": [r.min_ess_bulk for r in done],
            "seconds": [r.seconds for r in done],
            "error": [r.error for r in done],
        },
        index=idx,
    )
    return SBCResult(
        ranks=frame("ranks"),
        truth=truth.loc[idx],
        fits=fits,
        posterior_mean=frame("post_mean"),
        posterior_sd=frame("post_sd"),
        ranked_draws=settings.ranked_draws,
        settings=settings,
        seconds=seconds,
        executor=executor,
        workers=workers,
        formula=model.formula,
    )

