"""The fingerprint of a compiled model: a digest of the data arrays, priors, structure and
the code that compiles them; equal fingerprints mean identical PyMC models. The NUTS program
cache (:mod:`.jaxnuts`) is keyed by the graph's structure instead (:mod:`.graph_data`, the
data are arguments), plus :func:`source_digest`, so any change of the compiling code
changes its key."""

from __future__ import annotations

import hashlib
from pathlib import Path

import numpy as np

from ...design.reduced import ReducedDesign
from ...design.types import Design
from ...priors import PriorTable
from .covariance import builder_fingerprint
from .distributional import fingerprint_parts
from .imputation import imputation_parts


def source_digest() -> str:
    """Digest of the modules that turn a design into a PyMC model (cached samplers built
    by older code are not reused)."""
    global _SOURCE_DIGEST
    if _SOURCE_DIGEST is None:
        import importlib

        h = hashlib.sha256()
        # every module of this backend (a likelihood helper such as ordinal_probit.py changes
        # the model as much as compile.py does), then the design modules it reads
        for path in sorted(Path(__file__).parent.rglob("*.py")):
            h.update(path.read_bytes())
        for mod in ("hierbayes.params", "hierbayes.design.crossprod", "hierbayes.design.offsets",
                    "hierbayes.spec.residual_kinds", "hierbayes.spec.residual_toeplitz",
                    "hierbayes.spec.residual_arma", "hierbayes.spec.residual_banded", "hierbayes.spec.residuals",
                    "hierbayes.design.residuals",
                    "hierbayes.design.weights", "hierbayes.design.reduced"):
            with open(importlib.import_module(mod).__file__, "rb") as fh:
                h.update(fh.read())
        for path in sorted(Path(importlib.import_module("hierbayes.families").__file__).parent.glob("*.py")):
            h.update(path.read_bytes())
        _SOURCE_DIGEST = h.hexdigest()
    return _SOURCE_DIGEST


_SOURCE_DIGEST: str | None = None


def fingerprint(design: Design, priors: PriorTable, plan: list[str], form: str, link: str) -> str:
    """A digest of everything the compiled model depends on: data arrays, priors, structure
    and the compiling code. Equal fingerprints mean identical PyMC models."""
    h = hashlib.sha256()

    def add(obj) -> None:
        if isinstance(obj, np.ndarray):
            arr = np.ascontiguousarray(obj)
            h.update(f"{arr.dtype}{arr.shape}".encode())
            h.update(arr.tobytes())
        else:
            h.update(repr(obj).encode())

    add((design.spec.to_formula(), design.spec.family.name, link, form, tuple(plan), design.fixed_names))
    add(design.spec.residuals)
    add(np.asarray(design.y) if design.offset is None else np.column_stack([design.y, design.offset]))
    add(np.asarray(design.X))
    if design.trials is not None:
        add(np.asarray(design.trials))
    if design.weights is not None:
        add(design.weights.rows if design.weights.rows is not None else "no level-1 weights")
        add(design.weights.method)
        for block in design.groups:
            add(block.prior_weights if block.prior_weights is not None else "unweighted")
    if design.censoring is not None:
        c = design.censoring
        for a in (c.code, c.upper, c.lb, c.ub):
            add(np.asarray(np.nan if a is None else a, dtype=float))
    for block in design.groups:
        add((block.term.label, block.term.covariance.value, block.columns, len(block.levels)))
        add(builder_fingerprint(block.term.covariance))
        add(np.asarray(block.codes))
        add(np.asarray(block.X))
    add(tuple((e.address.key(), e.prior.dist, e.prior.params) for e in priors.entries))
    if priors.joint is not None:
        add((priors.joint.terms, np.asarray(priors.joint.covariance)))
    for part in fingerprint_parts(design):
        add(part)
    for part in imputation_parts(design):  # missing="model": the imputed columns' arrays
        add(part)
    if isinstance(design, ReducedDesign):
        for arr in design.stats.arrays():
            add(arr)
    add(source_digest())
    return h.hexdigest()
