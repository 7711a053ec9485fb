"""The result of simulation-based calibration (:func:`hierbayes.sbc.sbc`): ranks of the
true values, the uniformity test, rank histograms, and the rank computation itself."""

from __future__ import annotations

import math
import warnings
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from scipy import stats

from .errors import ArgumentError, SamplingError, SpecError, did_you_mean
from .sampler_args import SamplerConfig

__all__ = ["SBC_DEFAULTS", "SBCResult", "SBCSettings", "convergence", "rank_bins", "rank_of_truth", "sbc_settings"]

#: Sampler settings of SBC's fits unless told otherwise: short runs (many fits), a fixed
#: target acceptance rate.
SBC_DEFAULTS = SamplerConfig(draws=250, tune=250, chains=4, target_accept=0.9, progressbar=False)


@dataclass(frozen=True)
class SBCSettings:
    """Sampler settings of every SBC fit and the number of thinned draws ranked (L)."""

    config: SamplerConfig = field(default_factory=lambda: SBC_DEFAULTS)
    ranked_draws: int = 99

    @property
    def draws(self) -> int:
        return self.config.draws

    @property
    def tune(self) -> int:
        return self.config.tune

    @property
    def chains(self) -> int:
        return self.config.chains

    @property
    def target_accept(self) -> float | None:
        return self.config.target_accept


@dataclass(frozen=True)
class SBCResult:
    """Ranks of the true parameter values among posterior draws, one row per simulation.

    ranks : DataFrame (simulation x parameter) of ranks in 0..``ranked_draws``; NaN for a
        simulation whose fit failed.
    truth : DataFrame of the prior draws (true values) used to simulate each data set.
    fits : DataFrame per simulation: divergences, tree-depth hits, max R-hat and min bulk
        ESS of the ranked parameters, seconds, and an error message for failed fits.
    posterior_mean, posterior_sd : DataFrames like ``ranks``.
    ranked_draws : L, the number of thinned posterior draws each true value is ranked among.
    settings : the NUTS settings of the fits.
    seconds : wall time of the whole run; ``executor`` and ``workers`` say how it ran.
    """

    ranks: pd.DataFrame
    truth: pd.DataFrame
    fits: pd.DataFrame
    posterior_mean: pd.DataFrame
    posterior_sd: pd.DataFrame
    ranked_draws: int
    settings: SBCSettings
    seconds: float
    executor: str
    workers: int
    formula: str = ""

    @property
    def n_sims(self) -> int:
        return int(self.ranks.shape[0])

    @property
    def parameters(self) -> list[str]:
        return list(self.ranks.columns)

    def default_bins(self) -> int:
        """Largest divisor of L+1 giving at least 10 expected simulations per bin (<= 20)."""
        n = int(self.ranks.notna().all(axis=1).sum()) or self.n_sims
        return rank_bins(self.ranked_draws, n)

    def bin_counts(self, bins: int | None = None) -> pd.DataFrame:
        """Counts of ranks per bin (rows: bins, columns: parameters)."""
        bins = bins or self.default_bins()
        _check_bins(bins, self.ranked_draws)
        width = (self.ranked_draws + 1) // bins
        out = {}
        for name in self.parameters:
            r = self.ranks[name].dropna().to_numpy(dtype=int)
            out[name] = np.bincount(r // width, minlength=bins)[:bins]
        return pd.DataFrame(out, index=pd.RangeIndex(bins, name="bin"))

    def uniformity(self, bins: int | None = None) -> pd.DataFrame:
        """Chi-square test of uniform ranks per parameter.

        Parameters
        ----------
        bins : int, optional
            Number of equal-width rank bins; must divide L+1 so that each bin holds the same
            number of possible ranks. Default: :meth:`default_bins`.

        Returns
        -------
        pandas.DataFrame
            One row per parameter: ``n`` (simulations used), ``chi2``, ``df``, ``p_value``.
        """
        counts = self.bin_counts(bins)
        rows = {}
        for name in counts.columns:
            c = counts[name].to_numpy()
            test = stats.chisquare(c)
            rows[name] = {
                "n": int(c.sum()),
                "chi2": float(test.statistic),
                "df": len(c) - 1,
                "p_value": float(test.pvalue),
            }
        return pd.DataFrame.from_dict(rows, orient="index")

    def ok(self, alpha: float = 0.01, bins: int | None = None) -> bool:
        """True when no parameter's ranks reject uniformity at level ``alpha``."""
        return bool((self.uniformity(bins)["p_value"] > alpha).all())

    def plot(self, bins: int | None = None, band: float = 0.99, parameters: Sequence[str] | None = None):
        """Rank histograms with the ``band`` interval of a bin count under uniformity.

        Each panel is one parameter; the grey band is the central ``band`` interval of a
        Binomial(n, 1/bins) count, the line its expectation (Talts et al. 2018, fig. 1).

        Returns
        -------
        matplotlib.figure.Figure
        """
        import matplotlib.pyplot as plt

        counts = self.bin_counts(bins)
        names = list(parameters) if parameters is not None else list(counts.columns)
        unknown = [p for p in names if p not in counts.columns]
        if unknown:
            raise SpecError(
                f"no SBC parameter {unknown[0]!r}.{did_you_mean(unknown[0], counts.columns)} "
                f"Valid: {list(counts.columns)}"
            )
        k = len(names)
        ncols = min(4, k)
        nrows = math.ceil(k / ncols)
        fig, axes = plt.subplots(nrows, ncols, figsize=(3.0 * ncols, 2.4 * nrows), squeeze=False)
        pvals = self.uniformity(bins)["p_value"]
        nb = counts.shape[0]
        edges = np.arange(nb + 1)
        for ax, name in zip(axes.ravel(), names):
            c = counts[name].to_numpy()
            n = int(c.sum())
            lo, hi = stats.binom.interval(band, n, 1.0 / nb)
            ax.fill_between([0, nb], lo, hi, color="0.85", lw=0)
            ax.axhline(n / nb, color="0.4", lw=0.8)
            ax.stairs(c, edges, fill=True, color="C0", alpha=0.8)
            ax.set_title(f"{name}\np = {pvals[name]:.2g}", fontsize=9)
            ax.set_xticks([0, nb], ["0", str(self.ranked_draws)])
            ax.set_xlabel("rank", fontsize=8)
        for ax in axes.ravel()[k:]:
            ax.set_visible(False)
        fig.suptitle(f"SBC rank histograms ({self.n_sims} simulations, L = {self.ranked_draws})", fontsize=10)
        fig.tight_layout()
        return fig

    def __str__(self) -> str:
        table = self.uniformity()
        div = int((self.fits["divergences"] > 0).sum())
        failed = int((self.fits["error"] != "").sum())
        head = (
            f"SBC of {self.formula}: {self.n_sims} simulations, L = {self.ranked_draws}, "
            f"{self.settings.chains} chains x {self.settings.draws} draws (tune {self.settings.tune}); "
            f"{self.seconds:.0f} s on {self.workers} {self.executor} worker(s)\n"
            f"fits with divergences: {div}   failed fits: {failed}\n"
        )
        return head + table.to_string(float_format=lambda v: f"{v:.3g}")

    def __repr__(self) -> str:
        return f"<hierbayes.SBCResult {self.n_sims} simulations x {len(self.parameters)} parameters>"


def rank_bins(ranked_draws: int, n_sims: int, max_bins: int = 20, min_expected: int = 10) -> int:
    """The largest divisor of ``ranked_draws + 1`` with ``n_sims / bins >= min_expected``."""
    target = max(2, min(max_bins, n_sims // min_expected))
    values = ranked_draws + 1
    return max(d for d in range(1, target + 1) if values % d == 0)


def _check_bins(bins: int, ranked_draws: int) -> None:
    if bins < 2 or (ranked_draws + 1) % bins:
        divisors = [d for d in range(2, ranked_draws + 2) if (ranked_draws + 1) % d == 0]
        raise SpecError(
            f"bins={bins}: the {ranked_draws + 1} possible ranks (0..{ranked_draws}) must split "
            f"evenly; valid bins: {divisors[:12]}"
        )


def rank_of_truth(draws: np.ndarray, truth: np.ndarray, ranked_draws: int, seed: int = 0) -> np.ndarray:
    """Rank (0..L) of each true value among L draws thinned evenly from all chains.

    Parameters
    ----------
    draws : (chains, draws, scalars) posterior draws.
    truth : (scalars,) the values the data were simulated with.
    ranked_draws : L; must not exceed chains x draws.
    seed : ties (possible only for discrete parameters) are broken at random.
    """
    flat = draws.reshape(-1, draws.shape[-1])
    idx = np.unique(np.round(np.linspace(0, flat.shape[0] - 1, ranked_draws)).astype(int))
    thinned = flat[idx]
    less = (thinned < truth).sum(axis=0)
    ties = (thinned == truth).sum(axis=0)
    rng = np.random.default_rng(seed)
    return less + rng.integers(0, ties + 1)


def convergence(values: np.ndarray) -> tuple[float, float]:
    """Max rank R-hat and min bulk ESS over the scalars of ``values`` (chains, draws, scalars);
    NaN when none is finite."""
    import arviz_stats as az  # ArviZ's statistics, without its plotting (matplotlib)
    import xarray as xr

    ds = xr.Dataset({"v": (("chain", "draw", "p"), values)})
    with warnings.catch_warnings(), np.errstate(all="ignore"):
        warnings.simplefilter("ignore")
        rhat = np.asarray(az.rhat(ds)["v"].values, dtype=float)
        ess = np.asarray(az.ess(ds, method="bulk")["v"].values, dtype=float)
    return float(np.nanmax(rhat)) if np.isfinite(rhat).any() else math.nan, (
        float(np.nanmin(ess)) if np.isfinite(ess).any() else math.nan
    )


def sbc_settings(draws: int, tune: int, chains: int, target_accept: float, ranked_draws: int) -> SBCSettings:
    """The settings of an SBC run, checked (SamplingError for invalid values)."""
    try:
        config = SBC_DEFAULTS.replace(draws=draws, tune=tune, chains=chains, target_accept=target_accept)
    except ArgumentError as exc:
        raise SamplingError(str(exc)) from None
    if isinstance(ranked_draws, bool) or not isinstance(ranked_draws, (int, np.integer)) or ranked_draws < 1:
        raise SamplingError(f"ranked_draws={ranked_draws!r}: must be a whole number >= 1")
    if ranked_draws > config.draws * config.chains:
        raise SamplingError(
            f"ranked_draws={ranked_draws} exceeds the {config.draws * config.chains} posterior draws "
            f"({config.chains} chains x {config.draws}); lower it or draw more"
        )
    return SBCSettings(config, int(ranked_draws))
