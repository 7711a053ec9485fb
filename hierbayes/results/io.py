"""Save and load fits: one netCDF file with the draws, the spec, the priors, the sampling
settings and the training data (so encoders are rebuilt exactly)."""

from __future__ import annotations

import json
import re
import os
import tempfile
from pathlib import Path

import numpy as np
import pandas as pd
import xarray as xr

from ..errors import FitFileError
from ..spec.serialize import spec_from_dict, spec_to_dict

FORMAT = "hierbayes-fit/1"
META_GROUP = "hierbayes"
DATA_GROUP = "hierbayes_data"


def _data_to_dataset(df: pd.DataFrame) -> xr.Dataset:
    ds = xr.Dataset()
    for col in df.columns:
        s = df[col]
        attrs = {}
        if isinstance(s.dtype, pd.CategoricalDtype):
            attrs = {"categories": json.dumps([str(c) for c in s.cat.categories]), "ordered": int(s.cat.ordered)}
            values = s.astype(str).where(s.notna(), "").to_numpy(dtype=str)
        elif pd.api.types.is_numeric_dtype(s) or pd.api.types.is_bool_dtype(s):
            values = s.to_numpy()
            attrs = {"dtype": str(s.dtype)}
        else:
            attrs = {"dtype": "str"}
            values = s.astype(str).to_numpy(dtype=str)
        ds[str(col)] = xr.DataArray(values, dims="row", attrs=attrs)
    ds.attrs["columns"] = json.dumps([str(c) for c in df.columns])
    return ds


def _dataset_to_data(ds: xr.Dataset) -> pd.DataFrame:
    cols = json.loads(ds.attrs["columns"])
    out = {}
    for col in cols:
        da = ds[col]
        if "categories" in da.attrs:
            cats = json.loads(da.attrs["categories"])
            vals = pd.Series(da.values.astype(str)).replace("", np.nan)
            out[col] = pd.Categorical(vals, categories=cats, ordered=bool(da.attrs["ordered"]))
        elif da.attrs.get("dtype") == "str":
            out[col] = da.values.astype(str)
        else:
            out[col] = pd.Series(da.values).astype(da.attrs.get("dtype", da.dtype))
    return pd.DataFrame(out)


def _used_columns(model) -> list[str]:
    """Columns named in the formula (identifiers), in the data's order."""
    names = set(re.findall(r"[A-Za-z_.][A-Za-z0-9_.]*", model.spec.to_formula()))
    return [c for c in model.data.columns if str(c) in names]


def save_fit(fit, path) -> None:
    """Write ``fit`` to ``path`` atomically: a crash mid-write leaves any old file intact."""
    path = Path(path)
    model = fit.model
    meta = {
        "format": FORMAT,
        "spec": spec_to_dict(model.spec),
        "priors": {k: [p.dist, dict(p.params)] for k, p in model.prior_overrides.items()},
        "missing": model.missing,
        "parameterization": fit.info.parameterization,
        "info": {
            "sampler": fit.info.sampler,
            "draws": fit.info.draws,
            "tune": fit.info.tune,
            "chains": fit.info.chains,
            "wall_seconds": fit.info.wall_seconds,
            "sampling_seconds": fit.info.sampling_seconds,
            "random_seed": fit.info.random_seed,
        },
    }
    tree = fit.idata.copy()
    meta_ds = xr.Dataset(attrs={"meta": json.dumps(meta)})
    tree[META_GROUP] = xr.DataTree(meta_ds)
    tree[DATA_GROUP] = xr.DataTree(_data_to_dataset(model.data[_used_columns(model)]))
    fd, tmp = tempfile.mkstemp(prefix=path.name + ".", suffix=".tmp", dir=path.parent or ".")
    os.close(fd)
    try:
        tree.to_netcdf(tmp, engine="h5netcdf")
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


def load_fit(path):
    """Read a fit written by :meth:`Fit.save`; FitFileError for missing, corrupted or foreign files."""
    from ..model import Model
    from ..priors import Prior
    from .fit import Fit, SamplingInfo

    path = Path(path)
    if not path.exists():
        raise FitFileError(f"no such file: {str(path)!r}")
    try:
        tree = xr.open_datatree(path, engine="h5netcdf").load()
    except Exception as exc:  # h5py/netCDF raise many types for a damaged file
        raise FitFileError(f"{str(path)!r} is not a readable netCDF file ({type(exc).__name__}: {exc})") from None
    if META_GROUP not in tree.children or DATA_GROUP not in tree.children:
        raise FitFileError(f"{str(path)!r} was not written by hierbayes (no '{META_GROUP}' group)")
    meta = json.loads(tree[META_GROUP].attrs["meta"])
    if meta.get("format") != FORMAT:
        raise FitFileError(f"{str(path)!r} has format {meta.get('format')!r}; this version reads {FORMAT!r}")
    data = _dataset_to_data(tree[DATA_GROUP].to_dataset())
    priors = {k: Prior(dist, **params) for k, (dist, params) in meta["priors"].items()}
    spec = spec_from_dict(meta["spec"])
    model = Model(spec, data, priors=priors, missing=meta["missing"], parameterization=meta["parameterization"] or None)
    idata = xr.DataTree.from_dict({
        name: child.to_dataset() for name, child in tree.children.items() if name not in (META_GROUP, DATA_GROUP)
    })
    info = SamplingInfo(parameterization=meta["parameterization"], **meta["info"])
    return Fit(idata, model, info)
