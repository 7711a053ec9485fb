"""The mass matrix NUTS adapts on JAX (``dense_mass_of`` in backends/pymc/sample.py): dense over
the free scalars of a small model except the standardized effects ``z_<key>`` of its non-centred
group terms (a diagonal block), diagonal over 40 free scalars.

The slow test fits survival::lung's weibull frailty model (issue 16), where a dense matrix over
the ``z`` left one chain of four stuck far out in the tail at step size ~0 (log density ~ -1e58)
at seed 7 of 0..7 (7 of seeds 0..39). The data: ``Rscript -e 'library(survival); d <-
lung[!is.na(lung$inst), c("time","status","age","sex","inst")]; write.csv(d,
"tests/survival/data/lung.csv", row.names=FALSE)'`` (status 1 = censored, 2 = dead).
"""

from __future__ import annotations

import os
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import hierbayes as hb
from hierbayes.backends.pymc.jaxnuts import mass_structure, sample_jax_cached, site_name
from hierbayes.backends.pymc.sample import DENSE_MASS_MAX, dense_mass_of, free_size

LUNG = Path(__file__).parents[1] / "survival" / "data" / "lung.csv"
FRAILTY = "time | cens(censored) ~ age + sex + (1 | inst)"


def lung() -> pd.DataFrame:
    data = pd.read_csv(LUNG)
    return data.assign(censored=np.where(data["status"] == 1, "right", "none"))


def _counts(seed: int = 4, levels: int = 6, n: int = 90) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    g, h, x = rng.integers(0, levels, n), rng.integers(0, 4, n), rng.normal(size=n)
    eta = 1.0 + 0.3 * x + rng.normal(0, 0.5, levels)[g] + rng.normal(0, 0.3, 4)[h]
    return pd.DataFrame({"c": rng.poisson(np.exp(eta)), "x": x, "g": g.astype(str), "h": h.astype(str)})


def _names(compiled) -> list[str]:
    return [v.name for v in compiled.model.value_vars]


def test_a_non_centred_terms_z_is_outside_the_dense_block():
    compiled = hb.Model(FRAILTY, lung(), family="weibull").compile()
    assert compiled.parameterization == {"inst": "noncentered"}
    assert free_size(compiled.model) <= DENSE_MASS_MAX
    dense = dense_mass_of(compiled)
    assert isinstance(dense, list) and len(dense) == 1
    assert "z_inst" in _names(compiled) and "z_inst" not in dense[0]
    assert set(dense[0]) == set(_names(compiled)) - {"z_inst"}


@pytest.mark.filterwarnings("ignore::hierbayes.design.nesting.ImplicitNestingWarning")  # g, h crossed on purpose
def test_a_centred_intercept_holder_is_inside_the_dense_block():
    one = hb.Model("c ~ x + (1 | g)", _counts(), family="poisson", parameterization={"g": "centered"}).compile()
    assert "re_g__total" in _names(one)  # the holder's totals, drawn around the intercept
    assert dense_mass_of(one) is True
    both = hb.Model("c ~ x + (1 | g) + (1 | h)", _counts(), family="poisson",
                    parameterization={"g": "centered", "h": "noncentered"}).compile()
    dense = dense_mass_of(both)
    assert isinstance(dense, list) and "re_g__total" in dense[0] and "z_h" not in dense[0]
    assert set(dense[0]) == set(_names(both)) - {"z_h"}


def test_an_adaptive_terms_z_stays_in_the_dense_block():
    """Only the non-centred terms' standard-normal ``z`` are set apart."""
    compiled = hb.Model("c ~ x + (1 | g)", _counts(), family="poisson", parameterization={"g": "adaptive"}).compile()
    assert "z_g" in _names(compiled) and dense_mass_of(compiled) is True


def test_over_forty_free_scalars_is_diagonal():
    compiled = hb.Model("c ~ x + (1 | g)", _counts(levels=45, n=300), family="poisson",
                        parameterization={"g": "centered"}).compile()
    assert free_size(compiled.model) > DENSE_MASS_MAX
    assert dense_mass_of(compiled) is False and not compiled.saturated


def _saturated(levels: int = 45, per_level: int = 4, seed: int = 3) -> pd.DataFrame:
    """Bernoulli rows whose levels mostly have every row at one outcome (guPrenat's mothers)."""
    rng = np.random.default_rng(seed)
    g = np.repeat(np.arange(levels), per_level)
    at_edge = rng.random(levels) < 0.8
    y = np.where(at_edge[g], rng.integers(0, 2, levels)[g], rng.integers(0, 2, g.size))
    return pd.DataFrame({"y": y, "x": rng.normal(size=g.size), "g": g.astype(str)})


def test_a_saturated_term_over_forty_scalars_is_dense_over_the_parameters_that_are_not_group_effects():
    # guPrenat's (1 | mom): the sd and the fixed effects scale together (R-hat 1.015 at seed 1
    # diagonal; 1.0065 with this block)
    compiled = hb.Model("y ~ x + (1 | g)", _saturated(), family="bernoulli").compile()
    assert compiled.saturated and free_size(compiled.model) > DENSE_MASS_MAX
    (block,) = dense_mass_of(compiled)
    effects = {n for n in _names(compiled) if n.startswith(("z_g", "re_g"))}
    assert effects and set(block) == set(_names(compiled)) - effects and "sd_g_log__" in block, _names(compiled)
    many = pd.DataFrame({f"x{k}": np.random.default_rng(k).normal(size=180) for k in range(45)})
    wide = hb.Model("y ~ " + " + ".join(many.columns) + " + (1 | g)", pd.concat([_saturated(), many], axis=1),
                    family="bernoulli").compile()
    assert wide.saturated and dense_mass_of(wide) is False  # 45 fixed effects: too many for a dense block


def test_blocks_become_numpyros_site_names():
    names = ["Intercept_c", "b", "z_g", "sd_g_log__"]
    assert mass_structure(names, True) is True and mass_structure(names, False) is False
    assert mass_structure(names, [("Intercept_c", "b", "sd_g_log__")]) == [[site_name(0), site_name(1), site_name(3)]]
    assert sorted(site_name(i) for i in (10, 2, 1)) == [site_name(1), site_name(2), site_name(10)]


def test_the_block_structure_is_part_of_the_program_key(monkeypatch, tmp_path):
    monkeypatch.setenv("HIERBAYES_CACHE_DIR", str(tmp_path))
    compiled = hb.Model(FRAILTY, lung(), family="weibull").compile()
    blocks = dense_mass_of(compiled)
    runs = [sample_jax_cached(compiled.model, draws=30, tune=30, chains=2, cores=1, random_seed=1,
                              target_accept=0.9, dense_mass=dense) for dense in (blocks, True, blocks)]
    assert [r.cached for r in runs] == [False, False, True]
    assert all(r.idata.posterior.sizes["draw"] == 30 for r in runs)
    assert np.all(np.isfinite(runs[0].idata.posterior["z_inst"].values))


@pytest.mark.slow  # eight fits of 4 x 1000 draws
@pytest.mark.parametrize("seed", range(8))
def test_lung_weibull_frailty_converges_at_every_seed(seed, monkeypatch, tmp_path):
    monkeypatch.setenv("HIERBAYES_CACHE_DIR", str(tmp_path.parent / "mass-matrix-cache"))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        fit = hb.Model(FRAILTY, lung(), family="weibull").fit(random_seed=seed, progressbar=False)
    diagnostics = fit.diagnostics
    assert diagnostics.divergences == 0
    assert diagnostics.max_r_hat <= 1.01, diagnostics.worst_r_hat


@pytest.mark.skipif(not hasattr(os, "sched_setaffinity"), reason="CPU affinity is Linux's")
def test_default_cores_are_the_usable_ones():
    # under `taskset -c 1` the chains must not count the machine's other cores
    from hierbayes.backends.pymc.sample import default_cores

    before = os.sched_getaffinity(0)
    try:
        os.sched_setaffinity(0, {min(before)})
        assert default_cores(4) == 1
    finally:
        os.sched_setaffinity(0, before)
    assert default_cores(4) == min(4, len(before))
