"""Assertions on a case, in the manner of camunda-bpm-assert: ``assert_that(case).passed("accept")...``.

Each check raises :class:`AssertionError` with a message that names the BPMN ids and names of the steps involved
and says what happened instead (the path taken, the steps waiting, the findings or alerts there are). Checks
return the assertion object, so they chain. :func:`assert_refused` checks that the engine refuses a completion
and that the refusal changed nothing.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from ..engine.case import Case
from ..engine.persistence import case_state
from ..engine.timing import Alert
from ..errors import StepRefused
from ..org.meetings import Meeting

__all__ = ["CaseAssert", "assert_refused", "assert_that"]


def _label(case: Case, node: str) -> str:
    info = case.definition.nodes.get(node)
    return f"'{node}' ({info.name})" if info is not None and info.name else f"'{node}'"


def _labels(case: Case, nodes: Sequence[str]) -> str:
    return ", ".join(_label(case, n) for n in nodes) or "nothing"


def _is_subsequence(wanted: Sequence[str], path: Sequence[str]) -> bool:
    it = iter(path)
    return all(any(step == p for p in it) for step in wanted)


class CaseAssert:
    """Fluent checks on one case; build it with :func:`assert_that`."""

    __test__ = False

    def __init__(self, case: Case) -> None:
        self.case = case

    # -- what the case says about itself -----------------------------------------------------------------
    def _fail(self, message: str) -> AssertionError:
        name = self.case.definition.name
        process = f"'{self.case.definition.id}'" + (f" ({name})" if name else "")
        return AssertionError(f"case {self.case.id} of process {process}: {message}")

    def _state(self) -> str:
        path = " -> ".join(self.case.path) or "nothing"
        waiting = _labels(self.case, [s.id for s in self.case.ready_steps()])
        return f"passed: {path}; waiting at: {waiting}"

    def _unknown(self, steps: Sequence[str]) -> None:
        unknown = [s for s in steps if s not in self.case.definition.nodes]
        if unknown:
            raise self._fail(f"no such node in the process: {', '.join(unknown)}")

    # -- path --------------------------------------------------------------------------------------------
    def passed(self, *steps: str) -> CaseAssert:
        """Every listed step was completed at least once."""
        __tracebackhide__ = True
        self._unknown(steps)
        missing = [s for s in steps if s not in self.case.path]
        if missing:
            raise self._fail(f"expected to have passed {_labels(self.case, missing)}; {self._state()}")
        return self

    def passed_in_order(self, *steps: str) -> CaseAssert:
        """The listed steps were completed in this order (other steps may come between them)."""
        __tracebackhide__ = True
        self.passed(*steps)
        if not _is_subsequence(steps, self.case.path):
            raise self._fail(f"expected to have passed {' -> '.join(steps)} in this order; {self._state()}")
        return self

    def not_passed(self, *steps: str) -> CaseAssert:
        """None of the listed steps was completed."""
        __tracebackhide__ = True
        self._unknown(steps)
        done = [s for s in steps if s in self.case.path]
        if done:
            raise self._fail(f"expected not to have passed {_labels(self.case, done)}; {self._state()}")
        return self

    def is_waiting_at(self, *steps: str) -> CaseAssert:
        """Every listed step is ready now (others may be ready too)."""
        __tracebackhide__ = True
        self._unknown(steps)
        ready = [s.id for s in self.case.ready_steps()]
        missing = [s for s in steps if s not in ready]
        if missing:
            raise self._fail(f"expected to be waiting at {_labels(self.case, missing)}; {self._state()}")
        return self

    def is_completed(self) -> CaseAssert:
        """The case reached its end."""
        __tracebackhide__ = True
        if not self.case.is_completed:
            raise self._fail(f"expected the case to be completed; {self._state()}")
        return self

    def is_not_completed(self) -> CaseAssert:
        """The case has not reached its end."""
        __tracebackhide__ = True
        if self.case.is_completed:
            raise self._fail(f"expected the case to be still open; it completed: {' -> '.join(self.case.path)}")
        return self

    # -- findings ----------------------------------------------------------------------------------------
    def _findings_text(self) -> str:
        found = [
            f"{f.rule} at {_label(self.case, f.step) if f.step else 'the case'} by {f.actor or 'nobody'}"
            for f in self.case.findings
        ]
        return "; ".join(found) or "none"

    def has_finding(self, rule: str, step: str | None = None, *, actor: str | None = None) -> CaseAssert:
        """A finding with this rule id was recorded (at ``step``, by ``actor``, when given)."""
        __tracebackhide__ = True
        if step is not None:
            self._unknown([step])
        for f in self.case.findings:
            if f.rule == rule and step in (None, f.step) and actor in (None, f.actor):
                return self
        where = f" at {_label(self.case, step)}" if step else ""
        who = f" by {actor}" if actor else ""
        raise self._fail(f"expected a '{rule}' finding{where}{who}; findings: {self._findings_text()}")

    def has_no_findings(self, *rules: str) -> CaseAssert:
        """No finding at all was recorded, or none with the listed rule ids."""
        __tracebackhide__ = True
        bad = [f for f in self.case.findings if not rules or f.rule in rules]
        if bad:
            raise self._fail(f"expected no {'/'.join(rules) or ''} findings; findings: {self._findings_text()}")
        return self

    # -- time --------------------------------------------------------------------------------------------
    def _alerts(self, at: datetime | str | None) -> list[Alert]:
        return self.case.alerts(at)

    def has_alert(
        self,
        level: str,
        scope: str | None = None,
        *,
        task: str | None = None,
        limit: str | None = None,
        at: datetime | str | None = None,
    ) -> CaseAssert:
        """A yellow or red card at moment ``at`` (default: the clock's now), optionally for ``scope``
        (``case`` or ``step``), ``task`` and ``limit`` (``promised``, ``statutory`` or ``step``)."""
        __tracebackhide__ = True
        found = self._alerts(at)
        for a in found:
            if a.level == level and scope in (None, a.scope) and task in (None, a.task) and limit in (None, a.limit):
                return self
        wanted = " ".join(x for x in (level, scope, limit) if x) + (f" for {_label(self.case, task)}" if task else "")
        raise self._fail(f"expected a {wanted} alert at {self._moment(at)}; alerts: {_alerts_text(self.case, found)}")

    def has_no_alerts(self, *, at: datetime | str | None = None) -> CaseAssert:
        """No yellow or red card at moment ``at`` (default: the clock's now)."""
        __tracebackhide__ = True
        found = self._alerts(at)
        if found:
            raise self._fail(f"expected no alerts at {self._moment(at)}; alerts: {_alerts_text(self.case, found)}")
        return self

    def has_deadlines(
        self, *, promised: str | None = None, statutory: str | None = None, at: datetime | str | None = None
    ) -> CaseAssert:
        """The case deadlines (dates as ``YYYY-MM-DD``) as of ``at`` are these; omitted ones are not checked."""
        __tracebackhide__ = True
        deadlines = self.case.deadlines(at)
        actual = deadlines.to_json() if deadlines is not None else {"promised": None, "statutory": None}
        wanted = {k: v for k, v in (("promised", promised), ("statutory", statutory)) if v is not None}
        wrong = {k: actual[k] for k, v in wanted.items() if actual[k] != v}
        if wrong:
            raise self._fail(f"expected deadlines {wanted}; they are {actual}")
        return self

    def _moment(self, at: datetime | str | None) -> str:
        if at is None:
            return self.case.clock.now().isoformat()
        return at if isinstance(at, str) else at.isoformat()


def _alerts_text(case: Case, found: Sequence[Alert]) -> str:
    text = [
        f"{a.level} {a.scope} {a.limit}{f' for {_label(case, a.task)}' if a.task else ''} (due {a.deadline.day})"
        for a in found
    ]
    return "; ".join(text) or "none"


def assert_that(case: Case) -> CaseAssert:
    """Start a chain of checks on ``case``."""
    return CaseAssert(case)


def assert_refused(
    case: Case,
    step: str,
    actor: str,
    rules: Sequence[str] | None = None,
    *,
    data: Mapping[str, Any] | None = None,
    meeting: Meeting | Mapping[str, Any] | None = None,
    at: datetime | str | None = None,
) -> StepRefused:
    """Check that completing ``step`` as ``actor`` is refused, for exactly ``rules`` (in any order) when given,
    and that the refusal left the case as it was. Returns the :class:`StepRefused` error."""
    __tracebackhide__ = True
    before = case_state(case)
    try:
        findings = case.complete(step, actor, data=data, meeting=meeting, at=at)
    except StepRefused as refused:
        if rules is not None and sorted(refused.rules) != sorted(rules):
            raise CaseAssert(case)._fail(
                f"{_label(case, step)} by {actor} was refused for {refused.rules}, not {list(rules)}"
            ) from None
        if case_state(case) != before:
            raise CaseAssert(case)._fail(f"the refusal of {_label(case, step)} by {actor} changed the case") from None
        return refused
    got = ", ".join(f.rule for f in findings) or "no findings"
    raise CaseAssert(case)._fail(f"expected {_label(case, step)} by {actor} to be refused; it completed ({got})")
