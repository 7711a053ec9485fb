"""Small saved fits (issue 17): no stored log-likelihood unless asked, lossless compression,
and a loaded fit recomputes exactly what the original had."""

from __future__ import annotations

import warnings

import h5py
import numpy as np
import pandas as pd
import pytest
import xarray as xr
from conftest import fit_quiet

import hierbayes as hb
from hierbayes.errors import FitFileError
from hierbayes.results import fitfile as fit_io
from hierbayes.results.diagnostics import ConvergenceWarning
from hierbayes.results.integrity import UnverifiedFitWarning

#: Measured on this fixture: 1.13 (compressed file 0.58 MB, the same tree uncompressed
#: 0.66 MB). Lossless compression of float64 draws gains little: only the sign, exponent and
#: leading mantissa bits repeat; the big saving is leaving the log-likelihood out.
MIN_COMPRESSION_FACTOR = 1.1


@pytest.fixture(scope="module")
def fitted(gcse):
    """The README's gcse random-slope model, 2 chains x 200 draws, with its log-likelihood
    already in ``fit.idata`` (as after ``loo()``)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        # sizes, compression and round trips do not depend on how the draws were made: prior draws
        fit = fit_quiet(hb.Model("gcse ~ lrt + (lrt | school)", gcse), chains=2, draws=200, tune=200, backend="prior")
    assert "log_likelihood" in fit.idata.children
    return fit


@pytest.fixture(scope="module")
def saved(fitted, tmp_path_factory):
    path = tmp_path_factory.mktemp("size") / "gcse.nc"
    fitted.save(path)
    return path


def _groups(path) -> list[str]:
    with xr.open_datatree(path, engine="h5netcdf") as tree:
        return sorted(tree.children)


def _read_plain(path) -> xr.DataTree:
    """The saved tree in memory, with the compression settings it was read with dropped."""
    with xr.open_datatree(path, engine="h5netcdf") as tree:
        return xr.DataTree.from_dict(
            {node.path: node.to_dataset(inherit=False).load().drop_encoding() for node in tree.subtree}
        )


def _as_text_labels(ds: xr.Dataset) -> xr.Dataset:
    """A data group as format 1 stored it: text labels, "" plus a flag for missing values."""
    frame = fit_io.dataset_to_data(ds)
    old = ds.copy()
    for name in list(ds.data_vars):
        if ds[name].attrs.get("stored") != "codes":
            continue
        attrs = {k: v for k, v in ds[name].attrs.items() if k != "stored"}
        missing = frame[name].isna().to_numpy()
        old[name] = xr.DataArray(frame[name].astype(str).where(~missing, "").to_numpy(dtype=str), dims="row", attrs=attrs)
        if missing.any():
            old[name + ".__na__"] = xr.DataArray(missing, dims="row")
    return old.drop_vars([v for v in ds.variables if str(v).endswith(".__values__")])


def test_log_likelihood_left_out_by_default(fitted, saved) -> None:
    assert "log_likelihood" not in _groups(saved)
    assert {"posterior", "sample_stats", "observed_data", "hierbayes", "hierbayes_data"} <= set(_groups(saved))
    # 2 x 200 draws x 4,057 rows of log-likelihood alone would be 13 MB
    assert saved.stat().st_size < 2_000_000
    loaded = hb.load(saved)
    np.testing.assert_array_equal(
        loaded.idata["log_likelihood"]["y"].values, fitted.idata["log_likelihood"]["y"].values
    )


def test_log_likelihood_kept_when_asked(fitted, tmp_path) -> None:
    path = tmp_path / "with_ll.nc"
    fitted.save(path, log_likelihood=True)
    assert "log_likelihood" in _groups(path)
    with xr.open_datatree(path, engine="h5netcdf") as tree:
        np.testing.assert_array_equal(tree["log_likelihood"]["y"].values, fitted.idata["log_likelihood"]["y"].values)


def test_draws_are_compressed_losslessly(fitted, saved, tmp_path) -> None:
    plain = tmp_path / "plain.nc"
    _read_plain(saved).to_netcdf(plain, engine="h5netcdf")  # the same tree, written without encoding
    factor = plain.stat().st_size / saved.stat().st_size
    assert factor >= MIN_COMPRESSION_FACTOR, factor
    with h5py.File(saved) as f:
        effects = f["posterior/re_school"]
        assert effects.compression == "gzip" and effects.shuffle and effects.dtype == np.float64
        assert effects.chunks[0] == 1  # one chain per chunk
    loaded = hb.load(saved)
    for group in ("posterior", "sample_stats", "observed_data"):
        original, back = fitted.idata[group].to_dataset(), loaded.idata[group].to_dataset()
        assert set(original.data_vars) == set(back.data_vars)
        for name in original.data_vars:
            np.testing.assert_array_equal(back[name].values, original[name].values)
            assert back[name].dtype == original[name].dtype


@pytest.mark.slow  # 6-9 s of cold compilation
def test_loo_and_predict_after_load_equal_the_original(fitted, saved) -> None:
    assert "log_likelihood" not in _groups(saved)  # recomputed, not read back
    loaded = hb.load(saved)
    original = fitted.idata["log_likelihood"]["y"].values
    recomputed = loaded.idata["log_likelihood"]["y"].values  # what loo() of the loaded fit uses
    assert np.isfinite(original).all()
    np.testing.assert_allclose(recomputed, original, rtol=0, atol=1e-10)
    # LOO of prior draws is not meaningful (pareto k > 1), but it is the same computation
    a, b = fitted.loo(), loaded.loo()
    np.testing.assert_allclose(np.asarray(b.elpd_i), np.asarray(a.elpd_i), rtol=0, atol=1e-10, equal_nan=True)
    new = fitted.model.data.iloc[:7]
    np.testing.assert_array_equal(
        loaded.predict(new, kind="response", random_seed=2).draws.values,
        fitted.predict(new, kind="response", random_seed=2).draws.values,
    )


def test_old_format_file_loads_and_saves_small(fitted, saved, tmp_path) -> None:
    """As hierbayes wrote fits before: log-likelihood stored, nothing compressed, no checksum."""
    old = tmp_path / "old.nc"
    tree = _read_plain(saved)
    assert fit_io.FORMAT == "hierbayes-fit/2"
    meta = tree[fit_io.META_GROUP].attrs["meta"]
    tree[fit_io.META_GROUP].attrs["meta"] = meta.replace(fit_io.FORMAT, "hierbayes-fit/1")
    tree["log_likelihood"] = fitted.idata["log_likelihood"].copy()
    labels = _as_text_labels(tree[fit_io.DATA_GROUP].to_dataset())
    assert labels["school"].dtype.kind == "U"
    tree[fit_io.DATA_GROUP] = xr.DataTree(labels)
    tree.to_netcdf(old, engine="h5netcdf")
    with pytest.warns(UnverifiedFitWarning):
        loaded = hb.load(old)
    np.testing.assert_array_equal(loaded.posterior["re_school"].values, fitted.posterior["re_school"].values)
    pd.testing.assert_frame_equal(loaded.model.data, fitted.model.data[loaded.model.data.columns])
    np.testing.assert_allclose(loaded.idata["log_likelihood"]["y"].values,
                               fitted.idata["log_likelihood"]["y"].values, rtol=0, atol=1e-10)
    again = tmp_path / "again.nc"
    loaded.save(again)
    assert "log_likelihood" not in _groups(again)
    assert again.stat().st_size * 5 < old.stat().st_size


def test_damage_in_a_compressed_array_is_named(saved, tmp_path) -> None:
    path = tmp_path / "damaged.nc"
    path.write_bytes(saved.read_bytes())
    with h5py.File(path) as f:
        chunk = f["posterior/re_school"].id.get_chunk_info(1)
    raw = bytearray(path.read_bytes())
    at = chunk.byte_offset + chunk.size // 2
    raw[at:at + 8] = bytes(b ^ 0xFF for b in raw[at:at + 8])
    path.write_bytes(bytes(raw))
    with pytest.raises(FitFileError, match=r"does not match the checksum.*arrays posterior/re_school"):
        hb.load(path)


def test_text_and_categories_are_stored_as_codes_and_old_labels_still_read() -> None:
    data = pd.DataFrame({
        "school": pd.Categorical(["b", "a", None, "b"], categories=["b", "a", "c"], ordered=True),
        "note": ["x", None, "", "x"],
        "y": [1.0, 2.0, 3.0, 4.0],
    })
    ds = fit_io.data_to_dataset(data)
    assert ds["school"].dtype == np.int32 and ds["note"].dtype == np.int32
    assert ds["school"].values.tolist() == [0, 1, -1, 0]
    back = fit_io.dataset_to_data(ds)
    pd.testing.assert_frame_equal(back[["school", "y"]], data[["school", "y"]])
    assert back["note"].tolist() == ["x", None, "", "x"]
    # the data group as hierbayes wrote it before codes: labels, "" and a missing-value flag
    old = xr.Dataset(
        {
            "school": ("row", np.array(["b", "a", "", "b"]), {"categories": '["b", "a", "c"]', "ordered": 0}),
            "school.__na__": ("row", np.array([False, False, True, False])),
            "note": ("row", np.array(["x", "", "", "x"]), {"dtype": "str"}),
            "note.__na__": ("row", np.array([False, True, False, False])),
        },
        attrs={"columns": '["school", "note"]'},
    )
    back = fit_io.dataset_to_data(old)
    assert back["school"].tolist()[:2] == ["b", "a"] and pd.isna(back["school"][2])
    assert list(back["school"].cat.categories) == ["b", "a", "c"]
    assert back["note"].tolist() == ["x", None, "", "x"]
