"""Convergence diagnostics after every fit, with warnings that say what to do."""

from __future__ import annotations

import warnings
from dataclasses import dataclass

import arviz as az
import numpy as np
import xarray as xr

RHAT_MAX = 1.01
ESS_MIN = 400
BFMI_MIN = 0.3


class ConvergenceWarning(UserWarning):
    """The sampler's output shows a problem; the message says what to try."""


@dataclass(frozen=True)
class Diagnostics:
    """Sampler health of one fit."""

    divergences: int
    draws: int
    max_r_hat: float
    min_ess_bulk: float
    min_ess_tail: float
    worst_r_hat: str
    worst_ess: str
    min_bfmi: float | None
    max_treedepth_hits: int

    @property
    def problems(self) -> list[str]:
        """Problems with advice, empty when the fit looks healthy."""
        out = []
        if self.divergences:
            out.append(
                f"{self.divergences} divergent transitions out of {self.draws} draws: the posterior "
                "has regions the sampler cannot explore. Raise target_accept (e.g. fit(target_accept=0.99)), "
                "switch the parameterization of data-rich group terms (parameterization={'g': 'centered'}), "
                "or use a tighter sd prior (priors={'sd': hb.Prior('HalfNormal', sigma=...)})."
            )
        if not np.isfinite(self.max_r_hat) or self.max_r_hat > RHAT_MAX:
            out.append(
                f"R-hat up to {self.max_r_hat:.3f} (for {self.worst_r_hat}) exceeds {RHAT_MAX}: the chains "
                "disagree. Run more tuning and draws (fit(tune=2000, draws=2000)) and check the model."
            )
        if self.min_ess_bulk < ESS_MIN:
            out.append(
                f"bulk ESS as low as {self.min_ess_bulk:.0f} (for {self.worst_ess}) is below {ESS_MIN}: "
                "posterior means and intervals are imprecise. Draw more (fit(draws=...)) or use more chains."
            )
        if self.min_bfmi is not None and self.min_bfmi < BFMI_MIN:
            out.append(
                f"E-BFMI {self.min_bfmi:.2f} below {BFMI_MIN}: the sampler explores the energy poorly, often a "
                "funnel between group effects and their sd; try the other parameterization."
            )
        return out

    @property
    def ok(self) -> bool:
        return not self.problems

    def __str__(self) -> str:
        head = (
            f"divergences: {self.divergences}   max R-hat: {self.max_r_hat:.3f}   "
            f"min bulk ESS: {self.min_ess_bulk:.0f}   min tail ESS: {self.min_ess_tail:.0f}"
        )
        if self.min_bfmi is not None:
            head += f"   min E-BFMI: {self.min_bfmi:.2f}"
        return head + "".join(f"\n  ! {p}" for p in self.problems)


def monitored(posterior: xr.Dataset) -> list[str]:
    """Parameters whose convergence we check: everything but raw/derived internals."""
    skip_prefixes = ("z_", "L_", "Intercept_c")
    return [v for v in posterior.data_vars if not v.startswith(skip_prefixes) and "__" not in v]


def _finite_extreme(ds: xr.Dataset, worst: str) -> tuple[float, str]:
    best_val, best_name = (np.nan, "")
    for name, da in ds.data_vars.items():
        vals = np.asarray(da.values, dtype=float).ravel()
        vals = vals[np.isfinite(vals)]
        if not vals.size:
            continue
        v = vals.max() if worst == "max" else vals.min()
        if np.isnan(best_val) or (v > best_val if worst == "max" else v < best_val):
            best_val, best_name = float(v), name
    return best_val, best_name


def diagnose(idata: xr.DataTree) -> Diagnostics:
    """Compute divergences, R-hat, ESS and E-BFMI of a fit's DataTree."""
    post = idata.posterior.to_dataset()
    names = monitored(post)
    sub = post[names]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        rhat = az.rhat(sub)
        ess_b = az.ess(sub, method="bulk")
        ess_t = az.ess(sub, method="tail")
    rhat = rhat.to_dataset() if hasattr(rhat, "to_dataset") else rhat
    ess_b = ess_b.to_dataset() if hasattr(ess_b, "to_dataset") else ess_b
    ess_t = ess_t.to_dataset() if hasattr(ess_t, "to_dataset") else ess_t
    max_rhat, worst_r = _finite_extreme(rhat, "max")
    min_ess, worst_e = _finite_extreme(ess_b, "min")
    min_ess_t, _ = _finite_extreme(ess_t, "min")
    stats = idata.sample_stats.to_dataset() if "sample_stats" in idata.children else xr.Dataset()
    div = int(stats["diverging"].sum()) if "diverging" in stats else 0
    draws = int(post.sizes["chain"] * post.sizes["draw"])
    bfmi = None
    if "energy" in stats:
        energy = stats["energy"].transpose("chain", "draw").values
        num = np.square(np.diff(energy, axis=1)).mean(axis=1)
        den = energy.var(axis=1)
        with np.errstate(divide="ignore", invalid="ignore"):
            bfmi = float(np.nanmin(num / den))
    hits = 0
    for key in ("reached_max_treedepth", "maxdepth_reached"):
        if key in stats:
            hits = int(stats[key].sum())
    return Diagnostics(
        divergences=div,
        draws=draws,
        max_r_hat=max_rhat,
        min_ess_bulk=min_ess,
        min_ess_tail=min_ess_t,
        worst_r_hat=worst_r,
        worst_ess=worst_e,
        min_bfmi=bfmi,
        max_treedepth_hits=hits,
    )


def warn_problems(diag: Diagnostics) -> None:
    for problem in diag.problems:
        warnings.warn(problem, ConvergenceWarning, stacklevel=3)
