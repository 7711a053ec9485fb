"""Interval coverage over many simulated responses with ONE compiled log density.

A coverage study conditional on the design keeps the predictors and groups of one simulated
data set and draws a new response per replication. Only the response changes, so the model
is refitted with the backend's refitter (SBC's engine, :mod:`hierbayes.backends.pymc.refit`):
one JAX compilation per model instead of one ``Model.fit`` compilation per data set.

The fits are those ``Model.fit`` would run on the same model: the parameterization compiled
for the design's data set (pinned, as SBC pins it), its default target acceptance rate, the
same draws, tuning steps and chains. The targets are those SBC ranks
(:func:`hierbayes.sbc.default_targets`): the reported ``Intercept`` (recovered from the
centred ``Intercept_c``; the ordered thresholds for ordinal families), ``b``, ``sd_<group>``
and the family parameters, each in its natural scale.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from hierbayes.backends import get_backend
from hierbayes.backends.pymc.plan import default_target_accept
from hierbayes.params import block_names
from hierbayes.sampler_args import SamplerConfig
from hierbayes.sbc import default_targets


@dataclass(frozen=True)
class RefitIntervals:
    """Equal-tailed intervals of every target scalar for one refitted response."""

    lower: dict[str, np.ndarray]  # target -> (n_scalars,) in C order of its shape
    upper: dict[str, np.ndarray]
    divergences: int

    def covers(self, target: str, index: int, value: float) -> bool:
        return bool(self.lower[target][index] < value < self.upper[target][index])


class CoverageRefitter:
    """Refit ``model`` to new responses (same design, priors and parameterization).

    Parameters
    ----------
    model : hierbayes.Model built on one data set of the design.
    draws, chains : kept draws per chain (tuning steps = draws, as the old per-fit test).
    reference_y : a few responses (in the design's coding) to learn which constants of the
        log-density graph depend on the response.
    """

    def __init__(self, model, draws: int, chains: int, reference_y: Sequence[np.ndarray]) -> None:
        compiled = model.compile()
        self.parameterization = {n.group: compiled.parameterization[n.key] for n in block_names(model.spec)}
        self.targets = tuple(default_targets(model))
        config = SamplerConfig(
            draws=draws, tune=draws, chains=chains, progressbar=False,
            target_accept=default_target_accept(compiled.parameterization),
        )
        self._refit = get_backend("pymc").refitter(
            model.design, model.priors, self.parameterization, self.targets, config, list(reference_y)
        )

    def intervals(self, y: np.ndarray, seed: int, prob: float) -> RefitIntervals:
        """Fit response ``y`` and return the equal-tailed ``prob`` interval of every target
        scalar (the quantiles ``Fit.fixef`` / ``Fit.varcorr`` report)."""
        draws, divergences, _ = self._refit(y, seed)
        alpha = (1 - prob) / 2
        lower, upper = {}, {}
        for name, d in zip(self.targets, draws):
            flat = np.asarray(d).reshape(d.shape[0] * d.shape[1], -1)  # (chains*draws, scalars)
            lower[name] = np.quantile(flat, alpha, axis=0)
            upper[name] = np.quantile(flat, 1 - alpha, axis=0)
        return RefitIntervals(lower, upper, int(divergences))
