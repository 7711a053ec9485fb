"""The on-disk cache of exported NUTS programs stores and loads them (it needs flatbuffers,
a declared dependency: without it every new process traced and compiled its sampler again)."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
from jax import export

from hierbayes.backends.pymc import program_cache


def test_exported_programs_round_trip_through_the_disk_cache(tmp_path, monkeypatch) -> None:
    monkeypatch.setenv("HIERBAYES_CACHE_DIR", str(tmp_path))
    spec = jax.ShapeDtypeStruct((3,), jnp.float64 if jax.config.jax_enable_x64 else jnp.float32)
    programs = {
        "init": export.export(jax.jit(lambda x: x + 1.0))(spec),
        "advance": export.export(jax.jit(lambda x: 2.0 * x))(spec),
        "finish": export.export(jax.jit(lambda x: x**2))(spec),
    }
    paths = program_cache.cache_paths("toy-key")
    program_cache.save_programs(paths, programs, {"note": "toy"})
    assert all(path.startswith(str(tmp_path)) for path in paths)
    loaded = program_cache.load_programs(paths)
    assert loaded is not None, "programs were not written: is flatbuffers installed?"
    programs_back, meta = loaded
    assert meta["note"] == "toy" and set(programs_back) == set(program_cache.PROGRAM_NAMES)
    x = np.arange(3.0, dtype=spec.dtype)
    np.testing.assert_allclose(programs_back["advance"].call(x), 2.0 * x)
    (tmp_path / "programs" / "toy-key.bin").write_bytes(b"damaged")
    assert program_cache.load_programs(paths) is None  # a damaged entry is rebuilt, not trusted
