"""How a hierbayes process spends its time outside the numerics: Python's cyclic garbage
collector during a fit and at exit, and xarray's eager imports of Dask and sparse.

Measured on a warm fresh-process sleepstudy fit (``bench/``, 4.9 s in all): the collector
ran 0.42 s inside ``Model.fit`` (building a PyMC/PyTensor graph makes hundreds of thousands
of small objects, and every full collection walks all of them), the interpreter's final
collections at exit took 0.7 s, and xarray imported ``dask.array`` (0.6 s) on the first
DataArray it made (and sparse, importing numba, 0.2 s), only to check that a numpy array
is not one of theirs.
"""

from __future__ import annotations

import atexit
import gc
import sys
from collections.abc import Iterator
from contextlib import contextmanager

_EXIT_FREEZE_REGISTERED = False


@contextmanager
def paused_gc() -> Iterator[None]:
    """Pause the cyclic garbage collector inside the block (reference counting still frees
    what is not in a cycle); the collector is switched back on afterwards if it was on, and
    collects the block's cyclic garbage at its next usual pass."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


def freeze_heap_at_exit() -> None:
    """At interpreter exit, move every live object out of the collector's reach
    (``gc.freeze``), so exiting does not walk a heap that is about to be released anyway.

    Registered once. Objects are still released by reference counting as modules are
    cleared; only cyclic garbage left at exit is not finalized, which Python does not
    promise either ("It is not guaranteed that __del__() methods are called for objects that
    still exist when the interpreter exits"). hierbayes itself writes files atomically and
    closes them before returning."""
    global _EXIT_FREEZE_REGISTERED
    if not _EXIT_FREEZE_REGISTERED:
        atexit.register(gc.freeze)
        _EXIT_FREEZE_REGISTERED = True


#: xarray's duck-array modules -> (the module defining the array type, its name): xarray
#: imports each to check whether an array is of that type.
DUCK_ARRAY_TYPES = {
    "dask": ("dask.array", "Array"),
    "sparse": ("sparse", "SparseArray"),
    "pint": ("pint", "Quantity"),
    "cupy": ("cupy", "ndarray"),
}


class _ImportedTypeCheck(type):
    """``isinstance(x, T)`` for a third-party array type ``T`` without importing its
    package: no object can be of that type while its module has not been imported."""

    source: tuple[str, str]

    def _real(cls) -> type | None:
        module = sys.modules.get(cls.source[0])
        return None if module is None else getattr(module, cls.source[1], None)

    def __instancecheck__(cls, obj: object) -> bool:
        real = cls._real()
        return real is not None and isinstance(obj, real)

    def __subclasscheck__(cls, sub: type) -> bool:
        real = cls._real()
        return real is not None and issubclass(sub, real)


class _DeferredDuckModule:
    """xarray's record of a duck-array module (``DuckArrayModule(name)``) whose ``type`` is
    known without importing the module; its other fields (module, version, available)
    import it on first use, and the real record then replaces this one."""

    def __init__(self, name: str, cache: dict, record_type: type) -> None:
        self.type = (_ImportedTypeCheck(f"Deferred_{name}", (), {"source": DUCK_ARRAY_TYPES[name]}),)
        self._name = name
        self._cache = cache
        self._record_type = record_type

    def __getattr__(self, attribute: str):
        real = self._record_type(self._name)
        self._cache[self._name] = real
        return getattr(real, attribute)


def defer_duck_array_imports() -> list[str]:
    """Keep xarray from importing Dask (0.6 s), sparse (and with it numba, 0.3 s), pint and
    cupy when it checks whether an array is one of theirs (xarray 2025-2026 does so for
    every numpy array it wraps). Their arrays are still recognised once their packages are
    imported. Returns the modules whose check was deferred: none already imported, none
    when xarray keeps its records elsewhere."""
    try:
        from xarray.namedarray import pycompat
    except ImportError:
        return []
    cache = getattr(pycompat, "_cached_duck_array_modules", None)
    record_type = getattr(pycompat, "DuckArrayModule", None)
    if not isinstance(cache, dict) or record_type is None:
        return []
    deferred = []
    for name, (module, _) in DUCK_ARRAY_TYPES.items():
        if name not in cache and module not in sys.modules:
            cache[name] = _DeferredDuckModule(name, cache, record_type)
            deferred.append(name)
    return deferred
