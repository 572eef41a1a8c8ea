"""Errors of the HTTP service as RFC 9457 problem details (``application/problem+json``).

Every error answer is a :class:`Problem`: ``type`` (a URI naming the kind of problem, relative to
``/problems/``), ``title``, ``status``, ``detail``, and where they apply ``case``, ``step``, ``element``, ``rules``
(the rule ids of a refusal) and ``findings`` (the findings, as ``run --json`` prints them). :func:`install` maps
approvalflow's own errors to statuses:

====================================================  ======  =========================
error                                                  status  type
====================================================  ======  =========================
no key, a malformed, unknown or revoked key            401     ``unauthenticated``
a key whose role or unit does not allow the request    403     ``forbidden``
unknown case, process or version                       404     ``not-found``
:class:`~approvalflow.errors.StepRefused`              409     ``refused``
:class:`~approvalflow.store.base.ConflictError`        409     ``conflict``
:class:`~approvalflow.errors.StepNotReady`             409     ``not-ready``
a body or parameter the API cannot accept              422     ``invalid-input``
a BPMN document that is not valid                      422     ``invalid-definition``
a damaged stored case, a store that fails              500     ``store``
:class:`~approvalflow.store.base.StoreUnavailable`     503     ``unavailable``
====================================================  ======  =========================
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from pydantic import BaseModel, ConfigDict, Field
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.responses import JSONResponse, RedirectResponse, Response

from ..errors import ApprovalflowError, CaseFormatError, DefinitionError, RunError, StepNotReady, StepRefused
from ..store.base import ConflictError, StoreError, StoreUnavailable, redact

_log = logging.getLogger("approvalflow.service")

__all__ = ["MEDIA_TYPE", "Problem", "ProblemError", "install", "problem_responses"]

MEDIA_TYPE = "application/problem+json"


class Problem(BaseModel):
    """An RFC 9457 problem details object, with the rule ids and findings of a refusal."""

    model_config = ConfigDict(extra="allow")

    type: str = Field(description="a URI reference naming the kind of problem, e.g. /problems/refused")
    title: str = Field(description="a short summary of the kind of problem")
    status: int = Field(description="the HTTP status code")
    detail: str = Field(description="what happened, for this request")
    case: str | None = Field(None, description="the case (办件编号) concerned")
    step: str | None = Field(None, description="the step (or signal / message name) concerned")
    element: str | None = Field(None, description="the BPMN element (or file location) concerned")
    rules: list[str] | None = Field(None, description="the rule ids that refused the operation")
    findings: list[dict[str, Any]] | None = Field(None, description="the findings of the refusal")
    ready: list[str] | None = Field(None, description="for not-ready: what the case waits for now")


TITLES = {
    "unauthenticated": "No valid API key",
    "forbidden": "Not allowed for this key",
    "not-found": "Not found",
    "refused": "Refused under the rules",
    "conflict": "The case changed meanwhile: reload and retry",
    "not-ready": "Not ready",
    "invalid-input": "Invalid input",
    "invalid-definition": "Invalid definition",
    "store": "The case store failed",
    "unavailable": "The case store cannot be reached now: retry",
    "server": "Internal error",
}


class ProblemError(ApprovalflowError):
    """Raise to answer with a problem (the routes' own 401, 403 and 404): ``status``, ``kind`` (the end of its
    ``type``), ``detail`` and the problem's other members."""

    def __init__(self, status: int, kind: str, detail: str, **extra: Any) -> None:
        super().__init__(detail)
        self.status, self.kind, self.detail, self.extra = status, kind, detail, extra


def problem(status: int, kind: str, detail: str, **extra: Any) -> JSONResponse:
    """The response of a problem (``None`` members left out)."""
    body: dict[str, Any] = {"type": f"/problems/{kind}", "title": TITLES.get(kind, kind), "status": status}
    body["detail"] = redact(detail)
    body.update({k: v for k, v in extra.items() if v is not None})
    headers = {"WWW-Authenticate": 'Bearer realm="approvalflow"'} if status == 401 else None
    if status == 503:
        headers = {"Retry-After": "1"}
    return JSONResponse(body, status_code=status, media_type=MEDIA_TYPE, headers=headers)


def _located(exc: ApprovalflowError) -> dict[str, Any]:
    out: dict[str, Any] = {"element": exc.element}
    if isinstance(exc, RunError):
        out["case"], out["step"] = exc.case, exc.step
    return out


def from_error(exc: Exception) -> JSONResponse:
    """The problem answering an exception raised by a route."""
    if isinstance(exc, ProblemError):
        return problem(exc.status, exc.kind, exc.detail, **exc.extra)
    if isinstance(exc, StepRefused):
        findings = [
            f.to_dict() if hasattr(f, "to_dict") else {"rule": str(getattr(f, "rule", ""))} for f in exc.findings
        ]
        return problem(409, "refused", exc.message or str(exc), rules=exc.rules, findings=findings, **_located(exc))
    if isinstance(exc, ConflictError):
        return problem(409, "conflict", exc.message + " (reload the case and retry)", **_located(exc))
    if isinstance(exc, StepNotReady):
        return problem(409, "not-ready", exc.message, ready=exc.ready or None, **_located(exc))
    if isinstance(exc, StoreUnavailable):  # the connection was lost: the next request reconnects
        return problem(503, "unavailable", exc.message, **_located(exc))
    if isinstance(exc, StoreError):
        status = 404 if exc.message.startswith(("no case", "no process", "process '", "no such case")) else 500
        return problem(status, "not-found" if status == 404 else "store", exc.message, **_located(exc))
    if isinstance(exc, RunError):
        return problem(422, "invalid-input", exc.message, **_located(exc))
    if isinstance(exc, CaseFormatError):  # a stored case that no longer loads: the server's problem, not the caller's
        return problem(500, "store", str(exc), **_located(exc))
    if isinstance(exc, DefinitionError):
        return problem(422, "invalid-definition", str(exc), **_located(exc))
    if isinstance(exc, ApprovalflowError):
        return problem(422, "invalid-input", str(exc), **_located(exc))
    _log.error("unexpected error answering a request", exc_info=exc)  # the traceback to the log, never to the caller
    return problem(500, "server", "the server could not answer this request")


def _validation_detail(errors: Sequence[Any]) -> str:
    parts = []
    for e in list(errors)[:10]:
        where = ".".join(str(p) for p in e.get("loc", ()) if p != "body") or "body"
        parts.append(f"{where}: {e.get('msg', 'invalid')}")
    return "; ".join(parts) or "the request is not valid"


def install(app: FastAPI) -> None:
    """Answer every error of ``app`` as a problem."""

    async def on_problem(request: Request, exc: Exception) -> Response:
        if (
            isinstance(exc, ProblemError)
            and exc.status == 401
            and request.method == "GET"
            and request.url.path.startswith("/console")
            and request.url.path != "/console/live"
        ):  # a person at a browser: the login page, not a problem document
            return RedirectResponse("/console/login", status_code=303)
        return from_error(exc)

    async def on_validation(request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, RequestValidationError)
        return problem(422, "invalid-input", _validation_detail(exc.errors()))

    async def on_http(request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, StarletteHTTPException)
        kind = {401: "unauthenticated", 403: "forbidden", 404: "not-found"}.get(exc.status_code, "invalid-input")
        return problem(exc.status_code, kind, str(exc.detail))

    app.add_exception_handler(ProblemError, on_problem)
    app.add_exception_handler(ApprovalflowError, on_problem)
    app.add_exception_handler(RequestValidationError, on_validation)
    app.add_exception_handler(StarletteHTTPException, on_http)
    app.add_exception_handler(Exception, on_problem)


def problem_responses(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """The ``responses`` of a route for the OpenAPI document: each status a problem."""
    return {s: {"model": Problem, "content": {MEDIA_TYPE: {}}, "description": _DESCRIPTIONS[s]} for s in statuses}


_DESCRIPTIONS = {
    401: "no valid API key (problem `unauthenticated`)",
    403: "the key's role or unit does not allow this (problem `forbidden`); nothing changed",
    404: "no such case, process or version (problem `not-found`)",
    409: "refused under the rules (`refused`, with `rules` and `findings`; the refusal is in the trail, nothing else "
    "changed), the case changed meanwhile (`conflict`: reload and retry), or the step is not ready (`not-ready`)",
    422: "a body or parameter that cannot be accepted (`invalid-input`, `invalid-definition`); nothing changed",
    503: "the case store's database cannot be reached now (`unavailable`: its connection was lost; the next request "
    "reconnects): retry after the `Retry-After` seconds",
}
