"""Exception hierarchy: every user-facing problem is a HierbayesError.

Messages name the column, term, level or row at fault and say what is valid.
"""

from __future__ import annotations

import difflib
import functools
import inspect
import numbers
import os
import warnings
from collections.abc import Callable, Iterable


class HierbayesError(Exception):
    """Base class of every error hierbayes raises on purpose."""


class SpecError(HierbayesError, ValueError):
    """The model text (formula, level equations, model file) is malformed or inconsistent."""


class FormulaSyntaxError(SpecError):
    """A formula that does not parse; carries the text and the 0-based position of the fault."""

    def __init__(self, message: str, text: str, position: int, length: int = 1) -> None:
        self.text = text
        self.position = position
        self.length = max(1, length)
        caret = " " * position + "^" * self.length
        super().__init__(f"{message} at position {position}:\n  {text}\n  {caret}")
        self.reason = message


class DataError(HierbayesError, ValueError):
    """The data do not fit the model: missing columns, NaN, wrong types, bad response values."""


class PriorError(HierbayesError, ValueError):
    """A prior names a parameter that does not exist or has invalid parameters."""


class ArgumentError(HierbayesError, ValueError):
    """An argument of a hierbayes function has an invalid value; ``argument`` names it and
    ``value`` is what was given."""

    def __init__(self, argument: str, value: object, requirement: str) -> None:
        self.argument = argument
        self.value = value
        self.requirement = requirement
        super().__init__(f"{argument}={short_repr(value)}: {requirement}")


#: Longest repr an error message quotes whole; a data frame or array is named by its shape.
_MAX_QUOTED = 80


def short_repr(value: object) -> str:
    """``repr(value)`` for messages: a data frame or array as its type and shape, any other
    long repr cut to :data:`_MAX_QUOTED` characters (a whole frame had been printed)."""
    shape = getattr(value, "shape", None)
    if isinstance(shape, tuple) and len(shape) >= 1 and not isinstance(value, (str, bytes)):
        return f"<{type(value).__name__} of shape {shape}>"
    text = repr(value)
    return text if len(text) <= _MAX_QUOTED else text[: _MAX_QUOTED - 3] + "..."


def check_probability(value: object, argument: str = "prob") -> float:
    """``value`` as a float strictly between 0 and 1, else an :class:`ArgumentError` naming
    ``argument`` (``prob=95`` was meant as 0.95)."""
    hint = f"; for a {value:g}% interval write {argument}={value / 100:g}" if (
        isinstance(value, (int, float)) and 50 <= value < 100) else ""
    number = float(value) if isinstance(value, numbers.Real) and not isinstance(value, bool) else float("nan")
    if not 0 < number < 1:  # a string ("0.9") too: it would reach numpy's quantile as text
        raise ArgumentError(argument, value, f"must be a probability strictly between 0 and 1{hint}")
    return number


def checks_prob(cls: type) -> type:
    """Class decorator: every public method of ``cls`` (defined on it) with a ``prob``
    parameter checks it with :func:`check_probability` before running (``prob=95`` had
    reached numpy's quantile as a raw ValueError, and ``prob=-1`` gave lower > upper)."""
    for name, method in list(vars(cls).items()):
        if name.startswith("_") or not inspect.isfunction(method):
            continue
        signature = inspect.signature(method)
        if "prob" in signature.parameters:
            setattr(cls, name, _checking_prob(method, signature))
    return cls


#: Other software's names for an argument here: Stata's level() and eform/or/irr, R's conf.level.
_ALIASES = {"eform": "exponentiate=True", "or": "exponentiate=True", "irr": "exponentiate=True"}


def _unknown_keyword(method: str, name: str, value: object, signature: inspect.Signature) -> ArgumentError:
    valid = [p for p in signature.parameters if p != "self"]
    if name in ("level", "conf_level", "conf.level") and isinstance(value, numbers.Real) and "prob" in valid:
        share = value / 100 if value > 1 else value
        hint = f" (Stata's level(); write prob={share:g})"
    elif name in _ALIASES and "exponentiate" in valid:
        hint = f" (Stata's {name}; write {_ALIASES[name]})"
    else:
        hint = did_you_mean(name, valid)
    return ArgumentError(name, value, f"not an argument of {method}(){hint}; valid: {valid}")


def _checking_prob(method: Callable, signature: inspect.Signature) -> Callable:
    @functools.wraps(method)
    def checked(*args: object, **kwargs: object) -> object:
        try:
            prob = signature.bind(*args, **kwargs).arguments.get("prob")
        except TypeError:  # the call itself is wrong: an unknown keyword is named, else Python says so
            unknown = [k for k in kwargs if k not in signature.parameters]
            if unknown and not any(p.kind is p.VAR_KEYWORD for p in signature.parameters.values()):
                raise _unknown_keyword(method.__name__, unknown[0], kwargs[unknown[0]], signature) from None
            return method(*args, **kwargs)
        if prob is not None:
            check_probability(prob)
        return method(*args, **kwargs)

    return checked


class SamplingError(HierbayesError, RuntimeError):
    """Sampling failed or was interrupted."""


class NameNotFound(HierbayesError, KeyError):
    """A key that a result keyed by names (grouping factors) does not hold; a KeyError, with
    its message shown as written."""

    def __str__(self) -> str:
        return str(self.args[0]) if self.args else ""


class FitInterrupted(KeyboardInterrupt):
    """Ctrl-C while sampling: no fit was created. A ``KeyboardInterrupt`` (not an
    ``Exception``), so that a loop of fits under ``except Exception`` stops, as it would
    without hierbayes, instead of going on to the next fit; its message says what was lost."""


class FitFileError(HierbayesError, OSError):
    """A saved fit could not be read (corrupted, truncated or not written by hierbayes)."""


def close_matches(name: str, candidates: Iterable[str], n: int = 3) -> list[str]:
    """Return up to ``n`` candidates that look like ``name`` (for 'did you mean' hints)."""
    candidates = list(candidates)
    lowered = {c.lower(): c for c in candidates}
    hits = difflib.get_close_matches(name.lower(), list(lowered), n=n, cutoff=0.6)
    return [lowered[h] for h in hits]


def did_you_mean(name: str, candidates: Iterable[str]) -> str:
    """A ' Did you mean ...?' suffix, or '' when nothing is close."""
    hits = close_matches(name, candidates)
    if not hits:
        return ""
    return " Did you mean " + " or ".join(repr(h) for h in hits) + "?"


def refuse_unknown_arguments(
    function: str, given: dict[str, object], known: Iterable[str], aliases: dict[str, str] | None = None,
    advice: str = "",
) -> None:
    """Raise ArgumentError for the first of ``given`` (keyword arguments a function does not take),
    naming what the user probably meant: ``aliases`` maps other packages' spellings (brms'
    ``adapt_delta``, PyMC's ``seed``) to ours, else a close match among ``known``."""
    if not given:
        return
    name = next(iter(given))
    aliases = aliases or {}
    if name in aliases:
        hint = f" Did you mean {aliases[name]!r}?"
    else:
        hint = did_you_mean(name, known)
    raise ArgumentError(name, given[name], f"{function}() takes no argument {name!r}.{hint}{advice}")


#: The package's folder: warnings name the first line outside it (the user's).
PACKAGE_DIR = os.path.dirname(os.path.abspath(__file__))


def warn_user(message: str, category: type[Warning] = UserWarning) -> None:
    """Issue a warning attributed to the first caller outside hierbayes: the user's line,
    whichever public function, front end or method chain led here (a fixed stacklevel names
    a hierbayes file when the call path is longer than its author counted)."""
    warnings.warn(message, category, skip_file_prefixes=(PACKAGE_DIR,))
