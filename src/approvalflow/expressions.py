"""The safe expression language for gateway conditions.

Bare SpiffWorkflow evaluates conditions with Python's ``eval()`` and full
builtins, so a condition in a BPMN file from another department could run any
code on the host.  This module replaces that with a small language whose every
expression is checked *statically* (before anything runs) and then evaluated by
our own AST walker, which has no way to reach attributes, modules or builtins.

The language is a subset of Python expression syntax:

* names, looked up in the case data (names starting with ``_`` are refused);
* literals: int, float, str, ``True``/``False``/``None``, and tuple, list, set
  and dict displays;
* comparisons ``== != < <= > >= in not in is is not``; ``and or not``;
* arithmetic ``+ - * / // %``, unary ``-``/``+`` and ``**`` (bounded exponent);
* the conditional expression ``a if c else b``;
* subscription and slicing (``data["key"]``, ``items[0]``, ``items[1:3]``);
* calls, by bare name and with positional arguments only, of the functions in
  :data:`ALLOWED_FUNCTIONS`: ``len min max abs round int float str bool sum any all
  sorted`` (``sum`` with one argument, ``round`` with at most 100 digits), and
  ``get("name", default)``, which reads case data that may be absent (a bare
  name that the data lacks is an error, so that typos do not pass silently).

Everything else (attribute access, other calls, lambda, comprehensions,
``:=``, f-strings, starred arguments, bitwise operators, ...) is refused by
:func:`check_expression` with :class:`UnsafeExpression`.  At run time, numbers,
strings and containers are kept within the limits below; a breach, an unknown
name or any failure of the operation raises :class:`EvaluationError`.

We use our own evaluator rather than ``simpleeval``: the permitted node types
are few, so a walker that only implements those cannot reach attribute access
or any builtin not listed here, whatever the input.
"""

from __future__ import annotations

import ast
import functools
import io
import operator
import tokenize
import warnings
from collections.abc import Callable, Mapping
from types import MappingProxyType
from typing import Any, Protocol, runtime_checkable

from .errors import ApprovalflowError

#: A Python function a process's script may call by name: it gets the task data and returns updates (or None).
TrustedFunction = Callable[[dict[str, Any]], Mapping[str, Any] | None]

__all__ = [
    "ALLOWED_FUNCTIONS",
    "MAX_DEPTH",
    "MAX_EXPONENT",
    "MAX_INT_BITS",
    "MAX_ITEMS",
    "MAX_LENGTH",
    "EvaluationError",
    "ExpressionError",
    "ExpressionEvaluator",
    "SafeEvaluator",
    "TrustedFunction",
    "UnsafeExpression",
    "check_expression",
    "evaluate_expression",
]  # fmt: skip

MAX_LENGTH = 2_000
"""Longest expression accepted, in characters (after stripping whitespace)."""
MAX_DEPTH = 50
"""Deepest nesting accepted, of syntax-tree nodes and of brackets."""
MAX_EXPONENT = 100
"""Largest absolute exponent for ``**`` (and ``ndigits`` for ``round``)."""
MAX_INT_BITS = 4_096
"""Largest integer produced by an operation, in bits (about 1,233 digits)."""
MAX_ITEMS = 100_000
"""Largest string length / container size (counted through nesting) produced."""

ALLOWED_FUNCTIONS: Mapping[str, Callable[..., object]] = MappingProxyType({
    "len": len, "min": min, "max": max, "abs": abs, "round": round, "int": int, "float": float,
    "str": str, "bool": bool, "sum": sum, "any": any, "all": all, "sorted": sorted,
})  # fmt: skip
"""The only functions a condition may call (by bare name, positional arguments only)."""

_BINOPS: dict[type[ast.operator], Callable[[Any, Any], Any]] = {
    ast.Add: operator.add, ast.Sub: operator.sub, ast.Mult: operator.mul, ast.Div: operator.truediv,
    ast.FloorDiv: operator.floordiv, ast.Mod: operator.mod, ast.Pow: operator.pow,
}  # fmt: skip
_COMPARE: dict[type[ast.cmpop], Callable[[Any, Any], Any]] = {
    ast.Eq: operator.eq, ast.NotEq: operator.ne, ast.Lt: operator.lt, ast.LtE: operator.le,
    ast.Gt: operator.gt, ast.GtE: operator.ge, ast.Is: operator.is_, ast.IsNot: operator.is_not,
    ast.In: lambda a, b: a in b, ast.NotIn: lambda a, b: a not in b,
}  # fmt: skip
_UNARY: dict[type[ast.unaryop], Callable[[Any], Any]] = {
    ast.Not: operator.not_, ast.USub: operator.neg, ast.UAdd: operator.pos,
}  # fmt: skip
_PLAIN_NODES = (
    ast.Expression, ast.BoolOp, ast.And, ast.Or, ast.BinOp, ast.UnaryOp, ast.Compare, ast.IfExp,
    ast.Subscript, ast.Slice, ast.Tuple, ast.List, ast.Set, ast.Dict, ast.Load,
    *_BINOPS, *_COMPARE, *_UNARY,
)  # fmt: skip
_REFUSED: dict[type[ast.AST], str] = {
    ast.Lambda: "lambda is", ast.ListComp: "comprehensions are", ast.SetComp: "comprehensions are",
    ast.DictComp: "comprehensions are", ast.GeneratorExp: "generator expressions are",
    ast.NamedExpr: "assignment expressions (:=) are", ast.JoinedStr: "f-strings are",
    ast.FormattedValue: "f-strings are", ast.Starred: "starred arguments (*x) are", ast.Await: "await is",
    ast.Yield: "yield is", ast.YieldFrom: "yield is",
}  # fmt: skip
_OPERATOR_TEXT = {ast.BitAnd: "&", ast.BitOr: "|", ast.BitXor: "^", ast.LShift: "<<",
                  ast.RShift: ">>", ast.MatMult: "@", ast.Invert: "~"}  # fmt: skip


class ExpressionError(ApprovalflowError, ValueError):
    """Base of the errors of this module (also a ``ValueError``, as it always was)."""


class UnsafeExpression(ExpressionError):
    """The expression is outside the language.

    ``reason`` says why; ``offset`` is where, if known: the 0-based column as Python's parser
    reports it (counted in UTF-8 bytes for syntax-tree nodes).
    """

    def __init__(self, reason: str, offset: int | None = None) -> None:
        self.reason = reason
        self.offset = offset
        super().__init__(reason)


class EvaluationError(ExpressionError):
    """Evaluating a checked expression failed (unknown name, type error, division by zero, a limit)."""


def _refuse(reason: str, node: ast.AST | None = None) -> UnsafeExpression:
    return UnsafeExpression(reason, getattr(node, "col_offset", None))


def _bracket_depth(text: str) -> int:
    """Deepest bracket nesting in ``text`` (parentheses leave no trace in the syntax tree)."""
    depth = deepest = 0
    try:
        for tok in tokenize.generate_tokens(io.StringIO(text).readline):
            if tok.type == tokenize.OP and tok.string in ("(", "[", "{"):
                depth += 1
                deepest = max(deepest, depth)
            elif tok.type == tokenize.OP and tok.string in (")", "]", "}"):
                depth -= 1
    except (tokenize.TokenError, SyntaxError, ValueError):
        pass  # ast.parse reports the syntax error
    return deepest


def _tree_depth(tree: ast.AST) -> int:
    deepest, stack = 0, [(tree, 1)]
    while stack:
        node, depth = stack.pop()
        deepest = max(deepest, depth)
        stack.extend((child, depth + 1) for child in ast.iter_child_nodes(node))
    return deepest


def _check_node(node: ast.AST) -> None:
    """Refuse ``node`` unless it is in the language; then check its children (source order)."""
    if isinstance(node, ast.Attribute):
        raise _refuse(f"attribute access is not allowed (`{node.attr}`)", node)
    if isinstance(node, ast.Name):
        if node.id.startswith("_"):
            raise _refuse(f"names starting with '_' are not allowed (`{node.id}`)", node)
    elif isinstance(node, ast.Constant):
        value = node.value
        if isinstance(value, int) and value.bit_length() > MAX_INT_BITS:
            raise _refuse(f"integer literal is too large (more than {MAX_INT_BITS} bits)", node)
        if value is not None and not isinstance(value, int | float | str):
            raise _refuse(f"{type(value).__name__} literals are not allowed", node)
    elif isinstance(node, ast.Call):
        allowed = ", ".join([*ALLOWED_FUNCTIONS, "get"])
        if isinstance(node.func, ast.Name):
            if node.func.id not in ALLOWED_FUNCTIONS and node.func.id != "get":
                raise _refuse(f"call of `{node.func.id}` is not allowed; allowed functions: {allowed}", node)
        elif not isinstance(node.func, ast.Attribute):  # attribute calls get the attribute message
            raise _refuse(f"only these functions can be called, by name: {allowed}", node)
        if node.keywords:
            raise _refuse("keyword arguments are not allowed", node)
    elif isinstance(node, ast.Dict):
        if any(key is None for key in node.keys):
            raise _refuse("dict unpacking (**) is not allowed", node)
    elif type(node) in _REFUSED:
        raise _refuse(f"{_REFUSED[type(node)]} not allowed", node)
    elif type(node) in _OPERATOR_TEXT:
        raise _refuse(f"operator `{_OPERATOR_TEXT[type(node)]}` is not allowed")
    elif not isinstance(node, _PLAIN_NODES):
        raise _refuse(f"{type(node).__name__} is not allowed in a condition", node)
    for child in ast.iter_child_nodes(node):
        _check_node(child)


@functools.lru_cache(maxsize=1024)
def _compile(text: str) -> ast.Expression:
    """Parse and statically check ``text`` (already stripped); cached per text."""
    if not text:
        raise UnsafeExpression("the condition is empty")
    if len(text) > MAX_LENGTH:
        raise UnsafeExpression(f"the condition is {len(text):,} characters long; the limit is {MAX_LENGTH:,}")
    if text.startswith(("${", "#{")):
        inner = text[2:-1].strip() if text.endswith("}") else "..."
        raise UnsafeExpression(f"JUEL `{text[:2]}...}}` expressions are not supported; write `{inner}`", 0)
    if _bracket_depth(text) > MAX_DEPTH:
        raise UnsafeExpression(f"brackets are nested too deeply (more than {MAX_DEPTH} levels)")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # e.g. invalid escape sequences: Python keeps them as text
            tree = ast.parse(text, mode="eval")
    except SyntaxError as exc:
        where = f" at column {exc.offset}" if exc.offset else ""
        if exc.offset and (exc.lineno or 1) > 1:
            where = f" at line {exc.lineno}, column {exc.offset}"
        elif exc.offset == 0:  # Python reports errors at the end of the input at offset 0
            where = " at the end of the condition"
        raise UnsafeExpression(f"syntax error{where}: {exc.msg}", max((exc.offset or 1) - 1, 0)) from exc
    except (ValueError, RecursionError, MemoryError) as exc:
        raise UnsafeExpression(f"the condition cannot be parsed ({exc})") from exc
    if _tree_depth(tree) > MAX_DEPTH:
        raise UnsafeExpression(f"the condition is nested too deeply (more than {MAX_DEPTH} levels)")
    _check_node(tree)
    return tree


def check_expression(text: str) -> None:
    """Raise :class:`UnsafeExpression` unless ``text`` is in the safe language; runs nothing."""
    if not isinstance(text, str):
        raise UnsafeExpression(f"a condition must be text, not {type(text).__name__}")
    _compile(text.strip())


def _check_size(value: object) -> object:
    """Return ``value`` unless it exceeds the limits on integers, strings and containers."""
    if isinstance(value, bool | float) or value is None:
        return value
    if isinstance(value, int):
        if value.bit_length() > MAX_INT_BITS:
            raise EvaluationError(f"number is too large (more than {MAX_INT_BITS} bits)")
    elif isinstance(value, complex):
        raise EvaluationError("complex numbers are not supported")
    elif _size(value, MAX_ITEMS) > MAX_ITEMS:
        raise EvaluationError(f"result is too large (more than {MAX_ITEMS:,} items or characters)")
    return value


_SIZED = (str, bytes, dict, list, tuple, set, frozenset)


def _size(value: object, budget: int) -> int:
    """Items and characters in ``value``, counted through nesting; stops once past ``budget``."""
    total, stack = 0, [value]
    while stack and total <= budget:
        item = stack.pop()
        if isinstance(item, str | bytes):
            total += len(item)
        elif isinstance(item, dict | list | tuple | set | frozenset):
            total += len(item)
            if total <= budget:
                items = [*item.keys(), *item.values()] if isinstance(item, dict) else item
                stack.extend(x for x in items if isinstance(x, _SIZED))
    return total


def _binop(op: ast.operator, left: object, right: object) -> object:
    if isinstance(op, ast.Pow) and isinstance(right, int | float):
        if abs(right) > MAX_EXPONENT:
            raise EvaluationError(f"exponent {right} is too large (the limit is {MAX_EXPONENT})")
        if isinstance(left, int) and right > 0 and left.bit_length() * right > MAX_INT_BITS:
            raise EvaluationError(f"{left} ** {right} is too large (more than {MAX_INT_BITS} bits)")
    elif isinstance(op, ast.Mult):
        seq, count = (left, right) if isinstance(right, int) else (right, left)
        if (
            isinstance(count, int)
            and isinstance(seq, str | bytes | list | tuple)
            and count > 0
            and _size(seq, MAX_ITEMS // count + 1) * count > MAX_ITEMS
        ):
            raise EvaluationError(f"repetition is too large (more than {MAX_ITEMS:,} items or characters)")
    elif isinstance(op, ast.Mod) and isinstance(left, str | bytes):
        raise EvaluationError("string formatting with % is not allowed")
    return _check_size(_BINOPS[type(op)](left, right))


def _call(name: str, args: list[object]) -> object:
    if name == "round" and len(args) > 1 and isinstance(args[1], int) and abs(args[1]) > MAX_EXPONENT:
        raise EvaluationError(f"round() digits must be between -{MAX_EXPONENT} and {MAX_EXPONENT}")
    if name == "sum" and len(args) != 1:
        raise EvaluationError("sum() takes exactly one argument")
    return _check_size(ALLOWED_FUNCTIONS[name](*args))


def _get(args: list[object], names: Mapping[str, object]) -> object:
    """``get("name")`` or ``get("name", default)``: a case-data value that may be absent."""
    if not 1 <= len(args) <= 2 or not isinstance(args[0], str):
        raise EvaluationError('get() takes a name in quotes and an optional default: get("name", False)')
    if args[0].startswith("_"):
        raise EvaluationError("names starting with '_' are not allowed")
    return names.get(args[0], args[1] if len(args) == 2 else None)


def _unknown_name(name: str, names: Mapping[str, object]) -> EvaluationError:
    known = sorted(str(key) for key in names if not str(key).startswith("_"))
    if not known:
        return EvaluationError(f"unknown name '{name}' in condition; the case data is empty")
    listed = ", ".join(known[:20]) + (f", ... ({len(known) - 20} more)" if len(known) > 20 else "")
    return EvaluationError(f"unknown name '{name}' in condition; the case data has: {listed}")


def _eval(node: ast.AST, names: Mapping[str, object]) -> object:
    """Evaluate a node that :func:`_check_node` accepted."""
    if isinstance(node, ast.Expression):
        return _eval(node.body, names)
    if isinstance(node, ast.Constant):
        return node.value
    if isinstance(node, ast.Name):
        if node.id not in names:
            raise _unknown_name(node.id, names)
        return names[node.id]
    if isinstance(node, ast.BoolOp):
        value: object = None
        for operand in node.values:
            value = _eval(operand, names)
            if bool(value) is isinstance(node.op, ast.Or):
                break
        return value
    if isinstance(node, ast.UnaryOp):
        return _check_size(_UNARY[type(node.op)](_eval(node.operand, names)))
    if isinstance(node, ast.BinOp):
        return _binop(node.op, _eval(node.left, names), _eval(node.right, names))
    if isinstance(node, ast.Compare):
        left = _eval(node.left, names)
        for op, comparator in zip(node.ops, node.comparators, strict=True):
            right = _eval(comparator, names)
            if not _COMPARE[type(op)](left, right):
                return False
            left = right
        return True
    if isinstance(node, ast.IfExp):
        return _eval(node.body if _eval(node.test, names) else node.orelse, names)
    if isinstance(node, ast.Subscript):
        container = _eval(node.value, names)
        return container[_eval(node.slice, names)]  # type: ignore[index]
    if isinstance(node, ast.Slice):
        parts = (node.lower, node.upper, node.step)
        return slice(*(None if part is None else _eval(part, names) for part in parts))
    if isinstance(node, ast.Tuple | ast.List | ast.Set):
        items = [_eval(item, names) for item in node.elts]
        kind = {ast.Tuple: tuple, ast.List: list, ast.Set: set}[type(node)]
        return _check_size(kind(items))
    if isinstance(node, ast.Dict):
        pairs = [
            (_eval(key, names), _eval(value, names))
            for key, value in zip(node.keys, node.values, strict=True)
            if key is not None
        ]
        return _check_size(dict(pairs))
    if isinstance(node, ast.Call) and isinstance(node.func, ast.Name):
        args = [_eval(arg, names) for arg in node.args]
        if node.func.id == "get":
            return _get(args, names)
        return _call(node.func.id, args)
    raise EvaluationError(f"{type(node).__name__} cannot be evaluated")  # unreachable after the check


def evaluate_expression(text: str, names: Mapping[str, object]) -> object:
    """Check ``text``, then evaluate it over ``names``.

    Raises :class:`UnsafeExpression` if the check fails and :class:`EvaluationError` for any
    failure while evaluating; never any other exception.
    """
    if not isinstance(text, str):
        raise UnsafeExpression(f"a condition must be text, not {type(text).__name__}")
    tree = _compile(text.strip())
    try:
        return _eval(tree, names)
    except ExpressionError:
        raise
    except ZeroDivisionError as exc:
        raise EvaluationError("division by zero") from exc
    except KeyError as exc:
        raise EvaluationError(f"key {exc} not found") from exc
    except IndexError as exc:
        raise EvaluationError(f"index out of range ({exc})") from exc
    except Exception as exc:  # anything the operation raised (type errors, overflow, host objects)
        raise EvaluationError(f"{type(exc).__name__}: {exc}") from exc


@runtime_checkable
class ExpressionEvaluator(Protocol):
    """A condition language: hosts may plug in another one."""

    def check(self, text: str) -> None:
        """Raise :class:`ExpressionError` unless ``text`` is acceptable; must not run anything."""

    def evaluate(self, text: str, names: Mapping[str, object]) -> object:
        """Evaluate ``text`` over ``names``; failures are :class:`ExpressionError`."""


class SafeEvaluator:
    """The default :class:`ExpressionEvaluator`: the safe language of this module."""

    def check(self, text: str) -> None:
        """See :func:`check_expression`."""
        check_expression(text)

    def evaluate(self, text: str, names: Mapping[str, object]) -> object:
        """See :func:`evaluate_expression`."""
        return evaluate_expression(text, names)


# The name before issue 15, kept so that code written against it keeps working.
evaluate = evaluate_expression
