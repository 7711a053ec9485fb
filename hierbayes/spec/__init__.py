"""Model specification: the IR and the lme4 formula front end."""

from . import (
    residual_banded,  # noqa: F401  (banded k)
    residual_kinds,  # noqa: F401  (registers the built-in residual structures)
    residual_toeplitz,  # noqa: F401  (Toeplitz and AR(p))
)
from .ir import Covariance, FixedPart, GroupTerm, ModelSpec, Response
from .lower import parse_formula
from .residuals import ResidualStructure, residuals

__all__ = ["Covariance", "FixedPart", "GroupTerm", "ModelSpec", "Response", "ResidualStructure", "parse_formula", "residuals"]
