"""The Fit: posterior draws plus the spec, read through lme4-style tables."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import pandas as pd
import xarray as xr

from ..errors import SpecError
from ..families import get_family
from ..spec.ir import ModelSpec
from . import tables
from .diagnostics import Diagnostics, diagnose
from .report import Section, Summary, fixed_section, icc_section, varcorr_section

if TYPE_CHECKING:  # the Model is only needed for predictions and saving
    from ..model import Model


@dataclass(frozen=True)
class SamplingInfo:
    """How the draws were made."""

    sampler: str
    draws: int
    tune: int
    chains: int
    wall_seconds: float
    sampling_seconds: float | None
    parameterization: dict[str, str] = field(default_factory=dict)
    random_seed: int | None = None


class Fit:
    """A fitted model.

    Tables (``fixef``, ``ranef``, ``coef``, ``varcorr``, ``icc``) are computed from
    ``idata`` (an ``xarray.DataTree`` as ArviZ uses) and the ModelSpec only. ``model`` is the
    :class:`hierbayes.Model` that made the fit; it keeps the data encoders for predictions.
    """

    def __init__(self, idata: xr.DataTree, model: Model, info: SamplingInfo) -> None:
        self.idata = idata
        self.model = model
        self.info = info
        self.diagnostics: Diagnostics = diagnose(idata)

    @property
    def spec(self) -> ModelSpec:
        return self.model.spec

    @property
    def posterior(self) -> xr.Dataset:
        return self.idata.posterior.to_dataset()

    def fixef(self, prob: float = 0.95) -> pd.DataFrame:
        """Fixed effects: one row per term (index), with mean, sd, median, the ``prob``
        equal-tailed interval (``lower``, ``upper``), ``r_hat``, ``ess_bulk``, ``ess_tail``."""
        return tables.fixef(self.posterior, prob)

    def ranef(self, prob: float = 0.95) -> dict[str, pd.DataFrame]:
        """Group effects (deviations from the fixed effects) per grouping factor: one row per
        level, columns ``(term, statistic)``."""
        return tables.ranef(self.posterior, self.spec, prob)

    def coef(self, prob: float = 0.95) -> dict[str, pd.DataFrame]:
        """Group-specific coefficients (fixed + group effect) per grouping factor."""
        return tables.coef(self.posterior, self.spec, prob)

    def varcorr(self, prob: float = 0.95) -> pd.DataFrame:
        """Group-level sds, correlations and the residual sd: columns group, term, mean, sd,
        median, lower, upper, r_hat, ess_bulk, ess_tail."""
        return tables.varcorr(self.posterior, self.spec, prob)

    def icc(self, prob: float = 0.95) -> pd.DataFrame:
        """Intraclass correlation per grouping factor (see :func:`tables.icc`)."""
        return tables.icc(self.posterior, self.spec, prob)

    def diagnose(self) -> Diagnostics:
        """Divergences, R-hat, ESS and E-BFMI with advice for each problem."""
        return self.diagnostics

    def summary(self, prob: float = 0.95) -> Summary:
        """A report like lme4's ``summary()`` / Stata's ``mixed`` table."""
        spec = self.spec
        family = get_family(spec.family)
        design = self.model.design
        groups = ", ".join(f"{b.group} ({b.n_levels})" for b in design.groups) or "none"
        header = (
            f"Formula: {spec.to_formula()}",
            f"Family: {spec.family} (link: {family.resolve_link(spec.link)})",
            f"Observations: {design.n_obs}   Groups: {groups}",
            f"Sampler: {self.info.sampler}, {self.info.chains} chains x {self.info.draws} draws "
            f"(tune {self.info.tune}), {self.info.wall_seconds:.1f} s",
            f"Intervals: {tables.interval_label(prob)}",
        )
        sections = list(self.model_sections(prob))
        footer = ("Diagnostics: " + str(self.diagnostics),)
        return Summary(header, tuple(sections), footer)

    def model_sections(self, prob: float) -> list[Section]:
        fixed = self.fixef(prob)
        levels = getattr(self.spec, "levels", None)
        hook = getattr(levels, "report_sections", None)
        out = hook(fixed) if callable(hook) else [fixed_section(fixed)]
        if self.spec.groups or self.spec.family == "gaussian":
            out.append(varcorr_section(self.varcorr(prob)))
        if self.spec.groups:
            try:
                out.append(icc_section(self.icc(prob)))
            except SpecError:  # a family without an ICC definition: leave the section out
                pass
        return out

    def save(self, path) -> None:
        """Save draws, spec, priors and training data to one netCDF file (atomically)."""
        from .io import save_fit

        save_fit(self, path)

    def __repr__(self) -> str:
        return f"<hierbayes.Fit {self.spec.to_formula()!r}: {self.info.chains} x {self.info.draws} draws>"

    def _repr_html_(self) -> str:
        return self.summary()._repr_html_()
