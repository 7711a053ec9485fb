"""The convergence advice does not go round in a circle between parameterizations.

ordinal's soup, ``SURENESS ~ PROD + (1|RESP) + (1|RESP:PROD)``, cumulative probit: the
defaults (RESP adaptive) gave R-hat 1.011 and the advice "switch RESP to noncentered"; that
gave 1.021 and "switch to centered"; that gave 1.17 and "switch to noncentered". Only
``fit(tune=2000, draws=2000)`` worked. The advice is checked here from Diagnostics objects
with those numbers, without sampling.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import hierbayes as hb
from hierbayes.results.diagnostics import Diagnostics
from hierbayes.results.draw_checks import TermInfo, terms_of

PRIOR = "HalfStudentT(nu=3, sigma=2.5)"


def soup(r_hat: float, resp: str, given: bool, bfmi: float = 0.8) -> Diagnostics:
    terms = (TermInfo("RESP", "RESP", "1 | RESP", resp, PRIOR, 2.5, given=given),
             TermInfo("RESP_PROD", "RESP:PROD", "1 | RESP:PROD", "adaptive", PRIOR, 2.5))
    return Diagnostics(divergences=0, draws=4000, max_r_hat=r_hat, min_ess_bulk=900.0, min_ess_tail=900.0,
                       worst_r_hat="sd_RESP", worst_ess="sd_RESP", min_bfmi=bfmi, max_treedepth_hits=0,
                       draws_per_chain=1000, terms=terms)


@pytest.mark.parametrize(("r_hat", "resp", "given"), [
    (1.011, "adaptive", False),  # the defaults: adaptive is centred or not group by group already
    (1.021, "noncentered", True),  # the user switched as told
    (1.173, "centered", True),  # and back
])
def test_rhat_advice_proposes_no_switch_of_a_form_set_or_adaptive(r_hat, resp, given) -> None:
    (problem,) = soup(r_hat, resp, given).problems
    assert "Switch the parameterization" not in problem and "parameterization={" not in problem
    assert problem.startswith(f"R-hat up to {r_hat:.3f} (for sd_RESP) exceeds 1.01: the chains disagree. "
                              "Run longer (fit(tune=2000, draws=2000)")
    kept = f"Run longer (fit(tune=2000, draws=2000), keeping the {resp} form you set for '(1 | RESP)');"
    assert (kept in problem) is given


def test_rhat_advice_still_switches_a_form_the_plan_chose() -> None:
    (problem,) = soup(1.021, "noncentered", given=False).problems
    assert "Switch the parameterization of '(1 | RESP)' from noncentered to centered" in problem
    assert "keeping" not in problem


def test_low_e_bfmi_with_a_form_set_says_run_longer_not_reparameterize() -> None:
    problems = soup(1.005, "noncentered", given=True, bfmi=0.2).problems
    (problem,) = [p for p in problems if p.startswith("E-BFMI")]
    assert problem.endswith("Run longer (fit(tune=2000, draws=2000), keeping the noncentered form you set "
                            "for '(1 | RESP)') or tighten the sd priors.")
    assert "Reparameterize" not in problem and "Switch" not in problem


def test_terms_of_marks_the_terms_whose_parameterization_the_user_set() -> None:
    rng = np.random.default_rng(1)
    data = pd.DataFrame({"a": np.repeat(list("abcd"), 12), "b": np.tile(list("xyz"), 16)})
    data["y"] = rng.normal(size=48)
    chosen = {"a": "centered", "a_b": "noncentered"}
    formula = "y ~ 1 + (1 | a) + (1 | a:b)"
    for given, expected in [(None, [False, False]), ({"a": "noncentered"}, [True, False]),
                            ("centered", [True, True])]:
        model = hb.Model(formula, data, parameterization=given)
        assert [t.given for t in terms_of(model, chosen)] == expected, given
