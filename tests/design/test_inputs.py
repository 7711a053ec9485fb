"""Inputs from daily use: polars and pyarrow tables, date columns, ``~`` in paths."""

from __future__ import annotations

import datetime as dt
import warnings

import arviz as az
import numpy as np
import pandas as pd
import pytest

import hierbayes as hb
from hierbayes.design.frames import as_pandas
from hierbayes.errors import DataError, FitFileError
from hierbayes.fit import Fit, SamplingInfo
from hierbayes.predict.predict import encode_rows


def _frame() -> pd.DataFrame:
    rng = np.random.default_rng(4)
    n = 24
    return pd.DataFrame(
        {
            "y": rng.normal(size=n),
            "count": rng.integers(0, 9, size=n),  # integers stay integers
            "x": rng.normal(size=n),
            "school": [f"s{i % 5}" for i in range(n)],  # strings: sorted levels
            "dose": pd.Categorical(
                ["high", "low", "mid"] * 8, categories=["low", "mid", "high"], ordered=True
            ),
        }
    )


def _same_design(a, b) -> None:
    np.testing.assert_array_equal(a.y, b.y)
    np.testing.assert_array_equal(a.X, b.X)
    assert a.fixed_names == b.fixed_names
    np.testing.assert_array_equal(a.row_index, b.row_index)
    for ga, gb in zip(a.groups, b.groups, strict=True):
        np.testing.assert_array_equal(ga.codes, gb.codes)
        assert ga.levels == gb.levels
        np.testing.assert_array_equal(ga.X, gb.X)


FORMULA = "y ~ x + count + dose + (1 | school)"


def test_pyarrow_table_gives_the_pandas_design() -> None:
    pa = pytest.importorskip("pyarrow")
    df = _frame()
    table = pa.Table.from_pandas(df, preserve_index=False)
    converted = as_pandas(table)
    assert converted["count"].dtype.kind == "i"
    assert list(converted["dose"].cat.categories) == ["low", "mid", "high"]
    assert converted["dose"].cat.ordered
    _same_design(hb.Model(FORMULA, table).design, hb.Model(FORMULA, df).design)
    # newdata goes through the same door
    model = hb.Model(FORMULA, df)
    rows = encode_rows(model, table.slice(0, 6))
    np.testing.assert_array_equal(rows.X, encode_rows(model, df.iloc[:6]).X)


def test_pyarrow_nulls_follow_missing_drop() -> None:
    pa = pytest.importorskip("pyarrow")
    df = _frame()
    table = pa.Table.from_pandas(df, preserve_index=False)
    x = table.column("x").to_pylist()
    school = table.column("school").to_pylist()
    x[2], school[7] = None, None
    table = table.set_column(2, "x", pa.array(x)).set_column(3, "school", pa.array(school))
    expected = df.copy()
    expected.loc[2, "x"] = np.nan
    expected.loc[7, "school"] = None
    with pytest.raises(DataError, match="missing"):
        hb.Model(FORMULA, table)
    with pytest.warns(UserWarning, match="dropped 2 rows"):
        got = hb.Model(FORMULA, table, missing="drop").design
    with pytest.warns(UserWarning, match="dropped 2 rows") as caught:
        want = hb.Model(FORMULA, expected, missing="drop").design
    _same_design(got, want)
    assert caught[0].filename == __file__  # the user's line, not hierbayes' configuration.py


def test_polars_frame_gives_the_pandas_design() -> None:
    pl = pytest.importorskip("polars")
    pytest.importorskip("pyarrow")  # polars' to_pandas goes through Arrow
    df = _frame()
    frame = pl.DataFrame(
        {
            "y": df["y"].to_numpy(),
            "count": df["count"].to_numpy(),
            "x": df["x"].to_numpy(),
            "school": pl.Series(df["school"].tolist(), dtype=pl.Categorical),
            "dose": pl.Series(df["dose"].astype(str).tolist(), dtype=pl.Enum(["low", "mid", "high"])),
        }
    )
    converted = as_pandas(frame)
    assert converted["count"].dtype.kind == "i"
    assert list(converted["dose"].cat.categories) == ["low", "mid", "high"]  # the Enum's order
    assert list(converted["school"].cat.categories) == sorted(set(df["school"]))
    pandas_like = df.assign(dose=df["dose"].cat.as_unordered())  # an Enum is R's factor(levels=)
    _same_design(hb.Model(FORMULA, frame).design, hb.Model(FORMULA, pandas_like).design)
    _same_design(hb.Model(FORMULA, frame.lazy()).design, hb.Model(FORMULA, pandas_like).design)


def test_polars_nulls_follow_missing_drop() -> None:
    pl = pytest.importorskip("polars")
    pytest.importorskip("pyarrow")
    df = _frame()
    x = df["x"].tolist()
    x[2] = None
    frame = pl.DataFrame({"y": df["y"].to_numpy(), "x": x, "school": df["school"].tolist()})
    with pytest.warns(UserWarning, match="dropped 1 row"):
        design = hb.Model("y ~ x + (1 | school)", frame, missing="drop").design
    assert design.n_obs == len(df) - 1


def test_other_objects_are_refused_by_name() -> None:
    with pytest.raises(DataError, match=r"data must be a pandas DataFrame, a polars DataFrame/LazyFrame or a pyarrow Table, got dict"):
        hb.Model("y ~ x", {"y": [1.0, 2.0], "x": [0.0, 1.0]})


@pytest.mark.parametrize(
    ("column", "formula", "role"),
    [
        ("date", "y ~ date + (1 | school)", "term 'date'"),
        ("date", "y ~ x + (1 | date)", "grouping factor of '(1 | date)'"),
        ("date", "date ~ x", "response 'date'"),
    ],
)
def test_date_column_gets_advice(column: str, formula: str, role: str) -> None:
    df = _frame().assign(date=pd.date_range("2024-01-01", periods=24, freq="D"))
    with pytest.raises(DataError) as info:
        hb.Model(formula, df)
    message = str(info.value)
    assert f"column {column!r}" in message and "dates" in message
    assert "(df['date'] - df['date'].min()).dt.days" in message
    assert "astype(str)" in message
    assert f"(used by {role})" in message


@pytest.mark.parametrize(
    ("values", "what"),
    [
        (pd.timedelta_range("1h", periods=24, freq="h"), "durations"),
        (pd.period_range("2024-01", periods=24, freq="M"), "periods"),
        ([dt.date(2024, 1, 1 + i) for i in range(24)], "dates"),
        (np.arange(24) + 1j, "complex numbers"),
        ([[i, i] for i in range(24)], "list values"),
        ([{"a": i} for i in range(24)], "dict values"),
    ],
)
def test_other_unusable_types_are_named(values, what: str) -> None:
    df = _frame().assign(v=pd.Series(list(values) if isinstance(values, list) else values))
    with pytest.raises(DataError, match=rf"column 'v' \(used by term 'v'\) in data holds {what}"):
        hb.Model("y ~ v", df)


def test_date_column_not_in_the_model_is_fine() -> None:
    df = _frame().assign(date=pd.date_range("2024-01-01", periods=24, freq="D"))
    assert hb.Model("y ~ x + (1 | school)", df).design.n_obs == 24


def _tiny_fit() -> Fit:
    df = _frame()
    model = hb.Model("y ~ 1", df)
    idata = az.from_dict({"posterior": {"Intercept": np.zeros((1, 5)), "sigma": np.ones((1, 5))}})
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return Fit(idata, model, SamplingInfo("none", 5, 0, 1, 0.0, None))


def test_save_and_load_expand_the_home_directory(tmp_path, monkeypatch) -> None:
    monkeypatch.setenv("HOME", str(tmp_path))
    with pytest.raises(FitFileError, match=rf"no such file: '{tmp_path}/absent.nc'"):
        hb.load("~/absent.nc")
    fit = _tiny_fit()
    fit.save("~/tiny.nc")
    assert (tmp_path / "tiny.nc").is_file()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        loaded = hb.load("~/tiny.nc")
    np.testing.assert_array_equal(loaded.model.design.y, fit.model.design.y)


def test_model_file_expands_the_home_directory(tmp_path, monkeypatch) -> None:
    from hierbayes.modelfile import load_model_file

    monkeypatch.setenv("HOME", str(tmp_path))
    _frame().drop(columns="dose").to_csv(tmp_path / "d.csv", index=False)
    (tmp_path / "m.toml").write_text('[data]\nsource = "~/d.csv"\n\n[model]\nformula = "y ~ x + (1 | school)"\n')
    spec = load_model_file("~/m.toml")
    assert spec.data.path == tmp_path / "d.csv"
    assert spec.load_data().shape == (24, 4)


def test_poststrat_cells_from_pyarrow_and_polars() -> None:
    pa = pytest.importorskip("pyarrow")
    cells = pd.DataFrame({"state": ["a", "b", "c"], "n": [10, 20, 30]})
    states = pd.DataFrame({"state": ["a", "b", "c"], "vote": [0.1, 0.2, 0.3]})
    want = hb.Poststrat(cells, count="n").join(states, on="state").cells
    table = hb.Poststrat(pa.Table.from_pandas(cells), count="n").join(pa.Table.from_pandas(states), on="state")
    pd.testing.assert_frame_equal(table.cells, want)
    pl = pytest.importorskip("polars")
    table = hb.Poststrat(pl.from_pandas(cells), count="n", predictors=pl.from_pandas(states), on="state")
    pd.testing.assert_frame_equal(table.cells, want)


def test_text_levels_that_differ_only_in_case_or_spaces_are_warned_of() -> None:
    # nlme's Gun with "m2" and "M1 " typed for M2 and M1: four Method levels from two, silently
    df = pd.DataFrame({"y": np.arange(8.0), "m": ["M1", "M2", "m2", "M1 ", "M1", "M2", "M1", "M2"],
                       "g": pd.Categorical(list("aabbccdd"))})
    with pytest.warns(UserWarning, match=r"column 'm' has values that differ only in case or surrounding spaces: "
                                         r"'M1' and 'M1 '; 'M2' and 'm2'; each is a level of its own.*"
                                         r"df\['m'\] = df\['m'\]\.str\.strip\(\)"):
        hb.Model("y ~ m + (1 | g)", df)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # one spelling per level: no warning
        hb.Model("y ~ m + (1 | g)", df.assign(m=df["m"].str.strip().str.upper()))


def test_a_grouping_column_of_fractional_numbers_is_warned_of() -> None:
    # R's interaction(center, id) written as "1.1", "1.10", ... and read back by pd.read_csv as
    # floats: 1.1 and 1.10 are one group (geepack's respiratory: 101 groups for 111 patients)
    df = pd.DataFrame({"y": np.arange(8.0), "cid": [1.1, 1.10, 1.2, 1.2, 2.1, 2.1, 2.2, 2.2]})
    with pytest.warns(UserWarning, match=r"grouping column 'cid' holds fractional numbers \(1\.1, \.\.\.\).*"
                                         r"read it as text: pd\.read_csv\(\.\.\., dtype=\{'cid': str\}\)"):
        hb.Model("y ~ 1 + (1 | cid)", df)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # whole numbers as floats, and fractional values outside group terms
        hb.Model("y ~ 1 + (1 | cid)", df.assign(cid=np.repeat([1.0, 2.0, 3.0, 4.0], 2)))
        hb.Model("y ~ x + (1 | g)", df.assign(x=df["cid"], g=np.repeat(["a", "b", "c", "d"], 2)))
