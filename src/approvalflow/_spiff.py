"""SpiffWorkflow's hooks for expressions and scripts, routed to the safe evaluator and trusted functions.

SpiffWorkflow evaluates expressions in two ways: through the script engine (``script_engine.evaluate``) and,
in several places (message correlation, ad-hoc completion conditions, process-level conditions), directly
through the engine's *environment* (``script_engine.environment.evaluate``), which by default is Python's
``eval()`` with full builtins, and ``exec()`` for scripts. Both are replaced here:

* :class:`SafeEnvironment` is the environment object. Every expression that reaches it, whichever path
  inside SpiffWorkflow sent it, goes to the safe :class:`~approvalflow.expressions.ExpressionEvaluator`
  with its size bounds; a script may only name a function the host registered; service calls are refused.
* :class:`SafeScriptEngine` installs that environment, and bounds the one result that allocates in
  proportion to its value: a multi-instance loop cardinality (:data:`MAX_CARDINALITY`).

No code path of this module calls ``eval``, ``exec`` or ``compile``; the test suite replaces those builtins
with functions that fail whenever SpiffWorkflow or approvalflow calls them (``tests/conftest.py``).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from SpiffWorkflow.bpmn.script_engine import PythonScriptEngine
from SpiffWorkflow.bpmn.script_engine.python_environment import BasePythonScriptEngineEnvironment

from .expressions import EvaluationError, ExpressionError, ExpressionEvaluator, TrustedFunction

__all__ = ["MAX_CARDINALITY", "SafeEnvironment", "SafeScriptEngine"]

MAX_CARDINALITY = 1_000
"""Most instances a multi-instance activity's ``loopCardinality`` may ask for. Each instance is a task in the
engine's tree; a cardinality of ``10**9`` would take gigabytes. Raise it with
``SafeScriptEngine(..., max_cardinality=N)`` (``start_case(..., max_cardinality=N)``)."""


class SafeEnvironment(BasePythonScriptEngineEnvironment):  # type: ignore[misc]
    """The object behind ``script_engine.environment``: the safe evaluator, trusted functions, nothing else."""

    def __init__(self, evaluator: ExpressionEvaluator, trusted: Mapping[str, TrustedFunction]) -> None:
        super().__init__({})
        self.evaluator = evaluator
        self.trusted = trusted

    def evaluate(self, expression: str, context: Mapping[str, Any], external_context: Any = None) -> Any:
        names: dict[str, Any] = dict(external_context or {})
        names.update(context)
        return self.evaluator.evaluate(str(expression), names)

    def execute(self, script: str, context: dict[str, Any], external_context: Any = None) -> bool:
        name = str(script).strip().removesuffix("()").strip()
        fn = self.trusted.get(name)
        if fn is None:  # the loader already refuses these; never fall back to exec
            raise ExpressionError(f"script {str(script)[:40]!r} names no trusted function")
        updates = fn(dict(context))
        if updates:
            context.update(updates)
        return True

    def call_service(self, context: Any, **kwargs: Any) -> Any:
        raise ExpressionError("service tasks are not supported")


class SafeScriptEngine(PythonScriptEngine):  # type: ignore[misc]
    """SpiffWorkflow's script engine with :class:`SafeEnvironment` as its environment."""

    def __init__(
        self,
        evaluator: ExpressionEvaluator,
        trusted: Mapping[str, TrustedFunction],
        *,
        max_cardinality: int = MAX_CARDINALITY,
    ) -> None:
        super().__init__(environment=SafeEnvironment(evaluator, trusted))
        self.evaluator = evaluator
        self.max_cardinality = max_cardinality

    def validate(self, expression: str) -> None:
        self.evaluator.check(expression)

    def evaluate(self, task: Any, expression: str, external_context: Any = None) -> Any:
        value = self.environment.evaluate(expression, task.data, external_context)
        if expression == getattr(task.task_spec, "cardinality", None):
            self._check_cardinality(task, value)
        return value

    def execute(self, task: Any, script: str, external_context: Any = None) -> bool:
        return bool(self.environment.execute(script, task.data, external_context))

    def call_service(self, task: Any, **kwargs: Any) -> Any:
        raise ExpressionError("service tasks are not supported")

    def _check_cardinality(self, task: Any, value: Any) -> None:
        if not isinstance(value, int) or isinstance(value, bool) or not 0 <= value <= self.max_cardinality:
            raise EvaluationError(
                f"the loop cardinality of '{task.task_spec.bpmn_id}' is {str(value)[:40]}; it must be a whole "
                f"number from 0 to {self.max_cardinality} (raise max_cardinality to allow more instances)"
            )
