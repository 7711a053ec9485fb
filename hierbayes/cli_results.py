"""The command line's use of a saved fit: its summary again, predictions for new rows and LOO
comparison.

::

    hierbayes summary REPORT_OR_FIT [--prob 0.95] [--exponentiate] [--metric hr]
    hierbayes predict REPORT_OR_FIT [--data new.csv] [--out predictions.csv] [--kind mean]
                      [--groups include] [--new-groups sample] [--prob 0.95] [--ndraws N] [--seed N]
    hierbayes compare REPORT_OR_FIT [REPORT_OR_FIT ...] [--group G] [--method integrated]

``REPORT_OR_FIT`` is the report folder ``hierbayes fit`` wrote (its ``fit.nc`` is read) or a
fit file written by ``Fit.save``. The predictions are a CSV: the new rows' columns, then
mean, sd, median, lower and upper (``Fit.predict(...).summary(prob)``), written whole or not
at all. The summary is the text ``Fit.summary(prob, exponentiate, metric)`` prints, made anew
from the saved fit (so ``--prob`` can differ from the report's ``summary.txt``).
"""

from __future__ import annotations

import argparse
import os
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING, TextIO

from .cli_advice import cli_advice
from .errors import ArgumentError, DataError

if TYPE_CHECKING:  # pandas and the model are imported by the commands, not for --help
    import pandas as pd

__all__ = ["add_result_commands", "cmd_compare", "cmd_predict", "cmd_summary", "read_fit", "read_new_rows"]

#: ``predict``'s choices, as ``Fit.predict`` names them.
KINDS = ("mean", "response", "linear")
GROUPS = ("include", "exclude", "marginal")
NEW_GROUPS = ("sample", "zero", "error")
#: ``summary --metric``'s choices, as ``Fit.summary`` names them (survival families).
METRICS = ("aft", "hr", "loghr")


def add_result_commands(sub, positive, non_negative) -> None:
    """Add ``summary``, ``predict`` and ``compare`` to the subcommands ``sub`` (argparse's);
    ``positive`` and ``non_negative`` read whole numbers with one-line errors."""
    summary = sub.add_parser("summary", help="print the summary table of a fitted model again")
    summary.add_argument("fit", type=Path, help="report folder of 'hierbayes fit', or a fit file (.nc)")
    summary.add_argument("--prob", type=float, default=0.95, help="interval probability (default 0.95)")
    summary.add_argument("--exponentiate", action=argparse.BooleanOptionalAction, default=None,
                         help="fixed effects as exp(coefficient): odds, rate or time ratios (default: as the "
                              "model file's Stata command asked, or / irr; --no-exponentiate: the link scale)")
    summary.add_argument("--metric", choices=METRICS, default=None,
                         help="survival models' coefficients: aft (log time), hr (hazard ratios) or loghr "
                              "(default: the model file's)")
    predict = sub.add_parser("predict", help="predictions of a fitted model for new rows (CSV)")
    predict.add_argument("fit", type=Path, help="report folder of 'hierbayes fit', or a fit file (.nc)")
    predict.add_argument("--data", type=Path, help="the new rows (CSV or TSV; default: the rows it was fitted on)")
    predict.add_argument("--out", type=Path, help="write the predictions here (CSV; default: standard output)")
    predict.add_argument("--kind", choices=KINDS, default="mean",
                         help="mean (expected response, default), response (a new observation) or linear")
    predict.add_argument("--groups", type=groups_argument, default="include",
                         help="group effects: include (default), exclude (set to 0), marginal (averaged over), "
                              "or some terms, the others at 0: grouping factors 'plate,sample' or '~(1 | plate)'")
    predict.add_argument("--new-groups", choices=NEW_GROUPS, default=None,
                         help="levels not in the fit: sample (default, with a warning), zero or error")
    predict.add_argument("--prob", type=float, default=0.95, help="interval probability (default 0.95)")
    predict.add_argument("--ndraws", type=positive, help="use this many posterior draws (default: all)")
    predict.add_argument("--seed", type=non_negative, help="random seed (new levels, kind response)")

    compare = sub.add_parser("compare", help="PSIS-LOO of one fit, or a ranking of several")
    compare.add_argument("fits", type=Path, nargs="+", help="report folders or fit files")
    compare.add_argument("--group", help="leave one level of this grouping factor out instead of one row")
    compare.add_argument("--method", choices=("integrated", "psis", "exact"), default="integrated",
                         help="with --group: the group's effects integrated out (default), group-summed PSIS, or "
                              "exact refits (one fit: one refit per level)")
    compare.add_argument("--reloo", action="store_true",
                         help="with --group: refit exactly the levels whose Pareto k is too high (brms's reloo)")


def read_fit(path: Path):
    """The fit in a report folder (its ``fit.nc``) or in a fit file."""
    from .io import load_fit

    path = path.expanduser()
    if not path.exists():
        raise DataError(f"{str(path)!r} not found: give the report folder 'hierbayes fit' wrote, or a fit file")
    if path.is_dir():
        inside = path / "fit.nc"
        if not inside.is_file():
            raise DataError(f"{str(path)!r} is a folder without fit.nc: give the report folder "
                            f"'hierbayes fit' wrote, or a fit file")
        path = inside
    return load_fit(path)


def read_new_rows(path: Path, fitted: pd.DataFrame) -> pd.DataFrame:
    """The rows of a CSV (TSV by its suffix); a column that is text or categorical in the
    fitted data is read as text, so that labels such as ``01`` or ``2`` match the fit's levels."""
    import pandas as pd

    path = path.expanduser()
    if not path.is_file():
        raise DataError(f"data file {str(path)!r} not found")
    text = [c for c in fitted.columns
            if isinstance(fitted[c].dtype, pd.CategoricalDtype) or pd.api.types.is_string_dtype(fitted[c].dtype)]
    from .modelfile_data import read_table

    rows = read_table(path, text)
    if rows.empty:
        raise DataError(f"{str(path)!r} has no rows")
    return rows


def groups_argument(text: str) -> str | list[str]:
    """``--groups``: a mode, lme4's ``re.form`` formula, or comma-separated grouping factors."""
    text = text.strip()
    if text in GROUPS or text.startswith("~"):
        return text
    return [name.strip() for name in text.split(",") if name.strip()]


def check_prob(prob: float) -> None:
    """An ArgumentError naming ``--prob`` unless it is strictly between 0 and 1."""
    if not 0 < prob < 1:
        raise ArgumentError("--prob", prob, "must be a probability strictly between 0 and 1")


def cmd_summary(args: argparse.Namespace, out: TextIO) -> int:
    """``hierbayes summary``: the fit's summary (``Fit.summary``) on ``out``, as ``hierbayes fit``
    printed it, its diagnostics and prior-sensitivity sections included."""
    check_prob(args.prob)
    fit = read_fit(args.fit)
    print(fit.summary(args.prob, exponentiate=args.exponentiate, metric=args.metric), file=out)
    return 0


def cmd_predict(args: argparse.Namespace, out: TextIO) -> int:
    """``hierbayes predict``: the predictions' summary as CSV on ``out`` or in ``--out``."""
    check_prob(args.prob)
    fit = read_fit(args.fit)
    rows = None if args.data is None else read_new_rows(args.data, fit.model.data)
    prediction = fit.predict(rows, kind=args.kind, groups=args.groups, new_groups=args.new_groups,
                             ndraws=args.ndraws, random_seed=args.seed)
    table = prediction.summary(args.prob)
    if args.out is None:
        table.to_csv(out, index=False)
    else:
        write_whole(table, args.out)
    return 0


def write_whole(table: pd.DataFrame, path: Path) -> None:
    """Write ``table`` as CSV to ``path`` through a temporary file beside it: an existing file
    is replaced only by a complete one."""
    path = path.expanduser()
    if not path.parent.is_dir():
        raise DataError(f"cannot write {str(path)!r}: the folder {str(path.parent)!r} does not exist")
    from .results.fitfile import file_mode

    handle, temporary = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        with os.fdopen(handle, "w", newline="") as stream:
            table.to_csv(stream, index=False)
        os.chmod(temporary, file_mode(path))  # mkstemp's 0600 would replace the file's mode
        os.replace(temporary, path)
    finally:
        if os.path.exists(temporary):
            os.unlink(temporary)


def cmd_compare(args: argparse.Namespace, out: TextIO) -> int:
    """``hierbayes compare``: one fit's PSIS-LOO, or several fits ranked (``hb.compare``),
    named by their folders or files."""
    from .predict.ranking import compare

    fits = {_name(path): read_fit(path) for path in args.fits}
    if len(fits) != len(args.fits):
        raise ArgumentError("fits", [str(p) for p in args.fits], "name each fit once")
    if args.reloo and args.group is None:
        raise ArgumentError("reloo", True, "--reloo refits left-out groups: give --group too")
    if len(fits) == 1:
        (fit,) = fits.values()
        if args.group is None:
            result = fit.loo(pointwise=False)
        else:
            result = fit.logo(args.group, method=args.method, reloo=args.reloo)
        print(cli_advice(str(result)), file=out)  # the note's advice in the command line's terms
        return 0
    if args.method == "exact":
        raise ArgumentError("method", "exact", "exact refits compare one fit at a time: run "
                            "'hierbayes compare FIT --group g --method exact' per fit")
    table = compare(fits, group=args.group, logo_method=args.method, reloo=args.reloo)
    import pandas as pd

    with pd.option_context("display.width", 200, "display.max_columns", 20):
        print(table.to_string(), file=out)
    return 0


def _name(path: Path) -> str:
    path = path.expanduser()
    return path.name if path.is_dir() else path.stem
