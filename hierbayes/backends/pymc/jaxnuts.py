"""NUTS on JAX (numpyro's kernel), with the whole compiled sampler cached on disk.

PyMC's ``pm.sample(nuts_sampler="numpyro")`` rebuilds everything in every process: it
rewrites the PyTensor graph for JAX, traces numpyro's NUTS loop, compiles it with XLA and
evaluates the start point through C-compiled functions. For a small model that is 10-30 s
before the first draw, even when nothing changed.

Here the sampler for one model is three XLA programs over all chains: ``init`` (NUTS
state, draw buffers), ``advance`` (iterations ``first .. first+n-1`` of every chain, warm-up
and draws in one loop) and ``finish`` (the map back to the constrained parameters). They are
exported with ``jax.export`` and stored under a key of the model's structure and shapes
(:mod:`.graph_data`: the data constants of the graph, priors scaled to the data among them,
are arguments of the programs, not part of them) and the library versions; with JAX's
persistent compilation cache the next process that fits the same model, or the same model
to another data set of the same shapes, loads them in about a second, and a second fit in
the same process reuses them. The host calls ``advance`` chunk by chunk (:mod:`.chunks`) and draws the
progress between chunks (:mod:`hierbayes.progress`): host callbacks inside the program
cannot be serialized with ``jax.export``. Chains run on ``min(cores, chains)`` CPU devices
(``shard_map``); within a chunk each CPU device runs its chains one after another, a GPU
as a vmap.

The draws are the same as numpyro's (same kernel, same adaptation); the start point is
PyMC's (support point + uniform(-1, 1) jitter on the unconstrained scale), the first of a few such
points whose log density and gradient are finite (:func:`.nuts_setup.first_usable`).

Size: the programs of both kernels (numpyro, blackjax), their export and their host loop are
one unit; the cache file format and the data lifting live in their own modules.
"""

from __future__ import annotations

import hashlib
import importlib.metadata
import json
import os
import time
from collections.abc import Callable
from dataclasses import dataclass, replace

import numpy as np
import xarray as xr

from ...runtime import waiting_on_compiled_code
from .draws_layout import draws_tree, layout_of
from .fingerprint import source_digest
from .graph_cache import ProgramArguments, arguments_of, load_arguments, save_arguments
from .graph_data import SamplerGraph, sampler_graph
from .lazy import pm
from .nuts_setup import (
    MAX_TREE_DEPTH,
    START_TRIES,
    configure_jax,
    enable_jax_cache,
    finite_kinetic_energy,
    first_usable,
    jitter_widths,
    jittered_candidates,
    warn_if_too_few_devices,
)
from .program_cache import cache_paths, load_programs, save_programs
from .start_mass import curvature_inverse_mass

#: Bump when the program layout changes (invalidates cached programs).
PROGRAM_VERSION = 7
#: The mass matrix numpyro's warm-up starts from: "curvature" (:mod:`.start_mass`) or
#: "identity" (numpyro's default).
START_MASS = "curvature"


@dataclass(frozen=True)
class JaxRun:
    """Draws of one run, with the seconds spent compiling (or loading) and sampling."""

    idata: xr.DataTree
    compile_seconds: float
    sampling_seconds: float
    cached: bool


def _versions() -> str:
    import jax

    # numpyro's, PyMC's and PyTensor's versions without importing them (0.3 s each with what
    # they import); a loaded program needs none of them
    version = importlib.metadata.version
    return (f"{PROGRAM_VERSION}|jax {jax.__version__}|numpyro {version('numpyro')}|pymc {version('pymc')}"
            f"|pytensor {version('pytensor')}")


def _devices(chains: int, cores: int):
    import jax

    devices = jax.devices("cpu") if jax.default_backend() == "cpu" else jax.devices()
    if devices[0].platform == "cpu":
        warn_if_too_few_devices(len(devices), min(cores, chains), chains)
    n = max(1, min(cores, chains, len(devices)))
    while chains % n:
        n -= 1
    return devices[:n]


def _program_key(arguments: ProgramArguments, settings: dict, n_dev: int, platform: str, versions: str) -> str:
    """The cache key of a sampler: the graph's structure with its data as arguments (not the
    data's values), the draws' names, the settings, devices and library versions."""
    text = json.dumps({"graph": arguments.structure_key, "outputs": arguments.output_names, "code": source_digest(),
                       "settings": settings, "devices": n_dev, "platform": platform,
                       "versions": versions}, sort_keys=True)
    return hashlib.sha256(text.encode()).hexdigest()[:32]


def chain_programs(settings: dict, logp_fn, out_fn):
    """Per-chain ``init(data, key, *start) -> carry``, ``advance(carry, first, n, data) -> carry``
    (runs iterations ``first .. first+n-1``) and ``finish(carry, data) -> draws and stats``;
    ``data`` are the lifted constants of the graph (:mod:`.graph_data`), the last arguments
    of ``logp_fn`` and ``out_fn``.

    The carry holds the NUTS state, the draw buffers and the divergence counts (warm-up,
    kept); the host runs ``advance`` chunk by chunk and reports progress between chunks
    (host callbacks inside the program would not survive ``jax.export`` serialization).
    """
    import jax
    import jax.numpy as jnp
    from jax import lax

    tune, draws = settings["tune"], settings["draws"]

    def buffers_like(record):
        return jax.tree.map(lambda x: jnp.zeros((draws, *jnp.shape(x)), jnp.result_type(x)), record)

    def store(buf, counts, i, record, diverging):
        # warm-up iterations write to slot 0, which the first kept draw overwrites
        slot = jnp.maximum(i - tune, 0)
        buf = jax.tree.map(lambda b, x: lax.dynamic_update_index_in_dim(b, x, slot, 0), buf, record)
        counts = counts.at[jnp.where(i < tune, 0, 1)].add(diverging.astype(jnp.int32))
        return buf, counts

    def finish(carry, data):
        zs, div, steps, energy, lp, acc, eps = carry[1]
        values = jax.vmap(lambda *z: out_fn(*z, *data))(*zs)
        return (*values, div, steps, energy, lp, acc, eps)

    if settings["algorithm"] == "blackjax":
        import blackjax
        from blackjax.adaptation.base import get_filter_adapt_info_fn

        def density(data):
            return lambda z: logp_fn(*z, *data)[0]

        def kernel(params, data):
            return blackjax.nuts(density(data), **params, max_num_doublings=settings["max_tree_depth"]).step

        def bj_record(st, info, params):
            return (st.position, info.is_divergent, info.num_integration_steps, info.energy,
                    st.logdensity, info.acceptance_rate, params["step_size"])

        def init(data, key, *candidates):
            # blackjax's window adaptation is one scan: warm-up runs here, in one piece
            start = _start_of(logp_fn, data, candidates)
            k_adapt, k_draw = jax.random.split(key)
            adapt = blackjax.window_adaptation(
                blackjax.nuts, density(data), target_acceptance_rate=settings["target_accept"],
                is_mass_matrix_diagonal=not settings["dense_mass"],  # blocks became False in sample_jax_cached
                adaptation_info_fn=get_filter_adapt_info_fn(),
            )
            (state, params), _ = adapt.run(k_adapt, list(start), num_steps=tune)
            _, info = kernel(params, data)(k_draw, state)
            record = bj_record(state, info, params)
            counts = jnp.zeros(2, jnp.int32)
            return (state, buffers_like(record), counts, params, jax.random.split(k_draw, max(draws, 1)))

        def advance(carry, first, n, data):
            def body(i, c):
                state, buf, counts, params, keys = c
                state, info = kernel(params, data)(keys[jnp.maximum(i - tune, 0)], state)
                buf, counts = store(buf, counts, i, bj_record(state, info, params), info.is_divergent)
                return state, buf, counts, params, keys

            return lax.fori_loop(first, first + n, body, carry)

        return init, advance, finish

    from numpyro.infer.hmc import hmc

    # numpyro's state is a dict of sites, one per value variable (:func:`site_name`), so a
    # block-dense mass matrix can name them; sorted, they are in the value variables' order
    def values(z: dict) -> list:
        return [z[k] for k in sorted(z)]

    def potential_fn_gen(*data):  # the data are arguments of the programs (graph_data.py)
        return lambda z: -logp_fn(*values(z), *data)[0]

    init_kernel, sample_kernel = hmc(potential_fn_gen=potential_fn_gen, kinetic_fn=finite_kinetic_energy(), algo="NUTS")
    dense = settings["dense_mass"]
    dense = [tuple(block) for block in dense] if isinstance(dense, list) else dense

    def record(s):
        return (values(s.z), s.diverging, s.num_steps, s.energy, -s.potential_energy, s.accept_prob,
                s.adapt_state.step_size)

    def init(data, key, *candidates):
        _, k_run = jax.random.split(key)
        start = _start_of(logp_fn, data, candidates)
        sites = {site_name(i): v for i, v in enumerate(start)}
        inverse_mass = None
        if settings.get("start_mass") == "curvature":  # start_mass.py; diagonal mass only
            inverse_mass = curvature_inverse_mass(lambda z: -logp_fn(*z, *data)[0], start)
        state = init_kernel(
            sites,
            num_warmup=tune,
            inverse_mass_matrix=inverse_mass,
            target_accept_prob=settings["target_accept"],
            dense_mass=dense,
            max_tree_depth=settings["max_tree_depth"],
            model_args=tuple(data),
            rng_key=k_run,
        )
        return (state, buffers_like(record(state)), jnp.zeros(2, jnp.int32))

    def advance(carry, first, n, data):
        # ``init`` was traced first: numpyro's kernel keeps its settings from that call
        def body(i, c):
            s, buf, counts = c
            s = sample_kernel(s, model_args=tuple(data))
            buf, counts = store(buf, counts, i, record(s), s.diverging)
            return s, buf, counts

        return lax.fori_loop(first, first + n, body, carry)

    return init, advance, finish


def site_name(index: int) -> str:
    """numpyro's name of the ``index``-th value variable of a model (``v00000``, ...: sorted,
    the names keep the variables' order)."""
    return f"v{index:05d}"


def mass_structure(value_names: list[str], dense_mass: bool | list) -> bool | list[list[str]]:
    """``dense_mass`` as the programs take it: a bool, or each dense block's value variables
    (by name) as numpyro's site names (:func:`site_name`)."""
    if isinstance(dense_mass, bool):
        return dense_mass
    index = {name: i for i, name in enumerate(value_names)}
    return [[site_name(index[name]) for name in block] for block in dense_mass]


def _build(graph: SamplerGraph, settings: dict, devices, chains: int):
    """Trace and export the sampler of ``graph``: three programs (init, advance, finish)
    over all chains, each taking the data as arguments; returns ({name: exported}, meta)."""
    import jax
    from jax import export, lax
    from jax.sharding import Mesh, NamedSharding
    from jax.sharding import PartitionSpec as P
    from pymc.sampling.jax import get_jaxified_graph

    from .softplus import register_jax

    register_jax()  # the one-exp softplus (softplus.py)
    lifted = graph.lifted
    inputs = [*graph.value_vars, *lifted.data_inputs]
    logp_fn = get_jaxified_graph(inputs=inputs, outputs=lifted.outputs[:1])
    out_fn = get_jaxified_graph(inputs=inputs, outputs=lifted.outputs[1:])
    start = graph.start
    init, advance, finish = chain_programs(settings, logp_fn, out_fn)

    n_data = len(lifted.data)
    data_specs = [jax.ShapeDtypeStruct(d.shape, d.dtype) for d in lifted.data]
    key_spec = jax.ShapeDtypeStruct((2,), np.uint32)
    start_specs = [jax.ShapeDtypeStruct((START_TRIES, *np.shape(v)), np.asarray(v).dtype) for v in start]
    carry_shape = jax.eval_shape(init, data_specs, key_spec, *start_specs)
    carry_leaves, carry_tree = jax.tree.flatten(carry_shape)

    # argument order of every program: scalars, data (replicated), then per-chain arrays
    def chain_init(*args):
        return tuple(jax.tree.leaves(init(args[:n_data], *args[n_data:])))

    def chain_advance(first, n, *args):
        data, leaves = args[:n_data], args[n_data:]
        carry = advance(jax.tree.unflatten(carry_tree, leaves), first, n, data)
        counts = carry[2]
        return (*jax.tree.leaves(carry), counts)

    def chain_finish(*args):
        return finish(jax.tree.unflatten(carry_tree, args[n_data:]), args[:n_data])

    def over_chains(fn, n_scalars=0):
        # On a CPU device its chains run one after another (lax.map): a vmap of chains runs
        # every NUTS tree to the deepest chain's length and makes tracing and compiling
        # slower. Within a chunk each chain advances by the same number of iterations.
        if settings["chain_loop"] == "map":
            def per_device(*args):
                scalars, batched = args[:n_scalars], args[n_scalars:]
                return lax.map(lambda xs: fn(*scalars, *xs), batched)
        else:
            def per_device(*args):
                return jax.vmap(fn, in_axes=(None,) * n_scalars + (0,) * (len(args) - n_scalars))(*args)
        return per_device

    mesh = Mesh(np.array(devices), ("chain",))
    sharded, replicated = NamedSharding(mesh, P("chain")), NamedSharding(mesh, P())

    def exported(fn, specs, n_scalars=0):
        n_in = len(specs)
        body = jax.shard_map(over_chains(fn, n_scalars), mesh=mesh,
                             in_specs=(P(),) * n_scalars + (P("chain"),) * (n_in - n_scalars),
                             out_specs=P("chain"), check_vma=False)
        shardings = (replicated,) * n_scalars + (sharded,) * (n_in - n_scalars)
        return export.export(jax.jit(body, in_shardings=shardings, out_shardings=sharded))(*specs)

    def batched(spec):
        return jax.ShapeDtypeStruct((chains, *spec.shape), spec.dtype, sharding=sharded)

    carry_specs = [batched(s) for s in carry_leaves]
    scalar = jax.ShapeDtypeStruct((), np.int32, sharding=replicated)
    data = [jax.ShapeDtypeStruct(d.shape, d.dtype, sharding=replicated) for d in data_specs]
    programs = {
        "init": exported(chain_init, [*data, batched(key_spec), *map(batched, start_specs)], n_scalars=n_data),
        "advance": exported(chain_advance, [scalar, scalar, *data, *carry_specs], n_scalars=2 + n_data),
        "finish": exported(chain_finish, [*data, *carry_specs], n_scalars=n_data),
    }
    meta = {"outputs": graph.output_names, "carry_leaves": len(carry_leaves), "data": len(data_specs)}
    return programs, meta


def _inits(start: list[np.ndarray], chains: int, seed: int | None, widths: list[float] | None = None) -> list[np.ndarray]:
    """PyMC's jitter: per chain START_TRIES candidates, the start point plus uniform(-1, 1) on
    the unconstrained scale (times ``widths``); ``init`` starts at the first usable one
    (:func:`_start_of`)."""
    return jittered_candidates(start, chains, seed, widths)


def _start_of(logp_fn, data, candidates) -> list:
    """Inside ``init``: the first candidate start whose log density and gradient are finite
    (:func:`.nuts_setup.first_usable`, the rule SBC's refits share)."""
    return first_usable(lambda z: logp_fn(*z, *data)[0], list(candidates))


#: Compiled samplers of this process, by program key (a second fit of the same model in the
#: same process skips loading and compiling).
EXECUTABLES: dict[str, tuple[dict, dict]] = {}
EXECUTABLES_MAX = 8


def _remember(key: str, executables: dict, meta: dict) -> None:
    if len(EXECUTABLES) >= EXECUTABLES_MAX:
        EXECUTABLES.pop(next(iter(EXECUTABLES)))
    EXECUTABLES[key] = (executables, meta)


def sample_jax_cached(
    model: pm.Model | Callable[[], pm.Model],
    *,
    algorithm: str = "numpyro",
    draws: int,
    tune: int,
    chains: int,
    cores: int,
    random_seed: int | None,
    target_accept: float,
    dense_mass: bool | list[tuple[str, ...]] | Callable[[], bool | list[tuple[str, ...]]],
    progressbar: bool = False,
    chain_loop: str | None = None,
    fingerprint: str = "",
    build_graph: Callable[[], SamplerGraph] | None = None,
    trim: dict[str, int] | None = None,
    start_jitter: dict[str, float] | None = None,
) -> JaxRun:
    """Sample ``model`` with NUTS (numpyro's, or blackjax's with ``algorithm="blackjax"``)
    from a cached (or newly built) XLA program. The program is keyed by the model's
    structure and shapes; the data (every data constant of the graph, priors scaled to the
    data included) are its arguments, so another data set of the same shapes reuses it.

    ``chain_loop`` is how the chains on one device run: "map" (one after another, the
    default on CPUs) or "vmap" (vectorised, the default on GPUs and TPUs).

    ``dense_mass``: True (dense), False (diagonal) or a list of blocks of value variable
    names, each with a dense mass matrix, the other variables diagonal (numpyro's
    structured mass matrix; blackjax, which has none, runs diagonal); or a function of the
    model giving one, read from the cache with the draws' layout (:mod:`.draws_layout`).

    ``model``: the PyMC model, or a function that builds it, called only when something is
    not cached (the graph's data, the draws' layout or the programs): a warm fit builds none.

    ``fingerprint``: the model's (:func:`.fingerprint.fingerprint`); when given, the graph's
    data and start point are read from the cache of a previous fit of the same model
    (:mod:`.graph_cache`) instead of being rebuilt from ``model``.

    ``build_graph``: builds the graph the programs sample when it is not ``model``'s (its
    padded form, :mod:`.padding`), called only when the graph is not cached; ``trim``
    (dimension -> size) cuts its draws back to ``model``'s; ``start_jitter`` (value variable
    -> half-width of its start jitter where not 1) narrows the start points' jitter."""
    configure_jax()
    import jax
    from jax.sharding import Mesh, NamedSharding
    from jax.sharding import PartitionSpec as P

    from ...progress import SamplingProgress
    from .chunks import run_chunks

    enable_jax_cache()
    t0 = time.perf_counter()
    versions = _versions()
    graph: SamplerGraph | None = None
    model_of = model if callable(model) and not hasattr(model, "free_RVs") else (lambda: model)
    arguments = load_arguments(fingerprint, versions)
    if arguments is None or arguments.layout is None:
        if arguments is None:
            graph = sampler_graph(model_of()) if build_graph is None else build_graph()
            arguments = arguments_of(graph)
        arguments = replace(arguments, layout=layout_of(model_of(), dense_mass() if callable(dense_mass) else dense_mass))
        save_arguments(fingerprint, versions, arguments)
    layout = arguments.layout
    if callable(dense_mass):  # decided by the model: stored with its layout
        dense_mass = layout.dense_mass
    mass = mass_structure(arguments.value_names,
                          dense_mass if isinstance(dense_mass, list) else bool(dense_mass))
    if algorithm == "blackjax" and isinstance(mass, list):
        mass = False
    # the mass matrix's structure is part of the program key (through the settings)
    settings = {"draws": int(draws), "tune": int(tune), "target_accept": float(target_accept),
                "dense_mass": mass, "max_tree_depth": MAX_TREE_DEPTH, "algorithm": algorithm,
                # a dense block's few parameters are cheap to warm up from the identity, and
                # machines' nested design diverged more often (2 of 10 seeds) from the curvature
                "start_mass": START_MASS if mass is False else "identity"}
    devices = _devices(chains, cores)
    settings["chain_loop"] = chain_loop or ("map" if devices[0].platform == "cpu" else "vmap")
    if settings["chain_loop"] not in ("map", "vmap"):
        raise ValueError(f"chain_loop must be 'map' or 'vmap', not {chain_loop!r}")
    key = _program_key(arguments, {**settings, "chains": int(chains)}, len(devices), devices[0].platform, versions)
    paths = cache_paths(key)
    progress = SamplingProgress(sampler=algorithm, chains=chains, tune=tune, draws=draws,
                                devices=len(devices), progressbar=progressbar)
    with progress:
        memo_key = f"{key}|{paths}"  # another cache directory starts afresh
        memo = EXECUTABLES.get(memo_key)
        if memo is not None:
            progress.compile_started("reusing the sampler compiled earlier in this session")
        elif paths is not None and os.path.exists(paths[0]):
            progress.compile_started("loading the cached sampler")
        else:
            progress.compile_started("compiling the sampler (first fit of this model)")
        cached = memo is not None
        if memo is None:
            loaded = load_programs(paths)
            cached = loaded is not None
            if loaded is None:
                if graph is None:
                    graph = sampler_graph(model_of()) if build_graph is None else build_graph()
                programs, meta = _build(graph, settings, devices, chains)
                save_programs(paths, programs, meta)
            else:
                programs, meta = loaded
        else:
            programs, meta = memo
        # from here the process waits on compiled code (the GIL is free): the imports the work
        # after sampling needs run beside it (runtime.imports_while_waiting); the graph and
        # tracing above import modules themselves, so they stay outside
        with waiting_on_compiled_code():
            mesh = Mesh(np.array(devices), ("chain",))
            sharded, replicated = NamedSharding(mesh, P("chain")), NamedSharding(mesh, P())
            seed = int(random_seed) if random_seed is not None else int(np.random.SeedSequence().entropy % 2**31)
            keys = jax.random.split(jax.random.PRNGKey(seed), chains)
            inits = _inits(arguments.start, chains, seed, jitter_widths(arguments.value_names, start_jitter))
            data = [jax.device_put(d, replicated) for d in arguments.data]
            args = [*data, jax.device_put(np.asarray(keys), sharded)] + [jax.device_put(v, sharded) for v in inits]

            def scalar(value: int):
                return jax.device_put(np.int32(value), replicated)

            if memo is None:
                # compiled ahead of the first draw (or loaded from JAX's persistent cache)
                carry_specs = [jax.ShapeDtypeStruct(a.shape, a.dtype, sharding=sharded)
                               for a in programs["init"].out_avals]
                init = jax.jit(programs["init"].call).lower(*args).compile()
                advance = jax.jit(programs["advance"].call).lower(scalar(0), scalar(1), *data, *carry_specs).compile()
                finish = jax.jit(programs["finish"].call).lower(*data, *carry_specs).compile()
                _remember(memo_key, {"init": init, "advance": advance, "finish": finish}, meta)
            else:
                init, advance, finish = programs["init"], programs["advance"], programs["finish"]
            progress.compile_done()
            prepared = time.perf_counter()
            carry = init(*args)
            start = 0
            if algorithm == "blackjax":  # its warm-up ran inside ``init``, uncounted
                jax.block_until_ready(carry)
                start = tune
                progress.update([tune] * chains, None, 0)
            carry = run_chunks(lambda first, n, *c: advance(first, n, *data, *c), carry, start=start, tune=tune,
                               draws=draws, chains=chains, progress=progress, scalar=scalar)
            results = jax.block_until_ready(finish(*data, *carry))
    done = time.perf_counter()
    idata = draws_tree(layout, arguments.output_names, results, tune, done - prepared, algorithm, trim)
    return JaxRun(idata=idata, compile_seconds=prepared - t0, sampling_seconds=done - prepared, cached=cached)
