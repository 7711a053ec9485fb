"""Trace plots that survive every model kind: one row per scalar parameter, the draws'
density per chain on the left and the chains over iterations on the right.

Drawn with matplotlib rather than ArviZ's ``plot_trace_dist`` because that raises ("Too many
bins for data range") on scalars whose draws are constant, such as the unit diagonal of a
correlation matrix of a ``(x | g)`` term; here constant scalars are left out and named.
"""

from __future__ import annotations

from dataclasses import dataclass

import matplotlib.pyplot as plt
import numpy as np
import xarray as xr

from .common import unknown_name

#: Posterior variables a default trace plot leaves out: internal reparameterisations
#: (``z_*`` standard normals, ``L_*`` Cholesky factors, ``*_c`` centred intercepts) and the
#: group effects ``re_*`` (one per level; the caterpillar plots show them).
HIDDEN_PREFIXES = ("z_", "L_", "re_")
HIDDEN_SUFFIXES = ("_c",)


@dataclass(frozen=True)
class TraceSelection:
    """The scalars a trace plot draws and those it leaves out.

    Attributes
    ----------
    labels : names of the drawn scalars (``sd_g[Days]``, ``cor_g[Days, Intercept]``).
    draws : one ``(chain, draw)`` array per label.
    constant : labels of scalars left out because their draws do not vary.
    dropped : labels left out because ``max_panels`` was reached.
    """

    labels: tuple[str, ...]
    draws: tuple[np.ndarray, ...]
    constant: tuple[str, ...]
    dropped: tuple[str, ...]

    @property
    def note(self) -> str:
        """One sentence naming what was left out (empty when nothing was)."""
        parts = []
        if self.dropped:
            parts.append(f"{len(self.dropped)} more scalars not drawn (only the first {len(self.labels)})")
        if self.constant:
            parts.append("constant, not drawn: " + ", ".join(self.constant[:8]) + (" ..." if len(self.constant) > 8 else ""))
        return "; ".join(parts)


def default_trace_vars(posterior: xr.Dataset) -> list[str]:
    """The posterior variables a summary reports: fixed effects, sds, correlations and family
    parameters, without internal reparameterisations (``Intercept_c``, ``b__z``,
    ``sd_g__signed``) and per-level group effects."""
    return [
        str(v) for v in posterior.data_vars
        if not str(v).startswith(HIDDEN_PREFIXES) and not str(v).endswith(HIDDEN_SUFFIXES) and "__" not in str(v)
    ]


def select_scalars(posterior: xr.Dataset, var_names=None, max_panels: int = 12) -> TraceSelection:
    """Split the chosen variables into scalar ``(chain, draw)`` series.

    Parameters
    ----------
    posterior : dataset with ``chain`` and ``draw`` dimensions.
    var_names : variable names or fixed-effect term names (default: :func:`default_trace_vars`).
    max_panels : at most this many scalars are kept; the rest are listed in ``dropped``.

    Returns
    -------
    TraceSelection

    Raises
    ------
    SpecError
        When a name is neither a posterior variable nor a fixed-effect term.
    """
    valid = [str(v) for v in posterior.data_vars]
    terms = _fixed_terms(posterior)
    names = default_trace_vars(posterior) if var_names is None else [var_names] if isinstance(var_names, str) else list(var_names)
    for name in names:
        if name not in valid and name not in terms:
            unknown_name("posterior variable or fixed-effect term", name, [*default_trace_vars(posterior), *terms])
    labels, draws, constant, dropped = [], [], [], []
    for name in names:
        var = posterior[name] if name in valid else terms[name]
        for label, values in _scalars(var):
            if _is_constant(values):
                constant.append(label)
            elif len(labels) < max_panels:
                labels.append(label)
                draws.append(values)
            else:
                dropped.append(label)
    return TraceSelection(tuple(labels), tuple(draws), tuple(constant), tuple(dropped))


def _fixed_terms(posterior: xr.Dataset) -> dict[str, xr.DataArray]:
    """The fixed effects' draws by term name (``"Days"``, as ``plot_forest(terms=)`` takes them)."""
    b = posterior.get("b")
    if b is None or b.ndim != 3:
        return {}
    dim = next(d for d in b.dims if d not in ("chain", "draw"))
    return {str(t): b.sel({dim: t}, drop=True).rename(str(t)) for t in b.coords[dim].values} if dim in b.coords else {}


def _scalars(var: xr.DataArray):
    """(label, (chain, draw) array) per element; a square matrix over ``d`` and ``d_bis``
    (a correlation matrix) gives only its lower triangle."""
    var = var.transpose("chain", "draw", ...)
    extra = [d for d in var.dims if d not in ("chain", "draw")]
    values = np.asarray(var.values, dtype=float)
    if not extra:
        yield str(var.name), values
        return
    coords = [[str(c) for c in var.coords[d].values] if d in var.coords else [str(i) for i in range(var.sizes[d])]
              for d in extra]
    symmetric = len(extra) == 2 and extra[1] == f"{extra[0]}_bis"
    for index in np.ndindex(*values.shape[2:]):
        if symmetric and index[0] <= index[1]:
            continue
        label = ", ".join(coords[k][i] for k, i in enumerate(index))
        yield f"{var.name}[{label}]", values[(slice(None), slice(None), *index)]


def _is_constant(values: np.ndarray) -> bool:
    finite = values[np.isfinite(values)]
    if finite.size == 0:
        return True
    spread = float(finite.max() - finite.min())
    return spread <= 1e-9 * max(1.0, float(np.abs(finite).max()))


def trace(posterior: xr.Dataset, var_names=None, max_panels: int = 12):
    """Trace plot: per scalar parameter, the density of each chain's draws (left) and the
    draws over iterations (right). Constant scalars (a correlation's unit diagonal, a fixed
    value) are left out and named in the figure's title.

    Parameters
    ----------
    posterior : dataset with ``chain`` and ``draw`` dimensions (``fit.posterior``).
    var_names : variable names (default: fixed effects, sds, correlations, family parameters).
    max_panels : at most this many scalars are drawn; the title says how many were not.

    Returns
    -------
    matplotlib.figure.Figure
        With ``fig.hierbayes_note`` the sentence naming what was left out ("" if nothing).
    """
    chosen = select_scalars(posterior, var_names, max_panels)
    rows = max(1, len(chosen.labels))
    fig, axes = plt.subplots(rows, 2, figsize=(9, 1.2 * rows + 0.9), squeeze=False,
                             gridspec_kw={"width_ratios": [1, 2.2]})
    for (left, right), label, values in zip(axes, chosen.labels, chosen.draws):
        low, high = np.nanmin(values), np.nanmax(values)
        bins = np.linspace(low, high, 31)
        for c, chain in enumerate(values):
            left.hist(chain[np.isfinite(chain)], bins=bins, histtype="step", density=True, color=f"C{c % 10}", lw=1)
            right.plot(chain, color=f"C{c % 10}", lw=0.5, alpha=0.8)
        left.set_yticks([])
        left.set_ylabel(label, rotation=0, ha="right", va="center", fontsize=8)
        left.tick_params(labelsize=7)
        right.tick_params(labelsize=7)
    if not chosen.labels:
        for ax in axes[0]:
            ax.set_axis_off()
        axes[0, 0].text(0, 0.5, "no varying scalar to draw", transform=axes[0, 0].transAxes)
    axes[-1, 1].set_xlabel("iteration (one colour per chain)", fontsize=8)
    title = "Trace plots"
    if chosen.note:
        title += f"\n({chosen.note})"
    fig.suptitle(title, fontsize=9)
    fig.tight_layout()
    fig.hierbayes_note = chosen.note
    return fig
