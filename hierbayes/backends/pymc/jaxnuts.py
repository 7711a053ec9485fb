"""NUTS on JAX (numpyro's kernel), with the whole compiled sampler cached on disk.

PyMC's ``pm.sample(nuts_sampler="numpyro")`` rebuilds everything in every process: it
rewrites the PyTensor graph for JAX, traces numpyro's NUTS loop, compiles it with XLA and
evaluates the start point through C-compiled functions. For a small model that is 10-30 s
before the first draw, even when nothing changed.

Here the sampler for one model (its log density, the NUTS loop for all chains with warmup,
and the map back to the constrained parameters) is one XLA program. It is exported with
``jax.export`` and stored under the model's fingerprint (data, priors, structure, library
versions); with JAX's persistent compilation cache the next process that fits the same model
loads and runs it in about a second. Chains run on ``min(cores, chains)`` CPU devices
(``shard_map``); on each CPU device its chains run one after another, on a GPU as a vmap.

The draws are the same as numpyro's (same kernel, same adaptation); the start point is
PyMC's (support point + uniform(-1, 1) jitter on the unconstrained scale).
"""

from __future__ import annotations

import hashlib
import json
import os
import time
from dataclasses import dataclass

import numpy as np
import pymc as pm
import xarray as xr

#: Bump when the program layout changes (invalidates cached programs).
PROGRAM_VERSION = 3
MAX_TREE_DEPTH = 10
#: Cached programs are pruned (oldest first) above this many bytes.
CACHE_MAX_BYTES = 2 * 1024**3
_STATS = ("diverging", "n_steps", "energy", "lp", "acceptance_rate", "step_size")


@dataclass(frozen=True)
class JaxRun:
    """Draws of one run, with the seconds spent compiling (or loading) and sampling."""

    idata: xr.DataTree
    compile_seconds: float
    sampling_seconds: float
    cached: bool


def _versions() -> str:
    import jax
    import numpyro
    import pytensor

    return f"{PROGRAM_VERSION}|jax {jax.__version__}|numpyro {numpyro.__version__}|pymc {pm.__version__}|pytensor {pytensor.__version__}"


def _devices(chains: int, cores: int):
    import jax

    devices = jax.devices("cpu") if jax.default_backend() == "cpu" else jax.devices()
    n = max(1, min(cores, chains, len(devices)))
    while chains % n:
        n -= 1
    return devices[:n]


def _program_key(fingerprint: str, settings: dict, n_dev: int, platform: str) -> str:
    text = json.dumps({"model": fingerprint, "settings": settings, "devices": n_dev, "platform": platform,
                       "versions": _versions()}, sort_keys=True)
    return hashlib.sha256(text.encode()).hexdigest()[:32]


def _build(model: pm.Model, settings: dict, devices, chains: int):
    """Trace and export the sampler of ``model``; returns (exported, meta)."""
    import jax
    import jax.numpy as jnp
    from jax import export, lax
    from jax.sharding import Mesh, NamedSharding
    from jax.sharding import PartitionSpec as P
    from numpyro.infer.hmc import hmc
    from pymc.sampling.jax import get_jaxified_graph
    from pymc.util import get_default_varnames

    from .sample import start_point

    value_vars = model.value_vars
    logp_fn = get_jaxified_graph(inputs=value_vars, outputs=[model.logp()])
    outputs = list(get_default_varnames(model.unobserved_value_vars, include_transformed=False))
    out_fn = get_jaxified_graph(inputs=value_vars, outputs=outputs)
    start = start_point(model)
    tune, draws = settings["tune"], settings["draws"]

    def potential(z):
        return -logp_fn(*z)[0]

    def one_chain_blackjax(key, *init):
        import blackjax
        from blackjax.adaptation.base import get_filter_adapt_info_fn

        def logdensity(z):
            return logp_fn(*z)[0]

        k_adapt, k_draw = jax.random.split(key)
        adapt = blackjax.window_adaptation(
            blackjax.nuts, logdensity, target_acceptance_rate=settings["target_accept"],
            is_mass_matrix_diagonal=not settings["dense_mass"],
            adaptation_info_fn=get_filter_adapt_info_fn(),
        )
        (state, params), _ = adapt.run(k_adapt, list(init), num_steps=tune)
        kernel = blackjax.nuts(logdensity, **params, max_num_doublings=settings["max_tree_depth"]).step

        def step(st, k):
            st, info = kernel(k, st)
            return st, (st.position, info.is_divergent, info.num_integration_steps, info.energy,
                        st.logdensity, info.acceptance_rate)

        _, (zs, div, steps, energy, lp, acc) = lax.scan(step, state, jax.random.split(k_draw, draws))
        values = jax.vmap(lambda *z: out_fn(*z))(*zs)
        eps = jnp.full((draws,), params["step_size"])
        return (*values, div, steps, energy, lp, acc, eps)

    def one_chain(key, *init):
        init_kernel, sample_kernel = hmc(potential_fn=potential, algo="NUTS")
        k_init, k_run = jax.random.split(key)
        del k_init
        state = init_kernel(
            list(init),
            num_warmup=tune,
            target_accept_prob=settings["target_accept"],
            dense_mass=settings["dense_mass"],
            max_tree_depth=settings["max_tree_depth"],
            rng_key=k_run,
        )
        # One loop over warmup and draws, so XLA compiles the NUTS kernel once (two scans
        # would compile it twice): warmup iterations write to slot 0, which the first
        # kept draw overwrites.
        def record(s):
            return (s.z, s.diverging, s.num_steps, s.energy, s.potential_energy, s.accept_prob,
                    s.adapt_state.step_size)

        buffers = jax.tree.map(lambda x: jnp.zeros((draws, *jnp.shape(x)), jnp.result_type(x)), record(state))

        def body(i, carry):
            s, buf = carry
            s = sample_kernel(s)
            slot = jnp.maximum(i - tune, 0)
            buf = jax.tree.map(lambda b, x: lax.dynamic_update_index_in_dim(b, x, slot, 0), buf, record(s))
            return s, buf

        _, (zs, div, steps, energy, pot, acc, eps) = lax.fori_loop(0, tune + draws, body, (state, buffers))
        values = jax.vmap(lambda *z: out_fn(*z))(*zs)
        return (*values, div, steps, energy, -pot, acc, eps)

    mesh = Mesh(np.array(devices), ("chain",))
    sharded = NamedSharding(mesh, P("chain"))
    n_in = 1 + len(start)
    chain_fn = one_chain_blackjax if settings["algorithm"] == "blackjax" else one_chain
    if settings["chain_loop"] == "map":
        # One chain after another on each CPU device. A vmap of chains runs every NUTS tree
        # to the deepest chain's length, and batching numpyro's loops makes tracing 5x and
        # XLA's compile 1.5x slower (gcse: 0.9 s + 4.8 s instead of 5.3 s + 7.6 s).
        def per_device(*args):
            return lax.map(lambda xs: chain_fn(*xs), args)
    else:
        per_device = jax.vmap(chain_fn)
    body = jax.shard_map(per_device, mesh=mesh, in_specs=(P("chain"),) * n_in,
                         out_specs=P("chain"), check_vma=False)
    fn = jax.jit(body, in_shardings=(sharded,) * n_in, out_shardings=sharded)
    key_spec = jax.ShapeDtypeStruct((chains, 2), np.uint32, sharding=sharded)
    init_specs = [jax.ShapeDtypeStruct((chains, *np.shape(v)), np.asarray(v).dtype, sharding=sharded) for v in start]
    exported = export.export(fn)(key_spec, *init_specs)
    meta = {
        "outputs": [v.name for v in outputs],
        "start": [np.asarray(v).tolist() for v in start],
        "start_dtypes": [str(np.asarray(v).dtype) for v in start],
    }
    return exported, meta


def _cache_paths(key: str) -> tuple[str, str] | None:
    from .sample import cache_dir

    root = cache_dir()
    if root is None:
        return None
    folder = os.path.join(root, "programs")
    os.makedirs(folder, exist_ok=True)
    return os.path.join(folder, key + ".bin"), os.path.join(folder, key + ".json")


def _load(paths):
    from jax import export

    if paths is None or not (os.path.exists(paths[0]) and os.path.exists(paths[1])):
        return None
    try:
        with open(paths[1]) as fh:
            meta = json.load(fh)
        with open(paths[0], "rb") as fh:
            exported = export.deserialize(bytearray(fh.read()))
    except Exception:  # a damaged or incompatible entry: rebuild it
        return None
    now = time.time()
    os.utime(paths[0], (now, now))
    return exported, meta


def _save(paths, exported, meta) -> None:
    if paths is None:
        return
    try:
        blob = exported.serialize()
    except Exception:  # serialization needs the optional 'flatbuffers' package
        return
    for path, data, mode in ((paths[0], blob, "wb"), (paths[1], json.dumps(meta), "w")):
        tmp = path + f".tmp{os.getpid()}"
        with open(tmp, mode) as fh:
            fh.write(data)
        os.replace(tmp, path)
    _prune(os.path.dirname(paths[0]))


def _prune(folder: str) -> None:
    entries = []
    for name in os.listdir(folder):
        if name.endswith(".bin"):
            path = os.path.join(folder, name)
            st = os.stat(path)
            entries.append((st.st_mtime, st.st_size, path))
    total = sum(e[1] for e in entries)
    for _, size, path in sorted(entries):
        if total <= CACHE_MAX_BYTES:
            break
        for p in (path, path[:-4] + ".json"):
            try:
                os.remove(p)
            except OSError:
                pass
        total -= size


def _inits(meta: dict, chains: int, seed: int | None) -> list[np.ndarray]:
    """PyMC's jitter: the start point plus uniform(-1, 1) per chain, unconstrained scale."""
    rng = np.random.default_rng(None if seed is None else [int(seed), 11])
    out = []
    for value, dtype in zip(meta["start"], meta["start_dtypes"]):
        v = np.asarray(value, dtype=dtype)
        out.append((v[None] + rng.uniform(-1.0, 1.0, size=(chains, *v.shape))).astype(dtype))
    return out


def _idata(model: pm.Model, meta: dict, results, chains: int, draws: int, tune: int, seconds: float,
           library: str = "numpyro"):
    import arviz as az
    from pymc.backends.arviz import coords_and_dims_for_inferencedata, find_observations

    n_out = len(meta["outputs"])
    posterior = {name: np.asarray(v) for name, v in zip(meta["outputs"], results[:n_out])}
    stats = {name: np.asarray(v) for name, v in zip(_STATS, results[n_out:])}
    stats["tree_depth"] = np.log2(np.maximum(stats["n_steps"], 1)).astype(int) + 1
    coords, dims = coords_and_dims_for_inferencedata(model)
    groups = {"posterior": posterior, "sample_stats": stats}
    observed = find_observations(model)
    if observed:
        groups["observed_data"] = {k: np.asarray(v) for k, v in observed.items()}
    attrs = {"posterior": {"inference_library": library, "sampling_time": seconds, "tuning_steps": tune}}
    return az.from_dict(groups, coords=coords, dims=dims, sample_dims=["chain", "draw"], attrs=attrs)


def sample_jax_cached(
    model: pm.Model,
    fingerprint: str,
    *,
    algorithm: str = "numpyro",
    draws: int,
    tune: int,
    chains: int,
    cores: int,
    random_seed: int | None,
    target_accept: float,
    dense_mass: bool,
    progressbar: bool = False,
    chain_loop: str | None = None,
) -> JaxRun:
    """Sample ``model`` with NUTS (numpyro's, or blackjax's with ``algorithm="blackjax"``)
    from a cached (or newly built) XLA program.

    ``chain_loop`` is how the chains on one device run: "map" (one after another, the
    default on CPUs) or "vmap" (vectorised, the default on GPUs and TPUs)."""
    import pymc.sampling.jax  # noqa: F401  (sets XLA_FLAGS for CPU devices before JAX starts)
    import jax

    from .sample import _JaxCompileClock, enable_jax_cache

    enable_jax_cache()
    settings = {"draws": int(draws), "tune": int(tune), "target_accept": float(target_accept),
                "dense_mass": bool(dense_mass), "max_tree_depth": MAX_TREE_DEPTH, "algorithm": algorithm}
    devices = _devices(chains, cores)
    settings["chain_loop"] = chain_loop or ("map" if devices[0].platform == "cpu" else "vmap")
    if settings["chain_loop"] not in ("map", "vmap"):
        raise ValueError(f"chain_loop must be 'map' or 'vmap', not {chain_loop!r}")
    key = _program_key(fingerprint, {**settings, "chains": int(chains)}, len(devices), devices[0].platform)
    paths = _cache_paths(key)
    t0 = time.perf_counter()
    clock = _JaxCompileClock.start()
    loaded = _load(paths)
    cached = loaded is not None
    if loaded is None:
        exported, meta = _build(model, settings, devices, chains)
        _save(paths, exported, meta)
    else:
        exported, meta = loaded
    if progressbar:
        print(f"NUTS[{algorithm}]: {chains} chains x ({tune} tune + {draws} draws) on {len(devices)} "
              f"device(s){' (cached sampler)' if cached else ''}", flush=True)
    prepared = time.perf_counter()
    from jax.sharding import Mesh, NamedSharding
    from jax.sharding import PartitionSpec as P

    sharded = NamedSharding(Mesh(np.array(devices), ("chain",)), P("chain"))
    seed = int(random_seed) if random_seed is not None else int(np.random.SeedSequence().entropy % 2**31)
    keys = jax.random.split(jax.random.PRNGKey(seed), chains)
    inits = _inits(meta, chains, seed)
    args = [jax.device_put(np.asarray(keys), sharded)] + [jax.device_put(v, sharded) for v in inits]
    before_call = _JaxCompileClock.total
    results = jax.block_until_ready(exported.call(*args))
    done = time.perf_counter()
    call_compile = _JaxCompileClock.total - before_call
    sampling = max(0.0, done - prepared - call_compile)
    compile_seconds = (prepared - t0) + call_compile
    del clock
    idata = _idata(model, meta, results, chains, draws, tune, sampling, algorithm)
    return JaxRun(idata=idata, compile_seconds=compile_seconds, sampling_seconds=sampling, cached=cached)
