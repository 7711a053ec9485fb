"""hierbayes: Bayesian multilevel models from lme4 formulas and level equations, on PyMC.

>>> import hierbayes as hb
>>> df = hb.datasets.load("sleepstudy")
>>> fit = hb.Model("Reaction ~ Days + (Days | Subject)", data=df).fit()
>>> fit.summary()

``import hierbayes`` loads only the errors and sets XLA's flags (:mod:`hierbayes.runtime`):
every other public name is imported from its module on first use (PEP 562 ``__getattr__``),
so a script pays for JAX, PyMC, ArviZ and matplotlib only when it reaches a step that needs
them.
"""

from __future__ import annotations

import importlib
import os
import sys
import types
from typing import TYPE_CHECKING

from .runtime import with_default_xla_flags

# JAX reads XLA_FLAGS once, when it starts: hierbayes' defaults (a host device per chain,
# XLA's own CPU loops) are set here, each unless the user's flags name it.
os.environ["XLA_FLAGS"] = with_default_xla_flags(os.environ.get("XLA_FLAGS", ""))

from .errors import (  # noqa: E402
    ArgumentError,
    DataError,
    FitFileError,
    FitInterrupted,
    HierbayesError,
    PriorError,
    SamplingError,
    SpecError,
)

if TYPE_CHECKING:
    from . import datasets, plots
    from .families import CensoringRule
    from .fit import Fit
    from .fit_many import fit_many
    from .model import Model
    from .predict.mrp import Poststrat
    from .priors import Prior
    from .sbc import sbc
    from .spec import parse_formula
    from .spec.ir import Covariance, FixedPart, GroupTerm, ModelSpec, Response
    from .spec.levels import Levels, levels, parse_levels
    from .spec.residuals import residuals
    from .spec.stata import from_stata
    from .stata_bayes import StataCommand, read_stata

__version__ = "0.1.0"

#: Public name -> (module, attribute); ``None`` as attribute: the module itself.
_LAZY: dict[str, tuple[str, str | None]] = {
    "datasets": (".datasets", None),
    "plots": (".plots", None),
    "CensoringRule": (".families", "CensoringRule"),
    "Fit": (".fit", "Fit"),
    "fit_many": (".fit_many", "fit_many"),
    "Model": (".model", "Model"),
    "Poststrat": (".predict.mrp", "Poststrat"),
    "Prior": (".priors", "Prior"),
    "sbc": (".sbc", "sbc"),
    "parse_formula": (".spec", "parse_formula"),
    "Covariance": (".spec.ir", "Covariance"),
    "FixedPart": (".spec.ir", "FixedPart"),
    "GroupTerm": (".spec.ir", "GroupTerm"),
    "ModelSpec": (".spec.ir", "ModelSpec"),
    "Response": (".spec.ir", "Response"),
    "Levels": (".spec.levels", "Levels"),
    "levels": (".spec.levels", "levels"),
    "parse_levels": (".spec.levels", "parse_levels"),
    "residuals": (".spec.residuals", "residuals"),
    "from_stata": (".spec.stata", "from_stata"),
    "StataCommand": (".stata_bayes", "StataCommand"),
    "read_stata": (".stata_bayes", "read_stata"),
}


def __getattr__(name: str):
    if name not in _LAZY:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    module_name, attribute = _LAZY[name]
    module = importlib.import_module(module_name, __name__)
    value = module if attribute is None else getattr(module, attribute)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_LAZY))


class _Package(types.ModuleType):
    """The package's module type: keeps ``hierbayes.sbc`` the function.

    Importing the submodule :mod:`hierbayes.sbc` (the CLI does) binds it as the package's
    attribute ``sbc``; the public name is the function, as it was when the package imported
    everything eagerly, so that binding is skipped and ``__getattr__`` returns the function.
    """

    def __setattr__(self, name: str, value) -> None:
        entry = _LAZY.get(name)
        if entry is not None and entry[1] is not None and isinstance(value, types.ModuleType):
            return
        super().__setattr__(name, value)


sys.modules[__name__].__class__ = _Package


def compare(fits, method="stacking", group=None, logo_method="integrated", reloo=False):
    """Rank fits by PSIS-LOO (or leave-one-group-out for ``group``) with ArviZ's stacking
    weights; see :func:`hierbayes.predict.ranking.compare`."""
    from .predict.ranking import compare as rank_fits

    return rank_fits(fits, method=method, group=group, logo_method=logo_method, reloo=reloo)


def load(path) -> Fit:
    """Load a fit saved with ``Fit.save(path)``."""
    from .io import load_fit

    return load_fit(path)


__all__ = [
    "ArgumentError",
    "CensoringRule",
    "Covariance",
    "DataError",
    "Fit",
    "FitFileError",
    "FitInterrupted",
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
