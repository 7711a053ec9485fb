"""PyMC and PyTensor, imported on first use.

The backend's modules name ``pm`` and ``pt`` at module level as usual, but through these
stand-ins: the import (0.3 s, with PyTensor) happens when a module first reads an attribute
of them, that is when a model is built. A warm fit whose sampler, data and draws' layout are
all cached (:mod:`.jaxnuts`, :mod:`.graph_cache`) builds no model and never imports them.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from types import ModuleType


class LazyModule:
    """A module imported on the first attribute read (``pm.Model`` imports ``pymc``)."""

    def __init__(self, name: str) -> None:
        self._name = name
        self._module: ModuleType | None = None

    def __getattr__(self, attribute: str):
        module = self._module
        if module is None:
            module = self._module = importlib.import_module(self._name)
        return getattr(module, attribute)

    def __repr__(self) -> str:
        state = "imported" if self._module is not None else "not imported yet"
        return f"<lazy module {self._name!r} ({state})>"


pm = LazyModule("pymc")
pt = LazyModule("pytensor.tensor")


def module_class(cls: type, module: str) -> type:
    """``cls``, made inside a factory on first use, named as a top-level class of ``module``:
    pickle finds it by reference through the module's ``__getattr__`` (:func:`class_getattr`)."""
    cls.__module__, cls.__qualname__ = module, cls.__name__
    return cls


def class_getattr(module: str, factories: dict[str, Callable[[], type]]) -> Callable[[str], type]:
    """A module-level ``__getattr__`` for ``module`` that makes the classes named in
    ``factories`` (cached factories of PyMC subclasses) when they are first read."""
    def module_getattr(name: str) -> type:
        if name in factories:
            return factories[name]()
        raise AttributeError(f"module {module!r} has no attribute {name!r}")

    return module_getattr
