"""One picture per plot in Jupyter.

With the inline backend, a figure a cell returns is shown twice: IPython renders the returned
Figure as the cell's result, and at the end of the cell the backend shows every figure still
open. Closing the figure before returning it would lose the picture of ``fit.plot_forest();``
(the semicolon idiom hides the result, leaving only the backend's show). So the figure is
closed when IPython renders it as a result: IPython's own Figure printers are wrapped to
close the figure after drawing it, which leaves the backend nothing more to show. Without the
semicolon the result is the one picture; with it, the backend's. Only the inline backend is
touched (a widget figure must stay open), and only while IPython runs. The printers are
IPython's for every Figure, so once a hierbayes plot module is imported the user's own
figures returned by a cell show once too (a figure ``display()``-ed mid-cell is closed then,
so drawing on it afterwards needs another ``display``).

Installed when the plot modules are imported. Re-selecting the inline formats later (``%config
InlineBackend.figure_formats``) replaces the printers, and plots show twice again until the
next hierbayes plot module is imported in a new kernel.
"""

from __future__ import annotations

import importlib
import sys

import matplotlib
import matplotlib.pyplot as plt
from matplotlib.figure import Figure

#: The MIME types IPython's inline backend may render a Figure as.
FIGURE_FORMATS = ("image/png", "image/jpeg", "image/svg+xml", "application/pdf")


def closing_printer(printer):
    """``printer`` (IPython's renderer of a Figure) followed by closing the figure."""

    def render_then_close(fig):
        out = printer(fig)
        if "inline" in matplotlib.get_backend().lower():
            plt.close(fig)
        return out

    render_then_close.hierbayes_shows_once = True
    return render_then_close


def show_once_in(display_formatter) -> None:
    """Wrap the Figure printers of an IPython ``DisplayFormatter`` (idempotent)."""
    for mime, formatter in display_formatter.formatters.items():
        if mime not in FIGURE_FORMATS:
            continue
        printer = formatter.type_printers.get(Figure)
        if printer is not None and not getattr(printer, "hierbayes_shows_once", False):
            formatter.for_type(Figure, closing_printer(printer))


def show_once_in_notebooks() -> None:
    """Install :func:`show_once_in` in the running IPython shell, if any (IPython is not
    imported when it is not already). pyplot loads its backend with the first figure, and
    the inline backend registers IPython's Figure printers when it is loaded: it is loaded
    here first, as pyplot would load it."""
    ipython = sys.modules.get("IPython")
    shell = ipython.get_ipython() if ipython is not None else None
    if shell is None or not hasattr(shell, "display_formatter"):
        return
    if "inline" in matplotlib.get_backend(auto_select=False).lower():
        importlib.import_module("matplotlib_inline.backend_inline")
    show_once_in(shell.display_formatter)


show_once_in_notebooks()
