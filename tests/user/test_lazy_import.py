"""``import hierbayes`` is fast: JAX, PyMC, PyTensor, ArviZ, matplotlib and xarray are imported
by the first step that needs them, not by the package (issue 20). Each check runs in a fresh
interpreter, since this test process has long imported everything."""

from __future__ import annotations

import json
import pathlib
import subprocess
import sys
import textwrap

import pytest

PROJECT = pathlib.Path(__file__).resolve().parents[2]
HEAVY = ("jax", "pymc", "pytensor", "arviz", "arviz_base", "arviz_stats", "arviz_plots", "matplotlib", "xarray",
         "numpyro", "nutpie")


def heavy_modules_after(code: str) -> list[str]:
    """The packages of HEAVY imported by running ``code`` in a fresh interpreter."""
    probe = code + textwrap.dedent(f"""
        import json, sys
        print(json.dumps(sorted({{m.split('.')[0] for m in sys.modules}} & set({list(HEAVY)!r}))))
    """)
    out = subprocess.run([sys.executable, "-c", probe], check=False, cwd=PROJECT, capture_output=True, text=True,
                         env={"PYTHONPATH": str(PROJECT), "PATH": "/usr/bin:/bin", "MPLBACKEND": "Agg"})
    assert out.returncode == 0, out.stderr
    return json.loads(out.stdout.strip().splitlines()[-1])


def test_the_probe_sees_a_heavy_import():
    assert heavy_modules_after("import xarray") == ["xarray"]


def test_import_hierbayes_loads_none_of_the_heavy_packages():
    assert heavy_modules_after("import hierbayes") == []


def test_building_a_model_loads_no_sampler_and_no_plotting():
    code = textwrap.dedent("""
        import hierbayes as hb
        model = hb.Model("Reaction ~ Days + (Days | Subject)", hb.datasets.load("sleepstudy"))
        model.priors
    """)
    loaded = heavy_modules_after(code)
    assert not set(loaded) & {"jax", "pymc", "pytensor", "numpyro", "matplotlib", "arviz", "arviz_plots"}, loaded


def test_reading_the_fit_class_loads_no_plotting():
    loaded = heavy_modules_after("import hierbayes as hb\nhb.Fit\nhb.load\nimport hierbayes.io")
    assert not set(loaded) & {"jax", "pymc", "pytensor", "matplotlib", "arviz", "arviz_plots"}, loaded


def test_every_public_name_resolves_as_before():
    import hierbayes as hb
    from hierbayes.fit import Fit
    from hierbayes.sbc import sbc

    assert all(getattr(hb, name) is not None for name in hb.__all__)
    assert set(hb.__all__) <= set(dir(hb))
    assert hb.Fit is Fit
    assert hb.sbc is sbc  # the function, though the submodule hierbayes.sbc is imported
    assert hb.plots.with_plots is not None and callable(hb.plots.caterpillar)


def test_an_unknown_name_is_an_attribute_error():
    import hierbayes as hb

    with pytest.raises(AttributeError, match="no attribute 'Modle'"):
        hb.Modle  # noqa: B018
    with pytest.raises(AttributeError, match="no attribute 'catterpillar'"):
        hb.plots.catterpillar  # noqa: B018
