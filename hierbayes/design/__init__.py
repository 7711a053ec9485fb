"""Design stage: ModelSpec + DataFrame -> numpy arrays and encoders (no PyMC here)."""

from .build import DesignEncoder, build_design
from .levels import level_name
from .types import Design, GroupBlock, NewData, NewGroupBlock

__all__ = [
    "Design",
    "DesignEncoder",
    "GroupBlock",
    "NewData",
    "NewGroupBlock",
    "build_design",
    "level_name",
]
