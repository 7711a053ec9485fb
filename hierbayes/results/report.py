"""The printable summary of a fit: aligned text for terminals, HTML for notebooks."""

from __future__ import annotations

import html
import math
import re
import textwrap
from dataclasses import dataclass

import pandas as pd

from ..spec.levels_result import Levels
from .tables import FAMILY_GROUP, RESIDUAL_GROUP


def _fmt_table(df: pd.DataFrame, columns: list[str], digits: int = 3) -> pd.DataFrame:
    """Strings of ``df[columns]``. With an ``sd`` column, a row's estimates share its decimals:
    ``digits``, or more where the sd needs them to show two significant digits (a coefficient
    of ``I(age^2)``: -0.00456 and 0.00075, not -0.005 and 7.521e-04)."""
    out = df[columns].copy()
    by_row = "sd" in df.columns
    decimals = df["sd"].map(lambda sd: _decimals(sd, digits)) if by_row else pd.Series(digits, index=df.index)
    for c in columns:
        if c in ("ess_bulk", "ess_tail"):
            out[c] = out[c].map(lambda v: "" if pd.isna(v) else f"{v:.0f}")
        elif c == "r_hat":
            out[c] = out[c].map(lambda v: "" if pd.isna(v) else f"{v:.3f}")
        elif pd.api.types.is_float_dtype(out[c]):
            out[c] = [_num(v, d, by_row) for v, d in zip(out[c], decimals, strict=True)]
    return out


def _decimals(sd: float, digits: int) -> int:
    if pd.isna(sd) or not 0 < sd < float("inf"):
        return digits
    return max(digits, 1 - math.floor(math.log10(sd)))


def _num(v: float, digits: int, by_row: bool = False) -> str:
    """``v`` with ``digits`` decimals; in scientific notation from 1e5 up, beyond 6 decimals (a
    baseline hazard of 1e-8 had read 0.00000001), or (without a row's sd to set the decimals)
    below 1e-3."""
    if pd.isna(v):
        return ""
    if v != 0 and (abs(v) >= 1e5 or digits > 6 or (not by_row and abs(v) < 1e-3)):
        return f"{v:.3e}"
    return f"{v:.{max(digits, 0)}f}" if abs(v) < 1000 else f"{v:.1f}"


#: Prose lines of a text summary (header, notes, warnings) are wrapped at this width; tables
#: are not. Fixed rather than the terminal's, so that a summary prints the same in a terminal,
#: a notebook and a log file.
TEXT_WIDTH = 88


def wrap_prose(line: str, width: int = TEXT_WIDTH) -> list[str]:
    """``line`` broken at spaces into lines of at most ``width`` characters (a word longer
    than that stays whole); continuation lines are indented two spaces past the line's own
    indent, or under the text of a ``! `` warning. A line of fields separated by three or
    more spaces (the diagnostics line) breaks only between fields."""
    if len(line) <= width:
        return [line]
    indent = re.match(r"\s*(?:! )?", line).group(0)
    following = " " * (len(indent) if indent.endswith("! ") else len(indent) + 2)
    fields = re.split(r" {3,}", line[len(indent):])
    if len(fields) > 1:  # "min bulk ESS: 402   min tail ESS: 294": break between fields only
        lines = [indent + fields[0]]
        for field in fields[1:]:
            if len(lines[-1]) + 3 + len(field) <= width:
                lines[-1] += "   " + field
            else:
                lines.append(following + field)
        return lines
    return textwrap.wrap(
        line, width, initial_indent="", subsequent_indent=following, break_long_words=False,
        break_on_hyphens=False, drop_whitespace=True,
    ) or [line]


@dataclass(frozen=True)
class Section:
    title: str
    table: pd.DataFrame
    note: str = ""


@dataclass(frozen=True)
class Summary:
    """A fit report: header lines and titled tables."""

    header: tuple[str, ...]
    sections: tuple[Section, ...]
    footer: tuple[str, ...] = ()

    def __str__(self) -> str:
        lines = [part for line in self.header for part in _prose(line)]
        for s in self.sections:
            lines += ["", s.title]
            if len(s.table) or not s.note:  # a note alone says what there is instead of a table
                body = s.table.to_string(index=False) if len(s.table) else "  (none)"
                lines += ["  " + row for row in body.splitlines()]
            if s.note:
                lines += _prose("  " + s.note)
        if self.footer:
            lines += [""] + [part for line in self.footer for part in _prose(line)]
        return "\n".join(lines)

    def __repr__(self) -> str:
        return str(self)

    def _repr_html_(self) -> str:
        parts = ["<div class='hierbayes-summary'>"]
        parts += [f"<div>{html.escape(h)}</div>" for h in self.header]
        for s in self.sections:
            parts.append(f"<h4>{html.escape(s.title)}</h4>")
            if len(s.table) or not s.note:
                parts.append(s.table.to_html(index=False, border=0))
            if s.note:
                parts.append(f"<div><i>{html.escape(s.note)}</i></div>")
        # the footer's lines and '!' warnings keep their breaks (HTML would run them together)
        parts += [f"<pre style='white-space: pre-wrap'>{html.escape(f)}</pre>" for f in self.footer]
        parts.append("</div>")
        return "\n".join(parts)


def _prose(text: str) -> list[str]:
    return [part for line in text.split("\n") for part in wrap_prose(line)]


def fixed_section(table: pd.DataFrame, title: str = "Fixed effects") -> Section:
    """Fixed effects on the link scale, or exponentiated (odds / incidence-rate ratios:
    posterior median of exp(coefficient) with the exponentiated interval, as Stata's
    ``melogit, or`` prints them) when ``table.attrs["exponentiated"]``."""
    t = table.reset_index()
    estimate = table.attrs.get("estimate", "")
    interval = table.attrs.get("interval", "")
    if table.attrs.get("exponentiated"):
        cols = ["term", "median", "lower", "upper", "r_hat", "ess_bulk"]
        body = _fmt_table(t, cols).rename(columns={"median": estimate})
        note = f"{estimate}: posterior median of exp(coefficient); {interval} of exp(coefficient)"
        if table.attrs.get("note"):
            note = f"{estimate}: posterior median; {interval}; {table.attrs['note']}"
        plural = estimate.replace("ratio of", "ratios of", 1) if estimate.startswith("ratio of") else f"{estimate}s"
        return Section(f"{title} ({plural})", body, note)
    cols = ["term", "mean", "sd", "lower", "upper", "r_hat", "ess_bulk"]
    note = f"{interval}; {estimate}" if estimate and estimate != "coefficient" else interval
    if table.attrs.get("note"):
        note += f"; {table.attrs['note']}"
    return Section(title, _fmt_table(t, cols), note)


def equation_sections(levels: Levels, table: pd.DataFrame) -> list[Section]:
    """Fixed effects grouped by the level equation they belong to, with gamma labels.

    Parameters
    ----------
    levels : Levels
        ``ModelSpec.levels`` of a model written as level equations.
    table : pandas.DataFrame
        ``Fit.fixef()``: one row per fixed-effect column, indexed by column name.

    Returns
    -------
    list of Section
        One section per coefficient with fixed terms (``b0``: g00, g01, ...) with a ``coef``
        column of gamma labels, plus one for level-1 terms without an equation and one for
        any unmatched column (see :meth:`Levels.fixed_groups`).
    """
    sections = []
    for group in levels.fixed_groups([str(i) for i in table.index]):
        section = fixed_section(table.loc[group.columns], group.title)
        body = section.table.copy()
        body.insert(0, "coef", group.gammas)
        sections.append(Section(section.title, body, section.note))
    return sections


def varcorr_section(table: pd.DataFrame) -> Section:
    """The varcorr table under a title that says what it holds: group-level sds and
    correlations, and the residual sd, a residual structure's or a family's parameters."""
    cols = ["group", "term", "mean", "sd", "lower", "upper", "r_hat", "ess_bulk"]
    terms = table["term"].astype(str)
    other = ~(terms.str.startswith("sd(") | terms.str.startswith("cor("))
    grouped = (~table["group"].isin((RESIDUAL_GROUP, FAMILY_GROUP))).any()
    if not other.any() and grouped:  # sd(Residual) alone (a tobit without groups) is no group-level table
        title = "Group-level parameters (sd and correlation)"
    elif grouped:
        title = "Group-level, residual and family parameters"
    else:
        title = "Residual and family parameters"
    return Section(title, _fmt_table(table, cols), table.attrs.get("meaning", ""))


def icc_section(table: pd.DataFrame) -> Section:
    cols = [c for c in ("group", "measure", "mean", "lower", "upper", "at") if c in table.columns]
    notes = [table.attrs.get(k, "") for k in ("measures", "scale")]
    return Section("Intraclass correlation", _fmt_table(table, cols), "; ".join(n for n in notes if n))


#: Columns of a one-table report not on the scale of the row's sd, with their own format: a
#: probability with three decimals, ratios (odds, rate, hazard) with four significant digits.
#: The other float columns share their row's decimals, as in a fit's summary.
_OWN_FORMAT = {"p_gt_0": "{:.3f}", "ratio": "{:.4g}", "ratio_lower": "{:.4g}", "ratio_upper": "{:.4g}"}


def table_report(header: str, table: pd.DataFrame, notes: tuple[str, ...] = (), title: str = "",
                 digits: int = 3) -> Summary:
    """A one-table result (margins, contrasts, conditional effects) as a :class:`Summary`,
    printed as aligned text (``str``) or HTML (``_repr_html_``).

    Parameters
    ----------
    header : the first line (what the object is).
    table : the rows; float columns are shown with ``digits`` decimals, or more where the
        row's ``sd`` needs them.
    notes : lines after the table (what was averaged, what the other predictors are held at).
    title : the table's heading; default the table's interval (``attrs["interval"]``).
    """
    numbers = [c for c in table.columns if pd.api.types.is_float_dtype(table[c]) and c not in _OWN_FORMAT]
    shown = table.reset_index(drop=True)
    shown[numbers] = _fmt_table(shown, numbers, digits)
    for c, form in _OWN_FORMAT.items():
        if c in shown.columns:
            shown[c] = shown[c].map(lambda v, form=form: "" if pd.isna(v) else form.format(v))
    heading = title or (f"posterior mean, sd, median and {table.attrs['interval']}"
                        if "interval" in table.attrs else "")
    return Summary(header=(header,), sections=(Section(heading, shown),), footer=tuple(n for n in notes if n))


class PrintedAsReport:
    """``repr`` (aligned text) and ``_repr_html_`` (notebooks) of a result object from the one
    :class:`Summary` its ``_report()`` builds. A dataclass using it needs ``repr=False``,
    or the dataclass's own ``__repr__`` replaces this one."""

    def _report(self) -> Summary:
        raise NotImplementedError

    def __repr__(self) -> str:
        return str(self._report())

    def _repr_html_(self) -> str:
        return self._report()._repr_html_()
