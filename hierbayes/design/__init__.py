"""Design stage: ModelSpec + DataFrame -> numpy arrays and encoders (no PyMC here)."""

from .build import DesignEncoder, NewData, NewGroupBlock, build_design
from .types import Design, GroupBlock

__all__ = ["Design", "DesignEncoder", "GroupBlock", "NewData", "NewGroupBlock", "build_design"]
