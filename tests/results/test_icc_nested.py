"""ICCs of nested models as Stata's ``estat icc`` reports them, next to the variance shares.

Stata's definition (``estat icc`` after mixed/melogit): for a level nested in others, the
correlation of two responses in the same unit of that level, (var(level) + var(levels above))
/ (sum of all variances + level-1 variance); the latent level-1 variance is pi^2/3 for logit.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
import xarray as xr
from conftest import load_ref

import hierbayes as hb
from hierbayes.params import block_names
from hierbayes.results import tables
from hierbayes.results.icc_levels import ancestors_from_codes, ancestors_from_spec, stata_level_label
from hierbayes.results.report import icc_section
from hierbayes.spec import parse_formula
from hierbayes.spec.stata import from_stata


def fake_posterior(spec: hb.ModelSpec, variances: dict[str, float], residual_sd: float | None = None,
                   chains: int = 2, draws: int = 50, jitter: float = 0.0) -> xr.Dataset:
    """Draws of intercept-only group sds fixed at sqrt(variance) (times a small jitter)."""
    rng = np.random.default_rng(0)
    data = {"Intercept": (("chain", "draw"), np.zeros((chains, draws)))}
    coords = {}
    for term, names in zip(spec.groups, block_names(spec)):
        sd = math.sqrt(variances[term.group]) * (1 + jitter * rng.standard_normal((chains, draws, 1)))
        data[names.sd] = (("chain", "draw", names.column_dim), sd)
        data[names.effects] = (("chain", "draw", names.level_dim, names.column_dim), np.zeros((chains, draws, 2, 1)))
        coords[names.column_dim] = ["Intercept"]
        coords[names.level_dim] = ["a", "b"]
    if residual_sd is not None:
        data["sigma"] = (("chain", "draw"), np.full((chains, draws), residual_sd))
    return xr.Dataset(data, coords=coords)


def row(table, group: str, measure_start: str):
    hits = table[(table["group"] == group) & table["measure"].str.startswith(measure_start)]
    assert len(hits) == 1, table
    return hits.iloc[0]


def test_pastes_conditional_icc_from_lme4_reml_variances():
    # lmer(strength ~ 1 + (1 | batch/cask), Pastes) (REML): tests/refs/lme4/pastes_nested.json.
    # R: v <- as.data.frame(VarCorr(m)); (vb + vc) / (vb + vc + ve) -> 0.9370 (cask share 0.7831)
    ref = load_ref("lme4", "pastes_nested")["variance_components"]
    v_batch = ref["groups"]["batch"]["sd"]["(Intercept)"] ** 2
    v_cask = ref["groups"]["cask:batch"]["sd"]["(Intercept)"] ** 2
    v_res = ref["residual_sd"] ** 2
    spec = parse_formula("strength ~ 1 + (1 | batch/cask)")
    post = fake_posterior(spec, {"batch": v_batch, "batch:cask": v_cask}, math.sqrt(v_res))
    table = tables.icc(post, spec)
    total = v_batch + v_cask + v_res
    assert row(table, "batch:cask", "share")["mean"] == pytest.approx(v_cask / total)  # 0.783
    conditional = row(table, "batch:cask", "conditional")
    # Stata: level cask|batch = (var(batch) + var(cask)) / total
    assert conditional["mean"] == pytest.approx((v_batch + v_cask) / total)
    assert conditional["mean"] == pytest.approx(0.937, abs=5e-4)
    assert conditional["measure"] == "conditional (Stata: cask|batch)"
    assert row(table, "batch", "share")["mean"] == pytest.approx(v_batch / total)
    assert set(table["measure"]) == {"share", "conditional (Stata: cask|batch)"}  # batch: one row


@pytest.mark.parametrize(
    ("variances", "residual", "outer_icc", "inner_icc"),
    [
        # Stata's own estat icc output after 'mixed EoYLitAC treat || School_ID: || class_ID:'
        # (Statalist, 2019): School_ID 0.049949, class_ID|School_ID 0.1479482.
        ((31.35756, 61.52315), 534.9115, 0.049949, 0.1479482),
        # 'mixed gsp ... || region: || state:' on webuse productivity (Stata's ICC page):
        # region 0.159893; state|region = (.0014506 + .0062757) / total.
        ((0.0014506, 0.0062757), 0.0013461, 0.159893, 0.851627),
    ],
)
def test_matches_stata_estat_icc_output(variances, residual, outer_icc, inner_icc):
    spec = from_stata("mixed y || school: || class:")
    post = fake_posterior(spec, dict(zip(("school", "school:class"), variances, strict=True)), math.sqrt(residual))
    table = tables.icc(post, spec)
    assert row(table, "school", "share")["mean"] == pytest.approx(outer_icc, abs=5e-6)
    assert row(table, "school:class", "conditional (Stata: class|school)")["mean"] == pytest.approx(inner_icc, abs=5e-6)


def test_three_levels_add_every_level_above():
    spec = parse_formula("y ~ 1 + (1 | district/school/class)")
    v = {"district": 1.0, "district:school": 2.0, "district:school:class": 3.0}
    table = tables.icc(fake_posterior(spec, v, 2.0), spec)
    assert row(table, "district:school", "conditional (Stata: school|district)")["mean"] == pytest.approx(3 / 10)
    assert row(table, "district:school:class", "conditional (Stata: class|school|district)")["mean"] == pytest.approx(6 / 10)
    assert row(table, "district:school:class", "share")["mean"] == pytest.approx(3 / 10)


def test_latent_scale_for_logit_as_stata_melogit():
    spec = from_stata("melogit y || school: || class:")
    table = tables.icc(fake_posterior(spec, {"school": 0.5, "school:class": 1.5}), spec)
    assert row(table, "school:class", "conditional")["mean"] == pytest.approx(2.0 / (2.0 + math.pi**2 / 3))
    assert "latent scale" in table.attrs["scale"]


def test_crossed_factors_keep_the_share_only():
    spec = parse_formula("diameter ~ 1 + (1 | plate) + (1 | sample)")
    table = tables.icc(fake_posterior(spec, {"plate": 0.7, "sample": 3.7}, 0.55), spec)
    assert list(table["measure"]) == ["share", "share"]
    assert table.attrs["measures"] == "share: var(g) / total variance (crossed factors have only this)"


def test_one_factor_note_is_the_share_alone():
    spec = parse_formula("diameter ~ 1 + (1 | plate)")
    table = tables.icc(fake_posterior(spec, {"plate": 0.7}, 0.55), spec)
    assert table.attrs["measures"] == "share: var(g) / total variance"


def test_interval_comes_from_the_draws():
    spec = parse_formula("strength ~ 1 + (1 | batch/cask)")
    table = tables.icc(fake_posterior(spec, {"batch": 1.7, "batch:cask": 8.4}, 0.8, jitter=0.2), spec)
    cond = row(table, "batch:cask", "conditional")
    assert cond["lower"] < cond["mean"] < cond["upper"] < 1


def test_nesting_read_from_the_data():
    # unique class ids: (1|school) + (1|class) is nested by the data, not by the variables
    school = np.repeat(np.arange(4), 6)
    klass = np.repeat(np.arange(8), 3)
    assert ancestors_from_codes({"school": school, "class": klass}) == {"school": (), "class": ("school",)}
    # Penicillin: every sample on every plate -> crossed
    df = hb.datasets.load("Penicillin")
    codes = {c: df[c].astype("category").cat.codes.to_numpy() for c in ("plate", "sample")}
    assert ancestors_from_codes(codes) == {"plate": (), "sample": ()}
    spec = parse_formula("y ~ 1 + (1 | school) + (1 | class)")
    table = tables.icc(fake_posterior(spec, {"school": 1.0, "class": 1.0}, 1.0), spec, nested_in={"class": ("school",)})
    assert row(table, "class", "conditional (Stata: class|school)")["mean"] == pytest.approx(2 / 3)


def test_spec_nesting_and_labels():
    spec = parse_formula("y ~ 1 + (1 | a/b) + (1 | c)")
    assert ancestors_from_spec(spec) == {"a": (), "a:b": ("a",), "c": ()}
    assert stata_level_label("a:b", ["a"]) == "b|a"
    assert stata_level_label("class", ["school"]) == "class|school"


def test_summary_section_labels_both_measures():
    spec = parse_formula("strength ~ 1 + (1 | batch/cask)")
    section = icc_section(tables.icc(fake_posterior(spec, {"batch": 1.7, "batch:cask": 8.4}, 0.8), spec))
    text = section.table.to_string() + section.note
    assert "conditional (Stata: cask|batch)" in text and "share" in text
    assert "as Stata's estat icc" in section.note


def test_fit_reads_nesting_from_the_data():
    # (1|batch) + (1|sample): sample labels are unique across batches, nested by the data
    from hierbayes.design import build_design
    from hierbayes.results.icc_levels import ancestors_of

    spec = parse_formula("strength ~ 1 + (1 | batch) + (1 | sample)")
    design = build_design(spec, hb.datasets.load("Pastes"))
    nesting = ancestors_of(spec, design.groups)
    assert nesting == {"batch": (), "sample": ("batch",)}
    table = tables.icc(fake_posterior(spec, {"batch": 1.0, "sample": 2.0}, 1.0), spec, nested_in=nesting)
    assert row(table, "sample", "conditional (Stata: sample|batch)")["mean"] == pytest.approx(0.75)


def test_a_slope_shared_by_nested_terms_is_named_once_in_at():
    rng = np.random.default_rng(1)
    df = pd.DataFrame({"a": np.repeat(list("pqrs"), 12), "b": np.tile(list("uvw"), 16), "x": rng.normal(size=48)})
    df["y"] = df["x"] + rng.normal(size=48)
    fit = hb.Model("y ~ x + (x | a/b)", df).fit(backend="prior", draws=20, chains=1, random_seed=1, progressbar=False)
    conditional = row(fit.icc(), "a:b", "conditional")
    assert conditional["at"] == "at x = 0"
