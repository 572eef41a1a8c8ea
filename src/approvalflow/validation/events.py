"""``uncaught-error``: an error end event that nothing in the file catches.

BPMN 2.0 leaves what follows an error nothing catches unspecified; the engine refuses the action that would throw
it (docs/format.md, "Errors, escalations, terminate"). An error thrown in a process or sub-process is caught by an
error boundary event of an enclosing sub-process, or of a call activity that calls the process, when the catch
names the same ``errorCode`` or none (SpiffWorkflow matches by code, and a catch without a code catches every
error). A process that no call activity of the file calls may be called from another file, which this check cannot
see: hence a warning, not an error.

An error event sub-process (an event sub-process whose start event has an ``errorEventDefinition``) is what BPMN
also allows, but SpiffWorkflow 3.2 never starts one for an error thrown inside the case (``tests/test_thrown_events``
holds it): it is reported too, at its start event, so that nobody relies on it.
"""

from __future__ import annotations

from collections.abc import Iterator

from lxml import etree

from ..io.namespaces import bpmn
from .context import Context, check
from .findings import StaticFinding, finding

__all__: list[str] = []

_SCOPES = frozenset({bpmn("subProcess"), bpmn("transaction"), bpmn("process")})


def _codes(root: etree._Element) -> dict[str, str | None]:
    """Each ``bpmn:error`` id with its ``errorCode`` (None without one)."""
    return {e.get("id", ""): e.get("errorCode") for e in root.iter(bpmn("error"))}


def _code(definition: etree._Element, codes: dict[str, str | None]) -> str | None:
    ref = definition.get("errorRef")
    return codes.get(ref) if ref else None


def _catches(definition: etree._Element, thrown: str | None, codes: dict[str, str | None]) -> bool:
    code = _code(definition, codes)
    return code is None or code == thrown


def _caught_at(activity: etree._Element, thrown: str | None, codes: dict[str, str | None]) -> bool:
    """An error boundary event attached to ``activity`` catches it."""
    parent = activity.getparent()
    ident = activity.get("id")
    for boundary in parent.iterchildren(bpmn("boundaryEvent")) if parent is not None else ():
        if boundary.get("attachedToRef") == ident and any(
            _catches(d, thrown, codes) for d in boundary.iterchildren(bpmn("errorEventDefinition"))
        ):
            return True
    return False


def _is_caught(event: etree._Element, thrown: str | None, codes: dict[str, str | None], root: etree._Element) -> bool:
    """Walk out from ``event``: the boundary events of each enclosing sub-process, then of the call activities of
    the file that call the process (each walked out from in turn)."""
    todo, seen = [event], set()
    while todo:
        node = todo.pop()
        scope = node.getparent()
        while scope is not None and scope.tag not in _SCOPES:
            scope = scope.getparent()
        if scope is None or id(scope) in seen:
            continue
        seen.add(id(scope))
        if scope.tag == bpmn("process"):
            for call in root.iter(bpmn("callActivity")):
                if call.get("calledElement") == scope.get("id"):
                    if _caught_at(call, thrown, codes):
                        return True
                    todo.append(call)
        elif scope.get("triggeredByEvent") != "true":
            if _caught_at(scope, thrown, codes):
                return True
            todo.append(scope)
        else:  # an event sub-process: the scope around it
            todo.append(scope)
    return False


@check("uncaught-error")
def uncaught_error(ctx: Context) -> Iterator[StaticFinding]:
    """An error end event nothing catches: the engine refuses the action that would reach it."""
    assert ctx.doc.tree is not None
    root = ctx.doc.tree.getroot()
    codes = _codes(root)
    for end in root.iter(bpmn("endEvent")):
        for definition in end.iterchildren(bpmn("errorEventDefinition")):
            thrown = _code(definition, codes)
            if _is_caught(end, thrown, codes, root):
                continue
            what = f"error code '{thrown}'" if thrown is not None else "an error without a code"
            yield finding(
                "uncaught-error",
                f"error end event '{end.get('id')}' throws {what} and nothing in this file catches it (an error "
                "boundary event of an enclosing sub-process or of a call activity calling the process): a case that "
                "reaches it is refused, unless a process in another file calls this one and catches it",
                file=ctx.file,
                line=end.sourceline,
                element=end.get("id"),
            )
    for sub in root.iter(bpmn("subProcess")):
        starts = sub.iterchildren(bpmn("startEvent")) if sub.get("triggeredByEvent") == "true" else iter(())
        for start in starts:
            if start.find(bpmn("errorEventDefinition")) is not None:
                yield finding(
                    "uncaught-error",
                    f"error event sub-process '{sub.get('id')}' never starts in this engine (SpiffWorkflow 3.2 does "
                    "not start an event sub-process for an error thrown inside the case): catch the error with an "
                    "error boundary event on the sub-process or call activity it is thrown in",
                    file=ctx.file,
                    line=start.sourceline,
                    element=start.get("id"),
                )
