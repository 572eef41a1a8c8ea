"""The bodies and answers of the HTTP API (pydantic models: what the OpenAPI document is generated from).

Bodies refuse unknown fields (``extra="forbid"``): a misspelt field is a 422, never silently ignored. Moments are
ISO 8601 text with an offset (``2026-03-02T09:00:00+08:00``); the library checks them (a moment without an offset,
or earlier than the case's last action, is refused by name).
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

__all__ = [
    "AddSignerBody",
    "Attachment",
    "CaseDetail",
    "CcBody",
    "CompleteBody",
    "DeployBody",
    "Deployment",
    "DoneItem",
    "MessageBody",
    "NotifyMissingBody",
    "OperationResult",
    "OutcomeBody",
    "ReadyStepOut",
    "ReasonBody",
    "ResumeBody",
    "ReturnBody",
    "SignalBody",
    "StartBody",
    "StatusOut",
    "StepActBody",
    "SuppBody",
    "TerminateBody",
    "ToBody",
    "TodoItem",
    "UrgeBody",
]

Id = Field(min_length=1, max_length=200)
Moment = Field(None, description="ISO 8601 moment with an offset; default now", max_length=64)


class Body(BaseModel):
    """A request body: unknown fields refused."""

    model_config = ConfigDict(extra="forbid")


class DeployDocument(Body):
    name: str = Field(min_length=1, max_length=255, description="the file name kept in the registry")
    content: str = Field(description="the BPMN XML")


class DeployBody(Body):
    """Several BPMN documents at once (a process and the files its call activities use)."""

    documents: list[DeployDocument] = Field(min_length=1, max_length=100)
    deploy: list[str] | None = Field(
        None,
        max_length=100,
        description="the names of the documents to deploy as processes (the others only "
        "resolve call activities); default every document",
    )


class Deployment(BaseModel):
    process: str
    version: int
    digest: str
    file: str
    deployed_at: str
    files: list[str] = []
    new: bool = False


class StartBody(Body):
    process: str = Field(min_length=1, max_length=200, description="the process id (as deployed)")
    version: int | None = Field(None, ge=1, description="a deployed version; default the latest")
    unit: str | None = Field(None, max_length=200, description="the unit the case runs in; default the key's unit")
    data: dict[str, Any] | None = Field(None, description="the case data (applicant, parties, ...)")
    case_id: str | None = Field(
        None,
        min_length=1,
        max_length=200,
        pattern=r"^[^\x00-\x20\x7f/\\?#%]+$",
        description="the 办件编号 (no spaces, control characters, '/', '\\', '?', '#' or '%': it is part of URLs); "
        "default a new UUID",
    )


class Attachment(Body):
    name: str = Field(min_length=1, max_length=255)
    media_type: str = Field(min_length=3, max_length=255)
    size: int = Field(ge=0)
    sha256: str = Field(pattern=r"^[0-9a-f]{64}$")
    material: str | None = Field(None, max_length=200, description="the material (af:materials) it supplies")


class CompleteBody(Body):
    actor: str = Id
    data: dict[str, Any] | None = None
    meeting: dict[str, Any] | None = Field(None, description="the meeting record of a collective step")
    opinion: str | None = Field(None, max_length=20, description="agree / 同意, disagree / 不同意, return / 退回")
    comment: str | None = Field(None, max_length=10_000)
    attachments: list[Attachment] | None = Field(None, max_length=100)
    instance: int | None = Field(None, ge=0, description="the instance of a multi-instance step")
    at: str | None = Moment


class StepActBody(Body):
    """签收 / 退签."""

    actor: str = Id
    instance: int | None = Field(None, ge=0)
    at: str | None = Moment


class ToBody(Body):
    """转办 / 委派."""

    actor: str = Id
    to: str = Id
    reason: str = Field(min_length=1, max_length=10_000)
    instance: int | None = Field(None, ge=0)
    at: str | None = Moment


class ReturnBody(Body):
    actor: str = Id
    to: str | None = Field(None, max_length=200, description="a step id, previous or start; default af:returnTo")
    reason: str = Field(min_length=1, max_length=10_000)
    at: str | None = Moment


class ReasonBody(Body):
    """撤回 (take back), 撤销申请 (withdraw)."""

    actor: str = Id
    reason: str = Field(min_length=1, max_length=10_000)
    at: str | None = Moment


class TerminateBody(Body):
    actor: str = Id
    reason: str = Field(min_length=1, max_length=10_000)
    basis: str = Field(min_length=1, max_length=10_000, description="the legal basis")
    at: str | None = Moment


class SuspendBody(Body):
    actor: str = Id
    reason: str = Field(min_length=1, max_length=10_000)
    basis: str | None = Field(None, max_length=10_000)
    at: str | None = Moment


class ResumeBody(Body):
    actor: str = Id
    at: str | None = Moment


class OutcomeBody(Body):
    actor: str = Id
    outcome: Literal["approved", "denied", "not-accepted"]
    reason: str | None = Field(None, max_length=10_000)
    basis: str | None = Field(None, max_length=10_000)
    at: str | None = Moment


class AddSignerBody(Body):
    actor: str = Id
    person: str = Id
    reason: str = Field(min_length=1, max_length=10_000)
    position: Literal["before", "after"] | None = None
    at: str | None = Moment


class RemoveSignerBody(Body):
    actor: str = Id
    person: str = Id
    reason: str = Field(min_length=1, max_length=10_000)
    at: str | None = Moment


class CcBody(Body):
    actor: str = Id
    to: list[str] = Field(min_length=1, max_length=200)
    step: str | None = Field(None, max_length=200)
    note: str | None = Field(None, max_length=10_000)
    at: str | None = Moment


class UrgeBody(Body):
    actor: str = Id
    note: str | None = Field(None, max_length=10_000)
    at: str | None = Moment


class NotifyMissingBody(Body):
    actor: str = Id
    missing: list[str] | None = Field(None, max_length=1000, description="default: every material missing")
    step: str | None = Field(None, max_length=200)
    text: str | None = Field(None, max_length=10_000)
    at: str | None = Moment


class SuppBody(Body):
    actor: str = Field(min_length=1, max_length=200, description="the applicant (a party) or an official")
    materials: list[Attachment] = Field(min_length=1, max_length=100)
    at: str | None = Moment


class SignalBody(Body):
    name: str = Id
    actor: str | None = Field(None, max_length=200)
    at: str | None = Moment


class MessageBody(Body):
    name: str = Id
    data: dict[str, Any] | None = None
    correlation: dict[str, Any] | None = None
    actor: str | None = Field(None, max_length=200)
    at: str | None = Moment


class ReadyStepOut(BaseModel):
    id: str
    name: str
    posts: list[str]
    since: str
    instance: int | None = None
    assignee: str | None = None
    held: str | None = None
    owner: str | None = None


class PartiesBody(Body):
    """A change of the case's applicant or parties (回避 facts), recorded with its reason."""

    actor: str = Id
    applicant: str | None = Field(None, max_length=200)
    parties: list[str] | None = Field(None, max_length=200)
    reason: str = Field(min_length=1, max_length=10_000)
    at: str | None = Moment


class EvaluateBody(Body):
    """好差评: the applicant's evaluation of a completed case, relayed by the platform."""

    actor: str = Field(min_length=1, max_length=200, description="the applicant (a party of the case) or who records")
    grade: str = Field(
        min_length=1, max_length=40, description="非常满意, 满意, 基本满意, 不满意, 非常不满意 (or English)"
    )
    text: str | None = Field(None, max_length=10_000)
    channel: str | None = Field(None, max_length=200)
    at: str | None = Moment


class CheckOut(BaseModel):
    """May ``actor`` complete ``step`` now? The findings a completion would raise (empty: it would go through)."""

    case: str
    step: str
    actor: str
    allowed: bool = Field(description="true when no finding would refuse the completion under the case's policy")
    findings: list[dict[str, Any]] = []


class OperationResult(BaseModel):
    """What a write answers: the case after it, and what the operation returned."""

    case: str
    store_version: int = Field(description="the case's version in the store after the write")
    status: str
    outcome: str | None = None
    findings: list[dict[str, Any]] = Field([], description="findings recorded (record policy, time findings)")
    result: Any = Field(None, description="what the operation returned (e.g. the return target, the events caught)")
    ready: list[ReadyStepOut] = []


class CaseDetail(BaseModel):
    """A case as a platform or a supervisor sees it."""

    case: str
    process: str
    process_version: int | None = Field(None, description="the registry version it runs on")
    digest: str
    unit: str
    status: str
    outcome: str | None = None
    store_version: int
    started_at: str | None = None
    ended_at: str | None = None
    path: list[str]
    ready: list[ReadyStepOut]
    deadlines: dict[str, Any] | None = Field(
        None, description="promised and statutory deadlines; 'provisional' lists years counted from the law"
    )
    cards: list[dict[str, Any]] = Field([], description="yellow and red cards at 'at'")
    findings: list[dict[str, Any]] = []
    data: dict[str, Any] = {}
    waiting_for: list[list[str]] = Field([], description="signals, messages and timers the case waits for")
    trail: list[dict[str, Any]] | None = Field(None, description="the audit trail entries (trail=true)")


class StatusOut(BaseModel):
    """办件查询: what an applicant sees of their case."""

    case: str
    status: str
    outcome: str | None = None
    started_at: str | None = None
    ended_at: str | None = None
    steps: list[str] = Field([], description="the names of the steps under way")
    deadlines: dict[str, Any] | None = None


class CaseItem(BaseModel):
    """A case as ``GET /api/v1/cases`` lists it (its index columns, and the applicant of its data)."""

    case: str = Field(description="the case id (办件编号)")
    unit: str
    status: str = Field(description="open, completed, suspended, withdrawn or terminated")
    process: str
    power: str | None = Field(None, description="the power code (职权编码) of the process, if it has one")
    steps: list[str] = Field([], description="the ids of the steps under way")
    started_at: str = Field(description="when the case was started (ISO 8601)")
    ended_at: str | None = None
    applicant: str | None = Field(None, description="the case's data.applicant, when it is text")
    store_version: int


class CasePageOut(BaseModel):
    """One page of a case list; ``next`` is the cursor of the following page (absent on the last)."""

    items: list[CaseItem]
    next: str | None = Field(
        None,
        description="pass it as ?cursor= to read the next page; a page may hold fewer than limit cases and still "
        "have a next one (it read its share of rows); none: the list is at its end",
    )


class TodoItem(BaseModel):
    case: str
    task: str
    instance: int | None = None
    name: str
    ready_since: str
    deadline: str | None = None
    limit: str | None = None
    due: str | None = None
    yellow_from: str | None = None
    level: str | None = None
    unit: str
    power: str | None = None
    process: str


class DoneItem(BaseModel):
    case: str
    task: str
    name: str
    at: str
    ready_since: str
    status: str | None = None
    unit: str
    power: str | None = None
    process: str
