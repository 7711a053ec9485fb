"""Prior objects: a distribution with its parameters, and the resolved priors of a model."""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from ..errors import PriorError, did_you_mean
from ..fixed_prior import JointFixedPrior
from ..params import ParamAddress

__all__ = [
    "CLASS_SUPPORT",
    "DISTRIBUTIONS",
    "JOINT_SOURCE",
    "Prior",
    "PriorTable",
    "ResolvedPrior",
]

# distribution -> (required parameters, optional parameters, positive parameters, support)
DISTRIBUTIONS: dict[str, tuple[tuple[str, ...], tuple[str, ...], tuple[str, ...], str]] = {
    "Normal": (("mu", "sigma"), (), ("sigma",), "real"),
    "StudentT": (("nu", "mu", "sigma"), (), ("nu", "sigma"), "real"),
    "Cauchy": (("alpha", "beta"), (), ("beta",), "real"),
    "HalfNormal": (("sigma",), (), ("sigma",), "positive"),
    "HalfStudentT": (("nu", "sigma"), (), ("nu", "sigma"), "positive"),
    "HalfCauchy": (("beta",), (), ("beta",), "positive"),
    "Exponential": (("lam",), (), ("lam",), "positive"),
    "Gamma": (("alpha", "beta"), (), ("alpha", "beta"), "positive"),
    "LKJ": (("eta",), (), ("eta",), "correlation"),
    "Beta": (("alpha", "beta"), (), ("alpha", "beta"), "unit"),
    "LogNormal": (("mu", "sigma"), (), ("sigma",), "positive"),
    "InverseGamma": (("alpha", "beta"), (), ("alpha", "beta"), "positive"),
    "Uniform": (("lower", "upper"), (), (), "interval"),
}
CLASS_SUPPORT = {
    "Intercept": ("real",),
    "b": ("real",),
    "sd": ("positive",),
    "sigma": ("positive",),
    "cor": ("correlation", "unit"),
    "nu": ("positive",),
    "phi": ("positive",),
    "shape": ("positive",),
}


@dataclass(frozen=True)
class Prior:
    """A prior distribution by PyMC name and parameters: ``Prior("HalfNormal", sigma=10)``."""

    dist: str
    params: tuple[tuple[str, float], ...] = field(default=())

    def __init__(self, dist: str, **params: float) -> None:
        object.__setattr__(self, "dist", dist)
        object.__setattr__(self, "params", tuple(params.items()))

    @property
    def kwargs(self) -> dict[str, float]:
        return dict(self.params)

    def __str__(self) -> str:
        inner = ", ".join(f"{k}={_fmt(v)}" for k, v in self.params)
        return f"{self.dist}({inner})"

    def validate(self, where: str, kind: str, supports: tuple[str, ...] | None = None) -> None:
        """Raise PriorError when the distribution or its parameters are invalid for ``kind``
        (a class of :data:`CLASS_SUPPORT`, or any class with its ``supports`` given)."""
        if self.dist not in DISTRIBUTIONS:
            raise PriorError(
                f"prior for {where!r}: unknown distribution {self.dist!r}."
                f"{did_you_mean(self.dist, DISTRIBUTIONS)} Valid: {sorted(DISTRIBUTIONS)}"
            )
        required, optional, positive, support = DISTRIBUTIONS[self.dist]
        supports = CLASS_SUPPORT[kind] if supports is None else supports
        if support not in supports:
            valid = [d for d, spec in DISTRIBUTIONS.items() if spec[3] in supports]
            raise PriorError(
                f"prior for {where!r}: {self.dist} has {support} support but {kind!r} "
                f"parameters need {' or '.join(supports)} support; use one of {valid}"
            )
        given = self.kwargs
        unknown = set(given) - set(required) - set(optional)
        missing = set(required) - set(given)
        if unknown or missing:
            raise PriorError(
                f"prior for {where!r}: {self.dist} takes parameters {list(required)}; "
                + (f"unknown {sorted(unknown)}" if unknown else f"missing {sorted(missing)}")
            )
        for name, value in given.items():
            if not isinstance(value, (int, float, np.number)) or not math.isfinite(value):
                raise PriorError(f"prior for {where!r}: {name}={value!r} must be a finite number")
            if name in positive and value <= 0:
                raise PriorError(f"prior for {where!r}: {name}={value!r} must be > 0")
        if support == "interval" and given["lower"] >= given["upper"]:
            raise PriorError(f"prior for {where!r}: lower={given['lower']!r} must be below upper={given['upper']!r}")


def _fmt(v: float) -> str:
    return f"{v:.4g}"


@dataclass(frozen=True)
class ResolvedPrior:
    """The prior of one parameter after defaults and overrides."""

    address: ParamAddress
    prior: Prior
    source: str  # "default" or the user key that set it
    #: How the prior is applied when it is not as stated (AR(1)'s phi folded onto [0, 1)).
    note: str = ""


#: Source of the b terms under the joint default prior.
JOINT_SOURCE = "default (joint)"


@dataclass(frozen=True)
class PriorTable:
    """All resolved priors of a model, printable like brms' ``prior_summary``.

    ``joint`` is the default joint prior of the ``b`` terms whose source is
    ``JOINT_SOURCE`` (their entries hold its marginals), or None.
    """

    entries: tuple[ResolvedPrior, ...]
    joint: JointFixedPrior | None = None

    def get(self, kind: str, group: str | None = None, term: str | None = None) -> Prior:
        for e in self.entries:
            a = e.address
            if (a.kind, a.group, a.term) == (kind, group, term):
                return e.prior
        raise KeyError((kind, group, term))

    def to_frame(self) -> pd.DataFrame:
        rows = [
            {
                "class": e.address.kind,
                "group": e.address.group or "",
                "term": e.address.term or "",
                "prior": f"MvNormal(0, Sigma_b): sd={_fmt(e.prior.kwargs['sigma'])}"
                if e.source == JOINT_SOURCE
                else ", ".join(filter(None, (str(e.prior), e.note))),
                "source": e.source,
            }
            for e in self.entries
        ]
        return pd.DataFrame(rows, columns=["class", "group", "term", "prior", "source"])

    def __str__(self) -> str:
        text = self.to_frame().to_string(index=False)
        return text + "\n" + self.joint.describe() if self.joint is not None else text

    def __repr__(self) -> str:
        return str(self)

    def _repr_html_(self) -> str:
        note = f"<pre>{self.joint.describe()}</pre>" if self.joint is not None else ""
        return self.to_frame().to_html(index=False) + note
