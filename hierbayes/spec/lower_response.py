"""The left-hand side of a formula: ``y``, ``log(y)``, ``y | trials(n)``, ``cbind(s, f)``,
``y | cens(c, y2) + trunc(lb = 0)``, ``y | weights(w)``, ``y | se(s)`` (a known residual sd,
meta-analysis: :mod:`.known_sd`); and the censoring of Stata's commands
written the same way: ``t | event(d)`` (mestreg), ``y | tobit(ll = 0, ul = 10)`` (metobit),
``ylow | intreg(yup)`` (meintreg)."""

from __future__ import annotations

import re
from dataclasses import replace
from typing import NoReturn

from .formula_ast import Bar, Binary, Call, CallArg, Expr, Name, Number, Sum
from .formula_source import FormulaSource, unwrap_parens
from .ir import Response
from .lexer import is_plain_name
from .terms import call_text, power_text

__all__ = ["OFFSET", "ResponseLowering"]

#: brms' addition terms after '|' in the response that hierbayes reads.
ADDITION_TERMS = ("trials", "cens", "trunc", "event", "tobit", "intreg", "weights", "se")
#: The addition terms that say how rows are censored (one at most).
_CENSORING_TERMS = ("cens", "event", "tobit", "intreg")
#: ``offset(expr)``: added to the linear predictor with coefficient 1 (FixedPart.offsets).
OFFSET = "offset"


class ResponseLowering(FormulaSource):
    """Lowering of the response; a base of :class:`~hierbayes.spec.lower.Lowering`.
    ``known_sd_found`` is the column of ``se(s)`` (None without it)."""

    known_sd_found: str | None = None

    # -- response ------------------------------------------------------------------------

    def response(self, node: Expr, family: str = "gaussian") -> Response:
        """The left-hand side: ``y``, ``log(y)``, ``y | trials(n)``, ``cbind(s, f)``.

        Parameters
        ----------
        node : Expr
            The left-hand side of the formula.
        family : str, default "gaussian"
            The family's name: a binomial response written as a proportion ``k / n`` (lme4's
            ``glmer(k / n ~ x, weights = n)``) is refused with the ``cbind`` that works.

        Returns
        -------
        Response
            The response column and its addition terms.
        """
        node = unwrap_parens(node)
        if family == "binomial":
            self._no_proportion(node)
        if isinstance(node, Bar):
            return self._addition_response(node)
        if isinstance(node, Call) and node.name == "cbind":
            return self._cbind_response(node)
        return Response(self._response_expr(node))

    def _response_expr(self, node: Expr) -> str:
        node = unwrap_parens(node)
        if isinstance(node, Name):
            return node.canonical
        if isinstance(node, Call) and node.name == "trials":
            self.fail(
                "trials(...) goes after the response, as in 'y | trials(n) ~ x'", node.span
            )
        if isinstance(node, Call) and node.name == "Surv":
            self.fail(surv_advice(node), node.span)
        if isinstance(node, Call) and node.name == OFFSET:
            self.fail(
                f"{node.text!r} cannot be the response; an offset goes on the right-hand "
                "side, as in 'y ~ x + offset(log(t))'",
                node.span,
            )
        if isinstance(node, Call):
            return call_text(node)
        self._not_a_response(node)

    def _no_proportion(self, node: Expr) -> None:
        """Refuse a binomial response ``k / n`` or ``I(k / n)`` (R's proportion with
        ``weights = n``), naming ``cbind(k, n - k)`` with the user's columns."""
        text = self.source(node)
        if isinstance(node, Call) and node.name == "I" and len(node.args) == 1:
            text = node.args[0].text
        elif not (isinstance(node, Binary) and node.op == "/"):
            return
        match = re.fullmatch(r"\s*([\w.]+)\s*/\s*([\w.]+)\s*", text)
        if match is None or not (is_plain_name(match[1]) and is_plain_name(match[2])):
            return
        k, n = match[1], match[2]
        rhs = self.text.partition("~")[2].strip() or "..."
        self.fail(
            f"a binomial response counts successes, not proportions: write "
            f"'cbind({k}, {n} - {k}) ~ {rhs}' (or '{k} | trials({n}) ~ {rhs}') with no weights=; "
            f"that is lme4's glmer({k} / {n} ~ ..., weights = {n}, family = binomial), and weights= "
            "here would multiply the log-likelihood, not count trials",
            node.span,
        )

    def _not_a_response(self, node: Expr) -> NoReturn:
        hint = f"; wrap arithmetic in I(...), as in I({self.source(node)})"
        if isinstance(node, Binary):
            self.fail(
                f"the response must be one variable or a call such as log(y); found "
                f"operator {node.op!r}{hint}",
                node.op_span,
            )
        if isinstance(node, Sum):
            item = node.items[1] if len(node.items) > 1 else node.items[0]
            sign = item.sign_span if item.sign_span is not None else node.span
            self.fail(
                "the response must be one variable or a call such as log(y); found "
                f"{item.sign!r}; several responses are not supported{hint}",
                sign,
            )
        if isinstance(node, Number):
            self.fail(f"expected a response variable, found the number {node.text!r}", node.span)
        self.fail("a group term cannot be the response", node.span)

    def _addition_response(self, bar: Bar) -> Response:
        """``y | trials(n)``, ``y | cens(c[, y2])``, ``y | trunc(lb = , ub = )`` and sums of
        them (``y | cens(c) + trunc(lb = 0)``): brms' addition terms."""
        if bar.op != "|":
            self.fail("expected '|' before trials(...) in the response, found '||'", bar.op_span)
        left = unwrap_parens(bar.left)
        right = unwrap_parens(bar.right)
        items = [i.expr for i in right.items] if isinstance(right, Sum) else [right]
        if isinstance(left, Call) and left.name == "cbind":
            only = unwrap_parens(items[0])
            if len(items) == 1 and isinstance(only, Call) and only.name == "weights":
                return replace(self._cbind_response(left), **self._weights_addition(only))
            self.fail(
                "use either cbind(successes, failures) or 'y | trials(n)', not both",
                bar.op_span,
            )
        expr = self._response_expr(left)
        fields: dict[str, str | None] = {}
        seen: set[str] = set()
        for item in items:
            item = unwrap_parens(item)
            if not (isinstance(item, Call) and item.name in ADDITION_TERMS):
                self.fail(
                    f"unknown addition term {self.source(item)!r} in the response; expected "
                    "trials(n) after '|', or cens(c), cens(c, y2), trunc(lb = , ub = ), "
                    "weights(w), se(s), as in 'y | cens(c) + trunc(lb = 0) ~ x'",
                    item.span,
                )
            if item.name in seen:
                self.fail(f"{item.name}() is given twice in the response", item.span)
            seen.add(item.name)
            fields.update(getattr(self, f"_{item.name}_addition")(item))
        censoring = [f"{name}()" for name in _CENSORING_TERMS if name in seen]
        if len(censoring) > 1:
            self.fail(f"{' and '.join(censoring)} both say how rows are censored; give one of them", right.span)
        if "trials" in seen and len(seen - {"weights"}) > 1:
            self.fail(
                "trials() cannot be combined with cens() or trunc(): censoring and truncation "
                "are for continuous and survival-time responses",
                right.span,
            )
        return Response(expr, **fields)

    def _trials_addition(self, call: Call) -> dict[str, str | None]:
        if len(call.args) != 1:
            self.fail("trials() takes one argument: the column of the number of trials", call.span)
        return {"trials": power_text(call.args[0].text)}

    def _weights_addition(self, call: Call) -> dict[str, str | None]:
        if len(call.args) != 1:
            self.fail(
                f"weights() takes one argument: the column of the weights; got {len(call.args)}",
                call.span,
            )
        return {"weights": self._addition_column(call, call.args[0], ("x",))}

    def _se_addition(self, call: Call) -> dict[str, str | None]:
        """brms' ``se(s)``: each row's known residual sd (a meta-analysis's standard errors)."""
        extra = [a.text for a in call.args[1:]]
        if extra and [e.replace(" ", "") for e in extra] not in (["sigma=FALSE"], ["sigma=F"]):
            self.fail(f"se({', '.join(a.text for a in call.args)}) is not available: brms' sigma = TRUE "
                      "estimates a residual sd on top of the known one; write se(s) for a known sd, or give "
                      "no se() and model sigma", call.span)
        text = call.args[0].text.strip("` ")
        if not is_plain_name(text):
            self.fail(f"se() takes a column of standard errors, found {text!r}; make the column first, as in "
                      f"df['se'] = <{text} computed in pandas>, and write se(se)", call.args[0].span)
        self.known_sd_found = text
        return {}

    def _cens_addition(self, call: Call) -> dict[str, str | None]:
        if not 1 <= len(call.args) <= 2:
            self.fail(
                "cens() takes the column of censoring indicators and, for interval-censored "
                f"rows, the column of upper bounds: cens(c) or cens(c, y2); got {len(call.args)} "
                "arguments",
                call.span,
            )
        upper = self._value_text(call.args[1], "y2") if len(call.args) > 1 else None
        return {"cens": self._value_text(call.args[0], "x"), "cens_upper": upper}

    @staticmethod
    def _value_text(arg: CallArg, keyword: str) -> str:
        """A column or an expression over columns, optionally named ``keyword = ...``: the
        censoring indicator (``cens(1 - status)``, ``status`` 1 at an event) or the upper
        bounds of interval-censored rows (``cens(c, upper * 2)``)."""
        key, _, value = arg.text.partition("=")
        text = value.strip() if value and key.strip() == keyword and not value.startswith("=") else arg.text
        if is_plain_name(text.strip("`")):
            return text.strip("`")
        return power_text(text)

    def _trunc_addition(self, call: Call) -> dict[str, str | None]:
        bounds = self._two_bounds(call, ("lb", "ub"), "a lower bound lb and an upper bound ub")
        return {"trunc_lb": bounds.get("lb"), "trunc_ub": bounds.get("ub")}

    def _tobit_addition(self, call: Call) -> dict[str, str | None]:
        limits = self._two_bounds(call, ("ll", "ul"), "a left-censoring limit ll and a right-censoring limit ul")
        return {"tobit_ll": limits.get("ll"), "tobit_ul": limits.get("ul")}

    def _event_addition(self, call: Call) -> dict[str, str | None]:
        if len(call.args) != 1:
            self.fail("event() takes one argument: the column of failure indicators (0 = censored)", call.span)
        # a column or an expression, as survival's Surv(time, status == 2)
        return {"event": self._value_text(call.args[0], "event")}

    def _intreg_addition(self, call: Call) -> dict[str, str | None]:
        if len(call.args) != 1:
            self.fail("intreg() takes one argument: the column of the upper ends of the intervals", call.span)
        return {"intreg_upper": self._addition_column(call, call.args[0], ())}

    def _two_bounds(self, call: Call, keys: tuple[str, str], what: str) -> dict[str, str | None]:
        """``name(a = v, b = w)`` (or positional) -> {a: v, b: w}, each a number or a column."""
        bounds: dict[str, str | None] = {}
        for i, arg in enumerate(call.args):
            key, _, value = arg.text.partition("=")
            if value:
                key, value = key.strip(), value.strip()
            else:
                key, value = (keys[i] if i < 2 else "?"), arg.text
            if key not in keys or key in bounds:
                self.fail(
                    f"{call.name}() takes {what}, as in {call.name}({keys[0]} = 0, {keys[1]} = 10); "
                    f"found {arg.text!r}",
                    arg.span,
                )
            bounds[key] = self._bound_text(value, arg)
        if not bounds:
            self.fail(f"{call.name}() needs {keys[0]}, {keys[1]} or both, as in {call.name}({keys[0]} = 0)", call.span)
        return bounds

    def _addition_column(self, call: Call, arg: CallArg, keys: tuple[str, ...]) -> str:
        key, _, value = arg.text.partition("=")
        text = value.strip() if value and key.strip() in keys else arg.text
        if not is_plain_name(text.strip("`")):
            self.fail(f"{call.name}() needs a column name here, found {arg.text!r}", arg.span)
        return text.strip("`")

    def _bound_text(self, value: str, arg: CallArg) -> str:
        try:
            return repr(float(value)) if float(value) != int(float(value)) else str(int(float(value)))
        except (ValueError, OverflowError):
            pass
        if not is_plain_name(value.strip("`")):
            self.fail(f"a bound or limit is a number or a column name, found {value!r}", arg.span)
        return value.strip("`")

    def _cbind_response(self, call: Call) -> Response:
        if len(call.args) != 2:
            self.fail(
                f"cbind() takes two arguments, cbind(successes, failures); got {len(call.args)}",
                call.span,
            )
        return Response(power_text(call.args[0].text), failures=power_text(call.args[1].text))


def surv_advice(node: Call) -> str:
    """What to write for R's ``Surv(...)`` response, by its ``type=``: right-censored (the
    default with two arguments) as ``cens(1 - (status))`` or Stata's ``event(status)``,
    left-censored as ``cens((status) - 1)`` (brms' -1 = left), intervals as ``intreg`` or
    ``cens(c, time2)``; counting-process data (three arguments) are not supported."""
    args = [a.text.strip() for a in node.args]
    plain = [a for a in args if not re.match(r"^\w+\s*=(?!=)", a)]
    given = next((m.group(1) for a in args if (m := re.fullmatch(r"type\s*=\s*['\"](\w+)['\"]", a))), None)
    kind = given or ("counting" if len(plain) >= 3 else "right")
    time, second, *rest = plain + ["time", "status"]
    status = second if kind in ("right", "left") else (rest[0] if rest else "status")
    event = status if re.fullmatch(r"[\w.]+", status) else f"({status})"
    head = f"R's {node.text!r} is not a response here"
    if kind == "left":
        return (f"{head}; a left-censored {time} (brms' cens code -1) is '{time} | cens({event} - 1)' "
                f"({status}: 1 = observed, 0 = below {time}), or '{time} | tobit(ll = L)' when every censored "
                f"row is at one limit L (survreg's tobit)")
    if kind == "interval2":
        return f"{head}; write Stata's '{time} | intreg({second})' (a missing end is an open interval, as in R)"
    if kind == "interval":
        return (f"{head}; write brms' '{time} | cens(c, {second})' with c 'right', 'none', 'left' or "
                f"'interval' where R's {status} is 0, 1, 2 or 3")
    if kind != "right":
        return f"{head}; counting-process (start, stop] data (type={kind!r}) are not supported"
    families = "family='weibull', 'exponential', 'lognormal' or 'loglogistic' (or 'gaussian': survreg's dist='gaussian')"
    if len(plain) == 1:
        return f"{head}; every row is an event: write '{time} ~ ...' with {families}"
    coding = f"; with R's 1/2 coding, cens(2 - {status})" if event == status else ""
    return (f"{head}; a right-censored {time} is brms' '{time} | cens(1 - {event})' ({status}: 1 = event, "
            f"0 = censored{coding}) or Stata's '{time} | event({status})', with {families}")
