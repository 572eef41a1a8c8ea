"""One way to register rules and checks: a :class:`Registry` of rule ids, their severities and their checks.

A check is a small function from the facts it judges to the findings it raises. The run-time rules
(:data:`approvalflow.rules.checks.RUNTIME`, facts: one attempted completion), the static checks of ``validate``
(:data:`approvalflow.validation.findings.STATIC`, facts: one BPMN file) and the checks of ``catalog check``
(:data:`approvalflow.catalog.problems.CATALOG`) each keep one registry, written the same way::

    @RUNTIME.register("amount-cap")
    def amount_cap(a: StepAttempt) -> Iterator[Finding]: ...

A rule id is stable (never renamed) and has one severity, fixed when it is declared; a registry without a
default severity refuses a check under an id it does not know, so no finding can be made with a severity
nobody chose.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping
from datetime import datetime
from typing import Generic, TypeVar

from .findings import Finding, Severity, is_severity

__all__ = ["Check", "Registry"]

T = TypeVar("T")
Check = Callable[[T], Iterable[Finding]]


class Registry(Generic[T]):
    """Rule ids with their severity, and the checks (``facts -> findings``) that report them.

    ``severity`` maps every declared rule id to its severity; ``checks`` maps a rule id to the check that reports
    it (one check may report several ids). ``default`` is the severity of an id registered without one (``None``:
    such an id is refused).
    """

    def __init__(self, kind: str, severity: Mapping[str, Severity] | None = None, *, default: Severity | None = None):
        self.kind = kind
        self.default = default
        self.severity: dict[str, Severity] = {}
        self.checks: dict[str, Check[T]] = {}
        for rule, level in (severity or {}).items():
            self.declare(rule, level)

    def __repr__(self) -> str:
        return f"<Registry {self.kind}: {len(self.severity)} rules, {len(set(self.checks.values()))} checks>"

    def __contains__(self, rule: object) -> bool:
        return rule in self.severity

    def declare(self, rule: str, severity: Severity) -> None:
        """Declare a rule id and its severity (a check may report it without being registered for it)."""
        if not rule or not isinstance(rule, str):
            raise ValueError(f"a rule id is a non-empty string, not {rule!r}")
        if not is_severity(severity):
            raise ValueError(f"rule {rule!r}: severity {severity!r} is not one of error, warning, info")
        self.severity[rule] = severity

    def register(self, *rules: str, severity: Severity | None = None) -> Callable[[Check[T]], Check[T]]:
        """A decorator that registers a check under the rule ids it reports (never rename an id)."""
        if not rules:
            raise ValueError("register a check under at least one rule id")
        levels = {rule: severity or self.severity.get(rule) or self.default for rule in rules}
        for rule, level in levels.items():
            if level is None:
                raise KeyError(f"{self.kind}: rule {rule!r} has no severity; declare it first")
        for rule, level in levels.items():
            self.declare(rule, level or "error")

        def deco(fn: Check[T]) -> Check[T]:
            for rule in rules:
                self.checks[rule] = fn
            return fn

        return deco

    def distinct(self) -> Iterator[Check[T]]:
        """Every registered check once, in registration order."""
        return iter(dict.fromkeys(self.checks.values()))

    def run(self, facts: T) -> list[Finding]:
        """Every check on ``facts``, all findings collected (none stops at the first)."""
        return [f for fn in self.distinct() for f in fn(facts)]

    def finding(
        self,
        rule: str,
        message: str,
        *,
        element: str | None = None,
        actor: str | None = None,
        at: datetime | None = None,
        file: str | None = None,
        line: int | None = None,
        sheet: str | None = None,
        row: int | None = None,
        column: str | None = None,
        power: str | None = None,
    ) -> Finding:
        """A finding of ``rule`` with its declared severity (``KeyError`` for an id this registry does not know)."""
        level = self.severity.get(rule)
        if level is None:
            raise KeyError(f"{self.kind}: unknown rule id {rule!r}")
        return Finding(rule, element, actor, message, at, level, file=file, line=line, sheet=sheet, row=row,
                       column=column, power=power)  # fmt: skip
