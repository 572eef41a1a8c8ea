"""The HTTP API (``/api/v1``): every approval operation of the library, over one case store.

Each write reads the case from the store (:func:`~approvalflow.store.cases.load_case_from`, its trail verified), runs
the operation of :class:`~approvalflow.engine.case.Case` and saves it with :func:`~approvalflow.store.cases.act`:
the same rules, trail and store as a host calling the library. A refusal is saved with its trail entry and answered
409 with the rule ids and findings; another writer saving the case first is 409 ``conflict`` (reload and retry);
nothing else changes on any error. Who may do what is decided in :mod:`approvalflow.service.auth` before the case
is read. See ``docs/service.md``.
"""

from __future__ import annotations

import base64
import dataclasses
import random
import tempfile
import time
from collections.abc import Callable, Iterator, Mapping
from datetime import date, datetime
from pathlib import Path
from typing import Any, Literal, TypeVar

from fastapi import APIRouter, Depends, Query, Request
from fastapi.concurrency import run_in_threadpool
from pydantic import ValidationError
from starlette.responses import Response

from ..errors import InvalidInputError
from ..rules.checks import Finding
from ..store.base import CaseRecord, ConflictError, IndexProblem, StoreError
from ..time.clock import parse_moment
from . import models as m
from .auth import (
    Principal,
    current_principal,
    require_actor,
    require_case_read,
    require_case_write,
    require_reader,
    require_writer,
)
from .context import ServiceContext, get_context
from .problems import ProblemError, problem_responses

__all__ = ["MAX_UPLOAD_BYTES", "router"]

MAX_UPLOAD_BYTES = 16 * 2**20
"""Most bytes a deploy request may carry (16 MiB); the loader's own limits apply to each document."""

router = APIRouter(prefix="/api/v1")
T = TypeVar("T")

Ctx = Depends(get_context)
Who = Depends(current_principal)
READ = problem_responses(401, 403, 404, 422, 503)
WRITE = problem_responses(401, 403, 404, 409, 422, 503)


# -- helpers -------------------------------------------------------------------------------------------------
def _plain(value: Any) -> Any:
    """A value returned by an operation as JSON."""
    if isinstance(value, Finding):
        return value.to_dict()
    if hasattr(value, "to_dict"):
        return value.to_dict()
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    if isinstance(value, Mapping):
        return {str(k): _plain(v) for k, v in value.items()}
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return _plain(dataclasses.asdict(value))
    return value


def _moment(value: str | None, name: str) -> datetime | None:
    if value is None:
        return None
    try:
        return parse_moment(value)
    except ValueError as exc:
        raise InvalidInputError(f"{name}: {getattr(exc, 'message', exc)}") from None


def _record(ctx: ServiceContext, case_id: str) -> CaseRecord:
    try:
        return ctx.store.get(case_id)
    except StoreError as exc:
        if exc.message.startswith("no such case"):
            raise ProblemError(404, "not-found", f"no case {case_id} in the store", case=case_id) from None
        raise


def _load(ctx: ServiceContext, record: CaseRecord, org: Any) -> Any:
    """The case of ``record`` (just read), restored on its definition (the context's, by digest) and verified."""
    from ..store.cases import load_case_from

    definition = ctx.definition(record.digest)
    return load_case_from(ctx.store, record.id, definition, org, clock=ctx.clock, record=record)


def _organisation(ctx: ServiceContext, unit: str) -> Any:
    org = ctx.organisation_of(unit)
    if org is None:
        raise ProblemError(500, "server", f"the service was started without the organisation of unit {unit}")
    return org


def _ready(case: Any) -> list[m.ReadyStepOut]:
    return [
        m.ReadyStepOut(
            id=r.id,
            name=r.name,
            posts=list(r.posts),
            since=r.since.isoformat(),
            instance=r.instance,
            assignee=r.assignee,
            held=r.held,
            owner=r.owner,
        )
        for r in case.ready_steps()
    ]


def _write(
    ctx: ServiceContext,
    who: Principal,
    case_id: str,
    operation: Callable[[Any], Any],
    *,
    actors: Mapping[str, str | None] = {},
    people: list[str] = (),  # type: ignore[assignment]
) -> m.OperationResult:
    """Authorise, load, run ``operation`` on the case, save (:func:`act`), retrying a version conflict
    (:func:`retrying`); the answer."""
    from ..store.cases import act

    def attempt() -> m.OperationResult:
        record = _record(ctx, case_id)
        require_case_write(who, record.unit, case_id)
        org = _organisation(ctx, record.unit)
        for what, person in actors.items():
            require_actor(who, ctx.unit_of_person(person) if person else None, person, what)
        for person in people:
            require_actor(who, ctx.unit_of_person(person), person, "to")
        stored = _load(ctx, record, org)
        returned = act(ctx.store, stored, operation)
        case = stored.case
        findings = [f.to_dict() for f in returned] if _findings(returned) else []
        return m.OperationResult(
            case=case.id, store_version=stored.version, status=case.status, outcome=case.outcome, findings=findings,
            result=None if _findings(returned) else _plain(returned), ready=_ready(case),
        )  # fmt: skip

    return retrying(ctx, case_id, attempt)


#: How many times a write is tried when another writer saves the case first (optimistic version conflict).
WRITE_ATTEMPTS = 3
#: The pause before a retry: uniformly up to this many seconds, times the attempt number (jittered backoff).
RETRY_PAUSE = 0.005


def retrying(ctx: ServiceContext, case_id: str, attempt: Callable[[], T]) -> T:
    """``attempt()`` under the store lock; when it meets a :class:`ConflictError` (another request or serve
    process saved the case since it was read: nothing was written), read the case again and run it again, at most
    :data:`WRITE_ATTEMPTS` times in all with a short jittered pause between (the lock released). A refusal under the
    rules, or any other error, is never retried. After the last conflict: 409 ``conflict``, nothing changed."""
    for tried in range(1, WRITE_ATTEMPTS + 1):
        try:
            with ctx.lock:
                return attempt()
        except ConflictError as exc:
            if tried == WRITE_ATTEMPTS:
                raise ProblemError(
                    409, "conflict",
                    f"case {case_id} was being changed concurrently: another writer saved it first {tried} times "
                    f"while this request was applied ({exc.message}); nothing was changed by this request: reload "
                    "the case and retry",
                    case=case_id, step=exc.step,
                ) from None  # fmt: skip
        time.sleep(random.uniform(0, RETRY_PAUSE * tried))
    raise AssertionError("unreachable")  # pragma: no cover


def _findings(value: Any) -> bool:
    return isinstance(value, list) and all(isinstance(v, Finding) for v in value)


def _dump(items: list[m.Attachment] | None) -> list[dict[str, Any]] | None:
    return None if items is None else [a.model_dump(exclude_none=True) for a in items]


# -- processes -----------------------------------------------------------------------------------------------
_DEPLOY_BODY = {
    "requestBody": {
        "required": True,
        "description": "one BPMN document (application/xml, its file name in ?name=), or several as JSON "
        "(a process and the files its call activities use)",
        "content": {
            "application/xml": {"schema": {"type": "string"}},
            "application/json": {"schema": {"$ref": "#/components/schemas/DeployBody"}},
        },
    }
}


@router.post(
    "/processes",
    response_model=list[m.Deployment],
    status_code=201,
    responses=problem_responses(401, 403, 422),
    openapi_extra=_DEPLOY_BODY,
    tags=["processes"],
    summary="Deploy BPMN documents (a new version when the definition changed)",
)
async def deploy_process(
    request: Request,
    name: str = Query("process.bpmn", min_length=1, max_length=255, pattern=r"^[^/\\\x00-\x1f]+$"),
    ctx: ServiceContext = Ctx,
    who: Principal = Who,
) -> list[m.Deployment]:
    """Every check of the loader applies; nothing is written unless every document loads. Platform keys only."""
    from ..store.registry import deploy_sources

    require_writer(who)
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > MAX_UPLOAD_BYTES:
            raise InvalidInputError(f"the request holds more than {MAX_UPLOAD_BYTES:,} bytes")
        chunks.append(chunk)
    body = b"".join(chunks)
    if request.headers.get("content-type", "").split(";")[0].strip() == "application/json":
        try:
            parsed = m.DeployBody.model_validate_json(body)
        except ValidationError as exc:
            raise InvalidInputError("the body is not a list of documents: " + str(exc.errors()[:3])[:500]) from None
        for doc in parsed.documents:
            if "/" in doc.name or "\\" in doc.name:
                raise InvalidInputError(f"document name {doc.name[:60]!r}: a file name, not a path")
        sources = [(d.name, d.content.encode("utf-8")) for d in parsed.documents]
        chosen = parsed.deploy
    else:
        sources, chosen = [(name, body)], None

    def run() -> list[m.Deployment]:
        with ctx.lock:
            done = deploy_sources(ctx.store, sources, deploy=chosen, at=ctx.clock.now())
        return [m.Deployment(**d.to_json()) for d in done]

    return await run_in_threadpool(run)


@router.get("/processes", response_model=list[m.Deployment], responses=READ, tags=["processes"],
            summary="Every deployed version of every process")  # fmt: skip
def list_processes(ctx: ServiceContext = Ctx, who: Principal = Who) -> list[m.Deployment]:
    from ..store.registry import versions

    require_reader(who)
    with ctx.lock:
        return [m.Deployment(**d.to_json()) for d in versions(ctx.store)]


@router.get("/processes/{process}/versions", response_model=list[m.Deployment], responses=READ,
            tags=["processes"], summary="The deployed versions of one process")  # fmt: skip
def process_versions(process: str, ctx: ServiceContext = Ctx, who: Principal = Who) -> list[m.Deployment]:
    from ..store.registry import versions

    require_reader(who)
    with ctx.lock:
        found = versions(ctx.store, process)
    if not found:
        raise ProblemError(404, "not-found", f"no process {process[:80]} is deployed")
    return [m.Deployment(**d.to_json()) for d in found]


# -- cases ---------------------------------------------------------------------------------------------------
@router.post("/cases", response_model=m.CaseDetail, status_code=201, responses=WRITE, tags=["cases"],
             summary="Start a case of a deployed process")  # fmt: skip
def start(body: m.StartBody, ctx: ServiceContext = Ctx, who: Principal = Who) -> m.CaseDetail:
    from ..store.cases import start_deployed

    unit = require_writer(who)
    if body.unit is not None and body.unit != unit:
        raise ProblemError(403, "forbidden", f"a key of unit {unit} starts cases of its own unit, not of {body.unit}")
    org = _organisation(ctx, unit)
    with ctx.lock:
        try:
            stored = start_deployed(
                ctx.store, body.process, org, version=body.version, unit=unit, data=body.data,
                case_id=body.case_id, clock=ctx.clock, trail_key=getattr(ctx.store, "key", None),
            )  # fmt: skip
        except StoreError as exc:
            if exc.message.startswith(("no process", "process '")):
                raise ProblemError(404, "not-found", exc.message) from None
            if "already stored" in exc.message:
                raise ProblemError(409, "conflict", f"case {body.case_id} exists already") from None
            raise
        return _detail(ctx, stored.case, stored.version, None, trail=False)


#: The most cases one page of ``GET /api/v1/cases`` lists.
MAX_PAGE = 500


def _item(r: CaseRecord, applicant: str | None) -> m.CaseItem:
    return m.CaseItem(
        case=r.id, unit=r.unit, status=r.status, process=r.process, power=r.power, steps=list(r.steps),
        started_at=r.started_at.isoformat(), ended_at=r.ended_at.isoformat() if r.ended_at else None,
        applicant=applicant, store_version=r.version,
    )  # fmt: skip


def _cursor(after: str) -> str:
    return base64.urlsafe_b64encode(after.encode("utf-8")).decode("ascii").rstrip("=")


def _after(cursor: str | None) -> str:
    if cursor is None:
        return ""
    bad = "cursor: not a cursor of this list (pass the 'next' of the last page as it is)"
    try:
        after = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode("utf-8")
    except (ValueError, UnicodeDecodeError):
        raise InvalidInputError(bad) from None
    if not after:
        raise InvalidInputError(bad)
    return after


@router.get("/cases", response_model=m.CasePageOut, responses=READ, tags=["cases"],
            summary="List cases by unit, status, process, power, applicant, opening; a page at a time")  # fmt: skip
def list_cases(
    unit: str | None = Query(None, max_length=200, description="a unit id (a platform key: its own unit, the default)"),
    status: Literal["open", "completed", "suspended", "withdrawn", "terminated"] | None = None,
    process: str | None = Query(None, max_length=200, description="a process id"),
    power: str | None = Query(None, max_length=200, description="a power code (职权编码)"),
    applicant: str | None = Query(None, min_length=1, max_length=200, description="the applicant, exactly"),
    opened_from: str | None = Query(None, max_length=64, description="started at or after this moment (ISO 8601)"),
    opened_to: str | None = Query(None, max_length=64, description="started before this moment (ISO 8601)"),
    limit: int = Query(100, ge=1, le=MAX_PAGE, description=f"at most this many cases (1 to {MAX_PAGE})"),
    cursor: str | None = Query(None, max_length=2000, description="the 'next' of the previous page"),
    ctx: ServiceContext = Ctx,
    who: Principal = Who,
) -> m.CasePageOut:
    """In order of case id (stable: a case is never listed twice, a case added meanwhile appears when its id sorts
    after the cursor). A platform key lists its own unit's cases (another ``unit`` is 403); a supervisor every
    unit's, or one; an applicant key none (403)."""
    from ..store.listing import applicant_of, case_page

    require_reader(who)
    if who.role == "platform":
        if unit is not None and unit != who.unit:
            raise ProblemError(403, "forbidden", f"a key of unit {who.unit} lists its own unit's cases, not {unit}")
        unit = who.unit
    since, until = _moment(opened_from, "opened_from"), _moment(opened_to, "opened_to")
    after = _after(cursor)
    found: list[IndexProblem] = []
    with ctx.lock:
        chosen = case_page(ctx.store, unit=unit, status=status, process=process, power=power, applicant=applicant,
                           opened_from=since, opened_to=until, after=after, limit=limit, problems=found)  # fmt: skip
    _problems(found)
    items = [_item(r, applicant_of(r)) for r in chosen.records]
    return m.CasePageOut(items=items, next=_cursor(chosen.after) if chosen.after is not None else None)


def _detail(ctx: ServiceContext, case: Any, version: int, at: datetime | None, *, trail: bool) -> m.CaseDetail:
    from ..store.registry import version_of

    moment = at or ctx.clock.now()
    deadlines = case.deadlines(moment)
    return m.CaseDetail(
        case=case.id,
        process=case.definition.id,
        process_version=version_of(ctx.store, case.definition.digest, case.definition.id),
        digest=case.definition.digest,
        unit=case.unit.id,
        status=case.status,
        outcome=case.outcome,
        store_version=version,
        started_at=case.started_at.isoformat() if getattr(case, "started_at", None) else None,
        ended_at=case.ended_at.isoformat() if case.ended_at else None,
        path=list(case.path),
        ready=_ready(case),
        deadlines=deadlines.to_json() if deadlines is not None else None,
        cards=[a.to_json() for a in case.alerts(moment)] if case.status in ("running", "suspended") else [],
        findings=[f.to_dict() for f in case.findings],
        data=_plain(dict(case.data)),
        waiting_for=[list(w) for w in case.waiting_for()],
        trail=list(case.trail.entries) if trail else None,
    )


def _read_case(ctx: ServiceContext, who: Principal, case_id: str) -> Any:

    record = _record(ctx, case_id)
    require_case_read(who, record.unit, case_id)
    return _load(ctx, record, _organisation(ctx, record.unit))


@router.get("/cases/{case_id}", response_model=m.CaseDetail, responses=READ, tags=["cases"],
            summary="A case: status, outcome, path, ready steps, deadlines, cards, trail")  # fmt: skip
def case_detail(
    case_id: str,
    at: str | None = Query(None, max_length=64, description="the moment of the cards and deadlines; default now"),
    trail: bool = Query(False, description="include the audit trail entries"),
    ctx: ServiceContext = Ctx,
    who: Principal = Who,
) -> m.CaseDetail:
    moment = _moment(at, "at")
    with ctx.lock:
        stored = _read_case(ctx, who, case_id)
        return _detail(ctx, stored.case, stored.version, moment, trail=trail)


@router.get("/cases/{case_id}/ready", response_model=list[m.ReadyStepOut], responses=READ, tags=["cases"],
            summary="The steps of a case that may be done now")  # fmt: skip
def ready_steps(case_id: str, ctx: ServiceContext = Ctx, who: Principal = Who) -> list[m.ReadyStepOut]:
    with ctx.lock:
        return _ready(_read_case(ctx, who, case_id).case)


@router.get("/cases/{case_id}/trail", response_model=list[dict[str, Any]], responses=READ, tags=["cases"],
            summary="The audit trail (痕迹) of a case, verified")  # fmt: skip
def case_trail(case_id: str, ctx: ServiceContext = Ctx, who: Principal = Who) -> list[dict[str, Any]]:
    with ctx.lock:
        return list(_read_case(ctx, who, case_id).case.trail.entries)


@router.get("/status/{case_id}", response_model=m.StatusOut, responses=READ, tags=["cases"],
            summary="办件查询: the status of one case (applicant keys: their own case only)")  # fmt: skip
def case_status(case_id: str, ctx: ServiceContext = Ctx, who: Principal = Who) -> m.StatusOut:

    if who.role == "applicant" and who.case != case_id:
        raise ProblemError(403, "forbidden", "an applicant key reads the status of its own case only")
    with ctx.lock:
        record = _record(ctx, case_id)
        if who.role != "applicant":
            require_case_read(who, record.unit, case_id)
        case = _load(ctx, record, _organisation(ctx, record.unit)).case
        deadlines = case.deadlines(ctx.clock.now())
        return m.StatusOut(
            case=case.id, status=case.status, outcome=case.outcome,
            started_at=case.started_at.isoformat() if getattr(case, "started_at", None) else None,
            ended_at=case.ended_at.isoformat() if case.ended_at else None,
            steps=list(dict.fromkeys(r.name for r in case.ready_steps())),
            deadlines=deadlines.to_json() if deadlines is not None else None,
        )  # fmt: skip


# -- worklists -----------------------------------------------------------------------------------------------
def _person_scope(ctx: ServiceContext, who: Principal, person: str) -> None:
    require_reader(who)
    if who.role == "platform" and ctx.unit_of_person(person) != who.unit:
        raise ProblemError(403, "forbidden", f"{person[:80]} is not a person of unit {who.unit}")


def _problems(found: list[IndexProblem]) -> None:
    if found:
        raise ProblemError(500, "store", "index rows that do not tie to their case: run 'approvalflow store check'",
                           findings=[p.to_json() for p in found])  # fmt: skip


@router.get("/people/{person}/todo", response_model=list[m.TodoItem], responses=READ, tags=["worklists"],
            summary="A person's 待办: the ready steps they may do now, earliest deadline first")  # fmt: skip
def todo(
    person: str,
    at: str | None = Query(None, max_length=64),
    limit: int | None = Query(None, ge=1, le=10_000),
    offset: int = Query(0, ge=0),
    ctx: ServiceContext = Ctx,
    who: Principal = Who,
) -> list[m.TodoItem]:
    moment = _moment(at, "at") or ctx.clock.now()
    _person_scope(ctx, who, person)
    found: list[IndexProblem] = []
    with ctx.lock:
        items = ctx.store.todo(person, at=moment, limit=limit, offset=offset, problems=found)
    _problems(found)
    return [m.TodoItem(**t.to_json()) for t in items]


@router.get("/people/{person}/done", response_model=list[m.DoneItem], responses=READ, tags=["worklists"],
            summary="A person's 已办: the steps they completed, most recent first")  # fmt: skip
def done(
    person: str,
    limit: int | None = Query(None, ge=1, le=10_000),
    offset: int = Query(0, ge=0),
    ctx: ServiceContext = Ctx,
    who: Principal = Who,
) -> list[m.DoneItem]:
    _person_scope(ctx, who, person)
    found: list[IndexProblem] = []
    with ctx.lock:
        items = ctx.store.done(person, limit=limit, offset=offset, problems=found)
    _problems(found)
    return [m.DoneItem(**d.to_json()) for d in items]


# -- operations on a step ------------------------------------------------------------------------------------
OP = {"response_model": m.OperationResult, "responses": WRITE, "tags": ["operations"]}


@router.post("/cases/{case_id}/steps/{step}/complete", summary="Complete a step (办理), with opinion and attachments",
             **OP)  # type: ignore[arg-type]  # fmt: skip
def complete(case_id: str, step: str, body: m.CompleteBody, ctx: ServiceContext = Ctx,
             who: Principal = Who) -> m.OperationResult:  # fmt: skip
    return _write(ctx, who, case_id, lambda c: c.complete(
        step, body.actor, data=body.data, meeting=body.meeting, at=body.at, opinion=body.opinion,
        comment=body.comment, instance=body.instance, attachments=_dump(body.attachments),
    ), actors={"actor": body.actor})  # fmt: skip


@router.post("/cases/{case_id}/steps/{step}/claim", summary="签收 (claim)", **OP)  # type: ignore[arg-type]
def claim(case_id: str, step: str, body: m.StepActBody, ctx: ServiceContext = Ctx,
          who: Principal = Who) -> m.OperationResult:  # fmt: skip
    return _write(ctx, who, case_id, lambda c: c.claim(step, body.actor, at=body.at, instance=body.instance),
                  actors={"actor": body.actor})  # fmt: skip


@router.post("/cases/{case_id}/steps/{step}/unclaim", summary="退签 (unclaim)", **OP)  # type: ignore[arg-type]
def unclaim(case_id: str, step: str, body: m.StepActBody, ctx: ServiceContext = Ctx,
            who: Principal = Who) -> m.OperationResult:  # fmt: skip
    return _write(ctx, who, case_id, lambda c: c.unclaim(step, body.actor, at=body.at, instance=body.instance),
                  actors={"actor": body.actor})  # fmt: skip


@router.post("/cases/{case_id}/steps/{step}/transfer", summary="转办 (transfer)", **OP)  # type: ignore[arg-type]
def transfer(case_id: str, step: str, body: m.ToBody, ctx: ServiceContext = Ctx,
             who: Principal = Who) -> m.OperationResult:  # fmt: skip
    return _write(ctx, who, case_id, lambda c: c.transfer(
        step, body.actor, body.to, reason=body.reason, at=body.at, instance=body.instance,
    ), actors={"actor": body.actor, "to": body.to})  # fmt: skip


@router.post("/cases/{case_id}/steps/{step}/delegate", summary="委派 (delegate)", **OP)  # type: ignore[arg-type]
def delegate(case_id: str, step: str, body: m.ToBody, ctx: ServiceContext = Ctx,
             who: Principal = Who) -> m.OperationResult:  # fmt: skip
    return _write(ctx, who, case_id, lambda c: c.delegate(
        step, body.actor, body.to, reason=body.reason, at=body.at, instance=body.instance,
    ), actors={"actor": body.actor, "to": body.to})  # fmt: skip


@router.post("/cases/{case_id}/steps/{step}/return", summary="退回 (return to an earlier step)",
             **OP)  # type: ignore[arg-type]  # fmt: skip
def return_step(case_id: str, step: str, body: m.ReturnBody, ctx: ServiceContext = Ctx,
                who: Principal = Who) -> m.OperationResult:  # fmt: skip
    return _write(ctx, who, case_id, lambda c: c.return_to(step, body.actor, to=body.to, reason=body.reason,
                                                           at=body.at), actors={"actor": body.actor})  # fmt: skip


@router.post("/cases/{case_id}/steps/{step}/take-back", summary="撤回 (take back one's last completion)",
             **OP)  # type: ignore[arg-type]  # fmt: skip
def take_back(case_id: str, step: str, body: m.ReasonBody, ctx: ServiceContext = Ctx,
              who: Principal = Who) -> m.OperationResult:  # fmt: skip
    return _write(ctx, who, case_id, lambda c: c.take_back(step, body.actor, reason=body.reason, at=body.at),
                  actors={"actor": body.actor})  # fmt: skip


@router.post("/cases/{case_id}/steps/{step}/add-signer", summary="加签 (add a signer)", **OP)  # type: ignore[arg-type]
def add_signer(case_id: str, step: str, body: m.AddSignerBody, ctx: ServiceContext = Ctx,
               who: Principal = Who) -> m.OperationResult:  # fmt: skip
    return _write(ctx, who, case_id, lambda c: c.add_signer(
        step, body.actor, body.person, position=body.position, reason=body.reason, at=body.at,
    ), actors={"actor": body.actor, "person": body.person})  # fmt: skip


@router.post("/cases/{case_id}/steps/{step}/remove-signer", summary="减签 (remove a signer)",
             **OP)  # type: ignore[arg-type]  # fmt: skip
def remove_signer(case_id: str, step: str, body: m.RemoveSignerBody, ctx: ServiceContext = Ctx,
                  who: Principal = Who) -> m.OperationResult:  # fmt: skip
    return _write(ctx, who, case_id, lambda c: c.remove_signer(
        step, body.actor, body.person, reason=body.reason, at=body.at,
    ), actors={"actor": body.actor, "person": body.person})  # fmt: skip


@router.post("/cases/{case_id}/steps/{step}/urge", summary="催办 (urge)", **OP)  # type: ignore[arg-type]
def urge(case_id: str, step: str, body: m.UrgeBody, ctx: ServiceContext = Ctx,
         who: Principal = Who) -> m.OperationResult:  # fmt: skip
    return _write(ctx, who, case_id, lambda c: c.urge(body.actor, step, note=body.note, at=body.at),
                  actors={"actor": body.actor})  # fmt: skip


# -- operations on a case ------------------------------------------------------------------------------------
@router.post("/cases/{case_id}/withdraw", summary="撤销申请 (withdraw)", **OP)  # type: ignore[arg-type]
def withdraw(case_id: str, body: m.ReasonBody, ctx: ServiceContext = Ctx, who: Principal = Who) -> m.OperationResult:
    return _write(ctx, who, case_id, lambda c: c.withdraw(body.actor, reason=body.reason, at=body.at),
                  actors={"actor": body.actor})  # fmt: skip


@router.post("/cases/{case_id}/terminate", summary="终止 (terminate)", **OP)  # type: ignore[arg-type]
def terminate(case_id: str, body: m.TerminateBody, ctx: ServiceContext = Ctx,
              who: Principal = Who) -> m.OperationResult:  # fmt: skip
    return _write(ctx, who, case_id, lambda c: c.terminate(body.actor, reason=body.reason, basis=body.basis,
                                                           at=body.at), actors={"actor": body.actor})  # fmt: skip


@router.post("/cases/{case_id}/suspend", summary="中止 (suspend)", **OP)  # type: ignore[arg-type]
def suspend(case_id: str, body: m.SuspendBody, ctx: ServiceContext = Ctx, who: Principal = Who) -> m.OperationResult:
    return _write(ctx, who, case_id, lambda c: c.suspend(body.actor, reason=body.reason, basis=body.basis,
                                                         at=body.at), actors={"actor": body.actor})  # fmt: skip


@router.post("/cases/{case_id}/resume", summary="恢复 (resume)", **OP)  # type: ignore[arg-type]
def resume(case_id: str, body: m.ResumeBody, ctx: ServiceContext = Ctx, who: Principal = Who) -> m.OperationResult:
    return _write(ctx, who, case_id, lambda c: c.resume(body.actor, at=body.at), actors={"actor": body.actor})


@router.post("/cases/{case_id}/outcome", summary="准予 / 不予许可 / 不予受理 (record the outcome)",
             **OP)  # type: ignore[arg-type]  # fmt: skip
def outcome(case_id: str, body: m.OutcomeBody, ctx: ServiceContext = Ctx, who: Principal = Who) -> m.OperationResult:
    return _write(ctx, who, case_id, lambda c: c.record_outcome(
        body.actor, body.outcome, reason=body.reason, basis=body.basis, at=body.at,
    ), actors={"actor": body.actor})  # fmt: skip


@router.post("/cases/{case_id}/cc", summary="抄送 (CC)", **OP)  # type: ignore[arg-type]
def cc(case_id: str, body: m.CcBody, ctx: ServiceContext = Ctx, who: Principal = Who) -> m.OperationResult:
    return _write(ctx, who, case_id, lambda c: c.cc(body.actor, list(body.to), step=body.step, note=body.note,
                                                    at=body.at), actors={"actor": body.actor},
                  people=list(body.to))  # fmt: skip


@router.post("/cases/{case_id}/notify-missing", summary="一次告知 (the one-time notice of missing materials)",
             **OP)  # type: ignore[arg-type]  # fmt: skip
def notify_missing(case_id: str, body: m.NotifyMissingBody, ctx: ServiceContext = Ctx,
                   who: Principal = Who) -> m.OperationResult:  # fmt: skip
    return _write(ctx, who, case_id, lambda c: c.notify_missing(
        body.actor, missing=body.missing, step=body.step, text=body.text, at=body.at,
    ), actors={"actor": body.actor})  # fmt: skip


@router.post("/cases/{case_id}/supplement", summary="补正 (materials supplied)", **OP)  # type: ignore[arg-type]
def supplement(case_id: str, body: m.SuppBody, ctx: ServiceContext = Ctx, who: Principal = Who) -> m.OperationResult:
    # the actor may be the applicant (a party, not a person of the organisation): checked by the library
    return _write(ctx, who, case_id, lambda c: c.supplement(body.actor, materials=_dump(body.materials) or [],
                                                            at=body.at), actors={"actor": body.actor})  # fmt: skip


@router.post("/cases/{case_id}/parties", summary="Change the applicant or parties (回避 facts), with a reason",
             **OP)  # type: ignore[arg-type]  # fmt: skip
def parties(case_id: str, body: m.PartiesBody, ctx: ServiceContext = Ctx, who: Principal = Who) -> m.OperationResult:
    return _write(ctx, who, case_id, lambda c: c.change_parties(
        body.actor, applicant=body.applicant, parties=body.parties, reason=body.reason, at=body.at,
    ), actors={"actor": body.actor})  # fmt: skip


@router.post("/cases/{case_id}/evaluate", summary="好差评: the applicant's evaluation (a 差评 opens a 整改 case)",
             **OP)  # type: ignore[arg-type]  # fmt: skip
def evaluate(case_id: str, body: m.EvaluateBody, ctx: ServiceContext = Ctx, who: Principal = Who) -> m.OperationResult:
    from ..exchange.rectification import evaluate_stored

    def attempt() -> m.OperationResult:
        record = _record(ctx, case_id)
        require_case_write(who, record.unit, case_id)
        require_actor(who, ctx.unit_of_person(body.actor), body.actor)
        org = _organisation(ctx, record.unit)
        stored = _load(ctx, record, org)
        rated = evaluate_stored(ctx.store, stored, body.actor, body.grade, text=body.text, channel=body.channel,
                                at=body.at)  # fmt: skip
        case = stored.case
        opened = rated.rectification.case.id if rated.rectification is not None else None
        result = {"evaluation": _plain(rated.evaluation), "rectification": opened}
        return m.OperationResult(case=case.id, store_version=stored.version, status=case.status,
                                 outcome=case.outcome, findings=[], result=result, ready=_ready(case))  # fmt: skip

    return retrying(ctx, case_id, attempt)


@router.get("/cases/{case_id}/steps/{step}/check", response_model=m.CheckOut, responses=READ, tags=["operations"],
            summary="May this person do this step now? The findings a completion would raise")  # fmt: skip
def check(
    case_id: str,
    step: str,
    actor: str = Query(min_length=1, max_length=200),
    at: str | None = Query(None, max_length=64),
    ctx: ServiceContext = Ctx,
    who: Principal = Who,
) -> m.CheckOut:

    with ctx.lock:
        record = _record(ctx, case_id)
        require_case_read(who, record.unit, case_id)
        if who.role == "platform":
            require_actor(who, ctx.unit_of_person(actor), actor)
        case = _load(ctx, record, _organisation(ctx, record.unit)).case
        found = case.check(step, actor, at=at)
    # time findings never refuse; the engine's own checks (a held step, a signer) refuse under either policy
    either = ("not-signer", "signed-twice", "claimed", "delegated", "not-assignee")
    refusing = [f for f in found if f.rule not in ("step-overdue", "case-overdue")
                and (case.policy.value == "enforce" or f.rule in either)]  # fmt: skip
    return m.CheckOut(case=case_id, step=step, actor=actor, allowed=not refusing, findings=[f.to_dict() for f in found])


@router.post("/cases/{case_id}/signals", summary="Deliver a signal to the case", **OP)  # type: ignore[arg-type]
def signal(case_id: str, body: m.SignalBody, ctx: ServiceContext = Ctx, who: Principal = Who) -> m.OperationResult:
    return _write(ctx, who, case_id, lambda c: c.send_signal(body.name, actor=body.actor, at=body.at),
                  actors={"actor": body.actor})  # fmt: skip


@router.post("/cases/{case_id}/messages", summary="Deliver a message to the case", **OP)  # type: ignore[arg-type]
def message(case_id: str, body: m.MessageBody, ctx: ServiceContext = Ctx, who: Principal = Who) -> m.OperationResult:
    return _write(ctx, who, case_id, lambda c: c.send_message(
        body.name, body.data, actor=body.actor, correlation=body.correlation, at=body.at,
    ), actors={"actor": body.actor})  # fmt: skip


# -- supervision ---------------------------------------------------------------------------------------------
class _UnitRecords:
    """The cases of one unit of a store, for the readers that iterate ``records()`` / ``summaries()``."""

    def __init__(self, store: Any, unit: str | None) -> None:
        self.store, self.unit, self.url = store, unit, store.url

    def records(self, *, problems: list[IndexProblem] | None = None) -> Iterator[CaseRecord]:
        return (r for r in self.store.records(problems=problems) if self.unit is None or r.unit == self.unit)

    def summaries(self, *, problems: list[IndexProblem] | None = None) -> Iterator[CaseRecord]:
        return (r for r in self.store.summaries(problems=problems) if self.unit is None or r.unit == self.unit)


@router.get("/supervision/cards", response_model=dict[str, Any], responses=READ, tags=["supervision"],
            summary="The sweep: yellow and red cards of every open case at a moment, and anomalies")  # fmt: skip
def cards(
    at: str | None = Query(None, max_length=64, description="default now"),
    ctx: ServiceContext = Ctx,
    who: Principal = Who,
) -> dict[str, Any]:
    """A platform key sees its unit's cards only; a supervisor every unit's. ``provisional`` on a card lists the
    years its deadline was counted from the law (their official arrangement is not known yet)."""
    from ..supervision.sweep import sweep_store

    require_reader(who)
    moment = _moment(at, "at") or ctx.clock.now()
    with ctx.lock:
        result = sweep_store(ctx.store, moment)
        if who.role == "platform":
            result.cards = [c for c in result.cards if c.unit == who.unit]
            result.anomalies = [a for a in result.anomalies if a.unit == who.unit]
            result.open_cases = sum(
                r.status in ("open", "suspended") for r in _UnitRecords(ctx.store, who.unit).summaries()
            )
    return result.to_json()


@router.get("/supervision/efficiency", response_model=dict[str, Any], responses=READ, tags=["supervision"],
            summary="效能评估: efficiency figures by unit, power, post and period")  # fmt: skip
def efficiency(
    until: str | None = Query(None, max_length=64, description="figures as of this moment; default now"),
    period: Literal["month", "quarter"] = "month",
    ctx: ServiceContext = Ctx,
    who: Principal = Who,
) -> dict[str, Any]:
    from ..supervision.efficiency import evaluate_efficiency

    require_reader(who)
    moment = _moment(until, "until") or ctx.clock.now()
    with ctx.lock:
        records = _UnitRecords(ctx.store, who.unit if who.role == "platform" else None).summaries()
        return evaluate_efficiency(records, until=moment, period=period).to_json()


@router.get(
    "/supervision/event-log",
    responses={**READ, 200: {"content": {"application/xml": {}, "text/csv": {}}, "description": "the event log"}},
    tags=["supervision"],
    summary="Export the cases as an event log (XES or CSV) for process mining",
)
def event_log(
    format: Literal["xes", "csv"] = "xes",
    include_open: bool = Query(False, alias="open", description="also the ready steps of open cases"),
    ctx: ServiceContext = Ctx,
    who: Principal = Who,
) -> Response:
    from ..supervision.operations import export_store_log

    require_reader(who)
    source = _UnitRecords(ctx.store, who.unit if who.role == "platform" else None)
    with tempfile.TemporaryDirectory(prefix="approvalflow-log-") as folder:
        out = Path(folder) / f"cases.{format}"
        with ctx.lock:
            export_store_log(source, out, include_open=include_open)  # type: ignore[arg-type]
        content = out.read_bytes()
    media = "application/xml" if format == "xes" else "text/csv; charset=utf-8"
    return Response(content, media_type=media,
                    headers={"Content-Disposition": f'attachment; filename="cases.{format}"'})  # fmt: skip
