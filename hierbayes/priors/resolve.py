"""User overrides over the default priors, and the joint default of the ``b`` terms.

Overrides are a dict keyed by class (``"b"``), class and group (``"sd:school"``) or class,
group and term (``"sd:school:lrt"``, ``"b:lrt"``); the most specific key wins. A ``"b"`` override gives every
term that (independent) prior. A ``"b:x"`` override replaces the prior of ``x`` alone: ``x``
gets it independently of the others, and the other terms keep the marginal of the joint
default over them (their printed sds do not change; still joint among themselves).
"""

from __future__ import annotations

from ..design.types import Design
from ..errors import PriorError, did_you_mean
from .defaults import default_addresses, default_joint_prior
from .distributional import base_class
from .residual import check_residual_bounds, folded_notes, residual_prior_classes
from .types import JOINT_SOURCE, Prior, PriorTable, ResolvedPrior

__all__ = ["resolve_priors"]


def resolve_priors(design: Design, overrides: dict[str, Prior] | None = None) -> PriorTable:
    """Defaults for every parameter, replaced by the most specific matching override.

    Raises PriorError for keys that match no parameter (listing the valid keys) and for
    invalid distributions or parameter values.
    """
    overrides = dict(overrides or {})
    defaults = default_addresses(design)
    residual_classes = residual_prior_classes(design)
    valid_keys: dict[str, None] = {}
    for addr, _ in defaults:
        valid_keys.setdefault(addr.kind, None)
        if addr.group is not None:
            valid_keys.setdefault(f"{addr.kind}:{addr.group}", None)
        valid_keys.setdefault(addr.key(), None)
    for key, prior in overrides.items():
        if key not in valid_keys:
            hint = did_you_mean(key, valid_keys)
            raise PriorError(
                f"no parameter matches the prior key {key!r}.{hint} Valid keys for this model: "
                f"{list(valid_keys)}"
            )
        if not isinstance(prior, Prior):
            raise PriorError(f"prior for {key!r} must be a hierbayes.Prior, got {type(prior).__name__}")
        kind = key.split(":")[0]
        supports = residual_classes.get(kind)  # a residual structure's parameter, else a class
        prior.validate(key, kind if supports is not None else base_class(kind), supports)
        check_residual_bounds(key, prior, design)
    entries = []
    notes = folded_notes(design)
    for addr, default in defaults:
        candidates = [addr.key()]
        if addr.group is not None and addr.term is not None:
            candidates.append(f"{addr.kind}:{addr.group}")
        candidates.append(addr.kind)
        chosen = next((k for k in candidates if k in overrides), None)
        note = notes.get(addr.key(), "")
        if chosen is None:
            entries.append(ResolvedPrior(addr, default, "default", note))
        else:
            entries.append(ResolvedPrior(addr, overrides[chosen], f"user ({chosen})", note))
    return _with_joint_b(design, entries)


def _with_joint_b(design: Design, entries: list[ResolvedPrior]) -> PriorTable:
    """Give the b terms that kept their default the joint default prior (its marginal over
    them when other terms were overridden); their entries hold the marginal Normal."""
    kept = [e.address.term for e in entries if e.address.kind == "b" and e.source == "default"]
    if len(kept) < 2:
        return PriorTable(tuple(entries))
    full = default_joint_prior(design)
    if full is None:
        return PriorTable(tuple(entries))
    joint = full if len(kept) == len(full.terms) else full.restricted(kept)
    sds = dict(zip(joint.terms, joint.marginal_sds))
    out = [
        ResolvedPrior(e.address, Prior("Normal", mu=0.0, sigma=float(sds[e.address.term])), JOINT_SOURCE)
        if e.address.kind == "b" and e.address.term in sds
        else e
        for e in entries
    ]
    return PriorTable(tuple(out), joint)
