"""A fit report worth sending: one self-contained ``index.html`` (CSS inline, every plot a
base64 PNG) with the summary, diagnostics, trace plots, caterpillar plots per grouping factor
and the posterior predictive check, plus the tables as CSV and the plots as PNG files.

Every model kind gets a sensible report: sections that do not apply (no grouping factor) say
so, plots that cannot be drawn are named with the reason instead of stopping the report, and
what is capped (many grouping factors, terms, levels or parameters) is said in the page.
"""

from __future__ import annotations

import base64
import html
import io
import warnings
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

import matplotlib.pyplot as plt
import pandas as pd

from .plots.checks import ppc_grouped
from .plots.effects import caterpillar
from .plots.trace import trace

__all__ = ["ReportLimits", "WrittenReport", "safe_name", "write_html_report"]

#: Levels above which a caterpillar or grouped check is drawn on a fixed-height figure.
TALL_FIGURE_LEVELS = 60

STYLE = """
body{font-family:system-ui,sans-serif;margin:2em auto;max-width:1100px;color:#222;padding:0 1em}
h1{font-size:1.5em;margin-bottom:.2em} h2{font-size:1.2em;border-bottom:1px solid #ccc;margin-top:2em}
h3{font-size:1em} table{border-collapse:collapse;font-size:.9em;margin:.5em 0}
td,th{padding:2px 8px;text-align:right} th{border-bottom:1px solid #999}
img{max-width:100%;height:auto;border:1px solid #eee} .note{color:#6a4a00;font-size:.9em}
.failed{color:#a00} nav a{margin-right:1em} code{background:#f4f4f4;padding:0 .2em}
"""


@dataclass(frozen=True)
class ReportLimits:
    """How much a report draws (the page says what was left out).

    Attributes
    ----------
    groups : grouping factors with caterpillar plots.
    terms : group-effect terms (Intercept, slopes) per grouping factor.
    trace_panels : scalar parameters in the trace plot.
    ppc_draws : posterior draws used for the predictive check.
    """

    groups: int = 6
    terms: int = 4
    trace_panels: int = 12
    ppc_draws: int = 100


@dataclass
class WrittenReport:
    """What :func:`write_html_report` wrote.

    Attributes
    ----------
    index : path of ``index.html``.
    files : every file written, relative to the report folder.
    notes : plots not drawn (with the reason) and caps applied.
    """

    index: Path
    files: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


def safe_name(text: str) -> str:
    """``text`` reduced to letters, digits, ``-`` and ``_`` for a file name."""
    return "".join(c if c.isalnum() or c in "-_" else "_" for c in str(text)).strip("_") or "x"


def _slug(title: str) -> str:
    """``"Group-level parameters (sd and correlation)"`` -> ``"group_level_parameters"``."""
    words = "".join(c if c.isalnum() else " " for c in title.split("(")[0].lower()).split()
    return "_".join(words)[:40] or "table"


class _Page:
    """Collects sections, PNGs and CSVs while the report is drawn."""

    def __init__(self, folder: Path, draw_plots: bool):
        self.folder = folder
        self.draw_plots = draw_plots
        self.report = WrittenReport(folder / "index.html")
        self.sections: list[tuple[str, str, list[str]]] = []

    def section(self, title: str) -> list[str]:
        body: list[str] = []
        self.sections.append((title, safe_name(title).lower(), body))
        return body

    def note(self, body: list[str], text: str, failed: bool = False) -> None:
        self.report.notes.append(text)
        body.append(f"<p class='{'failed' if failed else 'note'}'>{html.escape(text)}</p>")

    def csv(self, name: str, table: pd.DataFrame, index: bool = True) -> None:
        (self.folder / name).write_text(table.to_csv(index=index), encoding="utf-8")
        self.report.files.append(name)

    def figure(self, body: list[str], name: str, caption: str, draw: Callable[[], object]) -> None:
        """Draw a matplotlib figure, save it under plots/, embed it; a failure is noted."""
        if not self.draw_plots:
            return
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                fig = draw()
                buffer = io.BytesIO()
                fig.savefig(buffer, format="png", dpi=90, bbox_inches="tight")
            note = getattr(fig, "hierbayes_note", "")
        except Exception as exc:  # noqa: BLE001 - a plot must never lose a finished fit
            self.note(body, f"{caption}: not drawn ({type(exc).__name__}: {exc})", failed=True)
            return
        finally:
            plt.close("all")
        png = buffer.getvalue()
        (self.folder / "plots").mkdir(exist_ok=True)
        (self.folder / "plots" / name).write_bytes(png)
        self.report.files.append(f"plots/{name}")
        encoded = base64.b64encode(png).decode("ascii")
        body.append(f"<figure><img alt='{html.escape(caption)}' src='data:image/png;base64,{encoded}'>"
                    f"<figcaption>{html.escape(caption)}</figcaption></figure>")
        if note:
            self.note(body, f"{caption}: {note}")

    def html(self, title: str) -> str:
        nav = " ".join(f"<a href='#{anchor}'>{html.escape(t)}</a>" for t, anchor, _ in self.sections)
        parts = ["<!DOCTYPE html>", "<html lang='en'><head><meta charset='utf-8'>",
                 f"<title>{html.escape(title)}</title><style>{STYLE}</style></head><body>",
                 f"<h1>{html.escape(title)}</h1>", f"<nav>{nav}</nav>"]
        for t, anchor, body in self.sections:
            parts += [f"<h2 id='{anchor}'>{html.escape(t)}</h2>", *body]
        parts.append("</body></html>\n")
        return "\n".join(parts)


def write_html_report(fit, folder, *, title: str | None = None, details: Mapping[str, str] | None = None,
                      plots: bool = True, limits: ReportLimits | None = None) -> WrittenReport:
    """Write ``index.html`` (self-contained), the summary tables and diagnostics as CSV and the
    plots as PNG into ``folder``.

    Parameters
    ----------
    fit : hierbayes.Fit
    folder : report folder (created if needed).
    title : page title (default: the fitted formula).
    details : extra "name: value" lines shown first (the CLI passes the model file and data).
    plots : draw the plots (False: tables only).
    limits : caps on what is drawn (:class:`ReportLimits`).

    Returns
    -------
    WrittenReport
        ``index`` (the HTML file), ``files`` written and ``notes`` (caps, plots not drawn).
    """
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    limits = limits or ReportLimits()
    page = _Page(folder, plots)
    _summary_section(page, fit, details)
    _diagnostics_section(page, fit)
    body = page.section("Trace plots")
    page.figure(body, "trace.png", "Trace plots of the reported parameters",
                lambda: trace(fit.posterior, max_panels=limits.trace_panels))
    _caterpillar_section(page, fit, limits)
    _ppc_section(page, fit, limits)
    _files_section(page)
    index = folder / "index.html"
    index.write_text(page.html(title or f"hierbayes: {fit.formula}"), encoding="utf-8")
    page.report.files.insert(0, "index.html")
    return page.report


def _summary_section(page: _Page, fit, details: Mapping[str, str] | None) -> None:
    body = page.section("Summary")
    if details:
        body.append("<ul>" + "".join(f"<li><b>{html.escape(k)}</b>: {html.escape(str(v))}</li>"
                                     for k, v in details.items()) + "</ul>")
    summary = fit.summary()
    body.append(summary._repr_html_())
    for i, section in enumerate(summary.sections, start=1):
        page.csv(f"summary_{i}_{_slug(section.title)}.csv", section.table, index=False)
    for group, table in fit.ranef().items():
        flat = table.copy()
        flat.columns = [f"{term}_{stat}" for term, stat in flat.columns]
        page.csv(f"ranef_{safe_name(group)}.csv", flat)


def _diagnostics_section(page: _Page, fit) -> None:
    body = page.section("Diagnostics")
    diagnostics = fit.diagnose()
    body.append(diagnostics._repr_html_())
    table = diagnostics.table
    if len(table):
        page.csv("diagnostics.csv", table)
        worst = table.sort_values("r_hat", ascending=False, na_position="first").head(15)
        body.append(f"<h3>Highest R-hat ({len(worst)} of {len(table)} parameters; all in "
                    "<code>diagnostics.csv</code>)</h3>")
        body.append(worst.round(3).to_html(na_rep="-", border=0))


def _caterpillar_section(page: _Page, fit, limits: ReportLimits) -> None:
    body = page.section("Group effects")
    tables = fit.ranef()
    if not tables:
        body.append("<p>The model has no grouping factor, so there are no group effects to show.</p>")
        return
    if len(tables) > limits.groups:
        page.note(body, f"caterpillar plots for the first {limits.groups} of {len(tables)} grouping factors")
    for group, table in list(tables.items())[: limits.groups]:
        terms = list(dict.fromkeys(table.columns.get_level_values(0)))
        body.append(f"<h3>{html.escape(group)} ({len(table)} levels)</h3>")
        if len(terms) > limits.terms:
            page.note(body, f"{group}: plots for the first {limits.terms} of {len(terms)} terms")
        for term in terms[: limits.terms]:
            page.figure(body, f"caterpillar_{safe_name(group)}_{safe_name(term)}.png",
                        f"{term} effects of {group} (95% intervals)",
                        lambda g=group, t=term, n=len(table): caterpillar(fit, group=g, term=t, ax=_axes(n)))


def _axes(levels: int):
    """A fixed-height axes for plots with very many levels (None: the plot sizes itself)."""
    if levels <= TALL_FIGURE_LEVELS:
        return None
    return plt.subplots(figsize=(6.5, 6.0))[1]


def _ppc_section(page: _Page, fit, limits: ReportLimits) -> None:
    body = page.section("Posterior predictive check")
    if not page.draw_plots:
        body.append("<p>Plots were not drawn.</p>")
        return
    try:
        check = fit.ppc(ndraws=limits.ppc_draws, random_seed=1)
    except Exception as exc:  # noqa: BLE001
        page.note(body, f"posterior predictive check: not computed ({type(exc).__name__}: {exc})", failed=True)
        return
    body.append(f"<p>{limits.ppc_draws} posterior draws replicate the data; the response is "
                f"{html.escape(check.response_kind)}.</p>")
    page.figure(body, "ppc.png", "Replicated data against the observed data", check.plot)
    groups = list(fit.ranef())
    if groups:
        group = groups[0]
        levels = fit.ngroups.get(group, 0)
        page.figure(body, f"ppc_grouped_{safe_name(group)}.png", f"Observed and replicated mean per {group}",
                    lambda: ppc_grouped(check, group=group, ax=_axes(levels)))


def _files_section(page: _Page) -> None:
    body = page.section("Files")
    files = sorted(set(page.report.files))
    body.append("<ul>" + "".join(f"<li><a href='{html.escape(f)}'>{html.escape(f)}</a></li>" for f in files) + "</ul>")
