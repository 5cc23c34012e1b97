"""Record filters (``when:``) as safe expressions: comparisons and logic over fields, never code."""

from __future__ import annotations

import ast
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from simpleeval import EvalWithCompoundTypes, InvalidExpression

from ledgerlink.errors import ConfigError, RecordError

# Only these functions can be called from an expression; each is pure and total on strings.
_FUNCTIONS: dict[str, Any] = {
    "lower": lambda s: str(s).lower(),
    "upper": lambda s: str(s).upper(),
    "len": len,
    "startswith": lambda s, prefix: str(s).startswith(prefix),
    "endswith": lambda s, suffix: str(s).endswith(suffix),
    "contains": lambda s, part: part in str(s),
}


@dataclass(frozen=True, slots=True)
class Expression:
    """A parsed filter expression such as ``stage == 'won' and amount > 1000``."""

    text: str
    tree: ast.AST
    names: frozenset[str]

    def matches(self, fields: Mapping[str, object]) -> bool:
        """Evaluate against a record's fields; a runtime error is the record's problem."""
        evaluator = EvalWithCompoundTypes(names=dict(fields), functions=dict(_FUNCTIONS))
        try:
            return bool(evaluator.eval(self.text, previously_parsed=self.tree))
        except (InvalidExpression, TypeError, ValueError, ArithmeticError) as exc:
            raise RecordError(
                f"filter `{self.text}` could not be evaluated: {exc}",
                hint="Check the field types in the filter (text in quotes, numbers without)",
            ) from None


def compile_expression(text: str, known_fields: frozenset[str]) -> Expression:
    """Parse and check an expression once, at configuration time.

    Unknown names and anything but literals, names, comparisons, boolean logic, arithmetic and the
    few allowed functions are configuration errors.
    """
    try:
        tree = EvalWithCompoundTypes(functions=dict(_FUNCTIONS)).parse(text)
    except SyntaxError as exc:
        raise ConfigError(
            f"filter `{text}` is not a valid expression: {exc.msg}",
            hint="Write it like: stage == 'won' and amount > 1000",
        ) from None
    allowed = (
        ast.Module, ast.Expr, ast.Expression, ast.BoolOp, ast.And, ast.Or, ast.UnaryOp,
        ast.Not, ast.USub,
        ast.Compare, ast.Eq, ast.NotEq, ast.Lt, ast.LtE, ast.Gt, ast.GtE, ast.In, ast.NotIn,
        ast.Is, ast.IsNot, ast.Name, ast.Load, ast.Constant, ast.Call, ast.Tuple, ast.List,
        ast.BinOp, ast.Add, ast.Sub, ast.Mult, ast.Div,
    )  # fmt: skip
    names: set[str] = set()
    for node in ast.walk(tree):
        if not isinstance(node, allowed):
            raise ConfigError(
                f"filter `{text}` uses {type(node).__name__}, which filters do not allow",
                hint="Use comparisons, and/or/not, in, and the functions "
                + ", ".join(sorted(_FUNCTIONS)),
            )
        if isinstance(node, ast.Call) and not (
            isinstance(node.func, ast.Name) and node.func.id in _FUNCTIONS
        ):
            raise ConfigError(
                f"filter `{text}` calls a function that is not allowed",
                hint="Allowed functions: " + ", ".join(sorted(_FUNCTIONS)),
            )
        if isinstance(node, ast.Name) and node.id not in _FUNCTIONS:
            names.add(node.id)
    unknown = names - known_fields - {"True", "False", "None"}
    if unknown:
        raise ConfigError(
            f"filter `{text}` names unknown field(s) {', '.join(sorted(unknown))}",
            hint="Known fields: " + ", ".join(sorted(known_fields)),
        )
    return Expression(text, tree, frozenset(names))
