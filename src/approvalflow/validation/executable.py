"""``not-executable``: why the engine could not run a model, every reason found, not only the first.

Our own checks come first and each names its element: a process marked
``isExecutable="false"`` when the file has no executable process, a data store
(SpiffWorkflow runs one only if the host registered an implementation), a
multi-instance activity without cardinality or input collection, a sub-process
without a start event, a condition outside the safe expression language, a
script task (scripts from files never run), a timer expression that is not an ISO 8601 value written as a
quoted string (the loader's own check, :func:`approvalflow.bpmn.loader.timer_problems`), a call activity whose
process is in no file of the folder, a recursive call or a call chain deeper than ``MAX_CALL_DEPTH`` (the
loader's resolver, :mod:`approvalflow.bpmn.calls`).
Then SpiffWorkflow builds its specification of each root process, and any
further reason it gives is added, wrapped, never raised.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

from lxml import etree

from .._spiff import BpmnParser
from ..bpmn.countersign import SIGNED_KINDS
from ..bpmn.engine_copy import engine_tree
from ..bpmn.inclusive import inclusive_refusal
from ..bpmn.loader import script_name, timer_problems, unrun_timers, unsafe_expressions, unsupported_elements
from ..bpmn.vendor import vendor_problems
from ..io.namespaces import bpmn, local, owner_id
from .context import Context, check
from .document import Document
from .findings import StaticFinding, finding

__all__: list[str] = []

_ELEMENT_REPR = re.compile(r"<Element \{[^}]*\}(\w+) at 0x[0-9a-f]+>")


def _at(ctx: Context, el: etree._Element, message: str) -> StaticFinding:
    return finding("not-executable", message, file=ctx.file, line=el.sourceline, element=owner_id(el))


def _root(ctx: Context) -> etree._Element:
    assert ctx.doc.tree is not None
    return ctx.doc.tree.getroot()


def _own_reasons(ctx: Context) -> Iterator[StaticFinding]:
    root = _root(ctx)
    procs = list(root.iter(bpmn("process")))
    if procs and all(p.get("isExecutable") == "false" for p in procs):
        for p in procs:
            yield _at(
                ctx,
                p,
                f"process '{p.get('id')}' is marked isExecutable=\"false\" (a documentation model); "
                'mark the process to run isExecutable="true"',
            )
    for el in root.iter(bpmn("dataStoreReference"), bpmn("dataStore")):
        name = " ".join((el.get("name") or el.get("id") or "").split())
        yield _at(
            ctx,
            el,
            f"data store '{name}' has no implementation the engine knows; "
            "keep data in the case data instead, or register a data store with the host",
        )
    for el in root.iter(bpmn("multiInstanceLoopCharacteristics")):
        owner = el.getparent()
        if owner is not None and local(owner) in SIGNED_KINDS:
            continue  # a signed step (会签...): its signers are read and checked with its annotations
        if el.find(bpmn("loopCardinality")) is None and el.find(bpmn("loopDataInputRef")) is None:
            yield _at(
                ctx,
                el,
                "a multi-instance activity without loopCardinality or loopDataInputRef: the engine "
                "cannot tell how many instances to start",
            )
    for info in ctx.processes.values():
        refusal = inclusive_refusal(info, ctx.file)
        if refusal is not None:
            yield finding("not-executable", refusal.message, file=refusal.file, line=refusal.line,
                          element=refusal.element)  # fmt: skip
    yield from _scope_reasons(ctx)
    yield from _expression_reasons(ctx, root)


def _scope_reasons(ctx: Context) -> Iterator[StaticFinding]:
    pg = ctx.graph
    for scope in pg.scopes.values():
        if scope.kind == "adHocSubProcess":
            continue
        starts = [n for n in scope.nodes if pg.nodes[n].kind == "startEvent"]
        if not starts:
            el = ctx.doc.elements[scope.id]
            yield _at(ctx, el, f"{local(el)} '{scope.id}' has no start event; the engine starts a flow only at one")
    for problem in ctx.workspace.call_problems(ctx.doc):  # the loader's refusals (bpmn.calls), as findings
        yield finding("not-executable", problem.message, file=problem.file, line=problem.line, element=problem.element)


def _expression_reasons(ctx: Context, root: etree._Element) -> Iterator[StaticFinding]:
    for el, text, exc in unsafe_expressions(root):
        yield _at(
            ctx,
            el,
            f"the expression in bpmn:{local(el)} is outside the safe expression language: "
            f"{exc.reason} (expression: {text[:60]!r})",
        )
    wrong = list(timer_problems(root, ctx.file))
    unsupported = list(unsupported_elements(root, ctx.file))
    for problem in [*unsupported, *wrong, *unrun_timers(root, ctx.file, wrong), *vendor_problems(root, ctx.file)]:
        yield finding("not-executable", problem.message, file=problem.file, line=problem.line, element=problem.element)
    for el in _unhosted_scripts(root, ctx.workspace.host_functions):
        yield _at(
            ctx,
            el,
            f"script task '{el.get('id')}': scripts from BPMN files never run; it runs only if the "
            "host registers a trusted function of the name it gives, or binds one to its id",
        )


def _unhosted_scripts(root: etree._Element, host: frozenset[str]) -> Iterator[etree._Element]:
    """The script tasks no host function runs: neither their script names one nor their id is bound to one."""
    for el in root.iter(bpmn("scriptTask")):
        if el.get("id") not in host and script_name(el) not in host:
            yield el


def _refusal(doc: Document, host: frozenset[str]) -> tuple[str, int | None, str | None] | None:
    """The first reason ``load_process`` would refuse the file of ``doc`` for by itself (its reading, expressions,
    script tasks, unsupported elements, timers): message, line and element; ``None`` when there is none."""
    for f in doc.findings:
        if f.severity == "error":
            return f.message, f.line, f.element
    if doc.tree is None:
        return None
    root = doc.tree.getroot()
    for el, text, exc in unsafe_expressions(root):
        return (
            f"the expression in bpmn:{local(el)} is refused: {exc.reason} (expression: {text[:60]!r})",
            (el.sourceline),
            owner_id(el),
        )
    for el in _unhosted_scripts(root, host):
        return f"script task '{el.get('id')}' would run a script", el.sourceline, el.get("id")
    for problem in vendor_problems(root, doc.file):
        return problem.message, problem.line, problem.element
    for info in doc.processes.values():
        refusal = inclusive_refusal(info, doc.file)
        if refusal is not None:
            return refusal.message, refusal.line, refusal.element
    for problem in unsupported_elements(root, doc.file):
        return problem.message, problem.line, problem.element
    wrong = list(timer_problems(root, doc.file))
    for problem in [*wrong, *unrun_timers(root, doc.file, wrong)]:
        return problem.message, problem.line, problem.element
    return None


def _called_file_reasons(ctx: Context) -> Iterator[StaticFinding]:
    """Each call activity of the file whose called process is, directly or through further calls, in another
    file that ``load_process`` refuses: the loader refuses this file for it too (it reads every called file), so
    the finding is here, at the call activity, naming the other file, line and element and its reason."""
    refused: dict[str, tuple[str, int | None, str | None] | None] = {}
    for info in ctx.processes.values():
        for activity, called in info.called.items():
            hit = ctx.workspace.find_process(ctx.doc, called)
            todo, seen = ([hit] if hit is not None else []), {called}
            while todo:
                doc, callee = todo.pop(0)
                if doc.file != ctx.file:
                    if doc.file not in refused:
                        refused[doc.file] = _refusal(doc, ctx.workspace.host_functions)
                    reason = refused[doc.file]
                    if reason is not None:
                        message, line, element = reason
                        where = f"{Path(doc.file).name}, line {line}" + (f", element '{element}'" if element else "")
                        el = ctx.doc.elements.get(activity)
                        yield finding(
                            "not-executable",
                            f"call activity '{activity}' calls process '{called}', and load_process refuses a file "
                            f"it reaches ({where}): {message}",
                            file=ctx.file,
                            line=el.sourceline if el is not None else None,
                            element=activity,
                        )
                        break
                for more in callee.called.values():
                    nxt = ctx.workspace.find_process(doc, more)
                    if nxt is not None and more not in seen:
                        seen.add(more)
                        todo.append(nxt)


def _spiff_reason(ctx: Context) -> StaticFinding | None:
    """SpiffWorkflow's first reason (it stops at one), wrapped; ``None`` when it builds every root process."""
    parser = BpmnParser()
    docs = {d.file: d for pid in ctx.roots() for d, _ in ctx.called(pid)}
    docs[ctx.file] = ctx.doc
    try:
        for d in docs.values():
            if d.tree is not None:
                parser.add_bpmn_xml(engine_tree(d.tree.getroot()), filename=d.file)
        for pid in ctx.roots():
            if ctx.processes[pid].executable:
                parser.get_spec(pid)
                parser.get_subprocess_specs(pid)  # the processes it calls, as load_process builds them
    except Exception as exc:  # any failure of the engine's parser is a reason, never a traceback
        element = getattr(exc, "id", None) or None
        message = str(exc).split(". Error evaluating")[0].strip().rstrip(".")
        message = " ".join(_ELEMENT_REPR.sub(r"bpmn:\1", message).split())
        el = ctx.doc.elements.get(element) if element else None
        if el is None and "Data Store with name" in message:
            return None  # already reported, with its element, by our own check
        line = el.sourceline if el is not None else None
        return finding(
            "not-executable",
            f"the engine cannot build this model: {message}",
            file=ctx.file,
            line=line,
            element=element or next(iter(ctx.roots()), None),
        )
    return None


@check("not-executable")
def not_executable(ctx: Context) -> Iterator[StaticFinding]:
    """Every reason we find ourselves, then the engine's own if it names something new."""
    own = list(_own_reasons(ctx))
    own += _called_file_reasons(ctx)
    yield from own
    if not any("isExecutable" in f.message for f in own):
        spiff = _spiff_reason(ctx)
        if spiff is not None and spiff.element not in {f.element for f in own}:
            yield spiff
