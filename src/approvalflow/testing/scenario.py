"""Scenario files (SPEC section 6): drive one case deterministically and report what happened.

A scenario names a process, an organisation, a start moment, initial data, a
policy and a list of steps (task, actor, moment, data, meeting record). Each
step sets the fake clock to its moment and tries to complete the task; a
refusal under ``enforce`` is listed in ``refused`` and the scenario goes on
with the next step. A step that cannot be attempted at all (not ready, an
unknown person, a bad meeting record) makes the scenario invalid: a
:class:`~approvalflow.errors.ScenarioError` naming the file and line.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, ValidationError, field_validator

from ..bpmn.loader import ProcessDefinition, load_process
from ..engine.case import Case, Policy, start_case
from ..errors import CalendarError, RunError, ScenarioError, StepRefused
from ..io.yamlio import Lines, load_yaml, raise_validation
from ..org.organisation import Organisation, load_organisation
from ..rules.checks import Finding
from ..time.calendar import ChinaCalendar
from ..time.clock import FakeClock, check_moment
from .scenario_actions import ACTIONS

__all__ = ["CalendarSettings", "Scenario", "ScenarioResult", "ScenarioStep", "load_scenario", "run_scenario"]


def _aware(value: datetime) -> datetime:
    """A moment of a scenario: timezone-aware and within the years of :func:`approvalflow.time.clock.check_moment`."""
    if value.utcoffset() is None:
        raise ValueError("a moment needs a timezone, e.g. 2026-09-28T09:00:00+08:00")
    return check_moment(value)


class ScenarioStep(BaseModel):
    """One step of a scenario: by default complete ``task`` as ``actor`` at ``at``.

    ``action`` names another operation on the case (:data:`approvalflow.testing.scenario_actions.ACTIONS`); the
    fields each action reads are documented there and in docs/operations.md.
    """

    model_config = ConfigDict(extra="forbid")
    action: str = "complete"
    task: str | None = None
    actor: str
    at: datetime
    data: dict[str, Any] = {}
    meeting: dict[str, Any] | None = None
    # opinions and attachments of a completion; materials, 一次告知, 加签 / 减签 (docs/operations.md)
    opinion: str | None = None
    comment: str | None = None
    attachments: list[dict[str, Any]] | None = None
    person: str | None = None
    position: str | None = None
    reason: str | None = None  # 加签/减签, take-back, return, withdraw, terminate, suspend, outcome, transfer, delegate
    materials: list[dict[str, Any]] | None = None
    missing: list[str] | None = None
    # return: the step to return to (default: the step's af:step/@returnTo); transfer, delegate: the receiver; cc:
    # the people copied
    to: str | list[str] | None = None
    basis: str | None = None  # actions terminate (required), suspend, outcome: the legal basis
    outcome: str | None = None  # action outcome: approved, denied or not-accepted
    note: str | None = None  # cc, urge; evaluate: the channel (评价渠道)
    instance: int | None = None  # claim, unclaim, transfer, delegate: an instance of a multi-instance step
    grade: str | None = None  # evaluate (好差评): 非常满意, 满意, 基本满意, 不满意, 非常不满意 (or their English names)

    _aware = field_validator("at")(_aware)


class CalendarSettings(BaseModel):
    """Which working-day calendar a scenario uses: supplements for years the package lacks, or the fallback."""

    model_config = ConfigDict(extra="forbid")
    supplements: list[str] = []
    fallback: bool = False
    yellow_days: int = 1


class Scenario(BaseModel):
    """A scenario file's content; paths are relative to the scenario file."""

    model_config = ConfigDict(extra="forbid")
    process: str
    org: str
    unit: str | None = None
    start: datetime
    data: dict[str, Any] = {}
    policy: Policy = Policy.ENFORCE
    steps: list[ScenarioStep] = []
    check_at: datetime | None = None
    case_id: str | None = None
    calendar: CalendarSettings = CalendarSettings()
    description: str | None = None
    # What a test expects of the run (checked by the pytest plugin; ``run`` ignores it).
    expect: dict[str, Any] | None = None

    _aware = field_validator("start", "check_at")(lambda v: v if v is None else _aware(v))


@dataclass
class ScenarioResult:
    """What a scenario did: the case, and the JSON of SPEC section 6."""

    case: Case
    refused: list[dict[str, Any]] = field(default_factory=list)
    alerts: list[dict[str, Any]] = field(default_factory=list)
    deadlines: dict[str, Any] | None = None

    @property
    def violations(self) -> list[Finding]:
        return list(self.case.findings)

    def to_json(self) -> dict[str, Any]:
        return {
            "completed": self.case.is_completed,
            "path": list(self.case.path),
            "refused": self.refused,
            "violations": [{"rule": f.rule, "task": f.step, "actor": f.actor} for f in self.case.findings],
            "alerts": self.alerts,
            "deadlines": self.deadlines,
        }


@dataclass
class _Loaded:
    scenario: Scenario
    lines: Lines
    file: str
    definition: ProcessDefinition
    organisation: Organisation


def load_scenario(path: str | Path) -> tuple[Scenario, Lines, str]:
    """Read and check a scenario file's shape; errors name the file and line."""
    data, lines, name = load_yaml(path, error=ScenarioError)
    if not isinstance(data, Mapping):
        raise ScenarioError("a scenario is a mapping with process, org, start and steps", file=name, line=1)
    try:
        scenario = Scenario.model_validate(data)
    except ValidationError as exc:
        raise_validation(exc, file=name, lines=lines, error=ScenarioError)
        raise
    return scenario, lines, name


def _load(path: str | Path) -> _Loaded:
    scenario, lines, name = load_scenario(path)
    base = Path(path).parent
    definition = load_process(base / scenario.process)
    organisation = load_organisation(base / scenario.org)
    if scenario.unit is not None and scenario.unit not in organisation.units:
        raise ScenarioError(
            f"unit '{scenario.unit}' is not in the organisation; units: " + ", ".join(organisation.units),
            file=name,
            line=lines.of(("unit",)),
            element="unit",
        )
    if scenario.unit is None and len(organisation.units) != 1:
        raise ScenarioError("the organisation has several units; name one with 'unit:'", file=name, line=1)
    for i, step in enumerate(scenario.steps):
        if step.action not in ACTIONS:
            raise ScenarioError(
                f"steps[{i}]: unknown action '{step.action}'; actions: {', '.join(sorted(ACTIONS))}",
                file=name,
                line=lines.of(("steps", i, "action")),
                element=f"steps[{i}]",
            )
        if (
            step.action == "return"
            and step.to is not None
            and (
                not isinstance(step.to, str)
                or (step.to not in definition.steps and step.to not in ("previous", "start"))
            )
        ):
            raise ScenarioError(
                f"steps[{i}]: 'to: {step.to}' is not a step of process '{definition.id}' (nor previous or start); "
                f"steps: {', '.join(definition.steps)}",
                file=name,
                line=lines.of(("steps", i, "to")),
                element=f"steps[{i}]",
            )
        if step.task is None and step.action in ("complete", "take-back", "return"):
            raise ScenarioError(
                f"steps[{i}]: action '{step.action}' needs 'task'",
                file=name,
                line=lines.of(("steps", i)),
                element=f"steps[{i}]",
            )
        # the applicant supplies materials (supplement) and evaluates (evaluate): not a person of the organisation
        if organisation.person(step.actor) is None and step.action not in ("supplement", "evaluate"):
            raise ScenarioError(
                f"steps[{i}]: actor '{step.actor}' is not a person of the organisation ({organisation.file})",
                file=name,
                line=lines.of(("steps", i, "actor")),
                element=f"steps[{i}]",
            )
        if step.task is not None and step.task not in definition.steps:
            raise ScenarioError(
                f"steps[{i}]: task '{step.task}' is not a step of process '{definition.id}'; "
                f"steps: {', '.join(definition.steps)}",
                file=name,
                line=lines.of(("steps", i, "task")),
                element=f"steps[{i}]",
            )
    return _Loaded(scenario, lines, name, definition, organisation)


def _calendar(loaded: _Loaded, base: Path) -> ChinaCalendar:
    settings = loaded.scenario.calendar
    return ChinaCalendar([base / p for p in settings.supplements], fallback=settings.fallback)


def run_scenario(path: str | Path, *, trail_key: bytes | None = None) -> ScenarioResult:
    """Run a scenario file; raises :class:`ScenarioError` (or another DefinitionError) for invalid input.

    With ``trail_key`` (the host's secret) every entry of the case's audit trail is signed (HMAC-SHA256).
    """
    loaded = _load(path)
    s = loaded.scenario
    clock = FakeClock(s.start)
    try:
        case = start_case(
            loaded.definition,
            loaded.organisation,
            unit=s.unit,
            clock=clock,
            data=s.data,
            policy=s.policy,
            case_id=s.case_id or Path(path).stem,
            calendar=_calendar(loaded, Path(path).parent),
            yellow_days=s.calendar.yellow_days,
            trail_key=trail_key,
        )
    except RunError as exc:
        raise ScenarioError(f"the case could not start: {exc.message}", file=loaded.file, line=1) from exc
    result = ScenarioResult(case)
    for i, step in enumerate(s.steps):
        clock.to(step.at)
        line, element = loaded.lines.of(("steps", i)), f"steps[{i}]"
        what = f"{step.action} {step.task}" if step.action != "complete" else step.task
        try:
            ACTIONS[step.action](case, step)
        except StepRefused as exc:
            refused = {"step": i, "task": step.task, "actor": step.actor, "rules": exc.rules}
            if step.action != "complete":
                refused["action"] = step.action
            result.refused.append(refused)
        except RunError as exc:
            raise ScenarioError(
                f"steps[{i}] ({what} by {step.actor}): {exc.message}", file=loaded.file, line=line, element=element
            ) from exc
        except CalendarError as exc:
            raise ScenarioError(
                f"steps[{i}] ({step.task} at {step.at.isoformat()}): {exc.message}",
                file=loaded.file,
                line=line,
                element=element,
            ) from exc
    moment = s.check_at or clock.now()
    try:
        deadlines = case.deadlines(moment)
        result.deadlines = deadlines.to_json() if deadlines is not None else None
        result.alerts = [a.to_json() for a in case.alerts(s.check_at)] if s.check_at else []
    except CalendarError as exc:
        line = loaded.lines.of(("check_at",)) if s.check_at else None
        raise ScenarioError(
            f"deadlines as of {moment.isoformat()}: {exc.message}", file=loaded.file, line=line, element="check_at"
        ) from exc
    return result
