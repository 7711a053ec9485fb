"""The file format of saved fits (plain data in, plain data out; :mod:`hierbayes.io` turns
them into a Model and a Fit): one netCDF file with the draws, the spec, the priors, the sampling
settings and the training data (so encoders are rebuilt exactly).

The pointwise log-likelihood is not stored unless asked (``fit.save(path, log_likelihood=True)``):
a loaded fit recomputes it exactly from the draws, the spec and the data. Arrays of draws and
data are compressed losslessly (deflate after byte shuffling; float64 kept exact), so the file
stays an ordinary netCDF-4 file any reader opens.

Every saved file carries a checksum of its content (:mod:`.integrity`), verified on load.
Saving is atomic: the file is written under a temporary name in the same directory, flushed
to disk and then renamed over the target, so an exception, a Ctrl-C or a crash mid-save
leaves any previous file intact. Loading raises :class:`~hierbayes.errors.FitFileError` for
a missing, corrupted, truncated or foreign file.
"""

from __future__ import annotations

import json
import os
import re
import tempfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import xarray as xr

from ..configuration import ModelConfig
from ..design.dask_frames import is_dask_frame
from ..errors import FitFileError
from ..priors import Prior
from ..spec.ir import ModelSpec
from ..spec.serialize import spec_from_dict, spec_to_dict
from .integrity import append_checksum, verify_checksum, warn_unverified

#: Version 2 stores text and categorical data columns as integer codes; a reader of
#: version 1 would misread them, so it refuses the file by its format instead.
FORMAT = "hierbayes-fit/2"
#: Formats this version loads (version 1: data as text labels, log-likelihood stored).
READABLE_FORMATS = ("hierbayes-fit/1", FORMAT)
META_GROUP = "hierbayes"
DATA_GROUP = "hierbayes_data"
_NA_SUFFIX = ".__na__"  # boolean companion of a text column: which rows were missing
_VALUES_SUFFIX = ".__values__"  # the distinct labels of a text column stored as codes
_CODES = "codes"
_INDEX_PREFIX = "__index__"  # row coordinates holding the data's index labels, one per level
#: Deflate level: on float64 draws 4 is within 0.5% of level 9 at a twentieth of its time.
COMPRESSION_LEVEL = 4
#: Arrays smaller than this stay uncompressed and contiguous (the HDF5 chunk index of a
#: compressed array costs more than compression saves on them).
MIN_COMPRESSED_BYTES = 16 * 1024
#: Upper bound on the bytes of one compressed chunk (chunks are read whole on load).
CHUNK_BYTES = 1 << 20


def data_to_dataset(df: pd.DataFrame) -> xr.Dataset:
    """The data group of a saved fit: one ``row`` variable per column (text and categories as
    integer codes, -1 missing), the column order and non-default row labels in its attributes;
    :func:`dataset_to_data` reads it back."""
    ds = xr.Dataset()
    for col in df.columns:
        s = df[col]
        name = str(col)
        missing = s.isna().to_numpy()
        # text and categories are stored as integer codes (-1: missing), which compress to
        # a few bytes per row; one text label per row costs HDF5 16 bytes and more
        if isinstance(s.dtype, pd.CategoricalDtype):
            attrs = {
                "categories": json.dumps([str(c) for c in s.cat.categories]),
                "ordered": int(s.cat.ordered),
                "stored": _CODES,
            }
            ds[name] = xr.DataArray(s.cat.codes.to_numpy().astype(np.int32), dims="row", attrs=attrs)
        elif pd.api.types.is_bool_dtype(s.dtype) or pd.api.types.is_numeric_dtype(s.dtype):
            # nullable extension types (Int64, boolean) are stored as floats with NaN
            values = s.to_numpy() if isinstance(s.dtype, np.dtype) else s.to_numpy(dtype=float, na_value=np.nan)
            ds[name] = xr.DataArray(values, dims="row", attrs={"dtype": str(s.dtype)})
        else:
            labels = pd.Series(np.where(missing, None, s.astype(str).to_numpy(dtype=object)), dtype=object)
            codes, uniques = pd.factorize(labels, use_na_sentinel=True)
            values_dim = name + _VALUES_SUFFIX
            ds[name] = xr.DataArray(codes.astype(np.int32), dims="row", attrs={"dtype": "str", "stored": _CODES})
            ds[values_dim] = xr.DataArray(np.asarray(uniques, dtype=str), dims=values_dim)
    ds.attrs["columns"] = json.dumps([str(c) for c in df.columns])
    return _with_index(ds, df.index)


def _with_index(ds: xr.Dataset, index: pd.Index) -> xr.Dataset:
    """Store the row labels (each level of a MultiIndex) as ``row`` coordinates, unless they
    are the default 0..n-1. Text, categorical and other object labels come back as text, a
    date range without its frequency."""
    if isinstance(index, pd.RangeIndex) and index.start == 0 and index.step == 1 and index.name is None:
        return ds
    dtypes = []
    for i in range(index.nlevels):
        level = index.get_level_values(i)
        values = level.to_numpy()
        if values.dtype == object or isinstance(level.dtype, pd.CategoricalDtype):
            values, dtype = level.astype(str).to_numpy(dtype=str), "str"
        else:
            dtype = str(level.dtype)
        ds = ds.assign_coords({f"{_INDEX_PREFIX}{i}": ("row", values)})
        dtypes.append(dtype)
    ds.attrs["index"] = json.dumps({"names": [None if n is None else str(n) for n in index.names], "dtypes": dtypes})
    return ds


def _saved_index(ds: xr.Dataset, n_rows: int) -> pd.Index:
    if "index" not in ds.attrs:
        return pd.RangeIndex(n_rows)
    meta = json.loads(ds.attrs["index"])
    levels = []
    for i, (name, dtype) in enumerate(zip(meta["names"], meta["dtypes"])):
        values = ds.coords[f"{_INDEX_PREFIX}{i}"].values
        level = pd.Index(values.astype(str)) if dtype == "str" else pd.Index(values).astype(dtype)
        levels.append(level.rename(name))
    return levels[0] if len(levels) == 1 else pd.MultiIndex.from_arrays(levels)


def _decode_codes(ds: xr.Dataset, col: str) -> pd.Categorical | pd.Series:
    da = ds[col]
    codes = da.values.astype(np.int64)
    if "categories" in da.attrs:
        cats = json.loads(da.attrs["categories"])
        return pd.Categorical.from_codes(codes, categories=cats, ordered=bool(da.attrs["ordered"]))
    uniques = ds[col + _VALUES_SUFFIX].values.astype(str).astype(object)
    labels = uniques[np.clip(codes, 0, None)] if len(uniques) else np.full(len(codes), None, dtype=object)
    labels[codes < 0] = None
    return pd.Series(labels, dtype=object)


def dataset_to_data(ds: xr.Dataset) -> pd.DataFrame:
    """The data frame a data group holds (written by :func:`data_to_dataset`, or by format 1's
    text labels with missing-value flags): dtypes, categories, missing values and row labels."""
    cols = json.loads(ds.attrs["columns"])
    out = {}
    for col in cols:
        da = ds[col]
        if da.attrs.get("stored") == _CODES:
            out[col] = _decode_codes(ds, col)
            continue
        # files saved before codes: text labels, "" plus a boolean companion for missing
        na = ds[col + _NA_SUFFIX].values.astype(bool) if col + _NA_SUFFIX in ds else None
        if "categories" in da.attrs:
            cats = json.loads(da.attrs["categories"])
            vals = pd.Series(da.values.astype(str), dtype=object)
            vals = vals.where(~na, None) if na is not None else vals
            out[col] = pd.Categorical(vals, categories=cats, ordered=bool(da.attrs["ordered"]))
        elif da.attrs.get("dtype") == "str":
            vals = pd.Series(da.values.astype(str), dtype=object)
            out[col] = vals.where(~na, None) if na is not None else vals
        else:
            out[col] = pd.Series(da.values).astype(da.attrs.get("dtype", da.dtype))
    frame = pd.DataFrame(out)
    frame.index = _saved_index(ds, len(frame))
    return frame


def used_columns(spec: ModelSpec, data: pd.DataFrame) -> list[str]:
    """Columns of ``data`` named in the formula, the distributional formulas, the row filter
    (identifiers) or the residual structure, in the data's order: the columns a saved fit
    stores."""
    text = f"{spec.to_formula()} {spec.subset or ''}"
    text += " " + " ".join(sub.to_formula() for _, sub in spec.distributional)
    names = set(re.findall(r"[A-Za-z_.][A-Za-z0-9_.]*", text))
    if spec.residuals is not None:  # the residual structure's time, group and by columns
        rs = spec.residuals
        names |= {c for c in (rs.time, rs.by, rs.group) if c is not None}
    names |= {column for _, column in spec.group_weights}  # level-2 weights (level 1: in the formula)
    return [c for c in data.columns if str(c) in names]


def _plain(value):
    """JSON-able copies of prior parameters (numpy numbers and arrays included)."""
    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, np.generic):
        return value.item()
    return value


def fit_metadata(config: ModelConfig, info: dict) -> dict:
    """The JSON-able metadata a saved fit carries: the model configuration and ``info`` (the
    sampling settings as a dict)."""
    return {
        "format": FORMAT,
        "spec": spec_to_dict(config.spec),
        "priors": {k: [p.dist, {n: _plain(v) for n, v in p.params}] for k, p in config.prior_overrides.items()},
        "missing": config.missing,
        # the user's setting (keyed by grouping factor); the compiled choice is in info
        "model_parameterization": config.parameterization,
        "collapse": config.collapse,
        "info": {k: _plain(v) for k, v in info.items()},
    }


def config_from_metadata(meta: dict) -> ModelConfig:
    """The model configuration saved by :func:`fit_metadata`.

    Raises
    ------
    HierbayesError
        When the saved spec or priors do not make a valid configuration.
    KeyError, TypeError, ValueError
        For damaged metadata.
    """
    priors = {k: Prior(dist, **params) for k, (dist, params) in meta["priors"].items()}
    return ModelConfig(
        spec_from_dict(meta["spec"]),
        priors,
        missing=meta["missing"],
        parameterization=meta.get("model_parameterization"),
        collapse=meta.get("collapse", "auto"),
    )


def _fsync_dir(directory: Path) -> None:
    try:
        fd = os.open(directory, os.O_RDONLY)
    except OSError:  # not supported everywhere (e.g. Windows); the rename is still atomic
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def file_mode(path: Path) -> int:
    """The mode of the file being replaced, else what a new file gets under the umask."""
    try:
        return path.stat().st_mode & 0o777
    except OSError:
        mask = os.umask(0)
        os.umask(mask)
        return 0o666 & ~mask


def _chunk_shape(shape: tuple[int, ...], itemsize: int, dims: tuple) -> tuple[int, ...]:
    """One chain per chunk, then the largest dimension halved until a chunk holds at most
    :data:`CHUNK_BYTES`."""
    chunks = list(shape)
    if dims and dims[0] == "chain":
        chunks[0] = 1
    while int(np.prod(chunks)) * itemsize > CHUNK_BYTES:
        largest = int(np.argmax(chunks))
        chunks[largest] = -(-chunks[largest] // 2)
    return tuple(chunks)


def compression_encoding(tree: xr.DataTree) -> dict[str, dict[str, dict]]:
    """netCDF encodings (``DataTree.to_netcdf(encoding=...)``) that compress every numeric
    array of at least :data:`MIN_COMPRESSED_BYTES` losslessly: deflate with byte shuffling,
    dtype unchanged."""
    encoding: dict[str, dict[str, dict]] = {}
    for node in tree.subtree:
        group: dict[str, dict] = {}
        for name, var in node.to_dataset(inherit=False).variables.items():
            if var.dtype.kind not in "biuf" or var.nbytes < MIN_COMPRESSED_BYTES:
                continue
            group[str(name)] = {
                "zlib": True,
                "complevel": COMPRESSION_LEVEL,
                "shuffle": True,
                "chunksizes": _chunk_shape(var.shape, var.dtype.itemsize, var.dims),
            }
        if group:
            encoding[node.path] = group
    return encoding


def write_fit_file(path, tree: xr.DataTree, meta: dict, data: pd.DataFrame) -> None:
    """Write a fit's draws ``tree``, its ``meta`` (:func:`fit_metadata`) and its training
    ``data`` to ``path`` atomically: a crash mid-write leaves any old file intact.

    Raises
    ------
    FitFileError
        When the directory does not exist or is not writable (nothing is changed).
    """
    path = Path(path).expanduser()
    if is_dask_frame(data):  # a saved fit holds its training data, which would not fit
        raise FitFileError(
            f"cannot save the fit to {str(path)!r}: it was fitted from a Dask DataFrame and a saved "
            "fit holds its training data; keep the draws with fit.idata.to_netcdf(path) instead"
        )
    directory = path.parent
    if not directory.is_dir():
        raise FitFileError(f"cannot save the fit to {str(path)!r}: directory {str(directory)!r} does not exist")
    tree = tree.copy()
    tree[META_GROUP] = xr.DataTree(xr.Dataset(attrs={"meta": json.dumps(meta)}))
    tree[DATA_GROUP] = xr.DataTree(data_to_dataset(data))
    try:
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=directory)
    except OSError as exc:
        raise FitFileError(f"cannot save the fit to {str(path)!r}: {exc.strerror or exc}") from None
    os.close(fd)
    try:
        tree.to_netcdf(tmp, engine="h5netcdf", encoding=compression_encoding(tree))
        append_checksum(tmp)
        with open(tmp, "rb+") as fh:
            os.fsync(fh.fileno())
        os.chmod(tmp, file_mode(path))
        os.replace(tmp, path)
    except BaseException:  # includes KeyboardInterrupt: never leave the temporary file behind
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise
    _fsync_dir(directory)


def _read_tree(path: Path) -> xr.DataTree:
    try:
        tree = xr.open_datatree(path, engine="h5netcdf")
    except Exception as exc:  # noqa: BLE001 - h5py/netCDF raise many types for a damaged file
        empty = path.stat().st_size == 0
        kind = "is empty" if empty else "is not a readable netCDF/HDF5 file (corrupted or truncated?)"
        raise FitFileError(f"{str(path)!r} {kind} ({type(exc).__name__}: {exc})") from None
    try:
        return tree.load()
    except Exception as exc:  # noqa: BLE001
        raise FitFileError(
            f"{str(path)!r} is damaged: its data could not be read ({type(exc).__name__}: {exc})"
        ) from None
    finally:
        tree.close()


@dataclass(frozen=True)
class SavedFit:
    """The parts of a saved fit: the draws (and any other ArviZ groups), the metadata
    (:func:`fit_metadata`) and the training data."""

    idata: xr.DataTree
    meta: dict
    data: pd.DataFrame


def read_fit_file(path) -> SavedFit:
    """Read and check a file written by :func:`write_fit_file`.

    Raises
    ------
    FitFileError
        For a missing, empty, corrupted or truncated file, a netCDF file not written by
        hierbayes, or a file from an incompatible hierbayes version.
    """
    path = Path(path).expanduser()
    if not path.exists():
        raise FitFileError(f"no such file: {str(path)!r}")
    if path.is_dir():
        raise FitFileError(f"{str(path)!r} is a directory, not a saved fit")
    verified = verify_checksum(path)
    tree = _read_tree(path)
    if META_GROUP not in tree.children or DATA_GROUP not in tree.children or "posterior" not in tree.children:
        found = sorted(tree.children)
        raise FitFileError(
            f"{str(path)!r} was not written by hierbayes (no '{META_GROUP}' group; groups found: {found}). "
            "Load plain ArviZ files with arviz.from_netcdf"
        )
    if not verified:
        warn_unverified(path)
    try:
        meta = json.loads(tree[META_GROUP].attrs["meta"])
    except (KeyError, TypeError, ValueError) as exc:
        raise FitFileError(f"{str(path)!r} has damaged hierbayes metadata ({type(exc).__name__}: {exc})") from None
    if meta.get("format") not in READABLE_FORMATS:
        readable = " and ".join(repr(f) for f in READABLE_FORMATS)
        raise FitFileError(
            f"{str(path)!r} has format {meta.get('format')!r}; this version of hierbayes reads {readable}"
        )
    try:
        data = dataset_to_data(tree[DATA_GROUP].to_dataset())
    except (KeyError, TypeError, ValueError) as exc:
        raise FitFileError(f"{str(path)!r} has damaged hierbayes metadata ({type(exc).__name__}: {exc})") from None
    idata = xr.DataTree.from_dict({
        name: child.to_dataset() for name, child in tree.children.items() if name not in (META_GROUP, DATA_GROUP)
    })
    return SavedFit(idata, meta, data)
