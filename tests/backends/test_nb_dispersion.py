"""A negative binomial's dispersion in the planning rule is read within the group terms' cells.

lme4's grouseticks as ``TICKS ~ YEAR + cHEIGHT + (1 | BROOD) + (1 | LOCATION)`` (negbinomial,
broods nested in locations): the pilot's 1/phi was the moments of the rows around a fit
without group effects, 1.43, where the model's posterior is 0.30 (phi 3.3; glmmTMB's
nbinom2 alike). The groups' spread counted as the rows' own noise made the working weights a
quarter of the model's, so the broods looked data-poor (k 0.53, within their locations 0.05)
and both terms were adaptive with a free intercept: default fits mixed at R-hat 1.010 / 1.032
and bulk ESS 348 / 246 (seeds 1, 2; worst sd_LOCATION). Read within the broods (1/phi 0.28)
the plan is the poisson model's: broods drawn around their locations, the locations
integrated out as the top of the chain; R-hat 1.006 and ESS 1,160-1,350 at seeds 1-3.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from classic.cases import CASES

import hierbayes as hb
from hierbayes.backends.pymc.centring import nesting
from hierbayes.backends.pymc.integrated_top import integrated_tops
from hierbayes.backends.pymc.plan import plan_parameterization
from hierbayes.backends.pymc.plan_glm import shared_cells
from hierbayes.families.counts import inverse_dispersion, within_cell_dispersion

FORMULA = "TICKS ~ YEAR + cHEIGHT + (1 | BROOD) + (1 | LOCATION)"


def _grouse() -> pd.DataFrame:
    return next(c for c in CASES if c.name == "grouseticks").data()


def _plan(model: hb.Model) -> dict[str, str]:
    return dict(zip([b.group for b in model.design.groups], plan_parameterization(model.design, None, "log")))


def test_grouseticks_negbinomial_is_planned_as_the_poisson_model():
    g = _grouse()
    nb = hb.Model(FORMULA, g, family="negbinomial")
    plan = _plan(nb)
    assert plan == _plan(hb.Model(FORMULA, g, family="poisson")) == {"BROOD": "nested", "LOCATION": "noncentered"}
    design = nb.design
    full = plan_parameterization(design, None, "log")
    tops = integrated_tops(design.groups, full, nesting(design, full))
    assert [design.groups[j].group for j in tops] == ["LOCATION"]


def _nb_groups(inv_phi: float, sd: float, groups: int = 80, rows: int = 5, seed: int = 1):
    rng = np.random.default_rng(seed)
    g = np.repeat(np.arange(groups), rows)
    mu = np.exp(1.0 + rng.normal(0, sd, groups)[g])
    y = rng.negative_binomial(1 / inv_phi, 1 / (1 + mu * inv_phi))
    return y.astype(float), np.full(len(y), float(np.mean(y))), g


def test_dispersion_within_cells_is_not_the_groups_spread():
    y, mu, g = _nb_groups(inv_phi=0.3, sd=0.8)
    assert inverse_dispersion(y, mu) > 0.8  # the groups' spread counted as the rows'
    assert within_cell_dispersion(y, mu, g) == pytest.approx(0.3, abs=0.12)
    assert inverse_dispersion(y, mu, g) == within_cell_dispersion(y, mu, g)
    # poisson rows within the groups: no dispersion left
    rng = np.random.default_rng(2)
    pois = rng.poisson(np.exp(1.0 + rng.normal(0, 0.8, 80))[g]).astype(float)
    assert within_cell_dispersion(pois, mu, g) < 0.05


def test_cells_without_degrees_of_freedom_fall_back_to_all_rows():
    y, mu, _ = _nb_groups(inv_phi=0.3, sd=0.8)
    one_per_row = np.arange(len(y))
    assert within_cell_dispersion(y, mu, one_per_row) is None
    assert inverse_dispersion(y, mu, one_per_row) == inverse_dispersion(y, mu)


def test_cells_leave_out_terms_of_one_row_per_level():
    g = _grouse()
    design = hb.Model("TICKS ~ YEAR + cHEIGHT + (1 | BROOD) + (1 | INDEX) + (1 | LOCATION)", g,
                      family="negbinomial").design
    cells = shared_cells(design)
    brood = next(b for b in design.groups if b.group == "BROOD")
    assert len(np.unique(cells)) == brood.n_levels  # BROOD within LOCATION; INDEX left out


@pytest.mark.slow  # one default fit, 25-40 s
def test_grouseticks_negbinomial_converges_with_defaults():
    fit = hb.Model(FORMULA, _grouse(), family="negbinomial").fit(random_seed=2, progressbar=False)
    d = fit.diagnostics
    assert fit.info.parameterization == {"BROOD": "nested", "LOCATION": "noncentered"}
    assert d.divergences == 0
    assert d.max_r_hat <= 1.01
    assert d.min_ess_bulk >= 400
