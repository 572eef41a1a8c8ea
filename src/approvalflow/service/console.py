"""The 电子监察 console: server-rendered pages for supervisors over the service's store (read only).

``router`` (prefix ``/console``) is included by :func:`approvalflow.service.app.create_app`:

- ``GET /console/``: 红黄牌, the card wall: every yellow and red card now, most urgent first, by unit, power and
  person, with 责任事项 and 追责情形 when the context has a catalog; filters ``unit``, ``power``, ``person``;
  ``every`` (seconds, 1 to 300, default 5) is how often the page polls ``/console/live``;
- ``GET /console/live``: the refreshing part of the wall as JSON (``at``, ``signature``, ``counts``, ``html``): the
  page replaces its cards when ``signature`` changes. Polling rather than server-sent events: it passes every
  reverse proxy and load balancer unchanged (SSE needs buffering off and long-lived connections held per wall
  screen), needs no state on the server, and survives a restart of the service without reconnect logic; a new card
  shows within ``every`` seconds, which is what a supervision room needs;
- ``GET /console/cases/{id}``: a case: facts, cards and deadlines, its flowchart coloured by state
  (:mod:`.console_flow`) and its trail beside it;
- ``GET /console/efficiency``: 效能评估 with bar charts per unit and per month (``period=quarter`` per quarter;
  ``unit=`` one unit);
- ``GET /console/search?q=``: cases by 办件编号, applicant, power or process.

Who sees what: a supervisor every unit; a platform only the cases of its unit (another unit's case and a case that
does not exist both answer 403, so a platform cannot learn which ids exist elsewhere); an applicant (or any other
role) 403 on every page. Nothing here writes.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal
from urllib.parse import parse_qs

from fastapi import APIRouter, Depends, HTTPException, Query, Request
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response

from ..errors import ApprovalflowError
from . import console_data as data
from . import console_pages as pages
from .auth import CONSOLE_COOKIE, Principal, current_principal
from .context import ServiceContext, get_context

__all__ = ["console_principal", "router"]

router = APIRouter(prefix="/console", tags=["console"])


def console_principal(principal: Annotated[Principal, Depends(current_principal)]) -> Principal:
    """The caller, if the console is theirs: a supervisor, or a platform with its unit; else 403."""
    if principal.role == "supervisor" or (principal.role == "platform" and principal.unit):
        return principal
    raise HTTPException(status_code=403, detail="the 电子监察 console is for supervisors and platforms")


Caller = Annotated[Principal, Depends(console_principal)]
Context = Annotated[ServiceContext, Depends(get_context)]


def _scope(principal: Principal) -> str | None:
    """The unit whose cases the caller sees; None for every unit."""
    return None if principal.role == "supervisor" else principal.unit


def _filters(unit: str | None, power: str | None, person: str | None) -> dict[str, str]:
    return {k: v for k, v in (("unit", unit), ("power", power), ("person", person)) if v}


def _failed(principal: Principal, what: str, exc: ApprovalflowError) -> HTMLResponse:
    return HTMLResponse(pages.error_page(principal, what, str(exc)), status_code=500)


Text = Annotated[str | None, Query(max_length=200)]


@router.get("/", response_class=HTMLResponse, summary="红黄牌: the card wall")
def wall_view(
    principal: Caller,
    context: Context,
    unit: Text = None,
    power: Text = None,
    person: Text = None,
    every: Annotated[int, Query(ge=1, le=300)] = 5,
) -> HTMLResponse:
    """The yellow and red cards now, most urgent first."""
    try:
        with context.lock:  # the store's connection is used by one request at a time (ServiceContext)
            wall = data.wall(context, _scope(principal), only_unit=unit, power=power, person=person)
    except ApprovalflowError as exc:
        return _failed(principal, "红黄牌不可用 the cards cannot be read", exc)
    return HTMLResponse(pages.wall_page(wall, principal, _filters(unit, power, person), every))


@router.get("/live", summary="the card wall's refreshing part, as JSON")
def live_view(
    principal: Caller,
    context: Context,
    unit: Text = None,
    power: Text = None,
    person: Text = None,
    since: Annotated[str | None, Query(max_length=64)] = None,
) -> JSONResponse:
    """``at``, ``signature`` (changes when a card appears, changes or goes), ``counts`` and ``html``; ``html`` is
    null when ``since`` is the signature now (the caller's cards are still the ones to show)."""
    try:
        with context.lock:  # the store's connection is used by one request at a time (ServiceContext)
            wall = data.wall(context, _scope(principal), only_unit=unit, power=power, person=person)
    except ApprovalflowError as exc:
        return JSONResponse({"error": str(exc)}, status_code=500)
    body: dict[str, Any] = {
        "at": pages.moment(wall.at),
        "signature": wall.signature,
        "counts": wall.counts(),
        "html": None if since == wall.signature else pages.live_fragment(wall, _filters(unit, power, person)),
    }
    return JSONResponse(body, headers={"Cache-Control": "no-store"})


@router.get("/cases/{case_id:path}", response_class=HTMLResponse, summary="a case: flowchart and trail")
def case_view(principal: Caller, context: Context, case_id: str) -> HTMLResponse:
    """The case's facts, cards, coloured flowchart and trail."""
    try:
        with context.lock:  # the store's connection is used by one request at a time (ServiceContext)
            view = data.case_view(context, _scope(principal), case_id)
    except ApprovalflowError as exc:
        return _failed(principal, f"案件 {case_id[:200]} 无法读取 cannot be read", exc)
    if view is None:
        if principal.role == "supervisor":
            raise HTTPException(status_code=404, detail=f"no case {case_id[:200]!r} in the store")
        raise HTTPException(status_code=403, detail="not a case of your unit (or no such case)")
    people = {p: person.name for org in context.organisations.values() for p, person in org.people.items()}
    unit = data.unit_name(context, view.record.unit)
    return HTMLResponse(pages.case_page(view, principal, people, unit))


@router.get("/efficiency", response_class=HTMLResponse, summary="效能评估: efficiency with charts")
def efficiency_view(
    principal: Caller, context: Context, period: Literal["month", "quarter"] = "month", unit: Text = None
) -> HTMLResponse:
    """Efficiency figures per unit and period, as bar charts and tables (of one ``unit`` when given)."""
    try:
        with context.lock:  # the store's connection is used by one request at a time (ServiceContext)
            ev, problems = data.efficiency(context, _scope(principal), period=period, only_unit=unit)
    except ApprovalflowError as exc:
        return _failed(principal, "效能评估不可用 efficiency cannot be read", exc)
    units = {u: data.unit_name(context, u) for u in ev.groups["unit"]}
    return HTMLResponse(pages.efficiency_page(ev, principal, units, period, problems, unit))


@router.get("/search", response_class=HTMLResponse, summary="search by case id, applicant, power or process")
def search_view(principal: Caller, context: Context, q: Annotated[str, Query(max_length=200)] = "") -> HTMLResponse:
    """Cases whose 办件编号, applicant, power or process contains ``q``."""
    try:
        with context.lock:  # the store's connection is used by one request at a time (ServiceContext)
            hits, more = data.search(context, _scope(principal), q)
    except ApprovalflowError as exc:
        return _failed(principal, "查询不可用 search failed", exc)
    units = {h.unit: data.unit_name(context, h.unit) for h in hits}
    return HTMLResponse(pages.search_page(q, hits, more, principal, units))


# -- signing in from a browser -----------------------------------------------------------------------------------
_LOGIN_FORM = (
    '<!DOCTYPE html><html lang="zh-CN"><head><meta charset="utf-8"><meta name="viewport" '
    'content="width=device-width,initial-scale=1"><title>登录 · 电子监察</title><style>{style}</style></head><body>'
    '<header class="top"><h1>电子监察 <span class="en">e-supervision</span></h1></header><main>'
    '<form class="login" method="post" action="/console/login"><h2>登录 <span class="en">sign in</span></h2>'
    "<p>{message}</p><label>访问密钥 API key <input type=password name=key autocomplete=off required "
    'maxlength=200></label> <button type="submit">登录</button></form></main></body></html>'
)
_MAX_FORM = 1_000


@router.get("/login", response_class=HTMLResponse, summary="the sign-in form of the console")
def login_form() -> HTMLResponse:
    """A form for the API key of a supervisor or a platform (``approvalflow keys create``)."""
    return HTMLResponse(_LOGIN_FORM.format(style=pages.STYLE, message="输入监察或平台的访问密钥。"))


@router.post("/login", summary="sign in: keep the key in a cookie for the console's pages")
async def login(request: Request, context: Context) -> Response:
    """Check the key posted by the form; if it is a supervisor's or a platform's, keep it in an HttpOnly,
    SameSite=Strict cookie that only the console's own reads accept, and go to the card wall."""
    from ..store.keys import authenticate

    body = await request.body()
    key = ""
    if len(body) <= _MAX_FORM:
        values = parse_qs(body.decode("utf-8", "replace"), max_num_fields=5).get("key") or [""]
        key = values[0].strip()
    with context.lock:
        found = authenticate(context.store, key) if key else None
    if found is None or found.role == "applicant":
        message = "密钥无效，或不是监察、平台的密钥。The key is not valid for the console."
        return HTMLResponse(_LOGIN_FORM.format(style=pages.STYLE, message=message), status_code=401)
    response = RedirectResponse("/console/", status_code=303)
    response.set_cookie(CONSOLE_COOKIE, key, httponly=True, samesite="strict", path="/console",
                        secure=request.url.scheme == "https")  # fmt: skip
    return response


@router.post("/logout", summary="sign out of the console")
def logout() -> Response:
    """Forget the key the browser keeps."""
    response = RedirectResponse("/console/login", status_code=303)
    response.delete_cookie(CONSOLE_COOKIE, path="/console")
    return response
