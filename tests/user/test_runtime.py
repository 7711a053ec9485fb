"""What a fit does to the process around it (:mod:`hierbayes.runtime`): the garbage collector
paused inside ``Model.fit`` and switched back on, xarray kept from importing Dask, the heap
frozen at exit, the imports after sampling made while the sampler runs, and the fit's
warnings still pointing at the user's line."""

from __future__ import annotations

import dataclasses
import gc
import os
import subprocess
import sys
import textwrap
import warnings
from pathlib import Path

import numpy as np
import pytest

import hierbayes as hb
from hierbayes.backends import get_backend, register_backend, unregister_backend
from hierbayes.results.diagnostics import ConvergenceWarning
from hierbayes.runtime import (
    DEVICE_COUNT_FLAG,
    YNN_FLAG,
    imports_while_waiting,
    paused_gc,
    usable_cpus,
    waiting_on_compiled_code,
    with_default_xla_flags,
)

ROOT = Path(__file__).resolve().parents[2]


def _run(code: str) -> str:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    out = subprocess.run([sys.executable, "-c", textwrap.dedent(code)], capture_output=True, text=True, env=env,
                         timeout=300)
    assert out.returncode == 0, out.stderr
    return out.stdout


def test_paused_gc_restores_the_collector_as_it_was() -> None:
    assert gc.isenabled()
    with paused_gc():
        assert not gc.isenabled()
    assert gc.isenabled()
    gc.disable()
    try:
        with paused_gc():
            assert not gc.isenabled()
        assert not gc.isenabled()  # a user who switched it off keeps it off
    finally:
        gc.enable()
    with pytest.raises(RuntimeError), paused_gc():
        raise RuntimeError("boom")
    assert gc.isenabled()


class _DivergingPrior:
    """The prior-only backend with one divergent draw, reported as a NUTS run."""

    name = "diverging-prior"

    def __getattr__(self, name: str):
        return getattr(get_backend("prior"), name)

    def sample(self, compiled, config):
        run = get_backend("prior").sample(compiled, config)
        assert not gc.isenabled()  # sampling runs with the collector paused
        stats = run.idata["sample_stats"].to_dataset()
        diverging = np.zeros(stats["diverging"].shape, bool)
        diverging[0, 0] = True
        run.idata["sample_stats"] = stats.assign(diverging=(stats["diverging"].dims, diverging))
        return dataclasses.replace(run, converged_draws=True)


def test_a_fit_pauses_the_collector_and_its_warnings_point_at_the_callers_line() -> None:
    df = hb.datasets.load("sleepstudy")
    register_backend("diverging-prior", _DivergingPrior)
    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            hb.Model("Reaction ~ Days + (1 | Subject)", df).fit(draws=50, chains=2, backend="diverging-prior")
    finally:
        unregister_backend("diverging-prior")
    assert gc.isenabled()
    divergent = [w for w in caught if issubclass(w.category, ConvergenceWarning) and "divergent" in str(w.message)]
    assert divergent, [str(w.message) for w in caught]
    assert all(w.filename == __file__ for w in divergent), [w.filename for w in divergent]


def test_xarray_wraps_numpy_without_importing_dask_or_sparse_and_still_knows_their_arrays() -> None:
    out = _run("""
        import sys
        import numpy as np
        import hierbayes.model  # defers xarray's Dask check
        import xarray as xr
        xr.DataArray(np.zeros(3), dims="x").to_dataset(name="v")
        print("dask.array" in sys.modules or "sparse" in sys.modules)
        import dask
        import dask.array as da
        from xarray.namedarray import pycompat
        arr = xr.DataArray(da.zeros(4, chunks=2), dims="x")
        print(arr.chunks, isinstance(arr.data, da.Array), pycompat.mod_version("dask") == pycompat.Version(dask.__version__))
        import sparse
        coo = sparse.COO.from_numpy(np.eye(2))
        print(isinstance(xr.DataArray(coo, dims=("a", "b")).data, sparse.SparseArray))
    """)
    assert out.split("\n")[:3] == ["False", "((2, 2),) True True", "True"]


def test_the_exit_freeze_is_registered_once_and_output_survives_it(tmp_path: Path) -> None:
    target = tmp_path / "written.txt"
    out = _run(f"""
        import atexit
        from hierbayes.runtime import freeze_heap_at_exit
        before = atexit._ncallbacks()
        freeze_heap_at_exit(); freeze_heap_at_exit()
        print(atexit._ncallbacks() - before)
        handle = open({str(target)!r}, "w")  # never closed: flushed when released at exit
        handle.write("kept")
    """)
    assert out.strip() == "1"
    assert target.read_text() == "kept"


def _module_recording_its_thread(folder: Path, name: str) -> None:
    (folder / f"{name}.py").write_text("import threading\nTHREAD = threading.current_thread().name\n")


def test_imports_while_waiting_run_on_a_thread_only_while_the_sampler_waits(tmp_path: Path, monkeypatch) -> None:
    _module_recording_its_thread(tmp_path, "hb_after_sampling_a")
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.delitem(sys.modules, "hb_after_sampling_a", raising=False)
    with waiting_on_compiled_code():  # outside imports_while_waiting: nothing
        pass
    assert "hb_after_sampling_a" not in sys.modules
    with imports_while_waiting(["hb_missing_module_xyz", "hb_after_sampling_a"]):
        assert "hb_after_sampling_a" not in sys.modules  # not before the sampler waits
        with waiting_on_compiled_code():
            pass
        # finished when the waiting ends; a failing import before it does not stop the rest
        assert sys.modules["hb_after_sampling_a"].THREAD == "hierbayes-imports"
    with pytest.raises(ModuleNotFoundError, match="hb_missing_module_xyz"):
        import hb_missing_module_xyz  # noqa: F401  (the caller's own import reports it)


class _WaitingPrior:
    """The prior backend, waiting on 'compiled code' as the NUTS samplers do."""

    name = "waiting-prior"

    def __getattr__(self, attribute):
        return getattr(get_backend("prior"), attribute)

    def sample(self, compiled, config):
        with waiting_on_compiled_code():
            return get_backend("prior").sample(compiled, config)


def test_a_fit_imports_what_comes_after_sampling_while_it_samples(tmp_path: Path, monkeypatch) -> None:
    import hierbayes.model

    _module_recording_its_thread(tmp_path, "hb_after_sampling_b")
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.delitem(sys.modules, "hb_after_sampling_b", raising=False)
    monkeypatch.setattr(hierbayes.model, "IMPORTS_AFTER_SAMPLING", ("hb_after_sampling_b",))
    register_backend("waiting-prior", _WaitingPrior)
    try:
        hb.Model("Reaction ~ Days + (1 | Subject)", hb.datasets.load("sleepstudy")).fit(
            draws=20, chains=2, backend="waiting-prior")
    finally:
        unregister_backend("waiting-prior")
    assert sys.modules["hb_after_sampling_b"].THREAD == "hierbayes-imports"


def test_default_xla_flags_are_added_each_unless_the_user_names_it() -> None:
    count = max(usable_cpus(), 4)
    assert with_default_xla_flags("").split() == [f"{DEVICE_COUNT_FLAG}={count}", f"{YNN_FLAG}="]
    own = with_default_xla_flags(f"--xla_cpu_enable_fast_math=false {DEVICE_COUNT_FLAG}=3 {YNN_FLAG}=individual_dot")
    assert own == f"--xla_cpu_enable_fast_math=false {DEVICE_COUNT_FLAG}=3 {YNN_FLAG}=individual_dot"
    assert with_default_xla_flags(f"  {DEVICE_COUNT_FLAG}=2 ").split() == [f"{DEVICE_COUNT_FLAG}=2", f"{YNN_FLAG}="]
    # applied twice (on import, then when the sampler configures JAX) it adds nothing more
    assert with_default_xla_flags(with_default_xla_flags("")) == with_default_xla_flags("")


def test_the_device_count_follows_the_usable_cpus_not_the_machines(monkeypatch) -> None:
    """A container may report 100 CPUs and allow 2: 100 devices slowed JAX's start."""
    monkeypatch.setattr(os, "cpu_count", lambda: 100)
    monkeypatch.setattr(os, "sched_getaffinity", lambda pid: {0, 1}, raising=False)
    assert f"{DEVICE_COUNT_FLAG}=4" in with_default_xla_flags("").split()
    monkeypatch.setattr(os, "sched_getaffinity", lambda pid: set(range(8)), raising=False)
    assert f"{DEVICE_COUNT_FLAG}=8" in with_default_xla_flags("").split()


def test_after_import_xla_cpu_compiles_its_own_loops_not_ynnpack_kernels() -> None:
    # a leapfrog step of VerbAgg's logit GLMM took 156 us with YNNPACK's kernels, 65 us without
    code = """
        import hierbayes
        import jax, jax.numpy as jnp
        x = jnp.linspace(-1.0, 1.0, 5000)
        print("__ynn_fusion" in jax.jit(lambda x: jnp.sum(jnp.log1p(jnp.exp(x)) * x)).lower(x).compile().as_text())
    """
    env = {k: v for k, v in os.environ.items() if k != "XLA_FLAGS"}  # this process's hierbayes set it
    ours = subprocess.run([sys.executable, "-c", textwrap.dedent(code)], capture_output=True, text=True,
                          env={**env, "PYTHONPATH": str(ROOT)}, timeout=300)
    assert ours.returncode == 0, ours.stderr
    assert ours.stdout.split() == ["False"]
    # the same program with the user's choice of YNNPACK fusions kept: XLA's default has them
    theirs = subprocess.run([sys.executable, "-c", textwrap.dedent(code)], capture_output=True, text=True,
                            env={**env, "PYTHONPATH": str(ROOT), "XLA_FLAGS": f"{YNN_FLAG}=reduce,eltwise"},
                            timeout=300)
    assert theirs.returncode == 0, theirs.stderr
    assert theirs.stdout.split() == ["True"]
