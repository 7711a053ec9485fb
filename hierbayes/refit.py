"""``fit.update()``: refit a model with a changed formula, data, priors or settings, as
lme4's / brms' ``update()``. Formula edits are :mod:`hierbayes.results.update`; the new
model is the old one's configuration with the changes (``Model.with_config``)."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping

from .errors import ArgumentError, DataError
from .families import get_family
from .results.update import updated_spec
from .sampler_args import KNOWN_SAMPLERS
from .spec.distributional import with_distributional
from .spec.ir import modellable_aux
from .spec.residuals import ResidualStructure

#: Keyword arguments of ``update()`` that go to :class:`hierbayes.Model`.
MODEL_ARGUMENTS = ("family", "link", "covariance", "missing", "parameterization", "collapse")
#: Keyword arguments that go to :meth:`hierbayes.Model.fit`.
FIT_ARGUMENTS = ("draws", "tune", "chains", "cores", "random_seed", "sampler", "target_accept", "progressbar",
                 "backend")


def update(fit, formula: str | None = None, data=None, priors: Mapping | None = None, **kwargs):
    """Refit ``fit``'s model with changes (lme4's / brms' ``update()``); see
    :meth:`hierbayes.Fit.update`."""
    from .backends.prior_only import SAMPLER_NAME as PRIOR_SAMPLER  # loads PyMC

    new_model = updated_model(fit, formula, data, priors, **kwargs)
    info = fit.info
    fit_kwargs = {"draws": info.draws, "tune": info.tune, "chains": info.chains, "random_seed": info.random_seed,
                  "target_accept": info.target_accept, "progressbar": info.progressbar,
                  "sampler": info.sampler if info.sampler in KNOWN_SAMPLERS else None,
                  # a fit made of prior draws is refitted the same way, not by NUTS
                  "backend": "prior" if info.sampler == PRIOR_SAMPLER else "pymc"}
    fit_kwargs.update({k: v for k, v in kwargs.items() if k in FIT_ARGUMENTS})
    return new_model.fit(**fit_kwargs)


def updated_model(fit, formula: str | None = None, data=None, priors: Mapping | None = None, **kwargs):
    """The :class:`hierbayes.Model` that ``update()`` fits: the old model's configuration
    (spec, prior overrides with ``priors`` merged in, a value None dropping a key, missing,
    parameterization, collapse) with the changes given, on ``data`` (default: the old data).
    ``residuals=`` replaces the residual structure (None drops it, as nlme's ``update(fm,
    correlation = NULL)``); ``sigma=`` (any modellable family parameter) replaces its formula
    (None drops it).
    Keyword arguments of ``Model.fit`` are accepted and ignored here.

    Raises
    ------
    ArgumentError
        For a keyword that is neither a Model nor a ``Model.fit`` argument.
    """
    model = fit.model
    spec = updated_spec(model.spec, formula, kwargs.get("family"), kwargs.get("link"))
    formulas = modellable_aux(get_family(spec.family))  # sigma=, nu=, ...: a formula, or None to drop it
    valid = MODEL_ARGUMENTS + ("residuals", *formulas) + FIT_ARGUMENTS
    unknown = [k for k in kwargs if k not in valid]
    if unknown:
        raise ArgumentError(unknown[0], kwargs[unknown[0]], f"not an argument of update(); valid: {list(valid)}")
    if kwargs.get("covariance") is not None:
        spec = spec.with_covariance(dict(kwargs["covariance"]))
    if "residuals" in kwargs:  # None drops the structure, as nlme's update(fm, correlation = NULL)
        given = kwargs["residuals"]
        if given is not None and not isinstance(given, ResidualStructure):
            raise ArgumentError("residuals", given, "must be hb.residuals(...) or None (no residual structure)")
        spec = dataclasses.replace(spec, residuals=given)
    changed = {k: kwargs[k] for k in formulas if k in kwargs}
    if changed:
        spec = dataclasses.replace(spec, distributional=tuple(p for p in spec.distributional if p[0] not in changed))
        spec = with_distributional(spec, {k: v for k, v in changed.items() if v is not None})
    merged = {**model.prior_overrides, **dict(priors or {})}
    changes = {
        "spec": spec,
        "prior_overrides": {k: v for k, v in merged.items() if v is not None},
        "missing": kwargs.get("missing", model.missing),
        "parameterization": kwargs.get("parameterization", model.parameterization),
        "collapse": kwargs.get("collapse", model.collapse),
    }
    try:
        return model.with_config(data=data, **changes)
    except DataError as exc:
        if data is not None or "not in data" not in str(exc):
            raise
        raise DataError(f"{exc} A fit read from a file holds only the columns its model used: "
                        "pass the data with the new columns, fit.update(..., data=df)") from None
