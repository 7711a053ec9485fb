"""Saving and loading fits: round trip, atomic save, corrupted / foreign / missing files."""

from __future__ import annotations

import os
import warnings

import arviz as az
import numpy as np
import pandas as pd
import pytest
import xarray as xr

import hierbayes as hb
from hierbayes.errors import FitFileError, HierbayesError
from hierbayes.results import fitfile as fit_io
from hierbayes.results.diagnostics import ConvergenceWarning


@pytest.fixture(scope="module")
def fitted():
    """One small fit (2 chains x 100 draws; prior draws in place of NUTS: saving and loading
    need some draws, not a posterior) with a text column holding missing values in the data,
    a user prior and an interaction grouping factor."""
    df = hb.datasets.load("Pastes")
    df = df.assign(note=np.where(np.arange(len(df)) % 7 == 0, None, "ok"), weight=np.linspace(1.0, 2.0, len(df)))
    model = hb.Model(
        "strength ~ 1 + (1 | batch) + (1 | batch:cask)",
        df,
        priors={"sd": hb.Prior("HalfNormal", sigma=np.float64(5.0))},
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)  # 200 draws: low ESS is expected
        return model.fit(backend="prior", draws=100, chains=2, random_seed=3, progressbar=False)


def _same_draws(a: xr.DataTree, b: xr.DataTree) -> None:
    for group in ("posterior", "sample_stats"):
        da, db = a[group].to_dataset(), b[group].to_dataset()
        assert set(da.data_vars) == set(db.data_vars)
        for name in da.data_vars:
            np.testing.assert_array_equal(da[name].values, db[name].values)


def test_round_trip(fitted, tmp_path) -> None:
    path = tmp_path / "pastes.nc"
    fitted.save(path)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["pastes.nc"]  # no temporary file left
    loaded = hb.load(path)
    _same_draws(fitted.idata, loaded.idata)
    assert set(loaded.idata.children) == set(fitted.idata.children)
    pd.testing.assert_frame_equal(loaded.fixef(), fitted.fixef())
    pd.testing.assert_frame_equal(loaded.varcorr(), fitted.varcorr())
    assert loaded.spec == fitted.spec
    assert loaded.info == fitted.info
    assert loaded.model.prior_overrides == {"sd": hb.Prior("HalfNormal", sigma=5.0)}
    assert str(loaded.model.priors) == str(fitted.model.priors)
    assert loaded.model.design.n_obs == fitted.model.design.n_obs
    np.testing.assert_array_equal(loaded.model.design.y, fitted.model.design.y)
    assert [b.levels for b in loaded.model.design.groups] == [b.levels for b in fitted.model.design.groups]
    # predictions on new data are encoded with the rebuilt encoders
    new = fitted.model.data.iloc[:5]
    np.testing.assert_allclose(
        loaded.predict(new, groups="include", random_seed=1).draws.values,
        fitted.predict(new, groups="include", random_seed=1).draws.values,
    )


def test_text_column_missing_values_survive(fitted, tmp_path) -> None:
    data = fitted.model.data[["note", "batch"]]
    ds = fit_io.data_to_dataset(data)
    back = fit_io.dataset_to_data(ds)
    assert back["note"].isna().tolist() == data["note"].isna().tolist()
    assert back.loc[1, "note"] == "ok"
    assert list(back["batch"].cat.categories) == list(data["batch"].cat.categories)
    nullable = pd.DataFrame({"k": pd.array([1, None, 3], dtype="Int64")})
    assert fit_io.dataset_to_data(fit_io.data_to_dataset(nullable))["k"].isna().tolist() == [False, True, False]


def test_save_overwrites_atomically(fitted, tmp_path, monkeypatch) -> None:
    path = tmp_path / "fit.nc"
    fitted.save(path)
    good = path.read_bytes()

    def crash(self, filepath, *args, **kwargs):
        with open(filepath, "wb") as fh:  # half a file, then the failure
            fh.write(b"\x89HDF\r\n\x1a\n" + b"\0" * 100)
        raise RuntimeError("disk full")

    monkeypatch.setattr(xr.DataTree, "to_netcdf", crash)
    with pytest.raises(RuntimeError, match="disk full"):
        fitted.save(path)
    assert path.read_bytes() == good
    assert sorted(p.name for p in tmp_path.iterdir()) == ["fit.nc"]
    _same_draws(fitted.idata, hb.load(path).idata)

    def interrupted(self, filepath, *args, **kwargs):
        with open(filepath, "wb") as fh:
            fh.write(b"partial")
        raise KeyboardInterrupt

    monkeypatch.setattr(xr.DataTree, "to_netcdf", interrupted)
    with pytest.raises(KeyboardInterrupt):
        fitted.save(path)
    assert path.read_bytes() == good
    assert sorted(p.name for p in tmp_path.iterdir()) == ["fit.nc"]


def test_save_keeps_the_file_mode(fitted, tmp_path) -> None:
    path = tmp_path / "fit.nc"
    fitted.save(path)
    os.chmod(path, 0o640)
    fitted.save(path)
    assert path.stat().st_mode & 0o777 == 0o640


def test_save_into_missing_directory(fitted, tmp_path) -> None:
    with pytest.raises(FitFileError, match=r"cannot save the fit to .*: directory .*nowhere.* does not exist"):
        fitted.save(tmp_path / "nowhere" / "fit.nc")


def test_load_missing_file(tmp_path) -> None:
    with pytest.raises(FitFileError, match=r"no such file: .*absent\.nc"):
        hb.load(tmp_path / "absent.nc")
    with pytest.raises(FitFileError, match="is a directory"):
        hb.load(tmp_path)


@pytest.mark.parametrize("damage", ["truncated", "garbage", "empty"])
def test_load_corrupted_file(fitted, tmp_path, damage) -> None:
    path = tmp_path / "fit.nc"
    fitted.save(path)
    raw = path.read_bytes()
    content = {"truncated": raw[: len(raw) // 2], "garbage": os.urandom(4096), "empty": b""}[damage]
    path.write_bytes(content)
    expected = "is empty" if damage == "empty" else "not a readable netCDF/HDF5 file|is damaged"
    with pytest.raises(FitFileError, match=expected) as info:
        hb.load(path)
    assert isinstance(info.value, HierbayesError) and isinstance(info.value, OSError)


def test_load_foreign_netcdf(tmp_path) -> None:
    path = tmp_path / "arviz.nc"
    az.from_dict({"posterior": {"mu": np.zeros((2, 10))}}).to_netcdf(path, engine="h5netcdf")
    with pytest.raises(FitFileError, match=r"not written by hierbayes.*groups found: \['posterior'\].*arviz\.from_netcdf"):
        hb.load(path)
    plain = tmp_path / "plain.nc"
    xr.Dataset({"x": ("t", np.arange(3.0))}).to_netcdf(plain, engine="h5netcdf")
    with pytest.raises(FitFileError, match="not written by hierbayes"):
        hb.load(plain)


def test_load_other_format_version_and_damaged_metadata(fitted, tmp_path) -> None:
    path = tmp_path / "fit.nc"
    fitted.save(path)
    tree = xr.open_datatree(path, engine="h5netcdf").load()
    meta = tree[fit_io.META_GROUP].attrs["meta"]

    future = tree.copy()
    future[fit_io.META_GROUP].attrs["meta"] = meta.replace(fit_io.FORMAT, "hierbayes-fit/99")
    future.to_netcdf(tmp_path / "future.nc", engine="h5netcdf")
    with pytest.raises(FitFileError, match=r"format 'hierbayes-fit/99'; this version of hierbayes reads 'hierbayes-fit/1' and 'hierbayes-fit/2'"):
        hb.load(tmp_path / "future.nc")

    broken = tree.copy()
    broken[fit_io.META_GROUP].attrs["meta"] = meta[: len(meta) // 2]
    broken.to_netcdf(tmp_path / "broken.nc", engine="h5netcdf")
    with pytest.raises(FitFileError, match="damaged hierbayes metadata"):
        hb.load(tmp_path / "broken.nc")

    gone = tree.copy()
    gone[fit_io.META_GROUP].attrs["meta"] = meta.replace('"family": "gaussian"', '"family": "nosuchfamily"')
    gone.to_netcdf(tmp_path / "gone.nc", engine="h5netcdf")
    with pytest.raises(FitFileError, match=r"cannot be rebuilt: unknown family 'nosuchfamily'"):
        hb.load(tmp_path / "gone.nc")


@pytest.mark.parametrize(
    "index",
    [
        pd.Index([f"r{i}" for i in range(6)], name="id"),
        pd.Index(np.arange(6) * 10 + 7),
        pd.date_range("2026-01-01", periods=6, freq="D", name="day"),
        pd.MultiIndex.from_arrays([list("aabbcc"), [1, 2, 1, 2, 1, 2]], names=["site", "visit"]),
    ],
    ids=["text", "int", "datetime", "multi"],
)
def test_row_labels_survive(index) -> None:
    data = pd.DataFrame({"y": np.arange(6.0), "g": pd.Categorical(list("xyxyxy"))}, index=index)
    back = fit_io.dataset_to_data(fit_io.data_to_dataset(data))
    pd.testing.assert_index_equal(back.index, data.index)
    pd.testing.assert_frame_equal(back, data, check_freq=False)


def test_loaded_fit_keeps_the_rows_it_was_fitted_on(tmp_path) -> None:
    df = hb.datasets.load("Dyestuff")
    df.index = [f"batch-row-{i}" for i in range(len(df))]
    df.loc["batch-row-3", "Yield"] = np.nan  # dropped: the loaded fit must drop the same row
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        fit = hb.Model("Yield ~ 1 + (1 | Batch)", df, missing="drop").fit(
            draws=50, tune=50, chains=2, random_seed=1, progressbar=False, backend="prior"
        )  # the rows kept do not depend on how the draws were made
    fit.save(tmp_path / "dyestuff.nc")
    loaded = hb.load(tmp_path / "dyestuff.nc")
    pd.testing.assert_index_equal(loaded.model.data.index, fit.model.data.index)
    np.testing.assert_array_equal(loaded.model.design.row_index, fit.model.design.row_index)
    assert "batch-row-3" not in loaded.model.design.row_index


def test_a_loaded_fit_says_it_holds_only_the_model_columns(fitted, tmp_path) -> None:
    # margins(by=) and update() with a column the model did not use had failed with no reason given
    path = tmp_path / "pastes.nc"
    fitted.save(path)
    loaded = hb.load(path)
    with pytest.raises(hb.DataError, match=r"a fit read from a file holds only the columns its model used"):
        loaded.margins(by="weight")
    with pytest.raises(hb.DataError, match=r"A fit read from a file holds only the columns its model used: pass the data"):
        hb.refit.updated_model(loaded, ". ~ . + weight")
