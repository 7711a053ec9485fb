"""lme4's precision weights, ``weight_kind="precision"``: residual variance sigma^2 / w, written
as an offset ``-0.5 * log(w)`` in the residual sd's formula (offsets in distributional formulas
had been refused). Reference: nlme's ``?varFixed`` model on Orthodont, which is lmer's
``weights = 1 / age``::

    d <- as.data.frame(Orthodont); d$w <- 1 / d$age
    lme(distance ~ age, Orthodont, random = ~ 1 | Subject, weights = varFixed(~ age))
    lmer(distance ~ age + (1 | Subject), d, weights = w)   # the same fit
    # (Intercept) 16.8610490 (se 0.7785630), age 0.6510999 (se 0.0621443),
    # sd(Subject) 2.070076, sigma 0.441378 (REML; R 4.x, nlme 3.1, lme4 1.1)
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import hierbayes as hb
from hierbayes.errors import DataError, SpecError

DATA = Path(__file__).parents[1] / "data" / "orthodont_varfixed.csv"
LME = {"Intercept": (16.8610490, 0.7785630), "age": (0.6510999, 0.0621443)}
LME_SIGMA = 0.441378


@pytest.fixture(scope="module")
def orthodont() -> pd.DataFrame:
    return pd.read_csv(DATA)


def test_precision_weights_become_the_residual_sds_offset(orthodont) -> None:
    model = hb.Model("distance ~ age + (1 | Subject)", orthodont, weights="w", weight_kind="precision")
    assert model.spec.response.weights is None  # the log-likelihood is not multiplied
    assert model.spec.aux_formulas["sigma"].to_formula() == "~ offset(-0.5 * log(w))"
    assert model.design.weights is None
    (sub,) = [d for name, d in model.design.distributional if name == "sigma"]
    np.testing.assert_allclose(sub.offset, -0.5 * np.log(orthodont["w"].to_numpy()))
    # the formula's weights(w) and the user's own sigma formula are kept
    both = hb.Model("distance | weights(w) ~ age + (1 | Subject)", orthodont, weight_kind="precision",
                    sigma="~ Sex")
    assert both.spec.aux_formulas["sigma"].to_formula() == "~ Sex + offset(-0.5 * log(w))"


def test_a_saved_fit_keeps_the_precision_weights(orthodont, tmp_path) -> None:
    fit = hb.Model("distance ~ age + (1 | Subject)", orthodont, weights="w", weight_kind="precision").fit(
        backend="prior", draws=50, chains=2, random_seed=1)
    fit.save(tmp_path / "fit.nc")
    loaded = hb.load(tmp_path / "fit.nc")
    assert loaded.spec.aux_formulas["sigma"].to_formula() == "~ offset(-0.5 * log(w))"
    new = orthodont.head(3)
    np.testing.assert_allclose(loaded.predict(new, kind="response", random_seed=1).values,
                               fit.predict(new, kind="response", random_seed=1).values)


def test_mean_predictions_need_no_weights_but_new_responses_do(orthodont) -> None:
    # as lme4's predict(): the mean does not depend on the residual sd, so new rows need no w
    fit = hb.Model("distance ~ age + (1 | Subject)", orthodont, weights="w", weight_kind="precision").fit(
        backend="prior", draws=50, chains=2, random_seed=1)
    new = orthodont.head(3)
    np.testing.assert_allclose(fit.predict(new.drop(columns="w"), kind="mean").values,
                               fit.predict(new, kind="mean").values)
    with pytest.raises(DataError, match=r"this prediction needs sigma, which a formula of its own models: column 'w'"):
        fit.predict(new.drop(columns="w"), kind="response")
    with pytest.raises(DataError, match=r"column 'age' .* is not in newdata"):  # the mean's own columns still
        fit.predict(new.drop(columns="age"), kind="mean")


def test_offsets_in_a_distributional_formula(orthodont) -> None:
    model = hb.Model("distance ~ age + (1 | Subject)", orthodont, sigma="~ offset(log(age))")
    (sub,) = [d for _, d in model.design.distributional]
    np.testing.assert_allclose(sub.offset, np.log(orthodont["age"].to_numpy()))


def test_precision_weight_errors(orthodont) -> None:
    bad = orthodont.assign(n=1, **{"my w": orthodont["w"]})
    with pytest.raises(SpecError, match=r"weight_kind='precision' says what level-1 weights are, but the model "
                                        r"has none; give weights='w'"):
        hb.Model("distance ~ age + (1 | Subject)", orthodont, weight_kind="precision")
    with pytest.raises(SpecError, match=r"family 'poisson' has no residual sd\. glmer's binomial weights= are "
                                        r"the trials"):
        hb.Model("n ~ age + (1 | Subject)", bad, family="poisson", weights="w", weight_kind="precision")
    with pytest.raises(SpecError, match=r"weights are given twice: weights\(w\) in the formula and weights='n'"):
        hb.Model("distance | weights(w) ~ age + (1 | Subject)", bad, weights="n", weight_kind="precision")
    with pytest.raises(SpecError, match=r"rename the weights' column 'my w' to a plain name"):
        hb.Model("distance ~ age + (1 | Subject)", bad, weights="my w", weight_kind="precision")
    with pytest.raises(SpecError, match=r"weight_kind='precision' takes neither group_weights nor weight_scaling"):
        hb.Model("distance ~ age + (1 | Subject)", bad, weights="w", weight_kind="precision",
                 group_weights={"Subject": "n"})
    with pytest.raises(SpecError, match=r"valid values are \['auto', 'sampling', 'frequency', 'precision'\]"):
        hb.Model("distance ~ age + (1 | Subject)", bad, weights="w", weight_kind="lme4")
    # named as the weights the user gave, not as the offset they become (it had been "offset
    # '-0.5 * log(w)' has non-finite values ... for offset(log(t))")
    with pytest.raises(DataError, match=r"precision weights 'w' must be > 0 .*at row 0 they are not"):
        hb.Model("distance ~ age + (1 | Subject)", orthodont.assign(w=lambda d: d["w"].where(d.index > 0, 0.0)),
                 weights="w", weight_kind="precision")


def test_the_default_warning_points_to_precision_weights(orthodont) -> None:
    with pytest.warns(UserWarning, match=r"For lme4's model say weight_kind='precision'"):
        hb.Model("distance ~ age + (1 | Subject)", orthodont, weights="w")


@pytest.mark.slow
def test_precision_weights_match_lme_varfixed(orthodont) -> None:
    model = hb.Model("distance ~ age + (1 | Subject)", orthodont, weights="w", weight_kind="precision")
    fit = model.fit(random_seed=1, progressbar=False)
    assert fit.diagnostics.divergences == 0
    table = fit.fixef()
    for term, (estimate, se) in LME.items():
        assert abs(table.loc[term, "mean"] - estimate) < 0.25 * se, term
    sigma = np.exp(fit.posterior["Intercept_sigma"].to_numpy().ravel())
    assert abs(np.median(sigma) - LME_SIGMA) < 0.25 * sigma.std()
    assert f"sigma at the intercept (w = 1): median {np.median(sigma):.4g}" in " ".join(str(fit.summary()).split())
    # a new row's residual sd follows its own weight: two rows with the same mean, weights 1 and
    # 1/4, differ per draw by noise of variance sigma^2 (1 + 4)
    new = pd.DataFrame({"age": [10.0, 10.0], "Subject": ["M01", "M01"], "w": [1.0, 0.25]})
    draws = fit.predict(new, kind="response", groups="exclude", random_seed=2).values
    difference = draws[:, 1] - draws[:, 0]
    assert np.var(difference) == pytest.approx(5 * np.mean(sigma**2), rel=0.1)


@pytest.mark.parametrize("given", ["varFixed(~ age)", "varPower"])
def test_nlme_variance_functions_given_as_weights_get_their_hierbayes_form(orthodont, given) -> None:
    with pytest.raises(DataError, match=r"is not in the data; weights= takes a column of frequency, sampling or "
                                        r"precision weights.*sigma='~ log\(v\)' is varPower.*varFixed\(~ v\) is "
                                        r"weights='w', weight_kind='precision' with a column w = 1 / v"):
        hb.Model("distance ~ age + (1 | Subject)", orthodont, weights=given)

