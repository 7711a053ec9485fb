"""Helpers shared by the plot modules."""

from __future__ import annotations

from ..errors import SpecError


def figure_of(plot_collection):
    """The matplotlib Figure behind an ArviZ PlotCollection."""
    return plot_collection.viz["figure"].item()


def retitle(fig, title: str):
    """Replace the variable-name titles ArviZ puts on its panels."""
    titled = [ax for ax in fig.axes if ax.get_title()]
    for ax in titled or fig.axes[:1]:
        ax.set_title(title, fontsize=10)
    return fig


def unknown_name(what: str, name, valid) -> None:
    """Raise the SpecError for a ``what`` called ``name`` that is not among ``valid``."""
    raise SpecError(f"no {what} {name!r}; valid: {list(valid)}")
