"""Tests of the design stage (ModelSpec + DataFrame -> Design) and the bundled data sets."""

from __future__ import annotations

import pickle
import time
import tracemalloc
import warnings

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import hierbayes as hb
from hierbayes import datasets, families
from hierbayes.design import Design, GroupBlock, NewData, build_design, level_name
from hierbayes.errors import DataError, SpecError
from hierbayes.spec.ir import FixedPart, GroupTerm, ModelSpec, Response

# ------------------------------------------------------------------------------ helpers


def spec_of(
    response: str | Response,
    terms: tuple[str, ...] = (),
    groups: tuple[GroupTerm, ...] = (),
    *,
    intercept: bool = True,
    family: str = "gaussian",
) -> ModelSpec:
    r = Response(response) if isinstance(response, str) else response
    return ModelSpec(r, FixedPart(intercept, terms), groups, family=family)


def snapshot(df: pd.DataFrame) -> tuple:
    """Everything about a DataFrame that build_design must leave alone."""
    cats = {
        c: (list(df[c].cat.categories), df[c].cat.ordered)
        for c in df.columns
        if isinstance(df[c].dtype, pd.CategoricalDtype)
    }
    return (
        list(df.columns),
        list(map(str, df.dtypes)),
        list(df.index),
        pd.util.hash_pandas_object(df, index=True).to_numpy().copy(),
        cats,
    )


@pytest.fixture(scope="module")
def sleep() -> pd.DataFrame:
    return datasets.load("sleepstudy")


@pytest.fixture(scope="module")
def pastes() -> pd.DataFrame:
    return datasets.load("Pastes")


@pytest.fixture
def toy() -> pd.DataFrame:
    rng = np.random.default_rng(7)
    n = 40
    return pd.DataFrame(
        {
            "y": rng.normal(size=n),
            "x": rng.normal(size=n),
            "z": rng.normal(size=n),
            "g": np.repeat(list("abcd"), 10),
            "name": ["same"] * n,
            "obs": np.arange(n),
        }
    )


SLEEP = spec_of("Reaction", ("Days",), (GroupTerm(("Subject",), True, ("Days",)),))


# ------------------------------------------------------------------- shapes and encodings


def test_sleepstudy_shapes(sleep: pd.DataFrame) -> None:
    d = build_design(SLEEP, sleep)
    assert isinstance(d, Design)
    assert d.X.shape == (180, 2) and d.X.dtype == np.float64
    assert d.fixed_names == ("Intercept", "Days")
    assert d.has_intercept
    np.testing.assert_array_equal(d.y, sleep["Reaction"].to_numpy())
    np.testing.assert_array_equal(d.X[:, 1], sleep["Days"].to_numpy())
    np.testing.assert_array_equal(d.row_index, sleep.index.to_numpy())
    assert d.trials is None
    (block,) = d.groups
    assert isinstance(block, GroupBlock)
    assert block.codes.dtype == np.int64 and block.codes.shape == (180,)
    assert block.X.shape == (180, 2)  # n x k, never n x levels
    assert block.columns == ("Intercept", "Days")
    assert block.n_levels == 18
    assert block.levels[:3] == ("308", "309", "310")
    np.testing.assert_array_equal(block.rows_per_level(), np.full(18, 10))
    labels = np.asarray(block.levels)[block.codes]
    np.testing.assert_array_equal(labels, sleep["Subject"].astype(str).to_numpy())


def test_pastes_nested_codes(pastes: pd.DataFrame) -> None:
    spec = spec_of("strength", (), (GroupTerm(("batch",)), GroupTerm(("batch", "cask"))))
    d = build_design(spec, pastes)
    assert d.X.shape == (60, 1) and d.fixed_names == ("Intercept",)
    batch, cask = d.groups
    assert batch.n_levels == 10 and cask.n_levels == 30
    assert cask.group == "batch:cask"
    assert cask.levels[:4] == ("A:a", "A:b", "A:c", "B:a")
    # Pastes$sample is exactly batch:cask
    np.testing.assert_array_equal(
        np.asarray(cask.levels)[cask.codes], pastes["sample"].astype(str).to_numpy()
    )
    assert cask.codes.min() == 0 and cask.codes.max() == 29
    np.testing.assert_array_equal(cask.X, np.ones((60, 1)))


def test_combination_levels_follow_categorical_order() -> None:
    df = pd.DataFrame(
        {
            "y": np.arange(8.0),
            "a": pd.Categorical(list("xxyyxxyy"), categories=["y", "x"]),
            "b": pd.Categorical(list("pqpqpqpq"), categories=["q", "p", "unused"]),
        }
    )
    d = build_design(spec_of("y", (), (GroupTerm(("a", "b")),)), df)
    assert d.groups[0].levels == ("y:q", "y:p", "x:q", "x:p")


def test_numeric_grouping_levels_sort_as_numbers() -> None:
    df = pd.DataFrame({"y": np.arange(6.0), "g": [10, 2, 1, 10, 2, 1]})
    d = build_design(spec_of("y", (), (GroupTerm(("g",)),)), df)
    assert d.groups[0].levels == ("1", "2", "10")
    np.testing.assert_array_equal(d.groups[0].codes, [2, 1, 0, 2, 1, 0])


def test_categorical_contrast_names() -> None:
    cbpp = datasets.load("cbpp")
    d = build_design(spec_of("incidence", ("period",), (GroupTerm(("herd",)),)), cbpp)
    assert d.fixed_names == ("Intercept", "period[2]", "period[3]", "period[4]")
    expected = (cbpp["period"].astype(str).to_numpy()[:, None] == ["2", "3", "4"]).astype(float)
    np.testing.assert_array_equal(d.X[:, 1:], expected)


def test_categorical_order_sets_reference_level() -> None:
    exam = datasets.load("Exam")  # schgend levels: mixed, boys, girls (R's order)
    d = build_design(spec_of("normexam", ("standLRT", "schgend")), exam)
    assert d.fixed_names == ("Intercept", "standLRT", "schgend[boys]", "schgend[girls]")


def test_no_intercept_gives_full_dummy_coding() -> None:
    cbpp = datasets.load("cbpp")
    d = build_design(spec_of("incidence", ("period",), intercept=False), cbpp)
    assert d.fixed_names == ("period[1]", "period[2]", "period[3]", "period[4]")
    np.testing.assert_array_equal(d.X.sum(axis=1), np.ones(len(cbpp)))
    assert not d.has_intercept


def test_interactions_I_and_C() -> None:
    gcse = datasets.load("gcse")
    spec = spec_of(
        "gcse", ("lrt*C(schgend)", "I(lrt**2)"), (GroupTerm(("school",), True, ("lrt",)),)
    )
    d = build_design(spec, gcse)
    assert d.fixed_names == (
        "Intercept",
        "lrt",
        "C(schgend)[2]",
        "C(schgend)[3]",
        "lrt:C(schgend)[2]",
        "lrt:C(schgend)[3]",
        "I(lrt^2)",
    )  # formulae keeps the written order of terms (R would put interactions last)
    lrt = gcse["lrt"].to_numpy()
    np.testing.assert_allclose(d.X[:, d.fixed_names.index("I(lrt^2)")], lrt**2)
    girls = (gcse["schgend"] == 3).to_numpy()
    np.testing.assert_allclose(d.X[:, d.fixed_names.index("lrt:C(schgend)[3]")], lrt * girls)
    assert d.groups[0].columns == ("Intercept", "lrt")


def test_r_factor_spelling_and_level_order() -> None:
    cbpp = datasets.load("cbpp")  # herd levels '1'..'15' in numeric order
    d = build_design(spec_of("incidence", ("factor(herd)",)), cbpp)
    assert d.fixed_names[1:4] == ("factor(herd)[2]", "factor(herd)[3]", "factor(herd)[4]")
    d2 = build_design(spec_of("incidence", ("as.factor(period)", "C(herd)")), cbpp)
    assert d2.fixed_names[1] == "as.factor(period)[2]"
    assert d2.fixed_names[4:6] == ("C(herd)[2]", "C(herd)[3]")
    np.testing.assert_array_equal(d2.encoder.encode_new(cbpp).X, d2.X)


def test_group_slopes_with_categorical_and_no_intercept() -> None:
    cbpp = datasets.load("cbpp")
    with_int = build_design(  # poisson: 15 herds x 4 columns > 56 rows is refused beside a residual sd
        spec_of("incidence", (), (GroupTerm(("herd",), True, ("period",)),), family="poisson"), cbpp
    )
    assert with_int.groups[0].columns == ("Intercept", "period[2]", "period[3]", "period[4]")
    without = build_design(
        spec_of("incidence", (), (GroupTerm(("herd",), False, ("period",)),), family="poisson"), cbpp
    )
    assert without.groups[0].columns == ("period[1]", "period[2]", "period[3]", "period[4]")


def test_response_expression_and_trials() -> None:
    cbpp = datasets.load("cbpp")
    spec = spec_of(Response("incidence", failures="size - incidence"), ("period",), family="binomial")
    d = build_design(spec, cbpp)
    np.testing.assert_array_equal(d.y, cbpp["incidence"].to_numpy())
    np.testing.assert_array_equal(d.trials, cbpp["size"].to_numpy())
    assert d.trials.dtype == np.int64
    d2 = build_design(spec_of(Response("incidence", trials="size"), ("period",), family="binomial"), cbpp)
    np.testing.assert_array_equal(d2.trials, cbpp["size"].to_numpy())
    d3 = build_design(spec_of("log(Reaction)", ("Days",)), datasets.load("sleepstudy"))
    np.testing.assert_allclose(d3.y, np.log(datasets.load("sleepstudy")["Reaction"]))


def test_missing_drop_sets_row_index(toy: pd.DataFrame) -> None:
    df = toy.copy()
    df.loc[[3, 5], "x"] = np.nan
    df.loc[5, "y"] = np.nan
    df.loc[9, "unused"] = np.nan  # columns the model does not use do not matter
    with pytest.warns(UserWarning, match=r"dropped 2 rows.*'y'.*'x'"):
        d = build_design(spec_of("y", ("x",), (GroupTerm(("g",)),)), df, missing="drop")
    assert d.n_obs == 38
    assert 3 not in d.row_index and 5 not in d.row_index and 9 in d.row_index
    assert d.groups[0].codes.shape == (38,)


def test_dataframe_is_not_modified(sleep: pd.DataFrame, toy: pd.DataFrame) -> None:
    df = toy.copy()
    df["g"] = pd.Categorical(df["g"], categories=["d", "c", "b", "a", "unused"])
    df.loc[2, "x"] = np.nan
    before = snapshot(df)
    spec = spec_of("y", ("x", "I(z**2)", "center(z)", "g"), (GroupTerm(("g",), True, ("x",)),))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        d = build_design(spec, df, missing="drop")
    after = snapshot(df)
    assert before[:3] == after[:3] and before[4] == after[4]
    np.testing.assert_array_equal(before[3], after[3])
    new = df.dropna().drop(columns="y")
    before_new = snapshot(new)
    d.encoder.encode_new(new)
    np.testing.assert_array_equal(before_new[3], snapshot(new)[3])
    s_before = snapshot(sleep)
    build_design(SLEEP, sleep)
    np.testing.assert_array_equal(s_before[3], snapshot(sleep)[3])


def test_build_is_deterministic(pastes: pd.DataFrame) -> None:
    spec = spec_of("strength", (), (GroupTerm(("batch", "cask")),))
    a, b = build_design(spec, pastes), build_design(spec, pastes.sample(frac=1, random_state=3))
    assert a.groups[0].levels == b.groups[0].levels  # levels do not depend on row order
    c = build_design(spec, pastes)
    np.testing.assert_array_equal(a.groups[0].codes, c.groups[0].codes)


# ------------------------------------------------------------------------------ encoder


def test_encode_new_round_trip_sleepstudy(sleep: pd.DataFrame) -> None:
    d = build_design(SLEEP, sleep)
    new = d.encoder.encode_new(sleep.drop(columns="Reaction"))  # no response needed
    assert isinstance(new, NewData)
    np.testing.assert_array_equal(new.X, d.X)
    (g,) = new.groups
    np.testing.assert_array_equal(g.codes, d.groups[0].codes)
    np.testing.assert_array_equal(g.X, d.groups[0].X)
    assert g.new_levels == () and (g.new_codes == -1).all()
    assert new.trials is None


def test_encode_new_round_trip_categorical_and_transforms() -> None:
    exam = datasets.load("Exam")
    spec = spec_of(
        "normexam",
        ("center(standLRT)", "schgend", "sex:vr", "I(standLRT**2)"),
        (GroupTerm(("school",), True, ("standLRT",)), GroupTerm(("school", "sex"))),
    )
    d = build_design(spec, exam)
    new = d.encoder.encode_new(exam)
    np.testing.assert_array_equal(new.X, d.X)
    for nb, b in zip(new.groups, d.groups, strict=True):
        np.testing.assert_array_equal(nb.codes, b.codes)
        np.testing.assert_array_equal(nb.X, b.X)
    # stateful transform: the training mean is used for new rows
    one = d.encoder.encode_new(exam.iloc[[0]].assign(standLRT=0.0))
    j = d.fixed_names.index("center(standLRT)")
    assert one.X[0, j] == pytest.approx(-exam["standLRT"].mean())


def test_encode_new_pastes_nested_unseen(pastes: pd.DataFrame) -> None:
    spec = spec_of("strength", (), (GroupTerm(("batch",)), GroupTerm(("batch", "cask"))))
    d = build_design(spec, pastes)
    new = d.encoder.encode_new(
        pd.DataFrame({"batch": ["A", "Z", "A", "Z", "B"], "cask": ["b", "a", "z", "a", "c"]})
    )
    batch, cask = new.groups
    np.testing.assert_array_equal(batch.codes, [0, -1, 0, -1, 1])
    assert batch.new_levels == ("Z",)
    np.testing.assert_array_equal(batch.new_codes, [-1, 0, -1, 0, -1])
    assert cask.codes[0] == d.groups[1].levels.index("A:b")
    assert cask.codes[4] == d.groups[1].levels.index("B:c")
    assert cask.new_levels == ("Z:a", "A:z")
    np.testing.assert_array_equal(cask.new_codes, [-1, 0, 1, 0, -1])
    assert cask.has_new_levels


def test_encode_new_unseen_subject_and_label_types(sleep: pd.DataFrame) -> None:
    d = build_design(SLEEP, sleep)
    new = d.encoder.encode_new(pd.DataFrame({"Days": [0, 5], "Subject": [308, 999]}))
    np.testing.assert_array_equal(new.groups[0].codes, [0, -1])
    assert new.groups[0].new_levels == ("999",)
    np.testing.assert_array_equal(new.X, [[1.0, 0.0], [1.0, 5.0]])


def test_encode_new_unseen_fixed_level_is_an_error() -> None:
    cbpp = datasets.load("cbpp")
    d = build_design(spec_of("incidence", ("period",), (GroupTerm(("herd",)),)), cbpp)
    bad = pd.DataFrame({"period": ["1", "7"], "herd": ["1", "2"]})
    with pytest.raises(DataError, match=r"'7'.*'period'.*not fit"):
        d.encoder.encode_new(bad)
    gcse = datasets.load("gcse")
    d2 = build_design(spec_of("gcse", ("C(schgend)",)), gcse)
    with pytest.raises(DataError, match=r"'4'.*'schgend'"):
        d2.encoder.encode_new(gcse.assign(schgend=4).head())


def test_encode_new_missing_column_and_values(sleep: pd.DataFrame) -> None:
    d = build_design(SLEEP, sleep)
    with pytest.raises(DataError, match=r"column 'Days'.*not in newdata.*Did you mean 'days'"):
        d.encoder.encode_new(pd.DataFrame({"days": [1], "Subject": ["308"]}))
    with pytest.raises(DataError, match=r"missing values.*'Days'"):
        d.encoder.encode_new(pd.DataFrame({"Days": [1.0, np.nan], "Subject": ["308", "309"]}))
    with pytest.raises(DataError, match=r"'Days'.*numeric"):
        d.encoder.encode_new(pd.DataFrame({"Days": ["one"], "Subject": ["308"]}))


def test_encode_new_trials() -> None:
    cbpp = datasets.load("cbpp")
    spec = spec_of(Response("incidence", trials="size"), ("period",), (GroupTerm(("herd",)),), family="binomial")
    enc = build_design(spec, cbpp).encoder
    np.testing.assert_array_equal(enc.encode_new(cbpp.head(3)).trials, cbpp["size"][:3])
    assert enc.encode_new(cbpp.head(3).drop(columns="size")).trials is None


def test_encoder_pickles(sleep: pd.DataFrame) -> None:
    d = build_design(SLEEP, sleep)
    clone = pickle.loads(pickle.dumps(d.encoder))
    new = pd.DataFrame({"Days": [3, 4], "Subject": ["372", "new"]})
    a, b = d.encoder.encode_new(new), clone.encode_new(new)
    np.testing.assert_array_equal(a.X, b.X)
    np.testing.assert_array_equal(a.groups[0].codes, b.groups[0].codes)
    assert a.groups[0].new_levels == b.groups[0].new_levels == ("new",)


@settings(max_examples=40, deadline=None)
@given(
    st.lists(
        st.tuples(st.sampled_from(["a", "b", "c", "d"]), st.integers(0, 3)),
        min_size=3,
        max_size=30,
    )
)
def test_group_codes_round_trip_property(rows: list[tuple[str, int]]) -> None:
    f1, f2 = zip(*rows, strict=True)
    df = pd.DataFrame({"y": np.arange(len(rows)), "f1": f1, "f2": f2})
    term = GroupTerm(("f1", "f2"))
    combos = {f"{a}:{b}" for a, b in rows}
    if len(combos) < 2:
        with pytest.raises(DataError, match="only 1 level"):
            build_design(spec_of("y", (), (term,)), df)
        return
    # a count response: one row per level is allowed there (a gaussian refuses it)
    d = build_design(spec_of("y", (), (term,), family="poisson"), df)
    block = d.groups[0]
    assert block.levels == tuple(sorted(combos, key=lambda s: (s[0], int(s[2:]))))
    np.testing.assert_array_equal(
        np.asarray(block.levels)[block.codes], [f"{a}:{b}" for a, b in rows]
    )
    again = d.encoder.encode_new(df.drop(columns="y"))
    np.testing.assert_array_equal(again.groups[0].codes, block.codes)


# ------------------------------------------------------------------------------- errors


def test_error_empty_dataframe(toy: pd.DataFrame) -> None:
    with pytest.raises(DataError, match="empty"):
        build_design(spec_of("y", ("x",)), toy.iloc[:0])
    with pytest.raises(DataError, match="DataFrame"):
        build_design(spec_of("y", ("x",)), {"y": [1.0]})  # type: ignore[arg-type]


def test_error_unknown_column(toy: pd.DataFrame) -> None:
    with pytest.raises(DataError, match=r"column 'xx'.*not in data.*Did you mean 'x'.*Columns"):
        build_design(spec_of("y", ("xx",)), toy)
    with pytest.raises(DataError, match=r"column 'gg'.*grouping factor.*Did you mean 'g'"):
        build_design(spec_of("y", ("x",), (GroupTerm(("gg",)),)), toy)
    with pytest.raises(DataError, match=r"'Reactoin'.*response.*Did you mean 'Reaction'"):
        build_design(spec_of("Reactoin", ("Days",)), datasets.load("sleepstudy"))


def test_error_missing_values(toy: pd.DataFrame) -> None:
    df = toy.copy()
    df.loc[[3, 5], "x"] = np.nan
    with pytest.raises(DataError, match=r"missing values.*column 'x': 2 rows \(rows 3, 5\).*missing='drop'"):
        build_design(spec_of("y", ("x",)), df)


def test_error_bad_missing_policy(toy: pd.DataFrame) -> None:
    with pytest.raises(SpecError, match=r"missing='omit'.*'error', 'drop'"):
        build_design(spec_of("y", ("x",)), toy, missing="omit")


def test_error_infinite_values(toy: pd.DataFrame) -> None:
    df = toy.copy()
    df.loc[7, "x"] = np.inf
    with pytest.raises(DataError, match=r"column 'x' has infinite values \(row 7\)"):
        build_design(spec_of("y", ("x",)), df)


def test_error_non_numeric_in_numeric_context(toy: pd.DataFrame) -> None:
    with pytest.raises(DataError, match=r"column 'g'.*not numeric.*'I\(g\*\*2\)' needs numbers"):
        build_design(spec_of("y", ("I(g**2)",)), toy)
    with pytest.raises(DataError, match=r"response 'g' must be numeric"):
        build_design(spec_of("g", ("x",)), toy)
    # a text column compared with a label is fine: I(g == 'a') is numeric 0/1
    d = build_design(spec_of("y", ("I(g == 'a')",)), toy)
    assert d.X[:, 1].sum() == 10


def test_error_fixed_factor_one_level(toy: pd.DataFrame) -> None:
    df = toy.assign(c=pd.Categorical(["a"] * 40, categories=["a", "b"]))
    with pytest.raises(DataError, match=r"factor 'c' in the fixed part has only 1 level"):
        build_design(spec_of("y", ("x", "c")), df)


def test_error_grouping_factor_one_level(toy: pd.DataFrame) -> None:
    with pytest.raises(
        DataError, match=r"grouping factor 'name' has only 1 level; a group term needs at least 2"
    ):
        build_design(spec_of("y", ("x",), (GroupTerm(("name",)),)), toy)


def test_error_levels_vs_observations(toy: pd.DataFrame) -> None:
    with pytest.raises(
        DataError,
        match=r"number of levels of each grouping factor must be < number of observations "
        r"\(problems: obs\)",
    ):
        build_design(spec_of("y", ("x",), (GroupTerm(("obs",), True, ("x",)),)), toy)
    # observation-level intercepts (overdispersion terms) are allowed where the family has no
    # residual sd (glmer's rule); beside one they are refused (lmer's), naming the factor
    toy_counts = toy.assign(y=np.arange(len(toy)) % 5)
    d = build_design(spec_of("y", ("x",), (GroupTerm(("obs",)),), family="poisson"), toy_counts)
    assert d.groups[0].n_levels == 40
    for family in ("gaussian", "lognormal", "student"):
        with pytest.raises(DataError, match=r"\(problems: obs\); with one observation per level of 'obs' its "
                                            r"effects and the residual sd \(sigma\) are one variance"):
            build_design(spec_of("y", ("x",), (GroupTerm(("obs",)),), family=family), toy.assign(y=toy["y"].abs() + 1))


def test_more_group_effects_than_observations_is_refused_beside_a_residual_sd() -> None:
    # dietox with Time read as text: (Time | Pig) became 72 pigs x 12 columns = 864 effects on
    # 861 rows, fitted without a word (lmer: "number of observations (=861) <= number of random effects")
    rng = np.random.default_rng(2)
    df = pd.DataFrame({"g": np.repeat([f"p{i}" for i in range(6)], 4), "t": np.tile(["1", "2", "3", "4"], 6)})
    df["y"] = rng.normal(size=24) + 5
    with pytest.raises(DataError, match=r"number of observations \(=24\) <= number of group effects \(=24; "
                                        r"\(1 \+ t \| g\): 6 x 4\).*column 't' holds numbers as text.*"
                                        r"df\['t'\] = pd\.to_numeric\(df\['t'\]\)"):
        hb.Model("y ~ t + (t | g)", df)
    assert hb.Model("y ~ t + (t | g)", df.assign(t=pd.to_numeric(df["t"]))).design.groups[0].X.shape[1] == 2
    counts = df.assign(y=rng.poisson(3, 24))  # no residual sd: glmer's rule, no check
    assert hb.Model("y ~ t + (t | g)", counts, family="poisson").design.groups[0].X.shape[1] == 4


def test_error_rank_deficient(toy: pd.DataFrame) -> None:
    df = toy.assign(x2=2 * toy["x"] + 1)
    with pytest.raises(
        DataError,
        match=r"rank deficient: column 'x2' is a linear combination of 'Intercept', 'x'",
    ):
        build_design(spec_of("y", ("x", "x2")), df)
    with pytest.raises(DataError, match=r"column 'zero' is all zeros"):
        build_design(spec_of("y", ("x", "zero")), toy.assign(zero=0.0))


def test_error_response_outside_support(
    toy: pd.DataFrame, monkeypatch: pytest.MonkeyPatch
) -> None:
    seen: dict[str, object] = {}

    def check_counts(y, column, trials, row_labels) -> None:
        seen.update(column=column, trials=trials, rows=row_labels)
        if (y < 0).any():
            raise DataError(f"response {column!r} must be a non-negative count")

    fam = families.Family("testcount", ("log",), "counts", check_counts)
    monkeypatch.setitem(families.FAMILIES, "testcount", fam)
    with pytest.raises(DataError, match=r"response 'y' must be a non-negative count"):
        build_design(spec_of("y", ("x",), family="testcount"), toy)
    ok = toy.assign(k=np.arange(40), n=np.full(40, 50))
    build_design(spec_of(Response("k", trials="n"), ("x",), family="testcount"), ok)
    np.testing.assert_array_equal(seen["trials"], np.full(40, 50))
    np.testing.assert_array_equal(seen["rows"], ok.index.to_numpy())
    with pytest.raises(SpecError, match="unknown family"):
        build_design(spec_of("y", ("x",), family="nosuchfamily"), toy)


def test_error_transform_domain(toy: pd.DataFrame) -> None:
    with pytest.raises(DataError, match=r"column 'log\(x\)' has non-finite values"):
        build_design(spec_of("y", ("log(x)",)), toy)
    with pytest.raises(DataError, match=r"response 'log\(x\)' has non-finite values"):
        build_design(spec_of("log(x)", ()), toy)


def test_formulae_errors_do_not_leak(toy: pd.DataFrame) -> None:
    with pytest.raises(SpecError, match=r"'foo'.*neither a column.*nor a known function"):
        build_design(spec_of("y", ("x", "foo(z)")), toy)
    with pytest.raises(SpecError, match=r"term 'x \+' is not a valid"):
        build_design(spec_of("y", ("x +",)), toy)
    with pytest.raises(SpecError, match=r"'x\|g'.*only allowed inside parentheses"):
        build_design(spec_of("y", ("x|g",)), toy)
    with pytest.raises(SpecError, match=r"'\(0 \| g\)' has no columns"):
        build_design(spec_of("y", ("x",), (GroupTerm(("g",), False, ()),)), toy)


# ------------------------------------------------------------------------------- memory


def test_insteval_crossed_memory_and_time() -> None:
    ie = datasets.load("InstEval")
    spec = spec_of("y", ("service",), tuple(GroupTerm((g,)) for g in ("s", "d", "dept")))
    tracemalloc.start()
    start = time.perf_counter()
    try:
        d = build_design(spec, ie)
        elapsed = time.perf_counter() - start
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert elapsed < 20
    assert peak < 300e6
    assert d.n_obs == 73421
    assert d.fixed_names == ("Intercept", "service[1]")
    assert [b.n_levels for b in d.groups] == [2972, 1128, 14]
    assert all(b.X.shape == (73421, 1) for b in d.groups)


# ----------------------------------------------------------------------------- datasets


def test_datasets_names_and_case_insensitive_load() -> None:
    all_names = datasets.names()
    for expected in ("sleepstudy", "gcse", "Penicillin", "Pastes", "Dyestuff", "radon",
                     "InstEval", "cbpp", "epilepsy", "Exam", "roaches", "wells", "cake",
                     "kidney", "poststrat_df", "statelevel_predictors"):
        assert expected in all_names
    assert datasets.load("INSTEVAL").shape == (73421, 7)
    assert datasets.load("mrp/poststrat_df")["n"].sum() == 228_443_347
    with pytest.raises(DataError, match=r"unknown data set 'sleepstudyy'.*Did you mean.*Available"):
        datasets.load("sleepstudyy")


def test_datasets_factor_columns() -> None:
    sleep = datasets.load("sleepstudy")
    assert isinstance(sleep["Subject"].dtype, pd.CategoricalDtype)
    assert list(sleep["Subject"].cat.categories[:2]) == ["308", "309"]
    ie = datasets.load("InstEval")
    for col in ("s", "d", "dept", "service"):
        assert isinstance(ie[col].dtype, pd.CategoricalDtype)
    assert ie["lectage"].dtype == np.int64 and ie["studage"].dtype == np.int64
    gcse = datasets.load("gcse")
    assert isinstance(gcse["school"].dtype, pd.CategoricalDtype)
    assert gcse["schgend"].dtype == np.int64
    assert list(datasets.load("cbpp")["herd"].cat.categories[:3]) == ["1", "2", "3"]
    assert isinstance(datasets.load("radon")["county"].dtype, pd.CategoricalDtype)
    pen = datasets.load("Penicillin")
    assert all(isinstance(pen[c].dtype, pd.CategoricalDtype) for c in ("plate", "sample"))


def test_datasets_load_returns_fresh_copies() -> None:
    a = datasets.load("Dyestuff")
    a.loc[0, "Yield"] = -1
    assert datasets.load("Dyestuff").loc[0, "Yield"] != -1


def test_level_name_is_one_text_per_value():
    assert level_name(308) == level_name(308.0) == level_name(np.int64(308)) == "308"
    assert level_name(np.bool_(True)) == "True" and level_name("A") == "A"
    assert level_name(2.5) == "2.5"


def test_a_constant_continuous_response_is_refused() -> None:
    # had fitted to R-hat 3.67 and advice to draw more
    df = pd.DataFrame({"y": [5.0] * 8, "g": list("aabbccdd"), "c": [0, 1] * 4})
    for family in ("gaussian", "lognormal", "gamma"):
        with pytest.raises(DataError, match=r"the response 'y' is 5 in every row: there is no variation to model"):
            hb.Model("y ~ 1 + (1 | g)", df, family=family)
    hb.Model("y | cens(c) ~ 1 + (1 | g)", df)  # censored at one limit: the censoring varies
    hb.Model("y ~ 1 + (1 | g)", df.assign(y=[0, 1] * 4), family="bernoulli")
