"""One picture per plot in Jupyter (hierbayes.plots.notebook): a returned figure was shown by
IPython as the cell's result and again by the inline backend at the end of the cell."""

from __future__ import annotations

import matplotlib
import matplotlib.pyplot as plt
import pytest
from matplotlib.figure import Figure

IPython = pytest.importorskip("IPython")
from IPython.core.formatters import DisplayFormatter  # noqa: E402

from hierbayes.plots.notebook import show_once_in  # noqa: E402

INLINE = "module://matplotlib_inline.backend_inline"


def formatter_with_figure_printer(calls: list) -> DisplayFormatter:
    formatter = DisplayFormatter()
    formatter.formatters["image/png"].for_type(Figure, lambda fig: calls.append(fig) or b"\x89PNG")
    return formatter


def test_rendering_a_figure_as_a_result_closes_it_under_the_inline_backend(monkeypatch):
    monkeypatch.setattr(matplotlib, "get_backend", lambda: INLINE)
    calls: list = []
    formatter = formatter_with_figure_printer(calls)
    show_once_in(formatter)
    show_once_in(formatter)  # installed twice: still one wrapper
    fig = plt.figure()
    data, _ = formatter.format(fig)
    assert data["image/png"] == b"\x89PNG" and calls == [fig]
    assert not plt.fignum_exists(fig.number)  # nothing left for the backend to show again


def test_other_backends_keep_the_figure_open(monkeypatch):
    monkeypatch.setattr(matplotlib, "get_backend", lambda: "module://ipympl.backend_nbagg")
    calls: list = []
    formatter = formatter_with_figure_printer(calls)
    show_once_in(formatter)
    fig = plt.figure()
    formatter.format(fig)
    assert calls == [fig] and plt.fignum_exists(fig.number)
    plt.close(fig)


def test_a_shell_without_figure_printers_is_left_alone():
    formatter = DisplayFormatter()
    show_once_in(formatter)
    assert Figure not in formatter.formatters["image/png"].type_printers


@pytest.mark.slow  # a kernel and a small fit (~30 s)
def test_each_plot_is_one_picture_in_a_notebook(monkeypatch, tmp_path):
    nbclient = pytest.importorskip("nbclient")
    nbformat = pytest.importorskip("nbformat")
    pytest.importorskip("ipykernel")
    monkeypatch.delenv("MPLBACKEND", raising=False)  # the kernel's inline backend, as in Jupyter
    cells = [
        "import hierbayes as hb\n"
        "fit = hb.Model('Reaction ~ Days + (1 | Subject)', hb.datasets.load('sleepstudy'))"
        ".fit(draws=200, tune=200, progressbar=False, random_seed=1)",
        "fit.plot_forest()",
        "fit.plot_forest();",
        "fig = fit.plot_forest()\nfig.savefig('forest.png')",
    ]
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(c) for c in cells])
    nbclient.NotebookClient(nb, timeout=600, kernel_name="python3", resources={"metadata": {"path": str(tmp_path)}}).execute()
    pictures = [sum("image/png" in o.get("data", {}) for o in cell.outputs) for cell in nb.cells[1:]]
    assert pictures == [1, 1, 1], pictures
    assert (tmp_path / "forest.png").stat().st_size > 0
