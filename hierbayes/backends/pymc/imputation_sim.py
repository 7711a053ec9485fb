"""Simulating from a model with imputed predictors (SBC's true parameters and responses,
:func:`hierbayes.backends.pymc.refit.simulate_prior`).

A simulation keeps the predictors, so the imputation models are conditioned on the observed
values: their parameters are drawn by NUTS on those models alone (they do not involve the
outcome) and stand in for their prior. A continuous hole's value is then drawn from its
gaussian model given those parameters; a binary hole, summed out of the fitted model, is
drawn from its logistic model (``Dmi_<column>``, registered by
:func:`hierbayes.backends.pymc.imputation_binary.binary_hole_shift` when the simulation model
is compiled with ``binary_holes="draw"``), and the response is simulated on the linear
predictor with the drawn 0/1 values. The fit of a simulated response sums the holes out as
any fit does.
"""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np

from ...design.types import Design
from .imputation import column_model
from .imputation_binary import DRAWN_PREFIX, logistic_model
from .lazy import pm

__all__ = ["conditioned_prior"]


def _imputation_draws(design: Design, n_sims: int, random_seed: int) -> dict[str, np.ndarray]:
    """(n_sims, ...) draws of the imputation models' free variables given the observed
    values: NUTS on those models alone, thinned evenly."""
    with pm.Model() as model:
        for col in design.imputation.columns:
            if not len(col.rows):
                continue
            if col.kind == "binary":
                logistic_model(col)
            else:
                column_model(col, model)
        per_chain = max(500, 5 * n_sims)
        idata = pm.sample(draws=per_chain, tune=500, chains=2, random_seed=random_seed, progressbar=False,
                          compute_convergence_checks=False, target_accept=0.95)
    names = [v.name for v in model.free_RVs]
    out = {}
    for name in names:
        flat = np.asarray(idata.posterior[name].values).reshape((-1, *idata.posterior[name].shape[2:]))
        out[name] = flat[np.linspace(0, len(flat) - 1, n_sims).astype(int)]
    return out


def conditioned_prior(pm_model: pm.Model, design: Design, var_names: list[str], obs: str, n_sims: int,
                      random_seed: int):
    """Prior draws and simulated responses of a model with imputed predictors, the
    imputation models conditioned on the observed predictor values.

    ``pm_model``: the rows form of the model, compiled with ``binary_holes="draw"`` when it
    has binary holes. Returns an object with ``prior`` (the draws of ``var_names`` and every
    free variable) and ``prior_predictive`` (``obs``), as ``pm.sample_prior_predictive`` gives;
    the binary holes (``Dmi_<column>``) are drawn again given the conditioned imputation
    models, with the response.
    """
    free = [v.name for v in pm_model.free_RVs]
    names = list(dict.fromkeys([*free, *var_names]))
    prior = pm.sample_prior_predictive(draws=n_sims, model=pm_model, var_names=names, random_seed=random_seed).prior
    prior = prior.to_dataset() if hasattr(prior, "to_dataset") else prior
    for name, values in _imputation_draws(design, n_sims, random_seed).items():
        prior[name].values[0] = values
    keep = [n for n in prior.data_vars if n in free and not n.startswith(DRAWN_PREFIX)]
    drawn = [n for n in free if n.startswith(DRAWN_PREFIX)]
    simulated = pm.sample_posterior_predictive(prior[keep], model=pm_model, var_names=[*drawn, obs],
                                               random_seed=random_seed, progressbar=False)
    predictive = simulated.posterior_predictive
    for name in drawn:  # the holes the response was simulated with
        prior[name].values[0] = np.asarray(predictive[name].values)[0]
    return SimpleNamespace(prior=prior, prior_predictive=predictive)
