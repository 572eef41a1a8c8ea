"""SpiffWorkflow's hook for expressions and scripts, routed to the safe evaluator and trusted functions.

SpiffWorkflow's default script engine evaluates conditions with ``eval()`` and runs scripts with ``exec()``.
This one never does: expressions go to an :class:`~approvalflow.expressions.ExpressionEvaluator`, and a script
task may only name a function that the host registered when loading the process.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from SpiffWorkflow.bpmn.script_engine import PythonScriptEngine

from .expressions import ExpressionError, ExpressionEvaluator
from .loader import TrustedFunction

__all__ = ["SafeScriptEngine"]


class SafeScriptEngine(PythonScriptEngine):  # type: ignore[misc]
    """Evaluate with our evaluator; run only trusted functions; no service calls."""

    def __init__(self, evaluator: ExpressionEvaluator, trusted: Mapping[str, TrustedFunction]) -> None:
        super().__init__()
        self.evaluator = evaluator
        self.trusted = trusted

    def validate(self, expression: str) -> None:
        self.evaluator.check(expression)

    def evaluate(self, task: Any, expression: str, external_context: Any = None) -> Any:
        return self.evaluator.evaluate(expression, task.data)

    def execute(self, task: Any, script: str, external_context: Any = None) -> bool:
        name = script.strip().removesuffix("()").strip()
        fn = self.trusted.get(name)
        if fn is None:  # the loader already refuses these; never fall back to exec
            raise ExpressionError(f"script {script[:40]!r} names no trusted function")
        updates = fn(dict(task.data))
        if updates:
            task.data.update(updates)
        return True

    def call_service(self, task: Any, **kwargs: Any) -> Any:
        raise ExpressionError("service tasks are not supported")
