"""Saved fits carry a checksum: a damaged file is an error naming it, never silently
changed draws (issue 13, item 11)."""

from __future__ import annotations

import warnings

import arviz as az
import h5py
import numpy as np
import pytest
import xarray as xr

import hierbayes as hb
from hierbayes.errors import FitFileError
from hierbayes.results.diagnostics import ConvergenceWarning
from hierbayes.results.integrity import UnverifiedFitWarning, hdf5_end, verify_checksum


@pytest.fixture(scope="module")
def saved(tmp_path_factory):
    """One small fit (2 chains x 100 prior draws), saved; the path and the fit."""
    model = hb.Model("Reaction ~ Days + (Days | Subject)", hb.datasets.load("sleepstudy"))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        # the file's integrity does not depend on how the draws were made: prior draws, no compile
        fit = model.fit(draws=100, tune=100, chains=2, random_seed=5, progressbar=False, backend="prior")
    path = tmp_path_factory.mktemp("fits") / "sleep.nc"
    fit.save(path)
    return path, fit


def _copy(saved, tmp_path, name="copy.nc"):
    path = tmp_path / name
    path.write_bytes(saved[0].read_bytes())
    return path


def _draws(fit) -> dict[str, np.ndarray]:
    tree = fit.idata
    return {
        f"{group}/{name}": np.asarray(tree[group][name].values)
        for group in ("posterior", "sample_stats", "log_likelihood")
        for name in tree[group].data_vars
    }


def test_saved_file_verifies_and_round_trips(saved) -> None:
    path, fit = saved
    raw = path.read_bytes()
    end = hdf5_end(raw[:64])
    assert raw[end:].startswith(b"\nHIERBAYES-FIT-CHECKSUM 1\n") and raw.endswith(b"\n")
    assert verify_checksum(path) is True
    with warnings.catch_warnings():
        warnings.simplefilter("error", UnverifiedFitWarning)
        back = hb.load(path)
    original, loaded = _draws(fit), _draws(back)
    assert original.keys() == loaded.keys()
    for key, values in original.items():
        np.testing.assert_array_equal(values, loaded[key])
    # still an ordinary netCDF file for other readers (HDF5 stops at its end-of-file address)
    assert "posterior" in az.from_netcdf(path).children


def test_corrupted_bytes_anywhere_are_an_error_naming_the_file(saved, tmp_path) -> None:
    """The issue's experiment: 256 random bytes at 40 positions spread over the file."""
    raw = saved[0].read_bytes()
    rng = np.random.default_rng(13)
    positions = np.linspace(0, len(raw) - 256, 40).astype(int)
    for i, pos in enumerate(positions):
        damaged = bytearray(raw)
        noise = rng.integers(0, 256, 256, dtype=np.uint8).tobytes()
        damaged[pos:pos + 256] = noise
        assert bytes(damaged) != raw
        path = tmp_path / f"damaged_{i}.nc"
        path.write_bytes(bytes(damaged))
        with pytest.raises(FitFileError, match=rf"'{path}' is damaged"):
            hb.load(path)


def test_damage_in_the_draws_names_the_array(saved, tmp_path) -> None:
    path = _copy(saved, tmp_path)
    with h5py.File(path) as f:
        offset = f["posterior/Intercept"].id.get_offset()
    raw = bytearray(path.read_bytes())
    raw[offset + 8:offset + 16] = np.float64(123.0).tobytes()  # one draw changed
    path.write_bytes(bytes(raw))
    with pytest.raises(FitFileError, match=r"does not match the checksum.*damaged: bytes \d+-\d+.*posterior/Intercept.*Load an intact copy or refit"):
        hb.load(path)


def test_damage_in_the_hdf5_structure_is_named(saved, tmp_path) -> None:
    path = _copy(saved, tmp_path)
    raw = bytearray(path.read_bytes())
    raw[8:64] = bytes(56)  # the HDF5 superblock
    path.write_bytes(bytes(raw))
    with pytest.raises(FitFileError, match=r"is damaged: its content does not match.*HDF5 structure unreadable"):
        hb.load(path)


def test_truncated_and_extended_files(saved, tmp_path) -> None:
    raw = saved[0].read_bytes()
    end = hdf5_end(raw[:64])
    cases = {
        "short.nc": (raw[:-100], r"is damaged|not a readable netCDF/HDF5 file \(corrupted or truncated\?\)"),
        "appended.nc": (raw + b"\0" * 10, r"'.*appended\.nc' is damaged: it has \d+ bytes after the HDF5 data but no readable checksum"),
        "inserted.nc": (raw[:5000] + b"x" + raw[5000:], r"'.*inserted\.nc' is damaged: it holds \d+ bytes before its checksum, but \d+ were saved \(bytes were added\)"),
        "cut.nc": (raw[:5000] + raw[5001:], r"'.*cut\.nc' is damaged: .*\(bytes are missing\)"),
    }
    for name, (content, needle) in cases.items():
        path = tmp_path / name
        path.write_bytes(content)
        with pytest.raises(FitFileError, match=needle):
            hb.load(path)
    # cut exactly at the checksum: the HDF5 data are intact, as in a file from before checksums
    cut = tmp_path / "no_trailer.nc"
    cut.write_bytes(raw[:end])
    with pytest.warns(UnverifiedFitWarning, match="cannot be verified"):
        back = hb.load(cut)
    np.testing.assert_array_equal(back.posterior["Intercept"].values, saved[1].posterior["Intercept"].values)


def test_damaged_checksum_trailer(saved, tmp_path) -> None:
    raw = saved[0].read_bytes()
    end = hdf5_end(raw[:64])
    garbled = tmp_path / "garbled.nc"
    garbled.write_bytes(raw[:end] + raw[end:].replace(b"content-bytes", b"content-bXtes", 1))
    with pytest.raises(FitFileError, match=r"'.*garbled\.nc' is damaged: its checksum \(at the end of the file\) cannot be read"):
        hb.load(garbled)
    wrong_length = tmp_path / "wrong_length.nc"
    wrong_length.write_bytes(raw[:-11] + b"9999999999\n")
    with pytest.raises(FitFileError, match=r"'.*wrong_length\.nc' is damaged: its checksum \(at the end of the file\) cannot be read"):
        hb.load(wrong_length)
    digest = tmp_path / "digest.nc"
    at = raw.rindex(b"sha256 ") + 7
    digest.write_bytes(raw[:at] + (b"0" if raw[at:at + 1] != b"0" else b"1") + raw[at + 1:])
    with pytest.raises(FitFileError, match=r"'.*digest\.nc' is damaged: its content does not match.*damaged: the checksum itself"):
        hb.load(digest)


def test_files_saved_before_checksums_load_with_a_warning(saved, tmp_path) -> None:
    """As hierbayes wrote them before: a plain netCDF file, no user block."""
    old = tmp_path / "old.nc"
    xr.open_datatree(saved[0], engine="h5netcdf").load().to_netcdf(old, engine="h5netcdf")
    assert old.read_bytes().startswith(b"\x89HDF")
    assert verify_checksum(old) is False
    with pytest.warns(UnverifiedFitWarning, match=r"'.*old\.nc' has no checksum \(saved by an older hierbayes\): it cannot be verified"):
        back = hb.load(old)
    np.testing.assert_array_equal(back.posterior["Intercept"].values, saved[1].posterior["Intercept"].values)
    hb.load(saved[0])  # the saved fit itself is not affected


def test_damage_in_the_metadata_is_named(saved, tmp_path) -> None:
    path = _copy(saved, tmp_path)
    raw = bytearray(path.read_bytes())
    at = raw.index(b'"format"')  # inside the hierbayes metadata attribute (JSON text)
    raw[at + 1:at + 7] = b"FORMAT"
    path.write_bytes(bytes(raw))
    with pytest.raises(FitFileError, match=r"'.*copy\.nc' is damaged: its content does not match.*HDF5 structure or attributes \(metadata\)"):
        hb.load(path)
