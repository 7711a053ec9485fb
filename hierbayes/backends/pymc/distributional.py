"""Distributional sub-models in the PyMC model: a family parameter that varies by row.

For ``sigma ~ x + (1|g)`` the model gets ``Intercept_sigma`` (sampled on centred predictors
as ``Intercept_sigma__c``), ``b_sigma`` (dim ``b_sigma_term``) and one non-centred block per
group term keyed ``sigma_<key>`` (``sd_sigma_g``, ``re_sigma_g``); the parameter is
``lower + exp(eta_sigma)`` per row (:mod:`hierbayes.families.distributional`) and is not
stored (predictions and the log-likelihood recompute it in numpy).

The likelihood builders ask for a family parameter with :func:`aux_parameter`: inside
:func:`modelled_aux` they get the per-row vector, otherwise the single parameter is
registered with its prior as before.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar

import numpy as np

from ...design.types import Design, GroupBlock
from ...families.distributional import aux_lower
from ...params import AuxNames
from ...priors import PriorTable
from ...priors.distributional import aux_view
from .blocks import group_effects
from .covariance import builder_fingerprint
from .lazy import pm, pt
from .variables import register, stacked_prior

_MODELLED: ContextVar[dict[str, object] | None] = ContextVar("modelled_aux", default=None)


def aux_parameter(name: str, priors: PriorTable):
    """The family parameter ``name`` for a likelihood builder: the per-row tensor when a
    formula models it (inside :func:`modelled_aux`), else a new variable with its prior."""
    modelled = _MODELLED.get() or {}
    if name in modelled:
        return modelled[name]
    return register(name, priors.get(name))


@contextmanager
def modelled_aux(values: dict[str, object]) -> Iterator[None]:
    """Make :func:`aux_parameter` return ``values[name]`` for the names given."""
    token = _MODELLED.set(values)
    try:
        yield
    finally:
        _MODELLED.reset(token)


def _contribution(block: GroupBlock, u):
    total = 0.0
    rows = u[block.codes]
    for k in range(block.n_columns):
        col = block.X[:, k]
        total = total + (rows[:, k] if np.all(col == 1.0) else rows[:, k] * col)
    return total


def _fixed_eta(sub: Design, names: AuxNames, priors: PriorTable):
    slopes = [j for j, n in enumerate(sub.fixed_names) if n != "Intercept"]
    model = pm.modelcontext(None)
    eta = pt.zeros(sub.n_obs)
    b = None
    if slopes:
        terms = [sub.fixed_names[j] for j in slopes]
        model.add_coord(names.fixed_dim, terms)
        b = register(names.b, stacked_prior([priors.get("b", None, t) for t in terms], names.b), dims=names.fixed_dim)
    Xs = sub.X[:, slopes]
    # centred on the column means when an intercept absorbs them (as the main fixed part)
    means = Xs.mean(axis=0) if sub.has_intercept else np.zeros(len(slopes))
    if b is not None:
        eta = eta + pt.dot(Xs - means, b)
    if sub.has_intercept:
        centred = register(names.centred_intercept, priors.get("Intercept"))
        pm.Deterministic(names.intercept, centred - (pt.dot(means, b) if b is not None else 0.0))
        eta = eta + centred
    if sub.offset is not None:
        eta = eta + np.asarray(sub.offset, dtype=np.float64)
    return eta


def aux_predictors(design: Design, priors: PriorTable) -> dict[str, object]:
    """Register the coefficients of every distributional sub-model of ``design`` and return
    parameter name -> its (n,) tensor of per-row values."""
    model = pm.modelcontext(None)
    out = {}
    for name, sub in design.distributional:
        names = AuxNames(name)
        view = aux_view(priors, name)
        eta = _fixed_eta(sub, names, view)
        for block, block_names in zip(sub.groups, names.blocks(design.spec)):
            model.add_coord(block_names.level_dim, list(block.levels))
            model.add_coord(block_names.column_dim, list(block.columns))
            model.add_coord(block_names.column_dim_bis, list(block.columns))
            u = group_effects(block, block_names, view, centered=False)
            eta = eta + _contribution(block, u)
        out[name] = aux_lower(name) + pt.exp(eta)
    return out


def fingerprint_parts(design: Design) -> list:
    """What the compiled model depends on in the sub-models (for the compile fingerprint)."""
    parts: list = []
    for name, sub in design.distributional:
        parts.append((name, sub.spec.to_formula(), sub.fixed_names))
        parts.append(np.asarray(sub.X))
        parts.append(None if sub.offset is None else np.asarray(sub.offset))
        for block in sub.groups:
            parts.append((block.term.label, block.term.covariance.value, block.columns, len(block.levels)))
            parts.append(builder_fingerprint(block.term.covariance))
            parts.append(np.asarray(block.codes))
            parts.append(np.asarray(block.X))
    return parts
