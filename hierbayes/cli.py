"""The ``hierbayes`` command line: run, check and print declarative model files.

::

    hierbayes fit models/gcse_gend.toml [--draws N --tune N --chains N --seed N --backend B --out DIR]
    hierbayes check models/gcse_gend.toml
    hierbayes formula models/gcse_gend.toml
    hierbayes summary gcse_gend-report [--prob 0.9 --exponentiate --metric hr]
    hierbayes predict gcse_gend-report --data new.csv [--out predictions.csv --kind response]
    hierbayes compare gcse_gend-report gcse_null-report

Exit codes (stable, for scripts):

==== =====================================================================================
0    success
1    unexpected internal error, or the report could not be written
2    usage error, or a model file / model / data / prior problem (nothing was sampled)
3    sampling failed or was interrupted
==== =====================================================================================

Every error is printed as one line ``hierbayes: error: <message>`` on stderr, without a
traceback (``--traceback`` shows it). Results go to stdout, progress to stderr.
"""

from __future__ import annotations

import argparse
import sys
import traceback
import warnings
from collections.abc import Sequence
from pathlib import Path
from typing import NoReturn, TextIO

from .cli_advice import cli_advice
from .cli_results import add_result_commands, cmd_compare, cmd_predict, cmd_summary
from .errors import HierbayesError, SamplingError
from .report_folder import discard, publish, staging_folder
from .spec.terms import r_power_text

__all__ = ["EXIT_INTERNAL", "EXIT_OK", "EXIT_SAMPLING", "EXIT_USAGE", "main"]

EXIT_OK = 0
EXIT_INTERNAL = 1
EXIT_USAGE = 2
EXIT_SAMPLING = 3

_PROG = "hierbayes"


class _Parser(argparse.ArgumentParser):
    """argparse with one-line errors (no usage block) and exit code 2."""

    def error(self, message: str) -> NoReturn:
        _error(f"{message} (see '{self.prog} --help')")
        raise SystemExit(EXIT_USAGE)


def _one_line(message: str) -> str:
    return " ".join(part.strip() for part in str(message).splitlines() if part.strip())


def _error(message: str) -> None:
    print(f"{_PROG}: error: {_one_line(message)}", file=sys.stderr)


def _info(message: str, quiet: bool) -> None:
    if not quiet:
        print(f"{_PROG}: {message}", file=sys.stderr)


def _build_parser() -> _Parser:
    from . import __version__

    parser = _Parser(
        prog=_PROG,
        description="Bayesian multilevel models from declarative model files (TOML).",
        epilog="Exit codes: 0 ok, 1 internal error, 2 usage/model/data error, 3 sampling error.",
    )
    parser.add_argument("--version", action="version", version=f"{_PROG} {__version__}")
    parser.add_argument("--traceback", action="store_true", help="show the traceback of errors")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    sub.required = True

    fit = sub.add_parser("fit", help="fit a model file and write a report folder")
    fit.add_argument("file", type=Path, help="model file (.toml)")
    fit.add_argument("--draws", type=_positive, help="draws per chain (overrides the file)")
    fit.add_argument("--tune", type=_non_negative, help="tuning steps per chain")
    fit.add_argument("--chains", type=_positive, help="number of chains")
    fit.add_argument("--cores", type=_positive, help="chains run in parallel")
    fit.add_argument("--seed", type=_non_negative, help="random seed")
    fit.add_argument("--sampler", help="nutpie, numpyro, pymc or blackjax")
    fit.add_argument("--backend", help="pymc (NUTS, the default) or prior (prior draws, for a quick dry run)")
    fit.add_argument("--out", type=Path, help="report folder with index.html (default: ./<name>-report)")
    fit.add_argument("--no-plots", action="store_true", help="do not draw plots")
    fit.add_argument("--no-progress", action="store_true", help="no progress bar")
    fit.add_argument("-q", "--quiet", action="store_true", help="print only the summary")

    check = sub.add_parser("check", help="parse, load the data, validate; no sampling")
    check.add_argument("file", type=Path, help="model file (.toml)")

    formula = sub.add_parser("formula", help="print the combined lme4 formula")
    formula.add_argument("file", type=Path, help="model file (.toml)")
    add_result_commands(sub, _positive, _non_negative)
    return parser


def _positive(text: str) -> int:
    value = _integer(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be >= 1, got {text!r}")
    return value


def _non_negative(text: str) -> int:
    value = _integer(text)
    if value < 0:
        raise argparse.ArgumentTypeError(f"must be >= 0, got {text!r}")
    return value


def _integer(text: str) -> int:
    try:
        return int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number, got {text!r}") from None


# ================================================================================ commands


def _formula_lines(spec) -> list[str]:
    """The combined formula, then one line per family parameter's own formula (a known sigma
    of brms' se() included), as the summary prints them."""
    return [r_power_text(spec.to_formula()),
            *(f"  {name} {r_power_text(sub.to_formula())}" for name, sub in spec.distributional)]


def cmd_formula(args: argparse.Namespace, out: TextIO) -> int:
    from .modelfile import load_model_file

    mf = load_model_file(args.file)
    print("\n".join(_formula_lines(mf.spec)), file=out)
    return EXIT_OK


def cmd_check(args: argparse.Namespace, out: TextIO) -> int:
    from .modelfile import load_model_file

    mf = load_model_file(args.file)
    model = mf.build()
    design = model.design
    groups = ", ".join(f"{b.group} ({b.n_levels} levels)" for b in design.groups) or "none"
    lines = [
        f"model file: {mf.path}",
        f"name: {mf.name}" + (f" - {mf.description}" if mf.description else ""),
        f"data: {mf.data.describe()}: {getattr(design, 'n_rows', design.n_obs)} rows used" + (f" (where {mf.spec.subset})" if mf.spec.subset else ""),
        f"groups: {groups}",
        f"family: {mf.spec.family}" + (f" (link {mf.spec.link})" if mf.spec.link else ""),
    ]
    if mf.spec.levels is not None:
        lines.append("level equations:")
        lines += [f"  {line}" for line in str(mf.spec.levels).splitlines()]
    elif mf.kind == "stata":
        lines.append(f"stata: {mf.spec.source}")
    lines += [f"formula: {line}" if i == 0 else line for i, line in enumerate(_formula_lines(mf.spec))]
    if mf.spec.residuals is not None:
        lines.append(f"residuals: {mf.spec.residuals.describe()}")
    lines.append("priors:")
    lines += [f"  {line}" for line in str(model.priors).splitlines()]
    s = mf.sampler
    lines.append(
        f"sampler: {s.chains} chains x {s.draws} draws (tune {s.tune}), seed {s.random_seed}, "
        f"target_accept {'chosen from the model' if s.target_accept is None else s.target_accept}"
    )
    lines.append("ok")
    print("\n".join(lines), file=out)
    return EXIT_OK


def cmd_fit(args: argparse.Namespace, out: TextIO) -> int:
    from .modelfile import load_model_file

    quiet = args.quiet
    mf = load_model_file(args.file)
    _info(f"reading {mf.data.describe()}", quiet)
    model = mf.build()
    _info(f"model: {r_power_text(mf.spec.to_formula())} ({mf.spec.family}, {model.design.n_obs} rows)", quiet)
    # None keeps the file's setting (SamplerConfig.replace)
    overrides = {
        "draws": args.draws, "tune": args.tune, "chains": args.chains, "cores": args.cores,
        "random_seed": args.seed, "sampler": args.sampler, "backend": args.backend,
    }
    folder = args.out if args.out is not None else Path.cwd() / f"{mf.name}-report"
    staging = staging_folder(folder)  # before sampling: a bad --out is not found after it
    try:
        _info("compiling and sampling ...", quiet)
        try:
            fit = mf.fit(model=model, progressbar=not (args.no_progress or quiet), **overrides)
        except HierbayesError:
            raise
        except KeyboardInterrupt:
            raise SamplingError("sampling was interrupted by the user; no fit was created") from None
        except Exception as exc:  # noqa: BLE001 - any sampler failure is a sampling error here
            raise SamplingError(f"sampling failed: {type(exc).__name__}: {exc}") from exc
        summary = fit.summary()
        print(summary, file=out)
        written = write_report(fit, mf, staging, plots=not args.no_plots, quiet=quiet)
        publish(staging, folder)
    finally:
        discard(staging)  # gone already when published
    _info(f"report written to {folder} ({', '.join(written)})", quiet)
    return EXIT_OK


# ================================================================================= report


def write_report(fit, mf, folder: Path, plots: bool = True, quiet: bool = True) -> list[str]:
    """Write the HTML report (``index.html``, self-contained; see
    :func:`hierbayes.report_html.write_html_report`), its CSV tables and PNG plots, plus the
    summary as text and HTML, priors, model description and the fit itself into ``folder``.

    Returns the file names written (relative to ``folder``). The CLI writes it into a staging
    folder and swaps it in whole (:mod:`hierbayes.report_folder`).
    """
    folder.mkdir(parents=True, exist_ok=True)
    summary = fit.summary()
    written = []
    files = {
        "summary.txt": str(summary) + "\n",
        "summary.html": _html_page(f"hierbayes: {mf.name}", summary._repr_html_()),
        "priors.txt": str(fit.model.priors) + "\n",
        "model.txt": _model_text(mf),
    }
    for name, text in files.items():
        (folder / name).write_text(text, encoding="utf-8")
        written.append(name)
    fit.save(folder / "fit.nc")
    written.append("fit.nc")
    details = {"model file": str(mf.path), "data": mf.data.describe()}
    if mf.description:
        details["description"] = mf.description
    from .report_html import write_html_report  # matplotlib: imported for the report, not for `--help`

    report = write_html_report(fit, folder, title=f"hierbayes: {mf.name}", details=details, plots=plots)
    for note in report.notes:
        _info(f"report: {note}", quiet)
    return written + report.files


def _model_text(mf) -> str:
    lines = [f"name: {mf.name}", f"file: {mf.path}", f"data: {mf.data.describe()}"]
    if mf.spec.levels is not None:
        lines += ["level equations:", *[f"  {x}" for x in str(mf.spec.levels).splitlines()]]
    lines += [f"formula: {line}" if i == 0 else line for i, line in enumerate(_formula_lines(mf.spec))]
    if mf.spec.residuals is not None:
        lines.append(f"residuals: {mf.spec.residuals.describe()}")
    lines.append(f"family: {mf.spec.family}, link: {mf.spec.link or 'default'}")
    return "\n".join(lines) + "\n"


def _html_page(title: str, body: str) -> str:
    import html

    return (
        "<!DOCTYPE html>\n<html><head><meta charset='utf-8'>"
        f"<title>{html.escape(title)}</title>"
        "<style>body{font-family:sans-serif;margin:2em} table{border-collapse:collapse}"
        " td,th{padding:2px 8px;text-align:right} th{border-bottom:1px solid #999}</style>"
        f"</head><body>\n<h2>{html.escape(title)}</h2>\n{body}\n</body></html>\n"
    )


# =================================================================================== main


_COMMANDS = {"fit": cmd_fit, "check": cmd_check, "formula": cmd_formula, "summary": cmd_summary,
             "predict": cmd_predict, "compare": cmd_compare}


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the exit code (see the module docstring)."""
    parser = _build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:  # --help / --version (0) or a usage error (2)
        return int(exc.code or 0)
    try:
        with warnings.catch_warnings():
            warnings.showwarning = _show_warning
            return _COMMANDS[args.command](args, sys.stdout)
    except SamplingError as exc:
        _report(exc, args)
        return EXIT_SAMPLING
    except HierbayesError as exc:
        _report(exc, args)
        return EXIT_USAGE
    except KeyboardInterrupt:
        _error("interrupted")
        return 130
    except BrokenPipeError:  # the reader went away (| head): stop quietly
        import os

        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return EXIT_INTERNAL
    except Exception as exc:  # noqa: BLE001 - the last line of defence: one line, exit 1
        _report(exc, args, internal=True)
        return EXIT_INTERNAL


def _show_warning(message, category, filename, lineno, file=None, line=None) -> None:
    """Warnings (convergence problems, dropped rows) as one 'hierbayes: warning:' line, their
    Python advice in the command line's and model file's terms."""
    print(f"{_PROG}: warning: {cli_advice(_one_line(str(message)))}", file=sys.stderr)


def _report(exc: BaseException, args: argparse.Namespace, internal: bool = False) -> None:
    if getattr(args, "traceback", False):
        traceback.print_exception(exc, file=sys.stderr)
    text = f"{type(exc).__name__}: {exc}" if internal else cli_advice(str(exc))
    reason = getattr(exc, "reason", None)
    if reason is not None and hasattr(exc, "position"):  # a FormulaSyntaxError: no caret block
        text = f"{reason} at position {exc.position} of {exc.text!r}"
    if internal and isinstance(exc, OSError):
        text = f"cannot write output: {exc}"
    _error(text)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
