"""R's formula language as lme4 users write it: a/b, %in%, ^, constant trials, relevel, ordered.

Reference matrices are R 4.2.2's ``model.matrix`` on the small frames below (the same values
as ``FRAME`` / ``ORDERED`` here), made with::

    d <- data.frame(a = factor(rep(c("p", "q"), 6)), b = factor(rep(c("u", "v", "w"), each = 4)),
                    x = c(0.5, 1.2, -0.3, 2.0, 1.1, 0.0, -1.4, 0.8, 1.9, -0.7, 0.3, 1.5),
                    z = c(3, 1, 4, 1, 5, 9, 2, 6, 5, 3, 5, 8))
    o <- data.frame(o = ordered(c("lo", "mid", "hi", "top", "lo", "hi", "mid", "top"),
                                levels = c("lo", "mid", "hi", "top")), x = 1:8)
    m <- model.matrix(~ (a + b + x)^2, d); colnames(m); sprintf("%.12g", m)
    # likewise ~ x %in% a, ~ a/x, ~ (a + b)/z, ~ a*b - a:b (d); ~ o, ~ o + o:x (o);
    # ~ ordered(x) on data.frame(x = c(2, 4, 6, 2, 4, 6))

hierbayes names columns as formulae does (``a[q]``, ``o[.L]``, ``Intercept``); ``r_name``
maps them to R's (``aq``, ``o.L``, ``(Intercept)``).
"""

from __future__ import annotations

import pickle
import re

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import hierbayes as hb
from hierbayes.design import build_design
from hierbayes.errors import DataError, SpecError
from hierbayes.spec import FixedPart, ModelSpec, Response, parse_formula

FRAME = pd.DataFrame(
    {
        "a": ["p", "q"] * 6,
        "b": ["u"] * 4 + ["v"] * 4 + ["w"] * 4,
        "x": [0.5, 1.2, -0.3, 2.0, 1.1, 0.0, -1.4, 0.8, 1.9, -0.7, 0.3, 1.5],
        "z": [3.0, 1, 4, 1, 5, 9, 2, 6, 5, 3, 5, 8],
        "y": np.linspace(0.0, 1.0, 12),
    }
)
ORDERED = pd.DataFrame(
    {
        "o": pd.Categorical(
            ["lo", "mid", "hi", "top", "lo", "hi", "mid", "top"],
            categories=["lo", "mid", "hi", "top"],
            ordered=True,
        ),
        "x": np.arange(1.0, 9.0),
        "y": np.linspace(0.0, 1.0, 8),
    }
)
NUMBERS = pd.DataFrame({"x": [2.0, 4, 6, 2, 4, 6], "y": np.linspace(0.0, 1.0, 6)})

# formula right-hand side -> (R's column names, R's model matrix)
R_MODEL_MATRIX: dict[str, tuple[list[str], list[list[float]]]] = {
    "(a + b + x)^2": (
        ["(Intercept)", "aq", "bv", "bw", "x", "aq:bv", "aq:bw", "aq:x", "bv:x", "bw:x"],
        [
            [1, 0, 0, 0, 0.5, 0, 0, 0, 0, 0],
            [1, 1, 0, 0, 1.2, 0, 0, 1.2, 0, 0],
            [1, 0, 0, 0, -0.3, 0, 0, -0, -0, -0],
            [1, 1, 0, 0, 2, 0, 0, 2, 0, 0],
            [1, 0, 1, 0, 1.1, 0, 0, 0, 1.1, 0],
            [1, 1, 1, 0, 0, 1, 0, 0, 0, 0],
            [1, 0, 1, 0, -1.4, 0, 0, -0, -1.4, -0],
            [1, 1, 1, 0, 0.8, 1, 0, 0.8, 0.8, 0],
            [1, 0, 0, 1, 1.9, 0, 0, 0, 0, 1.9],
            [1, 1, 0, 1, -0.7, 0, 1, -0.7, -0, -0.7],
            [1, 0, 0, 1, 0.3, 0, 0, 0, 0, 0.3],
            [1, 1, 0, 1, 1.5, 0, 1, 1.5, 0, 1.5],
        ],
    ),
    "x %in% a": (
        ["(Intercept)", "x:ap", "x:aq"],
        [
            [1, 0.5, 0],
            [1, 0, 1.2],
            [1, -0.3, -0],
            [1, 0, 2],
            [1, 1.1, 0],
            [1, 0, 0],
            [1, -1.4, -0],
            [1, 0, 0.8],
            [1, 1.9, 0],
            [1, -0, -0.7],
            [1, 0.3, 0],
            [1, 0, 1.5],
        ],
    ),
    "a/x": (
        ["(Intercept)", "aq", "ap:x", "aq:x"],
        [
            [1, 0, 0.5, 0],
            [1, 1, 0, 1.2],
            [1, 0, -0.3, -0],
            [1, 1, 0, 2],
            [1, 0, 1.1, 0],
            [1, 1, 0, 0],
            [1, 0, -1.4, -0],
            [1, 1, 0, 0.8],
            [1, 0, 1.9, 0],
            [1, 1, -0, -0.7],
            [1, 0, 0.3, 0],
            [1, 1, 0, 1.5],
        ],
    ),
    # R: colnames(model.matrix(~ poly(x, 2) + poly(x, 2):a, FRAME)), values rounded to 1e-8
    "poly(x, 2) + poly(x, 2):a": (
        ["(Intercept)", "poly(x, 2)1", "poly(x, 2)2", "poly(x, 2)1:aq", "poly(x, 2)2:aq"],
        [
            [1, -0.02159447, -0.28338596, 0, 0],
            [1, 0.17995394, -0.10898565, 0.17995394, -0.10898565],
            [1, -0.25193551, -0.15124991, 0, 0],
            [1, 0.41029498, 0.4217797, 0.41029498, 0.4217797],
            [1, 0.15116131, -0.15047251, 0, 0],
            [1, -0.16555762, -0.24223226, -0.16555762, -0.24223226],
            [1, -0.56865444, 0.60771382, 0, 0],
            [1, 0.06478342, -0.24178804, 0.06478342, -0.24178804],
            [1, 0.38150235, 0.33609941, 0, 0],
            [1, -0.36710603, 0.0473984, -0.36710603, 0.0473984],
            [1, -0.07917973, -0.28349702, 0, 0],
            [1, 0.26633183, 0.04862002, 0.26633183, 0.04862002],
        ],
    ),
    "(a + b)/z": (
        ["(Intercept)", "aq", "bv", "bw", "ap:bu:z", "aq:bu:z", "ap:bv:z", "aq:bv:z", "ap:bw:z", "aq:bw:z"],
        [
            [1, 0, 0, 0, 3, 0, 0, 0, 0, 0],
            [1, 1, 0, 0, 0, 1, 0, 0, 0, 0],
            [1, 0, 0, 0, 4, 0, 0, 0, 0, 0],
            [1, 1, 0, 0, 0, 1, 0, 0, 0, 0],
            [1, 0, 1, 0, 0, 0, 5, 0, 0, 0],
            [1, 1, 1, 0, 0, 0, 0, 9, 0, 0],
            [1, 0, 1, 0, 0, 0, 2, 0, 0, 0],
            [1, 1, 1, 0, 0, 0, 0, 6, 0, 0],
            [1, 0, 0, 1, 0, 0, 0, 0, 5, 0],
            [1, 1, 0, 1, 0, 0, 0, 0, 0, 3],
            [1, 0, 0, 1, 0, 0, 0, 0, 5, 0],
            [1, 1, 0, 1, 0, 0, 0, 0, 0, 8],
        ],
    ),
    "a*b - a:b": (
        ["(Intercept)", "aq", "bv", "bw"],
        [
            [1, 0, 0, 0],
            [1, 1, 0, 0],
            [1, 0, 0, 0],
            [1, 1, 0, 0],
            [1, 0, 1, 0],
            [1, 1, 1, 0],
            [1, 0, 1, 0],
            [1, 1, 1, 0],
            [1, 0, 0, 1],
            [1, 1, 0, 1],
            [1, 0, 0, 1],
            [1, 1, 0, 1],
        ],
    ),
    "o": (
        ["(Intercept)", "o.L", "o.Q", "o.C"],
        [
            [1, -0.67082039325, 0.5, -0.22360679775],
            [1, -0.22360679775, -0.5, 0.67082039325],
            [1, 0.22360679775, -0.5, -0.67082039325],
            [1, 0.67082039325, 0.5, 0.22360679775],
            [1, -0.67082039325, 0.5, -0.22360679775],
            [1, 0.22360679775, -0.5, -0.67082039325],
            [1, -0.22360679775, -0.5, 0.67082039325],
            [1, 0.67082039325, 0.5, 0.22360679775],
        ],
    ),
    "o + o:x": (
        ["(Intercept)", "o.L", "o.Q", "o.C", "olo:x", "omid:x", "ohi:x", "otop:x"],
        [
            [1, -0.67082039325, 0.5, -0.22360679775, 1, 0, 0, 0],
            [1, -0.22360679775, -0.5, 0.67082039325, 0, 2, 0, 0],
            [1, 0.22360679775, -0.5, -0.67082039325, 0, 0, 3, 0],
            [1, 0.67082039325, 0.5, 0.22360679775, 0, 0, 0, 4],
            [1, -0.67082039325, 0.5, -0.22360679775, 5, 0, 0, 0],
            [1, 0.22360679775, -0.5, -0.67082039325, 0, 0, 6, 0],
            [1, -0.22360679775, -0.5, 0.67082039325, 0, 7, 0, 0],
            [1, 0.67082039325, 0.5, 0.22360679775, 0, 0, 0, 8],
        ],
    ),
    "ordered(x)": (
        ["(Intercept)", "ordered(x).L", "ordered(x).Q"],
        [
            [1, -0.707106781187, 0.408248290464],
            [1, -7.85046229342e-17, -0.816496580928],
            [1, 0.707106781187, 0.408248290464],
            [1, -0.707106781187, 0.408248290464],
            [1, -7.85046229342e-17, -0.816496580928],
            [1, 0.707106781187, 0.408248290464],
        ],
    ),
}
# R: attr(terms(~ (a + b + x)^2), "term.labels"), and so on
R_TERM_LABELS: dict[str, list[str]] = {
    "(a + b + x)^2": ["a", "b", "x", "a:b", "a:x", "b:x"],
    "x %in% a": ["x:a"],
    "a/x": ["a", "a:x"],
    "(a + b)/z": ["a", "b", "a:b:z"],
    "poly(x, 2) + poly(x, 2):a": ["poly(x, 2)", "poly(x, 2):a"],
    "a*b - a:b": ["a", "b"],
    "o": ["o"],
    "o + o:x": ["o", "o:x"],
    "ordered(x)": ["ordered(x)"],
}
R_DATA = {"o": ORDERED, "o + o:x": ORDERED, "ordered(x)": NUMBERS}


def r_name(name: str) -> str:
    """R's name of a hierbayes column: ``a[q]:x`` -> ``aq:x``, ``Intercept`` -> ``(Intercept)``."""
    return "(Intercept)" if name == "Intercept" else re.sub(r"\[([^\]]*)\]", r"\1", name)


def design_of(formula: str, data: pd.DataFrame, **kwargs: object) -> hb.design.Design:
    return build_design(parse_formula(formula, **kwargs), data)


@pytest.mark.parametrize("rhs", list(R_MODEL_MATRIX))
def test_columns_match_r_model_matrix(rhs: str) -> None:
    names, values = R_MODEL_MATRIX[rhs]
    design = design_of(f"y ~ {rhs}", R_DATA.get(rhs, FRAME))
    assert list(design.spec.fixed.terms) == R_TERM_LABELS[rhs]
    ours = [r_name(n) for n in design.fixed_names]
    assert ours == names
    np.testing.assert_allclose(design.X, np.asarray(values, dtype=float), atol=1e-8)
    new = design.encoder.encode_new(R_DATA.get(rhs, FRAME).drop(columns="y"))
    np.testing.assert_allclose(new.X, design.X, atol=1e-12)


def test_poly_contrasts_are_r_contr_poly() -> None:
    from hierbayes.design.rterms import poly_contrast_matrix

    # R: contr.poly(6)[, 4:5]  (columns ^4, ^5)
    expected = [
        [0.1889822, -0.06299408], [-0.5669467, 0.31497039], [0.3779645, -0.62994079],
        [0.3779645, 0.62994079], [-0.5669467, -0.31497039], [0.1889822, 0.06299408],
    ]
    np.testing.assert_allclose(poly_contrast_matrix(6)[:, 3:], expected, atol=1e-7)
    frame = pd.DataFrame({"y": np.arange(12.0), "g": list("abcdef") * 2})
    names = design_of("y ~ ordered(g)", frame).fixed_names
    assert names[-2:] == ("ordered(g)[^4]", "ordered(g)[^5]")


# ------------------------------------------------------------------------- Orthodont


# R: cat(nlme::Orthodont$distance, sep = ", ")  (rows M01 ages 8-14, M02, ..., M16, F01, ..., F11)
ORTHODONT_DISTANCE = [
    26, 25, 29, 31, 21.5, 22.5, 23, 26.5, 23, 22.5, 24, 27.5, 25.5, 27.5, 26.5, 27, 20, 23.5,
    22.5, 26, 24.5, 25.5, 27, 28.5, 22, 22, 24.5, 26.5, 24, 21.5, 24.5, 25.5, 23, 20.5, 31, 26,
    27.5, 28, 31, 31.5, 23, 23, 23.5, 25, 21.5, 23.5, 24, 28, 17, 24.5, 26, 29.5, 22.5, 25.5,
    25.5, 26, 23, 24.5, 26, 30, 22, 21.5, 23.5, 25, 21, 20, 21.5, 23, 21, 21.5, 24, 25.5, 20.5,
    24, 24.5, 26, 23.5, 24.5, 25, 26.5, 21.5, 23, 22.5, 23.5, 20, 21, 21, 22.5, 21.5, 22.5, 23,
    25, 23, 23, 23.5, 24, 20, 21, 22, 21.5, 16.5, 19, 19, 19.5, 24.5, 25, 28, 28,
]
# R: summary(lme4::lmer(distance ~ Sex/age + (1|Subject), nlme::Orthodont))$coefficients
ORTHODONT_LMER = {
    "Intercept": 16.3406250,
    "Sex[Female]": 1.0321023,
    "Sex[Male]:age": 0.7843750,
    "Sex[Female]:age": 0.4795455,
}


def orthodont() -> pd.DataFrame:
    """nlme's Orthodont (27 children, ages 8-14; R's level order Male, Female)."""
    subjects = [f"M{i:02d}" for i in range(1, 17)] + [f"F{i:02d}" for i in range(1, 12)]
    rows = [(s, age) for s in subjects for age in (8, 10, 12, 14)]
    sex = ["Male" if s.startswith("M") else "Female" for s, _ in rows]
    age = np.array([a for _, a in rows], dtype=float)
    return pd.DataFrame(
        {
            "distance": np.asarray(ORTHODONT_DISTANCE, dtype=float),
            "age": age,
            "Subject": [s for s, _ in rows],
            "Sex": pd.Categorical(sex, categories=["Male", "Female"]),
        }
    )


def test_orthodont_sex_nested_age_builds_four_columns_named_as_lme4() -> None:
    # R: colnames(model.matrix(~ Sex/age, nlme::Orthodont)); rows 1 (M01, age 8), 68 (F01, 14)
    model = hb.Model("distance ~ Sex/age + (1|Subject)", orthodont())
    names = model.design.fixed_names
    lme4_names = ["(Intercept)", "SexFemale", "SexMale:age", "SexFemale:age"]
    assert [r_name(n) for n in names] == lme4_names
    np.testing.assert_array_equal(model.design.X[0], [1, 0, 8, 0])
    np.testing.assert_array_equal(model.design.X[67], [1, 1, 0, 14])
    table = model.priors.to_frame()
    assert list(table["term"][table["class"] == "b"]) == list(names[1:])
    assert model.spec.to_formula() == "distance ~ Sex + Sex:age + (1 | Subject)"


def test_hand_built_spec_with_nesting_is_expanded_before_formulae() -> None:
    spec = ModelSpec(Response("distance"), FixedPart(True, ("Sex/age",)))
    design = build_design(spec, orthodont())
    assert design.X.shape == (108, 4) and len(design.fixed_names) == 4


def test_names_that_disagree_with_columns_are_a_spec_error() -> None:
    from hierbayes.design.rterms import column_names

    with pytest.raises(SpecError, match=r"fixed part 'a/b': the expansion gives 3 columns but 2"):
        column_names([["Intercept"], ["a"]], 3, "the fixed part 'a/b'")


# ------------------------------------------------------------------------------- powers


def test_power_inside_i_is_arithmetic() -> None:
    assert parse_formula("y ~ I(x^2)") == parse_formula("y ~ I(x**2)").__class__(
        **{**parse_formula("y ~ I(x**2)").__dict__, "source": "y ~ I(x^2)"}
    )
    design = design_of("y ~ x + I(x^2) + log(z^2)", FRAME)
    np.testing.assert_allclose(design.X[:, 2], FRAME["x"] ** 2)
    np.testing.assert_allclose(design.X[:, 3], np.log(FRAME["z"] ** 2))
    # columns are named as R names them, whichever power the formula wrote
    assert design.fixed_names[2:] == ("I(x^2)", "log(z^2)")
    assert design_of("y ~ I(x ** 2) + I(x**3)", FRAME).fixed_names[1:] == ("I(x^2)", "I(x^3)")


@given(st.text(alphabet="ab*^ []", max_size=12))
def test_r_power_text_rewrites_powers_outside_level_labels(text: str) -> None:
    from hierbayes.spec.terms import r_power_text

    out = r_power_text(text)
    brackets = re.findall(r"\[[^\]]*\]", text)
    assert re.findall(r"\[[^\]]*\]", out) == brackets  # level labels untouched
    assert not any("**" in part for part in re.split(r"\[[^\]]*\]", out))


def test_power_of_one_variable_says_what_to_write() -> None:
    with pytest.raises(SpecError, match=r"'x\^2' is 'x' crossed with itself.*write I\(x\^2\)"):
        parse_formula("y ~ x^2")
    with pytest.raises(SpecError, match=r"after '\^'.*for arithmetic write I\(x\^y\)"):
        parse_formula("y ~ x^y")


# ------------------------------------------------------------------- property tests

FACTORS = ["a", "b"]
_rng = np.random.default_rng(5)
WIDE = pd.DataFrame(
    {
        "a": _rng.choice(["p", "q"], 80),
        "b": _rng.choice(["u", "v", "w"], 80),
        "x": _rng.normal(size=80),
        "z": _rng.normal(size=80),
        "y": _rng.normal(size=80),
    }
)
NUMERIC = ["x", "z"]
VARIABLE_SETS = st.lists(st.sampled_from(FACTORS + NUMERIC), min_size=2, max_size=4, unique=True)
PROPERTY = settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def written_out(variables: list[str], order: int) -> str:
    """All terms of ``variables`` up to ``order``-way interactions, written with '+' and ':'."""
    from itertools import combinations

    terms = [":".join(c) for k in range(1, order + 1) for c in combinations(variables, k)]
    return " + ".join(terms)


@PROPERTY
@given(VARIABLE_SETS, st.integers(1, 3), st.sampled_from(["^", "**"]))
def test_power_of_a_sum_is_all_interactions_up_to_its_order(
    variables: list[str], order: int, op: str
) -> None:
    powered = design_of(f"y ~ ({' + '.join(variables)}){op}{order}", WIDE)
    written = design_of(f"y ~ {written_out(variables, order)}", WIDE)
    assert powered.fixed_names == written.fixed_names
    np.testing.assert_array_equal(powered.X, written.X)


@PROPERTY
@given(st.sampled_from(FACTORS + NUMERIC), st.sampled_from(FACTORS + NUMERIC))
def test_nesting_is_main_effect_plus_interaction(outer: str, inner: str) -> None:
    if outer == inner:
        return
    nested = design_of(f"y ~ {outer}/{inner}", WIDE)
    written = design_of(f"y ~ {outer} + {outer}:{inner}", WIDE)
    within = design_of(f"y ~ {outer} + {inner} %in% {outer}", WIDE)
    assert nested.fixed_names == written.fixed_names
    np.testing.assert_array_equal(nested.X, written.X)
    # 'inner %in% outer' is the term inner:outer: the same columns, named in that order
    by_factors = {_factors(n): j for j, n in enumerate(written.fixed_names)}
    order = [by_factors[_factors(n)] for n in within.fixed_names]
    np.testing.assert_array_equal(within.X, written.X[:, order])


def _factors(name: str) -> tuple[str, ...]:
    return tuple(sorted(name.split(":")))


# ------------------------------------------------------------------------------ trials


def test_constant_trials() -> None:
    data = FRAME.assign(k=[1, 2, 3, 4, 5, 6, 7, 0, 1, 2, 3, 4])
    constant = design_of("k | trials(7) ~ x", data, family="binomial")
    by_failures = design_of("cbind(k, 7 - k) ~ x", data, family="binomial")
    np.testing.assert_array_equal(constant.trials, np.full(12, 7))
    np.testing.assert_array_equal(by_failures.trials, constant.trials)
    new = constant.encoder.encode_new(data.drop(columns="k").iloc[:3])
    np.testing.assert_array_equal(new.trials, [7, 7, 7])
    with pytest.raises(DataError, match="trials"):
        design_of("k | trials(5) ~ x", data, family="binomial")


# ---------------------------------------------------------------------- reference levels


def test_relevel_sets_the_reference_level() -> None:
    positional = design_of('y ~ relevel(b, "v")', FRAME)
    keyword = design_of("y ~ relevel(b, ref='v')", FRAME)
    treatment = design_of('y ~ C(b, Treatment("v"))', FRAME)
    assert positional.fixed_names == ("Intercept", 'relevel(b, "v")[u]', 'relevel(b, "v")[w]')
    np.testing.assert_array_equal(positional.X, keyword.X)
    np.testing.assert_array_equal(positional.X, treatment.X)
    np.testing.assert_array_equal(positional.X[:, 1], FRAME["b"] == "u")
    # new data without the reference level are encoded with the training levels
    new = positional.encoder.encode_new(FRAME.iloc[[0, 11]])
    np.testing.assert_array_equal(new.X, [[1, 1, 0], [1, 0, 1]])


def test_relevel_to_an_unknown_level_lists_the_levels() -> None:
    levels = r"its levels are \['u', 'v', 'w'\]"
    with pytest.raises(DataError, match=r"'V' is not a level of 'b'; " + levels):
        design_of('y ~ relevel(b, "V")', FRAME)
    with pytest.raises(DataError, match=r"'V' is not a level of 'b'"):
        design_of('y ~ relevel(factor(b), "V")', FRAME)


def test_relevel_without_a_reference_says_how_to_write_it() -> None:
    usage = r'relevel takes a factor and a reference level; write relevel\(b, ref="level"\)'
    with pytest.raises(SpecError, match=usage):
        design_of("y ~ relevel(b)", FRAME)
    with pytest.raises(SpecError, match="must be a quoted level or a number"):
        design_of("y ~ relevel(b, x)", FRAME)


def test_relevel_of_a_text_column_is_not_asked_for_numbers() -> None:
    design = design_of("y ~ relevel(a, 'q') + (1 | b)", FRAME)
    assert design.fixed_names == ("Intercept", "relevel(a, 'q')[p]")


# ----------------------------------------------------------------------- ordered factors


def test_ordered_column_gets_polynomial_contrasts_and_keeps_them_on_reload() -> None:
    design = design_of("y ~ o", ORDERED)
    assert design.fixed_names == ("Intercept", "o[.L]", "o[.Q]", "o[.C]")
    unordered = ORDERED.assign(o=ORDERED["o"].cat.as_unordered())
    assert design_of("y ~ o", unordered).fixed_names == ("Intercept", "o[mid]", "o[hi]", "o[top]")
    again = pickle.loads(pickle.dumps(design.encoder))
    assert again.fixed_names == design.fixed_names
    plain = pickle.loads(pickle.dumps(design_of("y ~ o", unordered).encoder))
    assert plain.fixed_names == ("Intercept", "o[mid]", "o[hi]", "o[top]")
    new = design.encoder.encode_new(ORDERED.iloc[[2, 3]])
    np.testing.assert_allclose(new.X, design.X[[2, 3]])


def test_nesting_inside_a_group_term_is_expanded_as_in_the_fixed_part() -> None:
    # the rows twice: 27 subjects x 4 columns on 108 rows is refused beside a residual sd (lmer's check)
    twice = pd.concat([orthodont(), orthodont()], ignore_index=True)
    design = design_of("distance ~ 1 + (Sex/age | Subject)", twice)
    block = design.groups[0]
    assert block.columns == ("Intercept", "Sex[Female]", "Sex[Male]:age", "Sex[Female]:age")
    assert block.X.shape == (216, 4)


def test_treatment_reference_that_is_not_a_level_lists_the_levels() -> None:
    levels = r"its levels are \['u', 'v', 'w'\]"
    with pytest.raises(DataError, match=r"'x' is not a level of 'b'; " + levels):
        design_of('y ~ C(b, Treatment("x"))', FRAME)


@pytest.mark.slow
def test_orthodont_sex_nested_age_matches_lmer() -> None:
    from conftest import fit_quiet

    fit = fit_quiet(hb.Model("distance ~ Sex/age + (1|Subject)", orthodont()))
    table = fit.fixef()
    for term, estimate in ORTHODONT_LMER.items():
        z = (table.loc[term, "mean"] - estimate) / table.loc[term, "sd"]
        assert abs(z) < 0.5, (term, z)


def test_levels_given_with_c_set_the_order() -> None:
    # R: d <- data.frame(s = rep(c("lo", "mid", "hi"), 2))
    #    model.matrix(~ ordered(s, levels = c("lo", "mid", "hi")), d)[1:3, 2:3]  (.L, .Q)
    #    colnames(model.matrix(~ factor(s, levels = c("mid", "lo", "hi")), d))[2:3]: lo, hi
    data = pd.DataFrame({"y": np.arange(6.0), "s": ["lo", "mid", "hi"] * 2})
    poly = design_of('y ~ ordered(s, levels=c("lo", "mid", "hi"))', data)
    expected = [
        [-0.707106781187, 0.408248290464], [0, -0.816496580928], [0.707106781187, 0.408248290464]
    ]
    np.testing.assert_allclose(poly.X[:3, 1:], expected, atol=1e-11)
    treatment = design_of('y ~ factor(s, levels=c("mid", "lo", "hi"))', data)
    assert [n.rsplit("[", 1)[1] for n in treatment.fixed_names[1:]] == ["lo]", "hi]"]
    new = treatment.encoder.encode_new(data.iloc[[1, 2]])  # a subset of the levels
    np.testing.assert_array_equal(new.X, [[1, 0, 0], [1, 0, 1]])
    with pytest.raises(DataError, match=r"value\(s\) \['hi'\] are not among the levels given"):
        design_of('y ~ ordered(s, levels=c("lo", "mid"))', data)


@pytest.mark.parametrize(("term", "message"), [
    ("cs(c)", "'cs(c)': category-specific (nominal) effects, brms' cs() and ordinal's nominal =, are not available"),
    ("mo(c)", "'mo(c)': monotonic effects (brms' mo()) are not available: use c as a factor, C(c), or as a number"),
    ("s(x, k = 5)", "'s(x, k = 5)': smooth terms (mgcv's and brms' s()) are not available: a spline basis, bs(x, df=4)"),
    ("gp(x)", "'gp(x)': Gaussian-process terms (brms' gp()) are not available"),
    # fcor(M) had been read as a function of a column "M" not in the data
    ("fcor(M)", "'fcor(M)': a fixed residual covariance matrix (brms' fcor()) is not available; residuals="),
])
def test_brms_special_terms_say_what_is_not_available(term, message):
    # cs(contact) had been told to convert its column with pd.to_numeric, then that cs was unknown
    with pytest.raises(hb.errors.FormulaSyntaxError, match=re.escape(message)):
        hb.Model(f"y ~ x + {term} + (1 | g)", pd.DataFrame({"y": [1.0, 2.0], "x": [0.0, 1.0], "c": [1, 2], "g": ["a", "b"]}))
