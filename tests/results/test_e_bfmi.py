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
    # no group terms: no funnel between group effects and their sd to blame
    text = next(problem for problem in diag.problems if "BFMI" in problem)
    assert "group effects" not in text and "did not move" in text


def test_diagnose_names_a_chain_that_did_not_move():
    """survival::pbc's weibull chain 4 before the start jitter was narrowed: step size 4.7e-38
    against 0.56-0.65, log density -7e67; R-hat alone said 'run longer', which did not help."""
    energy = _ar1(0.0, (4, 300), seed=4)
    tree = _tree(energy)
    steps = np.array([[0.64], [0.56], [0.65], [4.7e-38]]) * np.ones((4, 300))
    tree["sample_stats"] = tree["sample_stats"].to_dataset().assign(step_size=(("chain", "draw"), steps))
    diag = diagnose(tree)
    assert diag.stuck == (4,)
    assert diag.problems[0].startswith("chain 4 of 4 did not move") and "another random_seed" in diag.problems[0]
    healthy = np.array([[0.64], [0.56], [0.65], [0.3]]) * np.ones((4, 300))
    tree["sample_stats"] = tree["sample_stats"].to_dataset().assign(step_size=(("chain", "draw"), healthy))
    assert diagnose(tree).stuck == ()
