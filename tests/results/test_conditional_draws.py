"""Draws of an integrated-out term beside another group term (conditional.py): each draw
follows the exact conditional posterior given that draw's parameters and the other term's
effects, with row weights and a correlated slope.

For every draw and group, ``u_j | ... ~ N(A_j^-1 b_j, A_j^-1)`` with ``A_j = Z_j' W Z_j /
sigma^2 + Sigma^-1`` and ``b_j = Z_j' W r_j / sigma^2``, ``r = y - X beta - u_h[h]``: the
draws whitened by ``A_j``'s Cholesky factor are standard normal.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import hierbayes as hb


def _whitened_draws(weights: bool) -> np.ndarray:
    rng = np.random.default_rng(0)
    n, J, H = 600, 40, 15
    g, h, x = rng.integers(0, J, n), rng.integers(0, H, n), rng.normal(size=n)
    a, slope, c = rng.normal(size=J), 0.3 * rng.normal(size=J), rng.normal(size=H)
    y = 1 + 0.5 * x + a[g] + slope[g] * x + c[h] + rng.normal(size=n)
    frame = pd.DataFrame({"y": y, "x": x, "g": g.astype(str), "h": h.astype(str), "w": rng.integers(1, 4, n)})
    weighting = {"weights": "w", "weight_kind": "frequency"} if weights else {}
    model = hb.Model("y ~ x + (x | g) + (1 | h)", frame, **weighting)
    assert model.compile().parameterization == {"g": "marginal", "h": "centered"}
    post = model.fit(backend="prior", draws=200, chains=2, random_seed=1).posterior
    design = model.design
    block_g, block_h = design.groups
    W = np.ones(n) if design.row_weights is None else design.row_weights
    assert (design.row_weights is not None) == weights

    def flat(name: str) -> np.ndarray:
        values = post[name].values
        return values.reshape(-1, *values.shape[2:])

    beta = np.column_stack([flat("Intercept"), flat("b")])
    sigma, sd, cor = flat("sigma"), flat("sd_g"), flat("cor_g")
    u_h, u_g = flat("re_h").reshape(len(sigma), -1), flat("re_g")
    Z = block_g.X
    out = []
    for s in range(len(sigma)):
        L = np.diag(sd[s]) @ np.linalg.cholesky(cor[s] + 1e-12 * np.eye(2))
        Sigma_inv = np.linalg.inv(L @ L.T + 1e-12 * np.eye(2))
        r = y - design.X @ beta[s] - u_h[s][block_h.codes]
        for j in range(J):
            rows = block_g.codes == j
            Zw = Z[rows] * W[rows, None]
            A = Zw.T @ Z[rows] / sigma[s] ** 2 + Sigma_inv
            mean = np.linalg.solve(A, Zw.T @ r[rows] / sigma[s] ** 2)
            out.append(np.linalg.cholesky(A).T @ (u_g[s, j] - mean))
    return np.asarray(out)


@pytest.mark.parametrize("weights", [False, True])
def test_draws_beside_another_term_follow_the_exact_conditional(weights: bool) -> None:
    e = _whitened_draws(weights)  # 400 draws x 40 groups x 2 columns
    se = 1 / np.sqrt(len(e))
    assert np.all(np.abs(e.mean(axis=0)) < 5 * se)
    assert np.allclose(e.var(axis=0), 1.0, atol=0.05)
    assert abs(np.corrcoef(e.T)[0, 1]) < 5 * se
