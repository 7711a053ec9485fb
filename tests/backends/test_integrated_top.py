"""The top of a chain of nested random intercepts integrated out (backends/pymc/integrated_top.py):
its children's marginal density is the multivariate normal one, the top's effects are drawn
from their exact conditional, and prior draws follow the generative model. (That the whole
model's density is the plainly centred one's plus the log Jacobian is checked in
test_speed_paths.py and test_data_shift.py.)"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytensor.tensor as pt
import pytest
from scipy import stats

import hierbayes as hb
from hierbayes.backends.pymc.compile import compile_model
from hierbayes.backends.pymc.integrated_top import integrable, marginal_logp
from hierbayes.backends.pymc.prior import sample_prior


@pytest.mark.slow  # 15-30 s of cold compilation: in the slow suite
def test_marginal_density_is_the_multivariate_normal_one():
    rng = np.random.default_rng(3)
    parent = np.array([0, 0, 0, 1, 2, 2, 3, 3, 3, 3])  # parents with 3, 1, 2 and 4 children
    counts = np.bincount(parent, minlength=5)  # parent 4 has none: it contributes nothing
    r = rng.normal(size=len(parent))
    tau, sd = 0.7, 0.4
    got = float(pt.sum(marginal_logp(pt.as_tensor(r), parent, counts, pt.as_tensor(tau), pt.as_tensor(sd))).eval())
    want = 0.0
    for p in range(4):
        x = r[parent == p]
        cov = sd**2 * np.eye(len(x)) + tau**2 * np.ones((len(x), len(x)))
        want += stats.multivariate_normal(np.zeros(len(x)), cov).logpdf(x)
    assert abs(got - want) < 1e-9


def _nested(seed: int = 1) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    site = np.repeat(np.arange(8), 12)
    plot = np.repeat(np.arange(32), 3)
    eta = 0.5 + rng.normal(0, 0.6, 8)[site] + rng.normal(0, 0.3, 32)[plot]
    return pd.DataFrame({"y": rng.poisson(np.exp(eta)), "x": rng.normal(size=96),
                         "site": pd.Categorical(site), "plot": pd.Categorical(plot)})


def test_the_top_is_drawn_from_the_prior_and_carried_by_its_children():
    model = hb.Model("y ~ x + (1 | site/plot)", _nested(), family="poisson")
    site, plot = model.design.groups
    assert integrable(site) and integrable(plot)
    assert not integrable(hb.Model("y ~ x + (x | site)", _nested(), family="poisson").design.groups[0])
    compiled = compile_model(model.design, model.priors, {"site": "noncentered", "site:plot": "nested"})
    free = {v.name for v in compiled.model.free_RVs}
    assert {"z_site", "re_site_plot__total"} <= free and "re_site" not in free
    prior = sample_prior(compiled, draws=4000, random_seed=2)
    sd_site = prior["sd_site"].values.ravel()
    re_site = prior["re_site"].values[0, :, :, 0]
    re_plot = prior["re_site_plot"].values[0, :, :, 0]
    # a priori re_site / sd_site and re_plot / sd_plot are standard normal
    assert abs(np.std(re_site / sd_site[:, None]) - 1.0) < 0.05
    assert abs(np.std(re_plot / prior["sd_site_plot"].values.ravel()[:, None]) - 1.0) < 0.05


def test_crossed_interactions_go_to_the_parent_with_fewest_groups():
    from hierbayes.backends.pymc.centring import nesting

    rng = np.random.default_rng(0)
    df = pd.DataFrame({"y": rng.normal(size=240), "a": pd.Categorical(rng.integers(0, 4, 240)),
                       "b": pd.Categorical(rng.integers(0, 6, 240))})
    design = hb.Model("y ~ 1 + (1 | b) + (1 | a) + (1 | a:b)", df).design
    (j, _), = nesting(design, ["noncentered", "noncentered", "nested"]).values()
    assert design.groups[j].group == "a"  # 4 groups, not b's 6
    # in a chain the closest parent still takes it: c around b around a
    chain = pd.DataFrame({"y": rng.normal(size=72), "a": pd.Categorical(np.repeat(np.arange(3), 24)),
                          "b": pd.Categorical(np.repeat(np.arange(12), 6)),
                          "c": pd.Categorical(np.repeat(np.arange(36), 2))})
    design = hb.Model("y ~ 1 + (1 | a) + (1 | b) + (1 | c)", chain).design
    assert {i: j for i, (j, _) in nesting(design, ["centered", "nested", "nested"]).items()} == {1: 0, 2: 1}


def test_mrp_plan_is_adaptive_and_nested_interactions_go_around_the_smallest_factors():
    from hierbayes.backends.pymc.centring import nesting
    from hierbayes.backends.pymc.plan import plan_parameterization

    survey = hb.datasets.load("survey")
    design = hb.Model("y ~ male + repvote + region + (1|state) + (1|eth) + (1|educ) + (1|age)"
                      " + (1|male:eth) + (1|educ:age) + (1|educ:eth)", survey, family="bernoulli").design
    names = [b.group for b in design.groups]
    # the crossed interactions (educ:age in educ and age) are adaptive, not drawn around a parent
    plan = dict(zip(names, plan_parameterization(design, None, "logit")))
    assert plan["educ:age"] == plan["educ:eth"] == "adaptive" and "nested" not in plan.values()
    # asked to be nested, each goes around the parent with the fewest groups
    asked = plan_parameterization(design, {"educ:age": "nested", "educ:eth": "nested"}, "logit")
    parents = {design.groups[i].group: design.groups[j].group for i, (j, _) in nesting(design, asked).items()}
    assert parents == {"educ:age": "educ", "educ:eth": "eth"}
