"""Save and load fits (``fit.save(path)``, ``hierbayes.load(path)``).

The file format (one netCDF file with the draws, the model configuration, the sampling
settings and the training data; atomic writes, checksums) is :mod:`hierbayes.results.fitfile`;
this module turns a file back into a :class:`~hierbayes.Model` and a :class:`~hierbayes.Fit`.
"""

from __future__ import annotations

import dataclasses
import warnings
from pathlib import Path

from .errors import FitFileError, HierbayesError
from .fit import Fit, SamplingInfo
from .model import Model
from .results.fitfile import config_from_metadata, read_fit_file


def save_fit(fit: Fit, path, *, log_likelihood: bool = False) -> None:
    """Write ``fit`` to ``path`` atomically; the same as ``fit.save(path)`` (see there).

    Raises
    ------
    FitFileError
        When the directory does not exist or is not writable (nothing is changed).
    """
    fit.save(path, log_likelihood=log_likelihood)


def load_fit(path) -> Fit:
    """Read a fit written by :meth:`Fit.save`.

    The model is rebuilt from the saved training data without repeating the warnings its
    fit gave about that data (dropped incomplete rows, nesting): they are not news at load
    time, and ``hierbayes predict`` would otherwise print them among the new rows' warnings.
    A file that cannot be verified still warns (:class:`UnverifiedFitWarning`).

    Raises
    ------
    FitFileError
        For a missing, empty, corrupted or truncated file, a netCDF file not written by
        hierbayes, a file from an incompatible hierbayes version, or saved metadata the
        model cannot be rebuilt from.
    """
    path = Path(path).expanduser()
    saved = read_fit_file(path)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", UserWarning)  # the fit's own data warnings, given when fitted
            model = Model.from_config(config_from_metadata(saved.meta), saved.data)
        fields = {f.name for f in dataclasses.fields(SamplingInfo)}
        info = SamplingInfo(**{k: v for k, v in saved.meta["info"].items() if k in fields})
    except HierbayesError as exc:
        raise FitFileError(f"the model saved in {str(path)!r} cannot be rebuilt: {exc}") from None
    except (KeyError, TypeError, ValueError) as exc:
        raise FitFileError(f"{str(path)!r} has damaged hierbayes metadata ({type(exc).__name__}: {exc})") from None
    return Fit(saved.idata, model, info)
