"""``math``: a one-line formula over the value, exact.

Example::

    fields:
      buffered: {source: qty, resolver: {name: math, args: "ceil(value * 1.05)"}}
      cents:    {source: price, resolver: {name: math, args: "round(value * 100)"}}

The formula uses ``value`` (the field's value so far), numbers, ``+ - * /``,
parentheses and ``ceil``, ``floor``, ``round(x, places)``, ``abs``, ``min``,
``max``. It is parsed when the spec compiles (a mistake is a validation
error at the resolver) and computed with exact decimals: numeric text such
as ``"10.10"`` is read exactly, and a value that is not a number rejects the
record naming it, never a zero. A whole result of whole operands is an int.
For formulas over several fields, use ``expr`` with ``add``, ``multiply``
... (docs/mapping.md).
"""

from __future__ import annotations

import ast
from collections.abc import Callable
from decimal import ROUND_CEILING, ROUND_FLOOR, ROUND_HALF_UP, Decimal
from typing import Any

from engine.contracts import Resolver
from engine.errors import DataError
from engine.mapping.functions import ExprError, number
from engine.mapping.resolvers._common import bad_args

Node = Callable[[Decimal], Decimal]


def _round(x: Decimal, places: Decimal = Decimal(0)) -> Decimal:
    return x.quantize(Decimal(1).scaleb(-int(places)), rounding=ROUND_HALF_UP)


_FUNCTIONS: dict[str, Callable[..., Decimal]] = {
    "ceil": lambda x: x.to_integral_value(rounding=ROUND_CEILING),
    "floor": lambda x: x.to_integral_value(rounding=ROUND_FLOOR),
    "round": _round,
    "abs": abs,
    "min": min,
    "max": max,
}
_OPERATORS: dict[type[ast.operator], Callable[[Decimal, Decimal], Decimal]] = {
    ast.Add: lambda a, b: a + b,
    ast.Sub: lambda a, b: a - b,
    ast.Mult: lambda a, b: a * b,
    ast.Div: lambda a, b: a / b,
}


#: what a formula's result is: always whole ("int"), whole when the value is ("value"), or exact
Kind = str


def _combine(*kinds: Kind) -> Kind:
    if "exact" in kinds:
        return "exact"
    return "value" if "value" in kinds else "int"


def compile_formula(text: str) -> tuple[Node, Kind]:
    """The formula as a function of the value, and the kind of its result (see :data:`Kind`).

    Raises:
        ConfigError: the text is not a formula of the allowed form.
    """
    try:
        tree = ast.parse(text.strip(), mode="eval")
    except SyntaxError as exc:
        raise bad_args(f"math: {text!r} is not a formula: {exc.msg}") from None
    return _build(tree.body)


def _build(node: ast.AST) -> tuple[Node, Kind]:
    if isinstance(node, ast.Name) and node.id == "value":
        return (lambda v: v), "value"
    if (
        isinstance(node, ast.Constant)
        and isinstance(node.value, int | float)
        and not isinstance(node.value, bool)
    ):
        constant = Decimal(str(node.value))
        return (lambda v: constant), "int" if isinstance(node.value, int) else "exact"
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub | ast.UAdd):
        inner, kind = _build(node.operand)
        return ((lambda v: -inner(v)) if isinstance(node.op, ast.USub) else inner), kind
    if isinstance(node, ast.BinOp) and type(node.op) in _OPERATORS:
        op = _OPERATORS[type(node.op)]
        (left, lk), (right, rk) = _build(node.left), _build(node.right)
        kind = "exact" if isinstance(node.op, ast.Div) else _combine(lk, rk)
        return (lambda v: op(left(v), right(v))), kind
    if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id in _FUNCTIONS:
        name, fn = node.func.id, _FUNCTIONS[node.func.id]
        built = [_build(a) for a in node.args]
        args = [b[0] for b in built]
        if name in ("ceil", "floor") or (name == "round" and len(args) == 1):
            kind = "int"
        elif name == "round":
            kind = "exact"
        else:
            kind = _combine(*(b[1] for b in built))
        return (lambda v: fn(*(a(v) for a in args))), kind
    shown = ast.unparse(node) if isinstance(node, ast.expr) else type(node).__name__
    raise bad_args(
        f"math: {shown!r} is not allowed in a formula (use value, numbers, + - * /, {', '.join(_FUNCTIONS)})"
    )


def make_math(*, expr: str) -> Callable[[Any], Any]:
    """The resolver for one formula (compiled once)."""
    formula, kind = compile_formula(expr)

    def apply(value: Any) -> Any:
        try:
            x = number(value, "math")
            out = formula(x)
        except ExprError as exc:
            raise DataError(exc.message) from None
        except (ArithmeticError, TypeError):
            raise DataError(f"math: {expr!r} has no answer for {value!r}") from None
        whole = kind == "int" or (
            kind == "value" and x == x.to_integral_value() and not isinstance(value, float)
        )
        return int(out) if whole and out == out.to_integral_value() else out

    return apply


RESOLVERS = [
    Resolver(
        "math",
        make_math,
        shorthand="expr",
        summary="A one-line formula over the value, exact: ceil(value * 1.05), round(value * 100).",
        args={
            "type": "object",
            "additionalProperties": False,
            "required": ["expr"],
            "properties": {
                "expr": {
                    "type": "string",
                    "minLength": 1,
                    "description": "the formula: value, numbers, + - * /, ceil, floor, round, abs, min, max",
                }
            },
        },
    )
]
