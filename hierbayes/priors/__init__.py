"""Priors: weakly informative defaults scaled to the data, and user overrides.

- :mod:`.types`: :class:`Prior` (a distribution and its parameters, validated per parameter
  class), :class:`ResolvedPrior` and :class:`PriorTable` (what ``model.priors`` prints);
- :mod:`.defaults`: the data-scaled defaults (rstanarm/brms autoscaling; the table of
  defaults per class and family is there) and the joint default of the ``b`` terms;
- :mod:`.resolve`: :func:`resolve_priors`, user overrides (``"b"``, ``"sd:school"``,
  ``"sd:school:lrt"``; the most specific key wins) over the defaults.
"""

from .defaults import (
    default_addresses,
    default_joint_prior,
    family_location,
    n_categories,
    offset_shift,
)
from .residual import structure_defaults
from .resolve import resolve_priors
from .types import CLASS_SUPPORT, DISTRIBUTIONS, JOINT_SOURCE, Prior, PriorTable, ResolvedPrior

__all__ = [
    "CLASS_SUPPORT",
    "DISTRIBUTIONS",
    "JOINT_SOURCE",
    "Prior",
    "PriorTable",
    "ResolvedPrior",
    "default_addresses",
    "default_joint_prior",
    "family_location",
    "n_categories",
    "offset_shift",
    "resolve_priors",
    "structure_defaults",
]
