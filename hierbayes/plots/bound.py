"""Result objects with their plots bound.

:mod:`hierbayes.predict` returns plain results (:class:`~hierbayes.predict.ppc.PredictiveCheck`,
:class:`~hierbayes.predict.margins.Margins`) that know nothing of matplotlib; the user objects
(``fit.ppc()``, ``fit.margins()``, ``model.prior_predictive()``) hand them back as these
subclasses, whose ``plot*`` methods draw with :mod:`hierbayes.plots` (imported by the
methods, so matplotlib loads with the first plot, not with the package).
"""

from __future__ import annotations

import dataclasses
import io

from ..errors import checks_prob
from ..predict.conditional import ConditionalEffects
from ..predict.contrasts import Contrasts
from ..predict.km import km_check
from ..predict.margins import Margins
from ..predict.ppc import PredictiveCheck
from ..predict.survival import SurvivalCurves


@checks_prob
class PlottedPredictiveCheck(PredictiveCheck):
    """A :class:`~hierbayes.predict.ppc.PredictiveCheck` with plot methods."""

    def plot(self, kind: str | None = None, num_samples: int = 50, order: str | None = None):
        """The check that fits the response, or ``kind`` (one of ``self.plot_kinds``); see
        :func:`hierbayes.plots.ppc`."""
        from .checks import ppc

        return ppc(self, kind=kind, num_samples=num_samples, order=order)

    def plot_grouped(self, group: str | None = None, stat: str = "mean", prob: float = 0.95):
        """Observed group statistics against their replications; misfits in red."""
        from .checks import ppc_grouped

        return ppc_grouped(self, group=group, stat=stat, prob=prob)

    def plot_stat(self, stat: str = "mean"):
        """Histogram of T(y_rep) with T(y) marked and the p-value."""
        from .checks import ppc_stat

        return ppc_stat(self, stat=stat)

    def kaplan_meier(self, grid=None):
        """The data's Kaplan-Meier curve against the replicates' (censored alike), as numbers:
        a :class:`~hierbayes.predict.km.KaplanMeierCheck` with ``.summary(prob)``."""
        return km_check(self, grid)

    def plot_loo_pit(self):
        """ECDF of LOO-PIT values with its simultaneous envelope (ArviZ ``plot_loo_pit``)."""
        self.require_posterior("LOO-PIT")
        from .checks import loo_pit

        return loo_pit(self)

    def _repr_png_(self) -> bytes:
        """In a notebook, ``fit.ppc()`` shows the check that fits the response."""
        import matplotlib.pyplot as plt

        fig = self.plot()
        buffer = io.BytesIO()
        fig.savefig(buffer, format="png", dpi=72, bbox_inches="tight")
        plt.close(fig)
        return buffer.getvalue()


@checks_prob
class PlottedMargins(Margins):
    """:class:`~hierbayes.predict.margins.Margins` with Stata's ``marginsplot``."""

    def plot(self, x: str | None = None, prob: float = 0.95, ax=None):
        """Stata's ``marginsplot``: the margins against ``x`` with interval bands."""
        from .predictions import marginsplot

        return marginsplot(self, x=x, prob=prob, ax=ax)

    def pairs(self, over: str | None = None) -> PlottedContrasts:
        """Pairwise contrasts (see :meth:`Margins.pairs`) with a ``.plot()``."""
        return with_plots(super().pairs(over))


@checks_prob
class PlottedContrasts(Contrasts):
    """:class:`~hierbayes.predict.contrasts.Contrasts` with a forest plot."""

    def plot(self, prob: float = 0.95, ratio: bool = False, ax=None):
        """Each difference (``ratio=True``: ratio) with its interval and P(> 0)."""
        from .predictions import contrasts_plot

        return contrasts_plot(self, prob=prob, ratio=ratio, ax=ax)


@checks_prob
class PlottedConditionalEffects(ConditionalEffects):
    """:class:`~hierbayes.predict.conditional.ConditionalEffects` with brms' plot."""

    def plot(self, prob: float = 0.95, ax=None):
        """The predictions against ``x`` with interval bands, one colour per ``by`` value."""
        from .predictions import conditional_effects_plot

        return conditional_effects_plot(self, prob=prob, ax=ax)


@checks_prob
class PlottedSurvivalCurves(SurvivalCurves):
    """:class:`~hierbayes.predict.survival.SurvivalCurves` with a plot."""

    def plot(self, prob: float | None = None, ax=None, max_profiles: int = 20):
        """One line per profile (the posterior median of S(t)) with its ``prob`` band."""
        from .survival import survival_plot

        return survival_plot(self, prob=prob, ax=ax, max_profiles=max_profiles)


def with_plots(result):
    """``result`` as its plotted subclass (a PredictiveCheck, Margins, ConditionalEffects,
    Contrasts or SurvivalCurves; anything else, such as a hypothesis table, is returned
    unchanged)."""
    pairs = ((PredictiveCheck, PlottedPredictiveCheck), (Margins, PlottedMargins),
             (ConditionalEffects, PlottedConditionalEffects), (Contrasts, PlottedContrasts),
             (SurvivalCurves, PlottedSurvivalCurves))
    for plain, plotted in pairs:
        if type(result) is plain:
            return plotted(**{f.name: getattr(result, f.name) for f in dataclasses.fields(result) if f.init})
    return result
