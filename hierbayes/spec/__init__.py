"""Model specification: the IR and the lme4 formula front end."""

from .ir import Covariance, FixedPart, GroupTerm, ModelSpec, Response
from .lower import parse_formula

__all__ = ["Covariance", "FixedPart", "GroupTerm", "ModelSpec", "Response", "parse_formula"]
