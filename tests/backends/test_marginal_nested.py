"""The integrated gaussian likelihood with sampled terms of enclosing groups
(:mod:`hierbayes.backends.pymc.marginal_nested`) equals the per-row form it replaces, and
applies only where the sampled terms' groups contain the integrated term's."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import hierbayes as hb
from hierbayes.backends.pymc import compile as C
from hierbayes.backends.pymc import marginal_nested as MN
from hierbayes.backends.pymc.nuts_setup import python_mode


def _pupils(seed: int = 0) -> pd.DataFrame:
    """Pupils in schools in districts (unbalanced), plus a factor crossed with schools."""
    rng = np.random.default_rng(seed)
    rows = []
    for d in range(6):
        u_d = rng.normal(0, 0.5)
        for s in range(4):
            u_s, n = rng.normal(0, 1.0), int(rng.integers(2, 9))
            x = rng.normal(size=n)
            y = 2 + 0.7 * x + u_d + u_s + rng.normal(0, 1.0, n)
            rows += [dict(y=a, x=b, dist=f"d{d}", school=f"d{d}s{s}", rater=f"r{rng.integers(3)}")
                     for a, b in zip(y, x)]
    return pd.DataFrame(rows)


@pytest.mark.parametrize(("formula", "parameterization"), [
    ("y ~ x + (1|dist) + (1|school)", {"school": "marginal"}),
    ("y ~ x + (1|dist) + (x|school)", {"school": "marginal"}),
    ("y ~ 0 + x + (1|dist) + (1|school)", {"school": "marginal"}),
    ("y ~ x + (1|dist) + (1|school)", {"school": "marginal", "dist": "centered"}),
    ("y ~ x + (1|dist) + (1|school)", {"school": "marginal", "dist": "noncentered"}),
    ("y ~ x + (x|dist) + (1|school)", {"school": "marginal"}),  # a slope per district
    ("y ~ x + (x||dist) + (x|school)", {"school": "marginal", "dist": "noncentered"}),
    ("y ~ x + (1|rater) + (1|dist) + (1|school)", {"school": "marginal"}),  # rater crossed: rows form
])
def test_the_log_density_equals_the_rows_form(monkeypatch, formula, parameterization) -> None:
    model = hb.Model(formula, _pupils(), parameterization=parameterization)
    used = []

    def spy(*args):
        found = MN.nested_above(*args)
        used.append(found is not None)
        return found

    monkeypatch.setattr(C, "nested_above", spy)
    new = C.compile_model(model.design, model.priors, parameterization).model
    monkeypatch.setattr(C, "nested_above", lambda *args: None)
    rows = C.compile_model(model.design, model.priors, parameterization).model
    assert used == [True] if "rater" not in formula else used == [False]
    assert [v.name for v in new.value_vars] == [v.name for v in rows.value_vars]
    logp_new, logp_rows = new.compile_logp(mode=python_mode()), rows.compile_logp(mode=python_mode())
    rng = np.random.default_rng(1)
    start = new.initial_point()
    for _ in range(4):
        point = {k: v + rng.normal(0, 0.5, np.shape(v)) for k, v in start.items()}
        assert logp_new(point) == pytest.approx(logp_rows(point), rel=1e-12)


def test_it_applies_only_to_enclosing_groups() -> None:
    df = _pupils()
    blocks = {b.group: b for b in hb.Model("y ~ x + (x|dist) + (1|school) + (1|rater)", df).design.groups}
    school, dist, rater = blocks["school"], blocks["dist"], blocks["rater"]
    parents = MN.parents_of(school, dist)
    assert parents is not None and len(parents) == school.n_levels
    np.testing.assert_array_equal(parents[school.codes], dist.codes)
    assert MN.parents_of(school, rater) is None  # crossed: a school's pupils have several raters
    assert MN.parents_of(dist, school) is None  # a district holds several schools
    found = MN.nested_above(school, [(dist, "u_dist")])
    assert found is not None and found.blocks == [dist] and found.effects == ["u_dist"]
    assert MN.nested_above(school, [(dist, "u_dist"), (rater, "u_rater")]) is None
    assert MN.nested_above(school, [(dist, None)]) is None  # nothing sampled above
