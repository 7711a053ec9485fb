"""hypothesis() on a Stata factor's terms: the table's names, a did-you-mean to them, and the
note that says why a point hypothesis has no probability.

Prior draws (``backend="prior"``) stand in for a posterior: the names and notes do not depend
on the draws.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import hierbayes as hb
from hierbayes.results.stats import flatten_draws


@pytest.fixture(scope="module")
def contraception():
    # the shape of mlmRev's Contraception: i.urban (N/Y), i.livch (0, 1, 2, 3+), a slope of urban by district
    rng = np.random.default_rng(5)
    n = 120
    df = pd.DataFrame({"urban": rng.choice(["N", "Y"], n), "livch": rng.choice(["0", "1", "2", "3+"], n),
                       "age": rng.normal(size=n), "district": rng.choice([f"d{k}" for k in range(8)], n)})
    df["use"] = rng.integers(0, 2, n)
    spec = hb.from_stata("melogit use i.urban age i.livch || district: urban, covariance(unstructured)")
    return hb.Model(spec, df).fit(backend="prior", draws=50, chains=2, random_seed=1, progressbar=False)


def test_an_unknown_level_name_suggests_the_tables_name(contraception):
    # 'urban[Y] > 0' had failed with "Subscript is not allowed": fixef() calls it C(urban)[Y]
    # while varcorr() calls the slope sd(urban[Y])
    assert "C(urban)[Y]" in contraception.fixef().index
    with pytest.raises(hb.SpecError, match=r"hypothesis 'urban\[Y\] > 0': unknown parameter 'urban\[Y\]'\. "
                                           r"Did you mean 'C\(urban\)\[Y\]'"):
        contraception.hypothesis("urban[Y] > 0")
    with pytest.raises(hb.SpecError, match=r"unknown parameter 'livch\[3\+\]'\. Did you mean 'C\(livch\)\[3\+\]'"):
        contraception.hypothesis("C(livch)[2] < livch[3+]")
    b = flatten_draws(contraception.posterior["b"].sel(b_term="C(urban)[Y]"))
    assert contraception.hypothesis("C(urban)[Y] > 0")["prob"].iloc[0] == pytest.approx(np.mean(b > 0))


def test_a_point_hypothesis_says_why_it_has_no_probability(contraception):
    # "C(livch)[3+] = C(livch)[2]" gave prob and evidence_ratio NaN with no explanation; brms
    # gives a point hypothesis's evidence ratio only from prior samples, else NA
    table = contraception.hypothesis(["C(livch)[3+] = C(livch)[2]", "C(urban)[Y] > 0"])
    assert table.iloc[0][["prob", "evidence_ratio"]].isna().all()
    note = table.attrs["note"]
    assert note.startswith("'a = b' is a point hypothesis: estimate, lower and upper are those of a - b")
    assert "prob and evidence_ratio are NaN" in note and "only with prior samples" in note
    assert "note" not in contraception.hypothesis("C(urban)[Y] > 0").attrs
    expression = contraception.hypothesis("exp(C(urban)[Y])").attrs["note"]
    assert expression == "an expression without a comparison is summarised; its prob and evidence_ratio are NaN"
