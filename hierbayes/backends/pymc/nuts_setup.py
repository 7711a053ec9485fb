"""What every NUTS path of the PyMC backend shares: the start point and its jitter (and the
rule a jittered start must pass), the maximum tree depth, the size of the model, and the
on-disk compile caches.

Used by :mod:`.sample` (``pm.sample`` and the cached JAX path), :mod:`.jaxnuts` (the cached
numpyro/blackjax programs) and :mod:`.refit` (SBC's refits of one compiled log density), so
the three start and bound their chains the same way. It imports none of them.
"""

from __future__ import annotations

import os
import warnings

import numpy as np

from ...errors import warn_user
from ...runtime import DEVICE_COUNT_FLAG, with_default_xla_flags
from .lazy import pm

#: Maximum tree depth of NUTS (numpyro's, PyMC's and nutpie's default): a trajectory has at
#: most ``2**MAX_TREE_DEPTH - 1`` leapfrog steps.
MAX_TREE_DEPTH = 10
#: Start values are the start point plus uniform(-JITTER, JITTER) per unconstrained scalar
#: (PyMC's ``jitter+adapt_diag``).
JITTER = 1.0
#: Jittered start points drawn per chain; the chain starts at the first one whose log density
#: and gradient are finite (:func:`usable`), the first one when none is.
START_TRIES = 10
#: Environment variable naming the directory of hierbayes' compile caches; "off" disables them.
CACHE_ENV = "HIERBAYES_CACHE_DIR"


def treedepth_hits(n_steps: np.ndarray) -> np.ndarray:
    """Whether each transition used the maximum number of leapfrog steps."""
    return np.asarray(n_steps) >= 2**MAX_TREE_DEPTH - 1


def cache_dir() -> str | None:
    """Directory of the persistent compile caches (``$HIERBAYES_CACHE_DIR``, else
    ``$XDG_CACHE_HOME/hierbayes`` or ``~/.cache/hierbayes``); None when set to "off"."""
    value = os.environ.get(CACHE_ENV)
    if value is not None:
        return None if value.strip().lower() in ("", "off", "0", "none") else value
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return os.path.join(base, "hierbayes")


def configure_jax() -> None:
    """JAX as PyMC's JAX samplers set it up, without importing them (``pymc.sampling.jax``
    imports PyTensor's JAX dispatch, with it numpyro and scipy.fft: 0.3 s that only building
    a sampler graph needs, not running a cached one): hierbayes' XLA flags (host devices
    for parallel chains, no YNNPACK kernels: :func:`hierbayes.runtime.with_default_xla_flags`),
    each unless the user's ``XLA_FLAGS`` name it (read when JAX starts; ``hierbayes`` sets
    them on import), and float64 (the graphs' data are float64, as PyTensor's JAX
    dispatch makes JAX's default)."""
    os.environ["XLA_FLAGS"] = with_default_xla_flags(os.environ.get("XLA_FLAGS", ""))
    import jax

    jax.config.update("jax_enable_x64", True)
    with warnings.catch_warnings():
        # numpyro imports tqdm.auto, which in a Jupyter kernel without ipywidgets warns
        # "IProgress not found ... update jupyter and ipywidgets": hierbayes draws its own bar
        # (progress.py, a text bar there), so that advice is about a bar nobody sees
        warnings.filterwarnings("ignore", message="IProgress not found")
        import tqdm.auto  # noqa: F401


class TooFewDevicesWarning(UserWarning):
    """JAX started with fewer CPU devices than the chains could run on at once."""


def warn_if_too_few_devices(found: int, usable: int, chains: int) -> None:
    """Warn when JAX has ``found`` CPU devices but ``usable`` (cores, at most the chains)
    chains could run at once: JAX read ``XLA_FLAGS`` when something started it before
    hierbayes was imported (a notebook that ran JAX or numpyro first), so the chains run one
    after another. The same seed then also gives other draws of the same posterior (the
    programs differ in floating-point detail)."""
    if found >= usable:
        return
    flag = DEVICE_COUNT_FLAG
    head = (f"JAX has {found} CPU device{'s' * (found != 1)}, so the {chains} chains run "
            f"{'one after another' if found == 1 else f'{found} at a time'} where {usable} cores "
            "could run them at once: ")
    if f"{flag}={found}" in os.environ.get("XLA_FLAGS", "").split():
        cause = (f"XLA_FLAGS sets {flag}={found}. Set it to {max(usable, 4)} (or leave it out) "
                 "before JAX starts.")
    else:
        cause = ("JAX was started (a computation or jax.devices()) before hierbayes was "
                 "imported, which sets the device count. Restart the kernel and import hierbayes "
                 f"before using JAX, or set the environment variable XLA_FLAGS={flag}="
                 f"{max(usable, 4)} before JAX starts.")
    warn_user(head + cause, TooFewDevicesWarning)


def enable_jax_cache() -> str | None:
    """Turn on JAX's persistent compilation cache, so a model compiled once (same structure
    and data) loads in about a second in later processes. A cache directory the user set for
    JAX (``JAX_COMPILATION_CACHE_DIR`` or ``jax.config``) is kept. Returns the directory."""
    import jax

    current = jax.config.jax_compilation_cache_dir
    if current:
        return current
    root = cache_dir()
    if root is None:
        return None
    path = os.path.join(root, "jax")
    os.makedirs(path, exist_ok=True)
    jax.config.update("jax_compilation_cache_dir", path)
    jax.config.update("jax_persistent_cache_min_compile_time_secs", 0.0)
    return path


def python_mode():
    """PyTensor's Python linker with the fast-compile rewrites: for one-off functions, where
    compiling C or numba code would cost far more than running them. Without the add and mul
    canonicalizers, which can merge a model's log-density terms into one elementwise op that
    the Python linker cannot run past 32 operands (``compile_logp`` of a gaussian model with
    four imputed columns: 33 terms, NotImplementedError)."""
    from pytensor.compile.mode import Mode

    return Mode(linker="py", optimizer="fast_compile").excluding("local_add_canonizer", "local_mul_canonizer")


def start_point(model: pm.Model) -> list[np.ndarray]:
    """PyMC's start point (support points or initvals) on the sampler's unconstrained
    scale, one array per value variable, evaluated without compiling C or numba code."""
    import pytensor
    from pymc.initial_point import make_initial_point_expression

    start = make_initial_point_expression(
        free_rvs=model.free_RVs,
        rvs_to_transforms=model.rvs_to_transforms,
        initval_strategies=model.rvs_to_initial_values,
        jitter_rvs=set(),
        default_strategy="support_point",
        return_transformed=True,
    )
    return [np.asarray(v) for v in pytensor.function([], start, mode=python_mode())()]


def jitter_rng(seed: int | None) -> np.random.Generator:
    """The generator of the start-point jitter for a run seeded with ``seed``."""
    return np.random.default_rng(None if seed is None else [int(seed), 11])


def jittered_unconstrained(start: list[np.ndarray], chains: int, seed: int | None) -> list[np.ndarray]:
    """Per value variable, ``(chains, *shape)`` start values: ``start`` plus
    uniform(-JITTER, JITTER), on the unconstrained scale (no check; see
    :func:`jittered_candidates`)."""
    return [c[:, 0] for c in jittered_candidates(start, chains, seed)]


def jittered_candidates(start: list[np.ndarray], chains: int, seed: int | None,
                        widths: list[float] | None = None) -> list[np.ndarray]:
    """Per value variable, ``(chains, START_TRIES, *shape)`` candidate start values: ``start``
    plus uniform(-JITTER, JITTER) on the unconstrained scale, times the variable's entry of
    ``widths`` (default 1; :func:`jitter_widths`). Candidate 0 of every chain is
    drawn first (the jitter PyMC would use); the others are the fallbacks :func:`first_usable`
    and :func:`jittered_start` pick from."""
    rng = jitter_rng(seed)
    values = [np.asarray(v) for v in start]
    widths = [1.0] * len(values) if widths is None else widths
    first = [v[None] + w * rng.uniform(-JITTER, JITTER, size=(chains, *v.shape)) for v, w in zip(values, widths)]
    rest = [v[None, None] + w * rng.uniform(-JITTER, JITTER, size=(chains, START_TRIES - 1, *v.shape))
            for v, w in zip(values, widths)]
    return [np.concatenate([f[:, None], r], axis=1).astype(v.dtype) for f, r, v in zip(first, rest, values)]


def jitter_widths(names: list[str], jitter: dict[str, float] | None) -> list[float] | None:
    """Per value variable named in ``names``, the half-width of its jitter (relative to
    JITTER) from ``jitter`` (name -> width; the compiled model's ``start_jitter``)."""
    return [jitter.get(name, 1.0) for name in names] if jitter else None


def usable(value, grads, xp=np):
    """Whether NUTS can start at a point: its log density ``value`` and every array in
    ``grads`` (the gradient) are finite. A finite density is not enough: from a point whose
    gradient is NaN every leapfrog step is NaN, so the chain never moves and every draw is
    divergent (a tobit refit sat at one for all 300 draws). ``xp``: numpy or ``jax.numpy``."""
    ok = xp.isfinite(value)
    for g in grads:
        ok = ok & xp.all(xp.isfinite(g))
    return ok


def first_usable(logp, candidates: list):
    """JAX: the first of the candidates (per value variable, ``(tries, *shape)``) that is
    :func:`usable` for the log density ``logp(list_of_values) -> scalar``, as a list of
    values; the first candidate when none is. Traceable (used inside the compiled samplers)."""
    import jax
    import jax.numpy as jnp

    def ok(*zs):
        value, grads = jax.value_and_grad(logp)(list(zs))
        return usable(value, grads, jnp)

    first = jnp.argmax(jax.vmap(ok)(*candidates))
    return [c[first] for c in candidates]


def jittered_start(model: pm.Model, chains: int, seed: int | None, jitter: dict[str, float] | None = None) -> list[dict]:
    """Per-chain start values: PyMC's start point with its U(-1, 1) jitter on the sampler's
    (unconstrained) scale, the first of :data:`START_TRIES` jittered points that is
    :func:`usable`, mapped to the constrained scale (one dict of free variable values per
    chain); ``jitter``: value variable -> half-width of its jitter where not 1 (the
    compiled model's ``start_jitter``). Evaluated with PyTensor's Python linker.

    PyMC's own JAX path evaluates the start point through C-compiled functions and checks
    the log density (not its gradient) op by op in JAX (dozens of tiny XLA compiles): tens
    of seconds before the first draw on a fresh install. Same start distribution, none of
    that cost.
    """
    import pytensor

    widths = jitter_widths([v.name for v in model.value_vars], jitter)
    candidates = jittered_candidates(start_point(model), chains, seed, widths)
    logp = model.logp()
    check = pytensor.function(model.value_vars, [logp, *pytensor.grad(logp, model.value_vars)], mode=python_mode())
    constrain = pytensor.function(model.value_vars, model.replace_rvs_by_values(model.free_RVs), mode=python_mode())
    out = []
    for chain in range(chains):
        tries = [[c[chain, t] for c in candidates] for t in range(START_TRIES)]
        chosen = next((z for z in tries if usable(*_split(check(*z)))), tries[0])
        values = constrain(*chosen)
        out.append({rv.name: np.asarray(v) for rv, v in zip(model.free_RVs, values)})
    return out


def _split(outputs: list) -> tuple:
    return outputs[0], outputs[1:]


def _rv_size(model: pm.Model, rv) -> int:
    dims = model.named_vars_to_dims.get(rv.name)
    if dims:
        return int(np.prod([len(model.coords[d]) for d in dims]))
    return int(np.prod([1 if s is None else s for s in rv.type.shape]))


def free_size(model: pm.Model) -> int:
    """Number of free scalars the sampler sees (from dims and static shapes, no compiling)."""
    return sum(_rv_size(model, rv) for rv in model.free_RVs)


def value_size(model: pm.Model, name: str) -> int:
    """Number of free scalars of the value variable ``name`` (as :func:`free_size` counts)."""
    return _rv_size(model, next(rv for rv in model.free_RVs if model.rvs_to_values[rv].name == name))


def finite_kinetic_energy():
    """numpyro's euclidean kinetic energy, with a value that is not a number >= 0 read as +inf.

    r'M^-1 r is never negative, but far out in a tail its terms overflow: survival::rats'
    weibull without group terms (dense mass matrix, 4 free scalars) had a leapfrog step land
    at shape ~130, where the log density is -5e208 and the gradient ~2.5e211; the dense form's
    fused multiply-add sum of the overflowing terms came out -inf. numpyro guards only NaN, so
    a delta energy of -inf was accepted with probability 1, not flagged divergent, and the chain
    stayed there at step size ~1e-34 (4 of seeds 1-10, R-hat 1.5). As +inf the step is a
    divergence and is rejected, as a diagonal mass's overflow (+inf) already was; wherever
    nothing overflows the draws are the same.
    """
    import jax.numpy as jnp
    from numpyro.infer.hmc_util import euclidean_kinetic_energy

    def kinetic_energy(inverse_mass_matrix, r):
        energy = euclidean_kinetic_energy(inverse_mass_matrix, r)
        return jnp.where(energy >= 0, energy, jnp.inf)

    kinetic_energy._kinetic_grad = euclidean_kinetic_energy._kinetic_grad  # numpyro's closed form
    return kinetic_energy
