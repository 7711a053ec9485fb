"""Every table, check and plot method refuses an interval probability outside (0, 1) with an
ArgumentError naming ``prob`` (``prob=95`` had reached numpy's quantile as a raw ValueError;
``coef(prob=-1)`` returned intervals with lower > upper)."""

from __future__ import annotations

import matplotlib
import pytest

import hierbayes as hb
from hierbayes.errors import ArgumentError, check_probability

matplotlib.use("Agg")


@pytest.fixture(scope="module")
def fit() -> hb.Fit:
    model = hb.Model("Reaction ~ Days + (Days | Subject)", hb.datasets.load("sleepstudy"))
    return model.fit(backend="prior", draws=40, chains=2, random_seed=1)


CALLS = {
    "fixef": lambda f, p: f.fixef(prob=p),
    "summary": lambda f, p: f.summary(prob=p),
    "varcorr": lambda f, p: f.varcorr(prob=p),
    "ranef": lambda f, p: f.ranef(prob=p),
    "coef": lambda f, p: f.coef(p),
    "icc": lambda f, p: f.icc(prob=p),
    "hypothesis": lambda f, p: f.hypothesis("Days > 0", p),
    "plot_forest": lambda f, p: f.plot_forest(prob=p),
    "plot_caterpillar": lambda f, p: f.plot_caterpillar(prob=p),
    "ppc.pvalues": lambda f, p: f.ppc(random_seed=1).pvalues(prob=p),
    "ppc.grouped": lambda f, p: f.ppc(random_seed=1).grouped("Subject", prob=p),
    "margins.summary": lambda f, p: f.margins(at={"Days": [0, 9]}).summary(prob=p),
    "predict.summary": lambda f, p: f.predict().summary(prob=p),
}


@pytest.mark.parametrize("call", list(CALLS))
@pytest.mark.parametrize("prob", [95, -1, 1.0, "a", "0.9", float("nan")])
def test_prob_outside_zero_one_is_refused_naming_it(fit, call, prob) -> None:
    with pytest.raises(ArgumentError, match=r"prob="):
        CALLS[call](fit, prob)


@pytest.mark.parametrize("call", ["fixef", "coef", "ppc.pvalues", "plot_forest"])
def test_a_probability_inside_zero_one_works(fit, call) -> None:
    CALLS[call](fit, 0.9)


def test_the_message_of_a_percentage_says_what_to_write() -> None:
    with pytest.raises(ArgumentError, match=r"prob=95: must be a probability strictly between 0 and 1; "
                                            r"for a 95% interval write prob=0.95"):
        check_probability(95)
    with pytest.raises(ArgumentError, match=r"between 0 and 1$"):
        check_probability(True)
    assert check_probability(0.5) == 0.5
