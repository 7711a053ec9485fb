"""Simulation-based calibration (SBC; Talts, Betancourt, Simpson, Vehtari & Gelman 2018).

For each of ``n_sims`` simulations: draw the parameters from the model's prior, draw a data
set from the likelihood at those parameters (the backend's ``simulate_prior``, with the
resolved priors of :attr:`Model.priors` as they are, not rescaled to each simulated data
set), fit the model to the simulated response, and record the rank of each true value among
``L`` thinned posterior draws (0..L). If the model and the sampler agree, the ranks are
uniform; :meth:`SBCResult.uniformity` tests that with a chi-square test on binned ranks and
:meth:`SBCResult.plot` draws the rank histograms (:mod:`hierbayes.sbc_result`).

Only the response changes between simulations, so each worker process asks the backend once
for a refit function (:meth:`hierbayes.backends.Backend.refitter`: the PyMC backend
compiles the model's log density to JAX once, :mod:`hierbayes.backends.pymc.refit`) and
calls it per simulated response. Fits are spread over processes (``concurrent.futures``,
the default) or a Dask cluster (a ``dask.distributed.Client``, or a ``LocalCluster``
started for the run): :mod:`hierbayes.sbc_executors`.
"""

from __future__ import annotations

import math
import multiprocessing
import time
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, replace

import numpy as np
import pandas as pd

from .backends import get_backend
from .design.types import Design
from .errors import SamplingError, SpecError, did_you_mean
from .families import CensoringRule, get_family
from .params import AuxNames, block_names
from .priors import PriorTable
from .runtime import usable_cpus
from .sbc_executors import EXECUTORS, MAIN_GUARD, run_dask, run_processes, run_serial
from .sbc_result import SBCResult, SBCSettings, convergence, rank_bins, rank_of_truth, sbc_settings
from .spec.residuals import SD_RATIO

__all__ = ["SBCResult", "SBCSettings", "rank_bins", "rank_of_truth", "sbc"]


@dataclass(frozen=True)
class _Job:
    """What a worker needs to rebuild the model and fit it (pickled once per chunk)."""

    token: str
    backend: str
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
class SimResult:
    """One simulation's outcome: the ranks of its true values, the posterior means and sds,
    the sampler's diagnostics and the wall time (``error`` when the fit failed)."""

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


# ========================================================== parameters that are ranked


def default_targets(model) -> list[str]:
    """Names of the population parameters: Intercept, b, sd_*, cor_* (rho_* for
    exchangeable blocks), the family's own parameters (sigma) and the coefficients and sds of
    distributional sub-models (Intercept_sigma, b_sigma, sd_sigma_g)."""
    backend = get_backend()
    present = set(backend.parameter_names(model.compile()))
    out = [n for n in ("Intercept", "b") if n in present]
    for names in block_names(model.spec):
        out.append(names.sd)
        if names.rho in present:
            out.append(names.rho)
        elif names.cor in present:
            out.append(names.cor)
    out += [a for a in get_family(model.spec.family).aux if a in present]
    for aux in model.spec.aux_formulas:  # distributional sub-models (sigma ~ x + (1|g))
        names = AuxNames(aux)
        out += [names.intercept, names.b, *(n.sd for n in names.blocks(model.spec))]
    out += _structure_parameters(model.design)
    return [n for n in out if n in present]


def _structure_parameters(design: Design, support: str | None = None) -> list[str]:
    """The residual structure's parameters (``ar1_phi``, ``unstr_cor``, ``sigma_ratio``...),
    only those of one ``support`` when given."""
    rd = getattr(design, "residuals", None)
    if rd is None:
        return []
    out = [p.name for p in rd.kind.parameters if support is None or p.support == support]
    return out + ([SD_RATIO] if rd.sd_levels and support is None else [])


def correlation_names(spec, design: Design | None = None) -> frozenset[str]:
    """Names of the correlation matrices (only their lower triangle is ranked): the group
    terms' and a residual structure's (unstructured)."""
    residual = _structure_parameters(design, "correlation") if design is not None else []
    return frozenset([names.cor for names in block_names(spec)] + residual)


def _scalar_positions(shape: tuple[int, ...], triangle: bool) -> list[tuple[int, ...]]:
    """Element positions of one variable that are ranked (strict lower triangle of a
    correlation matrix: the diagonal is 1 and the upper triangle repeats the lower)."""
    if triangle and len(shape) == 2:
        return [(i, j) for i in range(shape[0]) for j in range(i)]
    return list(np.ndindex(*shape)) if shape else [()]


def _flatten(values: np.ndarray, lead: int, triangle: bool) -> np.ndarray:
    """(*lead_dims, *shape) -> (*lead_dims, n_scalars) for the ranked positions."""
    shape = values.shape[lead:]
    cols = [values[(Ellipsis, *pos)] if pos else values for pos in _scalar_positions(shape, triangle)]
    return np.stack(cols, axis=-1)


def _labels(name: str, axes: list[list[str]], shape: tuple[int, ...], triangle: bool) -> list[str]:
    """One label per ranked scalar: ``name[level,term]`` from the coordinate labels."""
    out = []
    for pos in _scalar_positions(shape, triangle):
        out.append(f"{name}[{','.join(axes[axis][i] for axis, i in enumerate(pos))}]" if pos else name)
    return out


# ====================================================================== the fits

_REFITTERS: dict[str, object] = {}


def run_chunk(job: _Job, sims: Sequence[_Sim]) -> list[SimResult]:
    """Fit a chunk of simulations; the backend's refit function is built once per process
    and reused."""
    refit = _REFITTERS.get(job.token)
    if refit is None:
        _REFITTERS.clear()
        refit = _REFITTERS[job.token] = get_backend(job.backend).refitter(
            job.design, job.priors, job.parameterization, job.targets, job.settings.config, job.reference_y
        )
    out = []
    for sim in sims:
        try:
            out.append(_fit_one(refit, job, sim))
        except Exception as exc:  # noqa: BLE001 - one failed fit must not lose the others
            n = len(sim.truth)
            nan = np.full(n, np.nan)
            error = f"{type(exc).__name__}: {exc}"
            out.append(SimResult(sim.index, nan, nan, nan, 0, 0, math.nan, math.nan, 0.0, error))
    return out


def _fit_one(refit, job: _Job, sim: _Sim) -> SimResult:
    start = time.perf_counter()
    draws, divergences, hits = refit(sim.y, sim.seed)
    values = np.concatenate(
        [_flatten(np.asarray(d), 2, n in job.matrices) for n, d in zip(job.targets, draws)], axis=-1
    )  # (chains, draws, scalars)
    ranks = rank_of_truth(values, sim.truth, job.settings.ranked_draws, sim.seed)
    rhat, ess = convergence(values)
    return SimResult(
        index=sim.index,
        ranks=ranks,
        post_mean=values.mean(axis=(0, 1)),
        post_sd=values.std(axis=(0, 1), ddof=1),
        divergences=int(divergences),
        treedepth_hits=int(hits),
        max_r_hat=rhat,
        min_ess_bulk=ess,
        seconds=time.perf_counter() - start,
    )


# ======================================================================== sbc()


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


def prior_draws(model, pins: dict[str, str], targets: list[str], n_sims: int, seed: int):
    """True parameters (one column per ranked scalar) and simulated responses from the
    model's prior (the backend's ``simulate_prior``)."""
    sim = get_backend().simulate_prior(model.design, model.priors, pins, targets, n_sims, seed)
    values, labels = [], []
    for name in targets:
        if name not in sim.values:
            raise SpecError(
                f"var_names: {name!r} is not a parameter of the model's prior (it is drawn after sampling)"
            )
        arr = sim.values[name]  # (n_sims, *shape)
        triangle = name in correlation_names(model.spec, model.design)
        labels += _labels(name, sim.labels[name], arr.shape[1:], triangle)
        values.append(_flatten(arr, 1, triangle))
    truth = pd.DataFrame(np.concatenate(values, axis=1), columns=labels)
    truth.index.name = "simulation"
    return truth, sim.y


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
    censor: CensoringRule | None = None,
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
        Parameter names to rank; default the population parameters (Intercept, b,
        sd_*, cor_* off-diagonal, sigma) and a residual structure's (``ar1_phi``,
        ``unstr_cor`` off-diagonal, ``sigma_ratio``...).
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
    censor : hierbayes.CensoringRule, optional
        How a censored model's data are censored (needed for one: a fixed pattern of censored
        rows cannot be simulated): each simulated response is cut at the rule's left / right
        limits, and each fit sees the rows its own response censors.

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
        raise SamplingError(f"sbc() was called while a worker process was starting: {MAIN_GUARD}")
    if not isinstance(model, Model):
        raise SpecError(f"sbc() needs a hierbayes.Model, got {type(model).__name__}")
    if not isinstance(n_sims, (int, np.integer)) or n_sims < 2:
        raise SamplingError(f"n_sims={n_sims!r}: must be an integer >= 2")
    settings = sbc_settings(draws, tune, chains, target_accept, ranked_draws)
    if (censor is None) != (model.design.censoring is None):
        raise SpecError("a censoring rule was given but the model has no cens() in its response" if censor else
                        "SBC of a censored model needs its censoring mechanism: sbc(..., censor="
                        "hb.CensoringRule(left=0)) (limits: a number or one per row)")
    executor = executor or ("dask" if client is not None else "process")
    if executor not in EXECUTORS:
        raise SamplingError(f"executor={executor!r}: valid executors are {list(EXECUTORS)}")
    if client is not None and executor != "dask":
        raise SamplingError(f"a Dask client was given but executor={executor!r}; use executor='dask'")
    workers = int(workers or usable_cpus())

    backend = get_backend(settings.config.backend)
    compiled = model.compile()
    targets = list(var_names) if var_names is not None else default_targets(model)
    present = backend.parameter_names(compiled)
    for name in targets:
        if name not in present:
            defaults = default_targets(model)
            valid = defaults + [n for n in backend.free_parameter_names(compiled) if n not in defaults]
            raise SpecError(f"var_names: no parameter {name!r}.{did_you_mean(name, valid)} Valid: {valid}")

    seeds = np.random.SeedSequence(random_seed)
    prior_seed, *fit_seeds = (int(s.generate_state(1)[0]) for s in seeds.spawn(n_sims + 1))
    pins = _pinned(model, compiled)
    truth, y = prior_draws(model, pins, targets, n_sims, prior_seed)
    design = model.design
    if censor is not None:
        design = replace(design, censoring=censor.censoring(y[0], design.censoring))
        y = censor.apply(y)
    sims = [_Sim(i, y[i], truth.iloc[i].to_numpy(), fit_seeds[i]) for i in range(n_sims)]
    job = _Job(
        token=uuid.uuid4().hex,
        backend=settings.config.backend,
        design=design,
        priors=model.priors,
        parameterization=pins,
        targets=tuple(targets),
        settings=settings,
        reference_y=tuple(y[: min(5, n_sims)]),
        matrices=correlation_names(model.spec, model.design),
    )

    done: list[SimResult] = []
    start = time.perf_counter()
    try:
        if executor == "serial":
            run_serial(run_chunk, job, sims, done)
            n_workers = 1
        elif executor == "process":
            run_processes(run_chunk, job, sims, workers, done)
            n_workers = workers
        else:
            n_workers = run_dask(run_chunk, job, sims, workers, client, done)
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
