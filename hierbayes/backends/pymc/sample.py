"""Run NUTS on a compiled model with PyMC's samplers (pymc, nutpie, numpyro, blackjax)."""

from __future__ import annotations

import importlib.util
import signal
import threading
import time
import warnings

import numpy as np

from ...errors import FitInterrupted, SamplingError
from ...params import RAW_EFFECTS_PREFIX, helper_name
from ...runtime import usable_cpus
from ...sampler_args import KNOWN_SAMPLERS, check_sampler_arguments
from .. import SamplerRun
from .compile import CompiledModel
from .jaxnuts import sample_jax_cached
from .lazy import pm
from .nuts_setup import (  # noqa: F401  (cache_dir, start_point: importable from here as before)
    cache_dir,
    enable_jax_cache,
    free_size,
    jittered_start,
    start_point,
    value_size,
)

SAMPLERS = KNOWN_SAMPLERS


def available_samplers() -> list[str]:
    """Samplers whose packages are importable, in order of preference."""
    out = []
    for name in SAMPLERS:
        module = {"pymc": "pymc", "nutpie": "nutpie", "numpyro": "numpyro", "blackjax": "blackjax"}[name]
        if importlib.util.find_spec(module) is not None:
            out.append(name)
    return out


def default_sampler() -> str:
    """The fastest sampler end to end that is installed (see bench/README.md)."""
    installed = available_samplers()
    for name in ("numpyro", "nutpie", "pymc"):
        if name in installed:
            return name
    return "pymc"


#: Models with at most this many free scalars get a dense mass matrix under numpyro: they are
#: the integrated ("marginal") models, whose few parameters are correlated.
DENSE_MASS_MAX = 40
_JAX_SAMPLERS = ("numpyro", "blackjax")


class _JaxCompileClock:
    """Seconds JAX spends tracing, lowering and compiling (or loading from the cache),
    from JAX's monitoring events; ``sampler`` counts only the NUTS loop's own compile."""

    # backend_compile_duration includes reading JAX's persistent cache: the cache's own
    # retrieval event is not added again.
    EVENTS = (
        "/jax/core/compile/jaxpr_trace_duration",
        "/jax/core/compile/jaxpr_to_mlir_module_duration",
        "/jax/core/compile/backend_compile_duration",
    )
    total = 0.0
    sampler = 0.0
    _registered = False

    @classmethod
    def start(cls) -> tuple[float, float]:
        if not cls._registered:
            import jax

            jax.monitoring.register_event_duration_secs_listener(cls._listen)
            cls._registered = True
        return cls.total, cls.sampler

    @classmethod
    def _listen(cls, event: str, duration: float, **kwargs) -> None:
        if event in cls.EVENTS:
            cls.total += duration
            name = str(kwargs.get("fun_name", ""))
            if "_fun" in name or "chain" in name or "_multi_slice" in name:
                cls.sampler += duration


def dense_mass_of(compiled: CompiledModel) -> bool | list[tuple[str, ...]]:
    """The mass matrix NUTS adapts on JAX. A model with more than :data:`DENSE_MASS_MAX` free
    scalars: False (diagonal), unless a sampled term is saturated (``compiled.saturated``),
    where a dense block covers the value variables that are not group effects (``z_``, ``re_``)
    when they are at most that many scalars. Otherwise dense over every value variable except the
    standardized effects ``z_<key>`` of the non-centred group terms, which get a diagonal
    block: True when no such term exists, else ``[names]``, the value variables of the dense
    block (numpyro's block-dense ``dense_mass``).

    Why: a non-centred term's ``z`` are a priori independent standard normals, and a dense
    matrix over them and the model's few parameters is estimated from numpyro's short first
    warm-up windows. On survival::lung's weibull frailty model (``(1 | inst)``, 23 free
    scalars) fully dense left one chain of four stuck in the far tail (``sd_inst`` ~ 12, log
    density ~ -1e58, step size ~ 0) at 7 of seeds 0..39; with the ``z`` diagonal, none (R-hat
    <= 1.005, no divergences). The stuck chain's cause was found later (session 28): an
    overflowing dense kinetic energy summed to -inf, which numpyro accepted
    (:func:`.nuts_setup.finite_kinetic_energy` now reads it as +inf; fully dense, lung then had
    no stuck chain at seeds 0..39 either); the rule stays. Only those ``z`` are set apart: a
    centred term's effects (an intercept holder's totals) are correlated with the intercept and
    the slopes, the ridge the dense matrix is for, and an adaptive term's ``z`` are not standard
    normal.
    """
    model = compiled.model
    names = [v.name for v in model.value_vars]
    if free_size(model) > DENSE_MASS_MAX:
        if not compiled.saturated:
            return False
        # A saturated term's sd is large and the fixed effects grow with it (conditional
        # effects scale with the sd): a ridge a diagonal matrix cannot follow. mlmRev's
        # guPrenat with (1 | mom), sd ~9 on the logit scale: R-hat 1.015 at seed 1 diagonal.
        # Dense over the parameters that are not group effects, when they are few; only here,
        # as on VerbAgg (not saturated) the block cost 98 s against 55 s (session 30).
        effects = tuple(p for key in compiled.parameterization for p in (RAW_EFFECTS_PREFIX + key, f"re_{key}"))
        block = tuple(n for n in names if not n.startswith(effects))
        size = sum(value_size(model, n) for n in block)
        return [block] if len(block) > 1 and size <= DENSE_MASS_MAX else False
    apart = {RAW_EFFECTS_PREFIX + key for key, how in compiled.parameterization.items() if how == "noncentered"}
    dense = tuple(n for n in names if n not in apart)
    if len(dense) == len(names):
        return True
    return [dense] if dense else False


def _nuts_options(compiled: CompiledModel, sampler: str, target_accept: float) -> dict:
    # MAX_TREE_DEPTH is the default of PyMC's, nutpie's and numpyro's NUTS, so it is not passed
    options: dict = {"target_accept": target_accept}
    if sampler in _JAX_SAMPLERS:
        # blocks: sample_jax_cached runs blackjax (no block-dense form) diagonal
        options["dense_mass"] = dense_mass_of(compiled)
    return options


def default_cores(chains: int) -> int:
    """All usable cores (``taskset`` respected), up to one per chain (PyMC would assume half of
    them are hyperthreads)."""
    return max(1, min(chains, usable_cpus()))


def run_nuts(
    compiled: CompiledModel,
    *,
    draws: int = 1000,
    tune: int = 1000,
    chains: int = 4,
    cores: int | None = None,
    random_seed: int | None = None,
    sampler: str | None = None,
    target_accept: float | None = None,
    progressbar: bool = True,
) -> SamplerRun:
    """Sample the posterior with NUTS.

    Raises ArgumentError for an invalid setting, and SamplingError with a plain message
    when the user interrupts (Ctrl-C) or the sampler fails; nothing is written anywhere in
    that case.
    """
    checked = check_sampler_arguments(
        draws=draws, tune=tune, chains=chains, cores=cores, random_seed=random_seed,
        sampler=sampler, target_accept=target_accept, progressbar=progressbar,
    )
    draws, tune, chains, cores = checked.draws, checked.tune, checked.chains, checked.cores
    random_seed, target_accept, progressbar = checked.random_seed, checked.target_accept, checked.progressbar
    sampler = checked.sampler or default_sampler()
    if target_accept is None:
        target_accept = compiled.target_accept
    if sampler not in available_samplers():
        raise SamplingError(
            f"sampler {sampler!r} is not installed; installed samplers: {available_samplers()}"
        )
    if cores is None:
        cores = default_cores(chains)
    cached = sampler in _JAX_SAMPLERS and bool(getattr(compiled, "fingerprint", ""))
    kwargs = dict(
        draws=draws,
        tune=tune,
        chains=chains,
        cores=cores,
        random_seed=random_seed,
        progressbar=progressbar,
        nuts_sampler=sampler,
        compute_convergence_checks=False,
        nuts={"target_accept": target_accept},
    )
    if not cached:  # the cached path builds the model only when something is not cached
        kwargs["model"] = compiled.model
        kwargs["nuts"] = _nuts_options(compiled, sampler, target_accept)
    if sampler in _JAX_SAMPLERS and not cached:
        # PyMC's numpyro path names its sites itself: a block structure falls back to diagonal
        if isinstance(kwargs["nuts"].get("dense_mass"), list):
            kwargs["nuts"]["dense_mass"] = False
        enable_jax_cache()
        from .softplus import register_jax

        register_jax()  # PyMC jaxifies the graph: the one-exp softplus (softplus.py)
        clock = _JaxCompileClock.start()
        kwargs["initvals"] = jittered_start(compiled.model, chains, random_seed, compiled.start_jitter)
        kwargs["nuts"]["jitter"] = False
    start = time.perf_counter()
    try:
        with warnings.catch_warnings(), _SigintWatch() as sigint:
            warnings.filterwarnings("ignore", message=".*BLAS.*")
            warnings.filterwarnings("ignore", category=FutureWarning)
            if cached:
                fast = _sample_cached(compiled, kwargs)
                idata = fast.idata
            else:
                idata = pm.sample(**kwargs)
    except FitInterrupted:
        raise
    except KeyboardInterrupt:
        raise FitInterrupted(_interrupted(time.perf_counter() - start)) from None
    wall = time.perf_counter() - start
    got = (idata.posterior.sizes.get("chain", 0), idata.posterior.sizes.get("draw", 0))
    if got != (chains, draws):
        detail = f" ({got[0]} chains x {got[1]} draws of {chains} x {draws})"
        if sigint.seen:
            # PyMC's sequential sampler ends a chain at Ctrl-C and returns the draws made so far
            raise FitInterrupted(_interrupted(wall, detail))
        raise SamplingError(
            f"the {sampler} sampler returned {got[0]} chains x {got[1]} draws, but {chains} x {draws} "
            "were asked for; no fit was created"
        )
    idata = fold_signed_sds(idata)
    sampling_time = idata.posterior.attrs.get("sampling_time")
    compile_time = None
    if cached:
        sampling_time, compile_time = fast.sampling_seconds, fast.compile_seconds
    elif sampler in _JAX_SAMPLERS:
        # PyMC's sampling_time of a JAX sampler includes compiling the NUTS loop
        compile_time = _JaxCompileClock.total - clock[0]
        if sampling_time is not None:
            sampling_time = max(0.0, sampling_time - (_JaxCompileClock.sampler - clock[1]))
    elif sampling_time is not None:
        compile_time = max(0.0, wall - sampling_time)
    return SamplerRun(
        idata=idata, sampler=sampler, wall_seconds=wall, sampling_seconds=sampling_time,
        compile_seconds=compile_time, target_accept=target_accept,
    )


#: The name ending of a signed sd helper (``sd_g__signed``).
SIGNED_SUFFIX = helper_name("", "signed")


def fold_signed_sds(idata):
    """The draws with each signed sd helper (``sd_g__signed``, :mod:`.covariance.parts`) as
    its absolute value: its sign is the sampler's coordinate, which the data do not decide
    (chains sit on either side, R-hat 1.5 in ``az.summary(fit.idata)``); the reported sds
    and correlations already carry it."""
    posterior = idata.posterior.to_dataset()
    signed = [name for name in posterior.data_vars if str(name).endswith(SIGNED_SUFFIX)]
    if signed:
        idata["posterior"] = posterior.assign({name: np.abs(posterior[name]) for name in signed})
    return idata


def _sample_cached(compiled: CompiledModel, kwargs: dict):
    """numpyro's NUTS from a compiled program cached on disk (see :mod:`.jaxnuts`)."""
    return sample_jax_cached(
        lambda: compiled.model,
        algorithm=kwargs["nuts_sampler"],
        draws=kwargs["draws"],
        tune=kwargs["tune"],
        chains=kwargs["chains"],
        cores=kwargs["cores"],
        random_seed=kwargs["random_seed"],
        target_accept=kwargs["nuts"]["target_accept"],
        dense_mass=lambda: dense_mass_of(compiled),
        progressbar=bool(kwargs["progressbar"]),
        fingerprint=compiled.fingerprint,
        build_graph=compiled.padded_graph,
        trim=compiled.padding.trim if compiled.padding is not None else None,
        start_jitter=compiled.start_jitter,
    )


class _SigintWatch:
    """Records whether SIGINT (Ctrl-C) arrived while sampling, because PyMC catches the
    KeyboardInterrupt itself and returns a short trace; the previous handler still runs."""

    def __init__(self) -> None:
        self.seen = False
        self._previous = None

    def _handler(self, signum, frame) -> None:
        self.seen = True
        self._previous(signum, frame)  # Python's default raises KeyboardInterrupt

    def __enter__(self) -> _SigintWatch:
        if threading.current_thread() is threading.main_thread():
            previous = signal.getsignal(signal.SIGINT)
            if callable(previous):  # SIG_DFL, SIG_IGN or a C handler (None) are left alone
                self._previous = previous
                signal.signal(signal.SIGINT, self._handler)
        return self

    def __exit__(self, *exc) -> None:
        if self._previous is not None:
            signal.signal(signal.SIGINT, self._previous)
            self._previous = None
        # a KeyboardInterrupt that reached us is a Ctrl-C whoever raised it
        if exc[0] is KeyboardInterrupt:
            self.seen = True


def _interrupted(seconds: float, detail: str = "") -> str:
    return (
        f"sampling was interrupted by the user (Ctrl-C) after {seconds:.0f} s{detail}; no fit "
        "was created and no file was written (fits are written only by Fit.save). Call fit() "
        "again to restart (fewer draws or tuning steps finish sooner)"
    )
