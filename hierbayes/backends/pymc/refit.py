"""Refit one model to many responses with one compiled log density (SBC's engine).

Only the response changes between SBC's simulations (the predictors, groups and priors are
those of the model), so the model's log density is compiled to JAX once per process and
every fit runs numpyro's NUTS through its ``potential_fn_gen`` interface, with the
data-dependent constants of the graph as arguments (:mod:`.graph_data`, the mechanism the
cached NUTS programs of :mod:`.jaxnuts` use too). The fits use the likelihood form
``Model.fit`` uses (rows, cross-products, or a group term integrated out), without a JAX
recompilation per data set. Tree depth and start-point jitter are those of every other
NUTS path (:mod:`.nuts_setup`).

Cost: one JAX compilation per process (tens of seconds) plus, per response, the fit and a
PyTensor graph rebuild (~0.5 s).
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from dataclasses import replace

import numpy as np

from ...design.types import Design
from ...priors import PriorTable
from ...sampler_args import SamplerConfig
from .. import PriorSimulation
from .compile import compile_model
from .graph_data import graph_constants, lift_constants
from .imputation import has_imputation
from .imputation_sim import conditioned_prior
from .lazy import pm
from .nuts_setup import (
    JITTER,
    MAX_TREE_DEPTH,
    START_TRIES,
    enable_jax_cache,
    finite_kinetic_energy,
    first_usable,
    jitter_widths,
    start_point,
)
from .rside import unpad


class GraphChanged(Exception):
    """The graph built for a response differs from the reference graph beyond its data."""


def _build(design: Design, priors: PriorTable, parameterization: dict[str, str], y: np.ndarray):
    """The PyMC model for response ``y``, its log density and the graph's constants."""
    y = np.asarray(y, dtype=np.asarray(design.y).dtype)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        compiled = compile_model(replace(design, y=y), priors, parameterization)
        logp = compiled.model.logp()
    return compiled, logp, graph_constants([logp])


class Refitter:
    """The model's log density compiled to JAX once, with its data as arguments; calling it
    with a response fits the model to that response.

    The model is built exactly as ``Model.fit`` builds it, once per reference response. The
    constants of the log-density graph that differ between the references are the ones
    computed from the response (``y`` itself, ``Z'y``, ``y'y``...); they become arguments of
    the compiled function. Each call rebuilds the (cheap) PyTensor graph for its response
    only to read those constants, so JAX compiles once. A response whose graph differs
    beyond those constants (PyTensor merges equal constants, e.g. ``y == trials`` when every
    trial succeeds) gets a compilation of its own.

    Parameters
    ----------
    design, priors : the model's design and resolved priors.
    parameterization : pinned per grouping factor, so every rebuild makes the same choice.
    targets : names of the parameters whose draws are returned.
    config : draws, tune, chains and target_accept of every fit.
    reference_y : a few simulated responses (at least one).
    """

    def __init__(
        self, design: Design, priors: PriorTable, parameterization: dict[str, str], targets: Sequence[str],
        config: SamplerConfig, reference_y: Sequence[np.ndarray],
    ) -> None:
        # first: importing PyMC's JAX bridge turns on 64-bit floats in JAX (floatX = float64)
        from pymc.sampling.jax import get_jaxified_graph  # isort: skip

        import jax
        import jax.numpy as jnp
        from jax import lax
        from numpyro.infer.hmc import hmc

        enable_jax_cache()  # a later SBC of the same model loads the compiled fit from disk
        from .softplus import register_jax

        register_jax()  # the one-exp softplus (softplus.py)
        self.design, self.priors, self.parameterization = design, priors, dict(parameterization)
        self.targets, self.config = tuple(targets), config
        target_accept = 0.9 if config.target_accept is None else config.target_accept
        builds = [_build(design, priors, self.parameterization, y) for y in reference_y]
        # PyTensor merges equal constants (e.g. y == trials when every trial succeeds), which
        # changes the graph; compare only references with the most common number of constants
        sizes = [len(c) for _, _, c in builds]
        builds = [b for b, n in zip(builds, sizes) if n == max(set(sizes), key=sizes.count)]
        compiled, logp, consts = builds[0]
        pm_model = compiled.model
        self.lifted = [
            i for i in range(len(consts))
            if any(not np.array_equal(consts[i].data, c[i].data) for _, _, c in builds[1:])
        ]
        self.reference = consts
        lifted = set(self.lifted)
        value_vars = pm_model.value_vars
        graph = lift_constants(value_vars, [logp], lift=lambda i, const, clients: i in lifted)
        logp_fn = get_jaxified_graph(inputs=[*value_vars, *graph.data_inputs], outputs=graph.outputs)
        target_vars = pm_model.replace_rvs_by_values([pm_model[n] for n in self.targets])
        target_fn = get_jaxified_graph(inputs=value_vars, outputs=target_vars)
        z0 = [jnp.asarray(v) for v in start_point(pm_model)]
        widths = jitter_widths([v.name for v in value_vars], compiled.start_jitter) or [1.0] * len(z0)
        tune, total = config.tune, config.tune + config.draws

        def potential_fn_gen(*data):
            return lambda z: -logp_fn(*z, *data)[0]

        def initial(key, data):
            # the start point plus uniform(-JITTER, JITTER) (narrowed as a fit's: nuts_setup's
            # jitter widths): the first of START_TRIES jittered points with a finite log
            # density and gradient
            keys = jax.random.split(key, len(z0))
            cands = [
                z + w * jax.random.uniform(k, (START_TRIES, *z.shape), minval=-JITTER, maxval=JITTER, dtype=z.dtype)
                for z, k, w in zip(z0, keys, widths)
            ]
            return first_usable(lambda zs: logp_fn(*zs, *data)[0], cands)

        def one_chain(key, data):
            k_init, k_run = jax.random.split(key)
            init_kernel, sample_kernel = hmc(potential_fn_gen=potential_fn_gen, kinetic_fn=finite_kinetic_energy(),
                                             algo="NUTS")
            state = init_kernel(
                initial(k_init, data),
                num_warmup=tune,
                target_accept_prob=target_accept,
                max_tree_depth=MAX_TREE_DEPTH,
                model_args=tuple(data),
                rng_key=k_run,
            )

            def step(st, _):
                st = sample_kernel(st, model_args=tuple(data))
                return st, (st.z, st.diverging, st.num_steps)

            _, (zs, diverging, steps) = lax.scan(step, state, None, length=total)
            kept = [z[tune:] for z in zs]
            draws = jax.vmap(lambda *zz: target_fn(*zz))(*kept)
            return draws, diverging[tune:].sum(), (steps[tune:] >= 2**MAX_TREE_DEPTH - 1).sum()

        if jax.default_backend() == "cpu":
            # one chain after another, as the cached programs run them on a CPU device
            # (jaxnuts): a vmap runs every NUTS tree to the deepest chain's length. An
            # interval-censored frailty refit: 25 -> 20 s, its compilation 46 -> 31 s.
            self._fit = jax.jit(lambda keys, data: lax.map(lambda key: one_chain(key, data), keys))
        else:
            self._fit = jax.jit(jax.vmap(one_chain, in_axes=(0, None)))
        self._jax = jax

    def data_for(self, y: np.ndarray) -> list[np.ndarray]:
        """The lifted constants for response ``y``; raises :class:`GraphChanged` when
        anything else in the graph changed."""
        _, _, consts = _build(self.design, self.priors, self.parameterization, y)
        lifted = set(self.lifted)
        same = len(consts) == len(self.reference) and all(
            np.array_equal(c.data, r.data)
            for i, (c, r) in enumerate(zip(consts, self.reference)) if i not in lifted
        )
        if not same:
            raise GraphChanged
        return [np.asarray(consts[i].data) for i in self.lifted]

    def __call__(self, y: np.ndarray, seed: int) -> tuple[list[np.ndarray], int, int]:
        """Fit the model to response ``y``.

        Returns
        -------
        draws : one ``(chains, draws, *shape)`` array per target.
        divergences, treedepth_hits : counts over the kept draws of all chains.
        """
        try:
            data = self.data_for(y)
        except GraphChanged:
            # this response gives a differently shaped graph: compile one refitter just for it
            alone = Refitter(self.design, self.priors, self.parameterization, self.targets, self.config, (y,))
            return alone(y, seed)
        jax = self._jax
        keys = jax.random.split(jax.random.PRNGKey(seed % 2**32), self.config.chains)
        draws, div, hits = self._fit(keys, data)
        return [np.asarray(d) for d in draws], int(np.asarray(div).sum()), int(np.asarray(hits).sum())


def simulate_prior(
    design: Design, priors: PriorTable, parameterization: dict[str, str], targets: Sequence[str], n_sims: int,
    random_seed: int,
) -> PriorSimulation:
    """True parameters and simulated responses from the model's prior.

    The draws come from the row-level form of the model (one observed ``y``; a term the fit
    integrates out is sampled here; with a residual structure, each residual group's rows are
    one multivariate normal), which has the same prior and likelihood. A target that
    is not in the prior (drawn only after sampling) is left out of ``values``.
    """
    rows = {g: ("noncentered" if how == "marginal" else how) for g, how in parameterization.items()}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        pm_model = compile_model(design, priors, rows, likelihood_form="rows", binary_holes="draw").model
        obs = pm_model.observed_RVs[0].name
        if has_imputation(design):  # the imputation models conditioned on the observed predictors
            prior = conditioned_prior(pm_model, design, list(targets), obs, n_sims, random_seed)
        else:
            prior = pm.sample_prior_predictive(
                draws=n_sims, model=pm_model, var_names=[*targets, obs], random_seed=random_seed
            )
    values, labels = {}, {}
    for name in targets:
        if name not in prior.prior:
            continue
        arr = np.asarray(prior.prior[name].values)[0]  # (n_sims, *shape)
        values[name] = arr
        dims = pm_model.named_vars_to_dims.get(name) or ()
        axes = []
        for axis, size in enumerate(arr.shape[1:]):
            coords = pm_model.coords.get(dims[axis]) if axis < len(dims) else None
            axes.append([str(c) for c in coords] if coords is not None else [str(i) for i in range(size)])
        labels[name] = axes
    y = np.asarray(prior.prior_predictive[obs].values)[0]
    if design.residuals is not None:  # (n_sims, J, T) padded groups -> (n_sims, n) rows
        y = unpad(y, design.residuals)
    return PriorSimulation(values=values, labels=labels, y=y)
