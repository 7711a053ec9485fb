"""What level-1 weights are: ``weight_kind`` ("auto", "sampling", "frequency") and Stata's
[pw=] / [fw=] (whole-number survey weights had been read as frequency weights even from
``[pw=]``, with no word about ``adjust_intervals()``), and the warning that hierbayes' weights
are not lme4's precision weights (Exam averaged to cells with weights=n: sigma 0.058 for
lmer's 0.661)."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest

import hierbayes as hb
from hierbayes.errors import DataError, SpecError
from hierbayes.spec.serialize import spec_from_dict, spec_to_dict


@pytest.fixture(scope="module")
def data() -> pd.DataFrame:
    rng = np.random.default_rng(5)
    g = np.repeat(np.arange(8), 6)
    return pd.DataFrame({"y": rng.normal(size=48), "x": rng.normal(size=48), "g": g.astype(str),
                         "w": rng.integers(1, 5, size=48), "wf": rng.uniform(0.5, 3.0, size=48),
                         "k": rng.poisson(3, size=48)})


def quiet_model(*args, **kwargs) -> hb.Model:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return hb.Model(*args, **kwargs)


def test_whole_number_weights_are_frequency_weights_unless_declared_sampling(data) -> None:
    auto = quiet_model("y ~ x + (1 | g)", data, weights="w")
    assert auto.design.weights.frequency
    assert "(frequency weights: rows counted w times; survey weights: weight_kind='sampling')" in auto.design.weights.describe()
    declared = hb.Model("k ~ x + (1 | g)", data, weights="w", family="poisson", weight_kind="frequency")
    assert declared.design.weights.describe().endswith("(frequency weights: rows counted w times)")
    sampling = hb.Model("y ~ x + (1 | g)", data, weights="w", weight_kind="sampling")
    assert not sampling.design.weights.frequency
    assert "fit.adjust_intervals()" in sampling.design.weights.describe()


def test_stata_weight_kinds_are_kept(data) -> None:
    pw = hb.from_stata("mixed y x [pw=w] || g:")
    fw = hb.from_stata("mixed y x [fw=w] || g:")
    assert (pw.weight_kind, fw.weight_kind) == ("sampling", "frequency")
    assert not hb.Model(pw, data).design.weights.frequency
    assert hb.Model(fw, data).design.weights.frequency
    assert spec_from_dict(spec_to_dict(pw)).weight_kind == "sampling"  # saved fits keep it


def test_weight_kind_errors(data) -> None:
    with pytest.raises(DataError, match=r"weight_kind='frequency' counts row i w_i times, but 'wf' is not a whole "
                                        r"number in rows 0, 1, 2, .*weight_kind='sampling'"):
        hb.Model("y ~ x + (1 | g)", data, weights="wf", weight_kind="frequency")
    with pytest.raises(SpecError, match=r"weight_kind='survey': valid values are \['auto', 'sampling', 'frequency', 'precision'\]"):
        hb.Model("y ~ x + (1 | g)", data, weights="w", weight_kind="survey")
    with pytest.raises(SpecError, match=r"weight_kind='sampling' says what level-1 weights are, but the model has none"):
        hb.Model("y ~ x + (1 | g)", data, weight_kind="sampling")
    with pytest.raises(SpecError, match=r"frequency weights take neither weight_scaling nor group_weights"):
        hb.Model("y ~ x + (1 | g)", data, weights="w", weight_kind="frequency", weight_scaling="size")


def test_gaussian_weights_of_no_declared_kind_say_they_are_not_precision_weights(data) -> None:
    with pytest.warns(UserWarning, match=r"weights='w' multiply each row's log-likelihood .* not lme4's precision "
                                         r"weights .* sigma='~ log\(w\)' .* weight_kind='frequency' or 'sampling'"):
        hb.Model("y ~ x + (1 | g)", data, weights="w")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        hb.Model("y ~ x + (1 | g)", data, weights="w", weight_kind="frequency")
        hb.Model("k ~ x + (1 | g)", data, weights="w", family="poisson")
        hb.Model(hb.from_stata("mixed y x [pw=w] || g:, pwscale(size)"), data)


def test_unscaled_sampling_weights_beside_group_terms_advise_scaling(data) -> None:
    # apiclus2's schools, weights summing to 5,129 over 126 rows and unscaled: ell -4.51 against
    # svyglm's -2.06 and lmer's -2.50, with only "(unscaled)" in the summary
    assert abs(data["w"].mean() - 1) > 0.1
    with pytest.warns(UserWarning, match=r"level-1 sampling weights 'w' are unscaled \(mean .*\) beside group "
                                         r"terms.*weight_scaling='size' \(Stata: pwscale\(size\)\)"):
        hb.Model(hb.from_stata("mixed y x [pw=w] || g:"), data)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        hb.Model("y ~ x + (1 | g)", data, weights="w", weight_kind="sampling", weight_scaling="size")
        hb.Model("y ~ x", data, weights="w", weight_kind="sampling")  # no group term: nothing to move
