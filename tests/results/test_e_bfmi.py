"""E-BFMI computed in numpy after every fit agrees with ArviZ's ``bfmi`` (which the fit no
longer imports), and a low one is reported by ``diagnose``."""

from __future__ import annotations

import numpy as np
import xarray as xr
from arviz_stats import bfmi

from hierbayes.results.diagnostics import diagnose, e_bfmi


def _tree(energy: np.ndarray) -> xr.DataTree:
    chains, draws = energy.shape
    coords = {"chain": np.arange(chains), "draw": np.arange(draws)}
    posterior = xr.Dataset({"mu": (("chain", "draw"), np.random.default_rng(0).normal(size=energy.shape))},
                           coords=coords)
    stats = xr.Dataset({"energy": (("chain", "draw"), energy),
                        "diverging": (("chain", "draw"), np.zeros(energy.shape, bool))}, coords=coords)
    return xr.DataTree.from_dict({"/posterior": posterior, "/sample_stats": stats})


def _ar1(phi: float, shape, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    noise = rng.normal(size=shape)
    out = np.empty(shape)
    out[:, 0] = noise[:, 0]
    for t in range(1, shape[1]):
        out[:, t] = phi * out[:, t - 1] + noise[:, t]
    return out


def test_e_bfmi_equals_arviz_per_chain():
    energy = _ar1(0.9, (4, 500), seed=1) + np.array([[0.0], [1.0], [2.0], [3.0]])
    ours = e_bfmi(energy)
    theirs = np.asarray(bfmi(_tree(energy)).to_dataset()["energy"].values, dtype=float)
    np.testing.assert_allclose(ours, theirs, rtol=1e-12)
    assert ours.shape == (4,) and ours.max() < 0.5  # sticky energies: a low E-BFMI


def test_diagnose_reports_the_smallest_chain_e_bfmi():
    energy = np.vstack([_ar1(0.0, (3, 400), seed=2), _ar1(0.95, (1, 400), seed=3)])
    diag = diagnose(_tree(energy))
    assert diag.min_bfmi == e_bfmi(energy).min() < 0.3
    assert any("BFMI" in problem for problem in diag.problems)
