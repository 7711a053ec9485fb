"""Predictions with some group terms (lme4's ``re.form = ~(1 | plate)``): the kept terms'
effects are added, the others set to zero; newdata need not hold the dropped terms'
grouping columns; the terms are named by a list or by a formula of whole terms."""

from __future__ import annotations

import functools
import warnings

import numpy as np
import pytest

import hierbayes as hb
from hierbayes.errors import SpecError
from hierbayes.predict.group_selection import GroupSelection, select_groups
from hierbayes.results.stats import flatten_draws
from hierbayes.spec.lower import parse_formula


@functools.cache
def penicillin_fit():
    df = hb.datasets.load("Penicillin")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # convergence notes of short test chains
        return hb.Model("diameter ~ 1 + (1 | plate) + (1 | sample)", df).fit(
            draws=200, tune=300, chains=2, random_seed=1, progressbar=False)


def _linear(fit, newdata, groups):
    return flatten_draws(fit.predict(newdata, kind="linear", groups=groups).draws)


def test_some_terms_add_their_effects_only():
    fit = penicillin_fit()
    rows = fit.model.data.iloc[[0, 7, 30]]
    posterior = fit.idata.posterior
    intercept = flatten_draws(posterior["Intercept"])
    plate = flatten_draws(posterior["re_plate"])[:, :, 0]
    levels = list(posterior["re_plate"].coords["plate__level"].values)
    expected = intercept[:, None] + plate[:, [levels.index(p) for p in rows["plate"]]]
    for groups in (["plate"], "~(1 | plate)", "~ (1|plate)"):
        assert np.allclose(_linear(fit, rows, groups), expected)
    everything = _linear(fit, rows, "include")
    assert not np.allclose(everything, expected)
    assert np.allclose(_linear(fit, rows, ["plate", "sample"]), everything)
    assert np.allclose(_linear(fit, rows, "~0"), intercept[:, None] + 0 * expected)


def test_newdata_needs_only_the_kept_terms_columns():
    fit = penicillin_fit()
    rows = fit.model.data.iloc[[0, 7]].drop(columns=["sample"])
    pred = fit.predict(rows, groups="~(1 | plate)")
    assert pred.draws.shape[-1] == 2 and pred.groups == "include plate"
    with pytest.raises(hb.DataError, match=r"'sample' is not in newdata; .*or with the terms newdata has only: "
                                           r"groups=\['plate'\] \(lme4's re.form\)"):
        fit.predict(rows)
    # a new plate is a new level of a kept term: sampled from the population, and named
    new = fit.model.data.iloc[[0]].assign(plate="zz")
    with pytest.warns(UserWarning, match="zz"):
        fit.predict(new, groups=["plate"])


def test_re_form_spellings():
    spec = parse_formula("y ~ x + (1 + x | batch/cask) + (1 | plate)")
    assert select_groups(spec, None) == GroupSelection("include")
    assert select_groups(spec, "~0") == GroupSelection("exclude")
    assert select_groups(spec, "~(1 + x | batch/cask)") == GroupSelection("include", frozenset({"batch", "batch:cask"}))
    assert select_groups(spec, ("plate",)).keeps("plate") and not select_groups(spec, ["plate"]).keeps("batch")
    assert not GroupSelection("exclude").keeps("plate")


@pytest.mark.parametrize("groups,message", [
    ("~(1 | plat)", r"no group term for 'plat'; its terms are \(1 \+ x \| batch\).*Did you mean 'plate'"),
    ("~(1 | batch)", r"\(1 \| batch\) is not the model's \(1 \+ x \| batch\).*write ~\(1 \+ x \| batch\)"),
    ("~ x + (1 | plate)", "only group terms such as"),
    ("~(1 |", "not a formula of group terms"),
    (["plat"], r"'plat' is not a grouping factor of the model; they are \['batch', 'batch:cask', 'plate'\]"),
    ("inclde", r"valid values are \['include', 'exclude', 'marginal'\], a formula"),
])
def test_each_mistake_names_what_is_wrong(groups, message):
    spec = parse_formula("y ~ x + (1 + x | batch/cask) + (1 | plate)")
    with pytest.raises(SpecError, match=message):
        select_groups(spec, groups)


def test_two_terms_of_one_factor_are_kept_together():
    spec = parse_formula("y ~ x + (1 | g) + (0 + x | g) + (1 | h)")
    assert select_groups(spec, "~(1 | g) + (0 + x | g)") == GroupSelection("include", frozenset({"g"}))
    with pytest.raises(SpecError, match=r"\(1 \| g\) is not the model's \(1 \| g\) \+ \(0 \+ x \| g\)"):
        select_groups(spec, "~(1 | g)")
    independent = parse_formula("y ~ x + (1 + x || g)")  # the covariance does not matter here
    assert select_groups(independent, "~(1 + x | g)") == GroupSelection("include", frozenset({"g"}))


def test_lme4_spelling_points_to_the_formula():
    fit = penicillin_fit()
    with pytest.raises(hb.ArgumentError, match=r"~\(1\|g\) groups='~\(1\|g\)'"):
        fit.predict(re_form="~(1 | plate)")
