"""The default joint prior of the fixed effects: scaled on the decorrelated design.

Scaling each column alone (``Normal(0, 2.5 s_y / sd(x_j))``) ignores collinearity: a raw
polynomial in ``x`` has columns that move together, the data inform their coefficients only
through a few combinations, and an independent prior per column can then decide the
estimates (Pinheiro & Bates' dialyzer model, a raw quartic interacted with blood flow:
posterior means up to 2.4 posterior sd from lme4's; Orthodont's raw cubic by sex: 13).

The default prior of the non-intercept coefficients ``b`` (two or more) is instead joint::

    b ~ MvNormal(0, s^2 n (Xc' W Xc)^-1),    s = 2.5 s_y

on the (trial-weighted) centred design ``Xc``: Zellner's g-prior with unit information per
``s^2``, and exactly rstanarm's autoscaled prior with ``QR = TRUE`` (independent
``Normal(0, 2.5 s_y)`` on the coefficients of the orthonormalised columns ``Q sqrt(n)``).
It equals today's per-column prior when the columns are uncorrelated; a collinear column's
marginal sd is that scale times ``sqrt(VIF_j)``, its variance inflation factor, so the
prior widens along the directions the data barely inform and the data outweigh it in every
direction alike. Models without an intercept use the uncentred design (the cosine
similarity of its columns), so ``0 + C(g)`` cell means keep today's independent priors.

The sampler sees ``b = A z`` with ``z ~ N(0, I)`` and ``A A' = Sigma`` (well conditioned on
collinear designs). No PyMC here; :mod:`hierbayes.backends.pymc.fixed` builds it.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

#: Correlation matrices closer to singular than this (smallest eigenvalue) get no joint prior:
#: the per-column defaults are used instead (the design's rank check refuses exact collinearity).
MIN_EIGENVALUE = 1e-12


@dataclass(frozen=True, eq=False)
class JointFixedPrior:
    """A zero-mean multivariate normal prior on some fixed-effect coefficients.

    terms : the coefficient names it covers, in design order.
    covariance : (k, k) prior covariance of those coefficients.
    column_scales : (k,) the per-column default sd ``2.5 s_y / sd(x_j)`` (what an
        independent default would be), for display.
    scale : ``s = 2.5 s_y``.
    centred : whether the design was centred (models with an intercept).
    subset_of : for the marginal over some terms (:meth:`restricted`), the number of terms
        of the full prior; else 0.
    """

    terms: tuple[str, ...]
    covariance: np.ndarray
    column_scales: np.ndarray
    scale: float
    centred: bool
    subset_of: int = 0

    @property
    def marginal_sds(self) -> np.ndarray:
        """Each coefficient's marginal prior sd."""
        return np.sqrt(np.diag(self.covariance))

    @property
    def widening(self) -> np.ndarray:
        """Marginal sd over the per-column default sd (``sqrt(VIF_j)`` for the full prior)."""
        return self.marginal_sds / self.column_scales

    def factor(self) -> np.ndarray:
        """A square root ``A`` of the covariance (``A A' = covariance``, lower triangular):
        the sampler draws ``b = A z``, ``z ~ N(0, I)``."""
        sd = self.marginal_sds
        corr = self.covariance / np.outer(sd, sd)
        return sd[:, None] * np.linalg.cholesky(corr)

    def start_jitter(self, X: np.ndarray) -> float:
        """Half-width (at most 1) of the start point's uniform jitter of ``z`` for the
        columns ``X`` (n, k) of :attr:`terms`.

        U(-1, 1) on every ``z`` moves row i's linear predictor by up to ``sum_k |(X A)_ik|``:
        with autoscaled priors and long-tailed columns that is tens of ``s_y`` (survival::pbc's
        ``log(protime)``: one prior sd of its coefficient is 31 on the log-time scale), and a
        weibull chain started there (log density -1e14) never left it. The half-width keeps
        every row within ``s_y`` of the start point's linear predictor.
        """
        X = np.asarray(X, dtype=float)
        if self.centred:
            X = X - X.mean(axis=0)
        reach = float(np.abs(X @ self.factor()).sum(axis=1).max()) if len(X) else 0.0
        unit = self.scale / 2.5
        return min(1.0, unit / reach) if reach > 0 else 1.0

    def log_density(self, draws: np.ndarray) -> np.ndarray:
        """Log density of ``draws`` (..., k), up to a constant."""
        draws = np.asarray(draws, dtype=float)
        flat = draws.reshape(-1, draws.shape[-1]).T
        white = np.linalg.solve(self.factor(), flat)
        return -0.5 * np.sum(white**2, axis=0).reshape(draws.shape[:-1])

    def restricted(self, terms: list[str]) -> JointFixedPrior:
        """The marginal of this prior over ``terms`` (a subset): the prior of the terms that
        keep the default when the others get a user prior."""
        idx = [self.terms.index(t) for t in terms]
        return JointFixedPrior(
            terms=tuple(terms),
            covariance=self.covariance[np.ix_(idx, idx)],
            column_scales=self.column_scales[idx],
            scale=self.scale,
            centred=self.centred,
            subset_of=self.subset_of or len(self.terms),
        )

    def describe(self) -> str:
        """A few lines for the prior table: the form, and the most widened terms."""
        form = "= s^2 n (Xc'Xc)^-1 on the centred design" if self.centred else "on the uncentred columns"
        title = f"Sigma_b (default joint prior of {len(self.terms)} b terms)"
        if self.subset_of:
            title += f", the marginal over them of the joint prior of all {self.subset_of}"
        lines = [
            f"{title}:",
            f"  S R^-1 S {form}; S = diag(s / sd(x)), s = 2.5 s_y = {self.scale:.4g} (s_y: sd(y), its",
            "  ML sd when y is censored, or the link-scale unit), R = correlation of the columns; as",
            "  rstanarm's QR = TRUE autoscaled prior. It equals Normal(0, s / sd(x)) per term for",
            "  uncorrelated terms; the sd shown is each term's marginal sd, widened by sqrt(VIF) for",
            "  collinear terms.",
        ]
        wide = np.argsort(-self.widening)[:3]
        shown = [f"{self.terms[i]} x{self.widening[i]:.3g}" for i in wide if self.widening[i] > 1.05]
        if shown:
            lines.append("  most widened: " + ", ".join(shown))
        lines.append(
            "  Override: priors={'b': ...} (every term, independent) or {'b:<term>': ...}\n"
            "  (that term alone; the others keep this prior's marginal over them)."
        )
        return "\n".join(lines)


def joint_fixed_prior(
    X: np.ndarray,
    terms: list[str],
    scale: float,
    weights: np.ndarray | None,
    centred: bool,
) -> JointFixedPrior | None:
    """The default joint prior of the coefficients of the columns ``X`` (n, k) named
    ``terms`` (the intercept column excluded), or None when it cannot be formed (fewer than
    two columns, a constant column, or columns too close to collinear).

    Parameters
    ----------
    X : the non-intercept fixed-effect columns.
    terms : their names.
    scale : ``2.5 s_y`` (link-scale unit for non-gaussian families).
    weights : row weights (binomial trials), or None.
    centred : centre the columns (models with an intercept, or ordinal thresholds).
    """
    X = np.asarray(X, dtype=float)
    if X.ndim != 2 or X.shape[1] < 2:
        return None
    w = np.ones(len(X)) if weights is None else np.asarray(weights, dtype=float)
    if w.sum() <= 0:
        return None
    w = w / w.sum()
    means = w @ X
    Xc = X - means
    variances = w @ Xc**2
    if np.any(variances <= 0):
        return None
    sds = np.sqrt(variances)
    second = (Xc if centred else X).T @ (w[:, None] * (Xc if centred else X))
    norms = np.sqrt(np.diag(second))
    corr = second / np.outer(norms, norms)
    if np.linalg.eigvalsh(corr).min() < MIN_EIGENVALUE:
        return None
    column_scales = scale / sds
    inverse = np.linalg.inv(corr)
    inverse = (inverse + inverse.T) / 2.0
    covariance = np.outer(column_scales, column_scales) * inverse
    return JointFixedPrior(
        terms=tuple(terms), covariance=covariance, column_scales=column_scales, scale=float(scale), centred=centred
    )
