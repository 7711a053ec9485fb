"""The left-hand side of a formula: ``y``, ``log(y)``, ``y | trials(n)``, ``cbind(s, f)``."""

from __future__ import annotations

from typing import NoReturn

from .formula_ast import Bar, Binary, Call, Expr, Name, Number, Sum
from .formula_source import FormulaSource, unwrap_parens
from .ir import Response
from .terms import call_text, power_text

__all__ = ["OFFSET", "ResponseLowering"]

#: ``offset(expr)``: added to the linear predictor with coefficient 1 (FixedPart.offsets).
OFFSET = "offset"


class ResponseLowering(FormulaSource):
    """Lowering of the response; a base of :class:`~hierbayes.spec.lower.Lowering`."""

    # -- response ------------------------------------------------------------------------

    def response(self, node: Expr) -> Response:
        """The left-hand side: ``y``, ``log(y)``, ``y | trials(n)``, ``cbind(s, f)``."""
        node = unwrap_parens(node)
        if isinstance(node, Bar):
            return self._trials_response(node)
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
        if isinstance(node, Call) and node.name == OFFSET:
            self.fail(
                f"{node.text!r} cannot be the response; an offset goes on the right-hand "
                "side, as in 'y ~ x + offset(log(t))'",
                node.span,
            )
        if isinstance(node, Call):
            return call_text(node)
        self._not_a_response(node)

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

    def _trials_response(self, bar: Bar) -> Response:
        if bar.op != "|":
            self.fail("expected '|' before trials(...) in the response, found '||'", bar.op_span)
        left = unwrap_parens(bar.left)
        if isinstance(left, Call) and left.name == "cbind":
            self.fail(
                "use either cbind(successes, failures) or 'y | trials(n)', not both",
                bar.op_span,
            )
        expr = self._response_expr(left)
        right = unwrap_parens(bar.right)
        if not (isinstance(right, Call) and right.name == "trials"):
            self.fail(
                f"expected trials(n) after '|' in the response, found {self.source(right)!r}",
                right.span,
            )
        if len(right.args) != 1:
            self.fail(
                "trials() takes one argument: the column of the number of trials", right.span
            )
        return Response(expr, trials=power_text(right.args[0].text))

    def _cbind_response(self, call: Call) -> Response:
        if len(call.args) != 2:
            self.fail(
                f"cbind() takes two arguments, cbind(successes, failures); got {len(call.args)}",
                call.span,
            )
        return Response(power_text(call.args[0].text), failures=power_text(call.args[1].text))
