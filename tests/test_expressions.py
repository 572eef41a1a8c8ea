"""Tests of the safe expression language (approvalflow.expressions)."""

from __future__ import annotations

import contextlib
import os
import time
from pathlib import Path

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from approvalflow.expressions import (
    ALLOWED_FUNCTIONS,
    MAX_LENGTH,
    EvaluationError,
    ExpressionError,
    ExpressionEvaluator,
    SafeEvaluator,
    UnsafeExpression,
    check_expression,
    evaluate_expression,
)

CASE = {
    "amount": 12_000,
    "urgent": False,
    "category": "B",
    "parties": ["dept-a", "dept-b"],
    "data": {"x": 1, "y": [1, 2, 3]},
    "items": [10, 20, 30, 40],
    "a": 1,
    "b": 0,
    "c": "see",
    "name": "采购",
}


# --- what the language allows -------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("amount > 10000 and not urgent", True),
        ("amount > 20000 or urgent", False),
        ('category in ["A", "B"]', True),
        ('category not in ("A", "C")', True),
        ("len(parties) >= 2", True),
        ('data["x"] == 1', True),
        ('data["y"][-1]', 3),
        ("items[0]", 10),
        ("items[1:3]", [20, 30]),
        ("items[::2]", [10, 30]),
        ("a if b else c", "see"),
        ("a if a else c", 1),
        ("(amount + 1000) * 2 - 6 / 3", 25_998.0),
        ("amount // 7 % 5", 12_000 // 7 % 5),
        ("-a + +a", 0),
        ("2 ** 10", 1024),
        ("2 ** -1", 0.5),
        ("1 < a + 1 <= 2", True),
        ("b is None", False),
        ("None is not b", True),
        ("{'k': [1, 2], 'j': {3}}['k']", [1, 2]),
        ("min(items) + max(3, 4) + abs(-1)", 15),
        ("round(2.567, 2)", 2.57),
        ('int("42") + float("0.5")', 42.5),
        ("str(a) + 'x'", "1x"),
        ("bool(b)", False),
        ("sum(items)", 100),
        ("any([b, a]) and not all([a, b])", True),
        ("sorted([3, 1, 2])", [1, 2, 3]),
        ('name == "采购"', True),
        ('"ab" * 3', "ababab"),
        ("[0] * 3", [0, 0, 0]),
        ("  \n amount > 1 \t", True),
        ("True and None", None),
        ("a or c", 1),
    ],
)
def test_allowed_expressions_evaluate_like_python(text: str, expected: object) -> None:
    check_expression(text)
    assert evaluate_expression(text, CASE) == expected


def test_called_functions_are_the_builtins_not_case_data() -> None:
    assert evaluate_expression("len(items)", {"items": [1, 2], "len": lambda _x: 99}) == 2


def test_allowed_function_list_is_small_and_fixed() -> None:
    assert sorted(ALLOWED_FUNCTIONS) == sorted(
        ["len", "min", "max", "abs", "round", "int", "float", "str", "bool", "sum", "any", "all", "sorted"]
    )
    with pytest.raises(TypeError):
        ALLOWED_FUNCTIONS["open"] = open  # type: ignore[index]


def test_safe_evaluator_implements_the_protocol() -> None:
    evaluator = SafeEvaluator()
    assert isinstance(evaluator, ExpressionEvaluator)
    evaluator.check("a > 0")
    assert evaluator.evaluate("a > 0", {"a": 1}) is True
    with pytest.raises(UnsafeExpression):
        evaluator.check("a.b")


# --- refused at check time, without running anything -----------------------------------------

# Each payload writes a marker file if it ever runs; {marker} is replaced by a unique path.
CODE_PAYLOADS = [
    '__import__("os").system("touch {marker}")',
    '__import__("subprocess").run(["touch", "{marker}"])',
    'open("{marker}", "w").write("pwned")',
    'open("{marker}", "w")',
    "exec(\"open('{marker}', 'w')\")",
    "eval(\"open('{marker}', 'w')\")",
    'compile("open(\'{marker}\', \'w\')", "x", "exec")',
    '[open("{marker}", "w") for _ in [1]]',
    '(lambda: open("{marker}", "w"))()',
    'len(open("{marker}", "w"))',
    '${{open("{marker}", "w")}}',
    "f\"{{open('{marker}', 'w')}}\"",
    '[].__class__.__base__.__subclasses__()[0]("{marker}")',
    'getattr(__builtins__, "open")("{marker}", "w")',
    '(o := open)("{marker}", "w")',
]


@pytest.mark.parametrize("template", CODE_PAYLOADS)
def test_code_payloads_are_refused_and_never_run(template: str, tmp_path: Path) -> None:
    marker = tmp_path / "pwned"
    text = template.format(marker=marker)
    with pytest.raises(UnsafeExpression):
        check_expression(text)
    with pytest.raises(UnsafeExpression):
        evaluate_expression(text, {"x": 1, "os": os, "open": open, "__builtins__": __builtins__})
    assert not marker.exists()


def test_marker_check_would_notice_a_payload_that_ran(tmp_path: Path) -> None:
    """Guard against a vacuous test: the same payload under plain eval() does create the file."""
    marker = tmp_path / "canary"
    eval(f'open("{marker}", "w").close()')  # trusted, test-generated text
    assert marker.exists()


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ('__import__("os").system("ls")', "attribute access is not allowed (`system`)"),
        ("().__class__.__bases__[0].__subclasses__()", "attribute access is not allowed"),
        ('open("/etc/passwd").read()', "attribute access is not allowed (`read`)"),
        ('open("/etc/passwd")', "call of `open` is not allowed; allowed functions: len, min"),
        ('eval("1")', "call of `eval` is not allowed"),
        ('exec("x = 1")', "call of `exec` is not allowed"),
        ('getattr(x, "y")', "call of `getattr` is not allowed"),
        ("globals()", "call of `globals` is not allowed"),
        ("vars()", "call of `vars` is not allowed"),
        ("type(x)", "call of `type` is not allowed"),
        ("lambda: 1", "lambda is not allowed"),
        ("[x for x in range(10**9)]", "comprehensions are not allowed"),
        ("{x: 1 for x in y}", "comprehensions are not allowed"),
        ("{x for x in y}", "comprehensions are not allowed"),
        ("sum(x for x in y)", "generator expressions are not allowed"),
        ("(y := 1)", "assignment expressions (:=) are not allowed"),
        ('f"{x}"', "f-strings are not allowed"),
        ("f'plain'", "f-strings are not allowed"),
        ("x.y", "attribute access is not allowed (`y`)"),
        ("_secret", "names starting with '_' are not allowed (`_secret`)"),
        ("__class__", "names starting with '_' are not allowed (`__class__`)"),
        ("__builtins__", "names starting with '_' are not allowed"),
        ("${x > 1}", "JUEL `${...}` expressions are not supported; write `x > 1`"),
        ("#{amount > 10}", "write `amount > 10`"),
        ("max(*items)", "starred arguments (*x) are not allowed"),
        ("{**data}", "dict unpacking (**) is not allowed"),
        ("sorted(items, key=len)", "keyword arguments are not allowed"),
        ("items[0]()", "only these functions can be called"),
        ("x & 1", "operator `&` is not allowed"),
        ("x << 1", "operator `<<` is not allowed"),
        ("~x", "operator `~` is not allowed"),
        ("1j", "complex literals are not allowed"),
        ('b"x"', "bytes literals are not allowed"),
        ("x = 1", "syntax error at column 3"),
        ("import os", "syntax error"),
        ("1 +", "syntax error at the end of the condition"),
        ("(1,\n 2 2)", "syntax error at line 2"),
        ("await x", "await is not allowed"),
        ("", "the condition is empty"),
        ("   ", "the condition is empty"),
        ("x" * (MAX_LENGTH + 1), f"characters long; the limit is {MAX_LENGTH:,}"),
        ("(" * 200 + "1" + ")" * 200, "nested too deeply"),
        ("[" * 60 + "]" * 60, "nested too deeply"),
        ("-" * 120 + "1", "nested too deeply"),
        ("1" + " + 1" * 400, "nested too deeply"),
        ("1" + "0" * 1500, "integer literal is too large"),
    ],
)
def test_refused_at_check_time_with_a_clear_reason(text: str, reason: str) -> None:
    with pytest.raises(UnsafeExpression) as info:
        check_expression(text)
    assert reason in info.value.reason
    assert str(info.value) == info.value.reason


def test_refusal_reports_the_column() -> None:
    with pytest.raises(UnsafeExpression) as info:
        check_expression("amount > 1 and x.y")
    assert info.value.offset == 15


def test_case_data_with_modules_still_gives_no_attribute_access() -> None:
    with pytest.raises(UnsafeExpression):
        evaluate_expression('os.system("true")', {"os": os})


def test_non_text_condition_is_refused() -> None:
    with pytest.raises(UnsafeExpression):
        check_expression(None)  # type: ignore[arg-type]


# --- refused at evaluation time --------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("9**9**9**9", "exponent 387420489 is too large"),
        ("10**1000000", "exponent 1000000 is too large"),
        ("(2**100)**100", "is too large"),
        ("(10**90)**90", "is too large"),
        ("2.0 ** 1e9", "is too large"),
        ('"a" * 10**9', "repetition is too large"),
        ("10**9 * 'a'", "repetition is too large"),
        ("[1] * 10**9", "repetition is too large"),
        ("[[1] * 50000] * 50000", "repetition is too large"),
        ("[[1] * 99999] * 2", "is too large"),
        ('"a" * 99999 + "a" * 99999', "result is too large"),
        ("str([[1] * 5000] * 5000)", "repetition is too large"),
        (
            "(2**99 * 2**99) * (2**99 * 2**99) * (2**99 * 2**99) * (2**99 * 2**99)"
            " * (2**99 * 2**99) * (2**99 * 2**99) * (2**99 * 2**99) * (2**99 * 2**99)"
            " * (2**99 * 2**99) * (2**99 * 2**99) * (2**99 * 2**99) * (2**99 * 2**99)"
            " * (2**99 * 2**99) * (2**99 * 2**99) * (2**99 * 2**99) * (2**99 * 2**99)"
            " * (2**99 * 2**99) * (2**99 * 2**99) * (2**99 * 2**99) * (2**99 * 2**99)"
            " * (2**99 * 2**99) * (2**99 * 2**99)",
            "number is too large",
        ),
        ("int('9' * 4000)", "number is too large"),
        ("round(5, -10**9)", "round() digits"),
        ("sum([[1]], [])", "sum() takes exactly one argument"),
        ('"%0999999999d" % 1', "string formatting with % is not allowed"),
        ("(-8) ** 0.5", "complex numbers are not supported"),
        ("1 / 0", "division by zero"),
        ("a // b", "division by zero"),
        ("a % b", "division by zero"),
        ("0 ** -1", "division by zero"),
        ('data["missing"]', "key 'missing' not found"),
        ("items[10]", "index out of range"),
        ("amount > 'x'", "TypeError"),
        ("min([])", "ValueError"),
        ("len(a)", "TypeError"),
        ("{[1]: 2}", "TypeError"),
        ("int(float('inf'))", "OverflowError"),
        ("float(10**99 * 10**99 * 10**99 * 10**99)", "OverflowError"),
        ("1e300 ** 2", "OverflowError"),
    ],
)
def test_refused_at_evaluation_time_quickly(text: str, message: str) -> None:
    check_expression(text)  # within the language; only running it breaks a limit
    started = time.monotonic()
    with pytest.raises(EvaluationError) as info:
        evaluate_expression(text, CASE)
    assert time.monotonic() - started < 2
    assert message in str(info.value)


def test_unknown_name_lists_the_case_data() -> None:
    with pytest.raises(EvaluationError) as info:
        evaluate_expression("amout > 10000", {"amount": 1, "urgent": False, "_private": 1})
    assert str(info.value) == "unknown name 'amout' in condition; the case data has: amount, urgent"


def test_unknown_name_with_empty_case_data() -> None:
    with pytest.raises(EvaluationError, match="the case data is empty"):
        evaluate_expression("x", {})


def test_unknown_name_list_is_truncated() -> None:
    names = {f"n{i:03}": i for i in range(50)}
    with pytest.raises(EvaluationError) as info:
        evaluate_expression("missing", names)
    assert "n019, ... (30 more)" in str(info.value)


def test_errors_from_case_objects_become_evaluation_errors() -> None:
    class Weird:
        def __eq__(self, other: object) -> bool:
            raise RuntimeError("boom")

        __hash__ = object.__hash__

    with pytest.raises(EvaluationError, match="RuntimeError: boom"):
        evaluate_expression("w == 1", {"w": Weird()})


def test_errors_form_one_tree() -> None:
    assert issubclass(UnsafeExpression, ExpressionError)
    assert issubclass(EvaluationError, ExpressionError)
    assert issubclass(ExpressionError, ValueError)


def test_parsed_conditions_are_cached() -> None:
    from approvalflow import expressions

    expressions._compile.cache_clear()
    for _ in range(5):
        evaluate_expression("amount > 1", CASE)
    assert expressions._compile.cache_info().hits == 4


# --- properties ------------------------------------------------------------------------------

_NAMES = {"p": 3, "q": -7, "r": 0}
_BINARY = ["+", "-", "*", "//", "%", "/", "<", "<=", "==", "!=", ">", ">=", "and", "or"]


def _extend(children: st.SearchStrategy[str]) -> st.SearchStrategy[str]:
    return st.one_of(
        st.tuples(children, st.sampled_from(_BINARY), children).map(lambda t: f"({t[0]} {t[1]} {t[2]})"),
        children.map(lambda c: f"(not {c})"),
        children.map(lambda c: f"(-{c})"),
        st.tuples(children, children, children).map(lambda t: f"({t[0]} if {t[1]} else {t[2]})"),
        st.tuples(st.integers(-30, 30), st.integers(-2, 3)).map(lambda t: f"(({t[0]}) ** {t[1]})"),
        children.map(lambda c: f"abs({c})"),
        st.tuples(children, children).map(lambda t: f"max({t[0]}, {t[1]})"),
    )


_EXPRESSIONS = st.recursive(
    st.one_of(st.integers(-30, 30).map(str), st.sampled_from([*sorted(_NAMES), "True", "False"])),
    _extend,
    max_leaves=12,
)


@settings(max_examples=300, deadline=2000, suppress_health_check=[HealthCheck.too_slow])
@given(_EXPRESSIONS)
def test_generated_expressions_match_python(text: str) -> None:
    try:
        # trusted, generated text: Python itself is the reference
        expected: object = eval(text, {"__builtins__": {"max": max, "abs": abs}}, dict(_NAMES))
    except ArithmeticError:
        with pytest.raises(EvaluationError):
            evaluate_expression(text, _NAMES)
        return
    try:
        got = evaluate_expression(text, _NAMES)
    except UnsafeExpression as exc:
        assume("nested too deeply" not in exc.reason)
        raise
    assert got == expected
    assert type(got) is type(expected)


_TOKENS = [
    "9", "10", "0", "1e308", "'a'", '"%s"', "[1]", "(", ")", "[", "]", "{", "}", ",", ":", ".", "**", "*",
    "+", "-", "/", "//", "%", "<", "==", "in", "not", "and", "or", "if", "else", "is", "None", "True",
    "len", "sum", "round", "int", "str", "sorted", "max", "open", "x", "y", "_x", "__class__", "lambda",
    "for", "=", ":=", "$", "f'", "'", "\\", "\n",
]  # fmt: skip


def _run_fuzz(text: str) -> None:
    with contextlib.suppress(ExpressionError):  # success or ExpressionError; anything else fails
        evaluate_expression(text, {"x": [1, 2], "y": "abc"})


@settings(max_examples=400, deadline=2000)
@given(st.lists(st.sampled_from(_TOKENS), max_size=25).map(" ".join))
def test_token_soup_only_raises_expression_errors(text: str) -> None:
    _run_fuzz(text)


@settings(max_examples=300, deadline=2000)
@given(st.text(max_size=200))
def test_random_text_only_raises_expression_errors(text: str) -> None:
    _run_fuzz(text)


def test_get_reads_optional_case_data() -> None:
    assert evaluate_expression('get("needs_hearing", False) == True', {}) is False
    assert evaluate_expression('get("needs_hearing", False) == True', {"needs_hearing": True}) is True
    assert evaluate_expression('get("x")', {}) is None
    for bad in ("get(1)", 'get("a", 1, 2)', "get()", 'get("_secret")'):
        with pytest.raises(EvaluationError):
            evaluate_expression(bad, {"_secret": 1})
