"""Default priors of distributional sub-models (``sigma ~ x + (1|g)``).

The sub-model of an auxiliary parameter ``a`` lives on its log scale
(:mod:`hierbayes.families.distributional`), whose unit is 1, so its defaults are those of a
log-link model (rstanarm's autoscaling with ``s_y = 1``):

=================== ============================================ ============================
class               default                                      note
=================== ============================================ ============================
``Intercept_a``     Normal(c, 2.5)                                on centred predictors; c is
                                                                 where a plain fit puts a
                                                                 (log sd(y) for sigma)
``b_a``             Normal(0, 2.5 / s_x)                         independent per column
``sd_a``            HalfStudentT(3, 1) / (3, 1 / s_x)            intercept / slope column
``cor_a``           the structure's default (LKJ(2))
=================== ============================================ ============================

Priors are overridden with the same keys as the main model's, the class suffixed by the
parameter: ``"b_sigma"``, ``"b_sigma:x"``, ``"sd_sigma:g"``, ``"Intercept_sigma"``.
"""

from __future__ import annotations

import numpy as np

from ..design.types import Design
from ..families import get_family
from ..families.distributional import aux_centre
from ..params import PRIOR_CLASSES, AuxNames, ParamAddress
from .frequency import frequency_counts, repeated
from .types import Prior, PriorTable, ResolvedPrior


def base_class(kind: str) -> str:
    """The parameter class a (possibly suffixed) class belongs to: ``sd_sigma`` -> ``sd``."""
    head = kind.split("_", 1)[0]
    return head if head in PRIOR_CLASSES and head != kind else kind


def _sd(x: np.ndarray, counts: np.ndarray | None) -> float:
    s = float(np.std(repeated(x, counts)))
    return s if s > 0 else 1.0


def aux_default_addresses(design: Design) -> list[tuple[ParamAddress, Prior]]:
    """Every coefficient of the design's distributional sub-models with its default prior
    (on the repeated rows with frequency weights, :mod:`.frequency`)."""
    family = get_family(design.spec.family)
    link = family.resolve_link(design.spec.link)
    counts = frequency_counts(design)
    y, trials = repeated(np.asarray(design.y), counts), repeated(design.trials, counts)
    out: list[tuple[ParamAddress, Prior]] = []
    for name, sub in design.distributional:
        names = AuxNames(name)
        if sub.has_intercept:
            centre = aux_centre(family, name, y, trials, link)
            out.append((ParamAddress(names.intercept), Prior("Normal", mu=centre, sigma=2.5)))
        for j, col in enumerate(sub.fixed_names):
            if col != "Intercept":
                out.append((ParamAddress(names.b, term=col), Prior("Normal", mu=0.0, sigma=2.5 / _sd(sub.X[:, j], counts))))
        sd_class, cor_class = names.prior_class("sd"), names.prior_class("cor")
        for block in sub.groups:
            structure = block.term.covariance.structure
            if structure.shared_sd:
                out.append((ParamAddress(sd_class, block.group), Prior("HalfStudentT", nu=3.0, sigma=1.0)))
            else:
                for k, col in enumerate(block.columns):
                    s = 1.0 if col == "Intercept" else 1.0 / _sd(block.X[:, k], counts)
                    out.append((ParamAddress(sd_class, block.group, col), Prior("HalfStudentT", nu=3.0, sigma=s)))
            if block.n_columns > 1 and structure.default_cor is not None:
                dist, params = structure.default_cor
                out.append((ParamAddress(cor_class, block.group), Prior(dist, **params)))
    return out


def aux_view(priors: PriorTable, aux: str) -> PriorTable:
    """The priors of the sub-model of ``aux`` under the main model's class names (``sd_sigma``
    read as ``sd``, ``Intercept_sigma`` as ``Intercept``), for code that builds a block or a
    fixed part from a PriorTable."""
    suffix = f"_{aux}"
    entries = tuple(
        ResolvedPrior(ParamAddress(e.address.kind[: -len(suffix)], e.address.group, e.address.term), e.prior, e.source)
        for e in priors.entries
        if e.address.kind.endswith(suffix) and base_class(e.address.kind) + suffix == e.address.kind
    )
    return PriorTable(entries)
