"""How a hierbayes process spends its time outside the numerics: Python's cyclic garbage
collector during a fit and at exit, xarray's eager imports of Dask and sparse, and imports
that can run while the process waits on a compiled sampler.

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
import importlib
import os
import sys
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from contextvars import ContextVar

_EXIT_FREEZE_REGISTERED = False


def usable_cpus() -> int:
    """The CPUs this process may run on (``taskset``, a container's cpuset), not the machine's."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except (AttributeError, OSError):  # not on Linux
        return max(1, os.cpu_count() or 1)


#: The XLA flag giving JAX's number of CPU devices (read once, when JAX starts).
DEVICE_COUNT_FLAG = "--xla_force_host_platform_device_count"
#: The XLA flag naming what XLA:CPU hands to YNNPACK's kernels; empty, it hands them nothing.
YNN_FLAG = "--xla_cpu_experimental_ynn_fusion_type"


def with_default_xla_flags(flags: str) -> str:
    """``flags`` (the value of ``XLA_FLAGS``) with hierbayes' defaults added for each flag it
    does not name; JAX reads them once, when it starts.

    - One host CPU device per usable core (at least 4), so that NUTS chains run in parallel; a
      container may report 100 CPUs it cannot use, and JAX's start then took 0.16-0.27 s, not
      0.05-0.07 s.
    - No YNNPACK kernels on CPU. XLA:CPU runs elementwise ops, reductions and dots as YNNPACK
      kernels dispatched to its intra-op thread pool. Inside NUTS's nested loops every small op
      then pays the pool's hand-off: on VerbAgg's logit GLMM a leapfrog step took 156 us on one
      core against 65 us with XLA's own fused loops, whose value and gradient are 66 us
      (``bench/README.md``, session 38).
    """
    named = {flag.split("=", 1)[0] for flag in flags.split()}
    defaults = {DEVICE_COUNT_FLAG: str(max(usable_cpus(), 4)), YNN_FLAG: ""}
    added = [f"{name}={value}" for name, value in defaults.items() if name not in named]
    return " ".join([flags.strip(), *added]).strip()


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


class _BackgroundImports:
    """Modules to import on one daemon thread, started once and joined by its owner."""

    def __init__(self, modules: Sequence[str]) -> None:
        self.modules = tuple(modules)
        self.thread: threading.Thread | None = None

    def start(self) -> None:
        missing = [name for name in self.modules if name not in sys.modules]
        if self.thread is None and missing:
            self.thread = threading.Thread(target=self._run, args=(missing,), name="hierbayes-imports", daemon=True)
            self.thread.start()

    @staticmethod
    def _run(modules: list[str]) -> None:
        for name in modules:
            try:
                importlib.import_module(name)
            except Exception:  # noqa: BLE001 - an import the caller needs fails again there, with its message
                continue

    def join(self) -> None:
        if self.thread is not None:
            self.thread.join()


_WAITING_IMPORTS: ContextVar[_BackgroundImports | None] = ContextVar("hierbayes_waiting_imports", default=None)


@contextmanager
def imports_while_waiting(modules: Sequence[str]) -> Iterator[None]:
    """Import ``modules`` on a thread while code inside the block waits on compiled code
    (:func:`waiting_on_compiled_code`).

    ``Model.fit`` wraps the sampler in it with the modules the work after sampling imports
    (the draws' container, arviz_base and dask.base). Loading and running a compiled sampler
    releases the GIL, so the imports run beside it. An import that fails on
    the thread is left for the caller's own import to report."""
    imports = _BackgroundImports(modules)
    token = _WAITING_IMPORTS.set(imports)
    try:
        yield
    finally:
        _WAITING_IMPORTS.reset(token)
        imports.join()


@contextmanager
def waiting_on_compiled_code() -> Iterator[None]:
    """A sampler's span of waiting on compiled code (loading or compiling its program,
    running the chains): the imports of the enclosing :func:`imports_while_waiting` start
    at its beginning (once) and are finished at its end, so that the sampler's own code
    after it never imports a module at the same time as the thread; the span itself should
    hold no code that imports (graph building and tracing stay before it). Nothing happens
    outside an :func:`imports_while_waiting` block."""
    imports = _WAITING_IMPORTS.get()
    if imports is not None:
        imports.start()
    try:
        yield
    finally:
        if imports is not None:
            imports.join()
