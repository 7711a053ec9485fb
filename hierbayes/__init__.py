"""hierbayes: Bayesian multilevel models from lme4 formulas and level equations, on PyMC.

>>> import hierbayes as hb
>>> df = hb.datasets.load("sleepstudy")
>>> fit = hb.Model("Reaction ~ Days + (Days | Subject)", data=df).fit()
>>> fit.summary()
"""

from __future__ import annotations

import os

# JAX (numpyro) runs chains in parallel only with one host device per chain; the flag must be
# set before JAX initialises, so it is set here unless the user chose their own.
os.environ.setdefault("XLA_FLAGS", f"--xla_force_host_platform_device_count={max(os.cpu_count() or 1, 4)}")

from . import datasets, plots  # noqa: E402
from .errors import ArgumentError, DataError, FitFileError, HierbayesError, PriorError, SamplingError, SpecError  # noqa: E402
from .families import CensoringRule  # noqa: E402
from .fit import Fit  # noqa: E402
from .fit_many import fit_many  # noqa: E402
from .io import load_fit  # noqa: E402
from .model import Model  # noqa: E402
from .predict.mrp import Poststrat  # noqa: E402
from .predict.ranking import compare as rank_fits  # noqa: E402
from .priors import Prior  # noqa: E402
from .sbc import sbc  # noqa: E402
from .spec import parse_formula  # noqa: E402
from .spec.ir import Covariance, FixedPart, GroupTerm, ModelSpec, Response  # noqa: E402
from .spec.levels import Levels, levels, parse_levels  # noqa: E402
from .spec.residuals import residuals  # noqa: E402
from .spec.stata import from_stata  # noqa: E402
from .stata_bayes import StataCommand, read_stata  # noqa: E402

__version__ = "0.1.0"


def compare(fits, method="stacking", group=None, logo_method="integrated"):
    """Rank fits by PSIS-LOO (or leave-one-group-out for ``group``) with ArviZ's stacking
    weights; see :func:`hierbayes.predict.ranking.compare`."""
    return rank_fits(fits, method=method, group=group, logo_method=logo_method)


def load(path) -> Fit:
    """Load a fit saved with ``Fit.save(path)``."""
    return load_fit(path)


__all__ = [
    "ArgumentError",
    "CensoringRule",
    "Covariance",
    "DataError",
    "Fit",
    "FitFileError",
    "FixedPart",
    "GroupTerm",
    "HierbayesError",
    "Levels",
    "Model",
    "ModelSpec",
    "Poststrat",
    "Prior",
    "PriorError",
    "Response",
    "SamplingError",
    "SpecError",
    "StataCommand",
    "compare",
    "datasets",
    "fit_many",
    "from_stata",
    "levels",
    "parse_levels",
    "plots",
    "load",
    "parse_formula",
    "read_stata",
    "residuals",
    "sbc",
]
