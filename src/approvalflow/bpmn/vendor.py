"""Extensions of other engines (Camunda 7 and 8, Flowable, Activiti, SpiffWorkflow) in a BPMN file: what maps,
what is only for their tools, and what is refused.

Departments draw in Camunda Modeler, bpmn.io or Flowable's designer, which write their engine's extensions into the
file. approvalflow runs on its own ``af:`` annotations; an extension that would change who may do a step, which
data a step sees, or what runs, cannot be left out silently: the model would run differently from what its author
drew. Each name of these engines' namespaces is therefore one of:

* **mapped**: ``candidateGroups`` (literal group names, comma-separated, on a user task; Camunda 7, Flowable,
  Activiti, or Camunda 8's ``zeebe:assignmentDefinition``) are the posts that may do the step, as
  ``af:step/@posts`` says (both given: they must name the same posts);
* **left to the multi-instance reader**: Camunda 7's ``collection`` and ``elementVariable``, and ``assignee`` written
  ``${v}`` on a multi-instance task whose element variable is ``v`` (each instance's signer: Camunda's 会签);
* **for their tools only** (:data:`FOR_TOOLS`: forms, properties, version tags, job settings, modeler templates):
  no effect on what the case does here;
* **refused** at load by name (:data:`REFUSED`, with the reason and what to write instead): assignees and candidate
  users, due dates, listeners and delegates (code), variable mappings, external tasks and connectors, decision
  references, Camunda 8's called element and multi-instance written as extensions, SpiffWorkflow's pre- and
  post-scripts;
* any other name of these namespaces: refused as unknown, since what it does is not known here.

Namespaces of modelling tools without an engine (Signavio, Trisotech, BOC, colours, Camunda Modeler's own) carry
layout and documentation and are ignored. :func:`vendor_problems` is used by the loader, ``validate`` and the
simulator alike.
"""

from __future__ import annotations

from collections.abc import Iterator

from lxml import etree

from ..errors import NotExecutableError
from ..io.namespaces import bpmn
from ..io.xmlsafe import element_label

__all__ = [
    "ENGINE_NAMESPACES", "FOR_TOOLS", "MAPPED", "REFUSED", "candidate_groups", "vendor_problems",
]  # fmt: skip

#: The namespaces of execution engines whose extensions change what runs, with a short name for messages.
ENGINE_NAMESPACES = {
    "http://camunda.org/schema/1.0/bpmn": "camunda",
    "http://camunda.org/schema/zeebe/1.0": "zeebe",
    "http://flowable.org/bpmn": "flowable",
    "http://activiti.org/bpmn": "activiti",
    "http://spiffworkflow.org/bpmn/schema/1.0/core": "spiffworkflow",
}

#: Names that only their own tools read (forms, metadata, job and deployment settings).
FOR_TOOLS = frozenset(
    {
        "formKey", "formRef", "formRefBinding", "formRefVersion", "formData", "formField", "validation",
        "constraint", "value", "properties", "property", "versionTag", "historyTimeToLive", "isStartableInTasklist",
        "candidateStarterGroups", "candidateStarterUsers", "asyncBefore", "asyncAfter", "async", "exclusive",
        "jobPriority", "taskPriority", "priority", "failedJobRetryTimeCycle", "diagramRelationId", "modelerTemplate",
        "modelerTemplateIcon", "modelerTemplateVersion", "errorMessage", "userTaskForm", "formDefinition",
        "taskHeaders", "header", "instructionsForEndUser", "isOutputSynced", "category", "documentation",
    }
)  # fmt: skip

#: Names read here: ``candidateGroups`` (posts) and ``assignmentDefinition`` (Camunda 8, for its candidateGroups);
#: ``collection`` and ``elementVariable`` (Camunda 7 multi-instance).
MAPPED = frozenset({"candidateGroups", "assignmentDefinition", "collection", "elementVariable"})

_BY_POST = (
    "approvalflow assigns a step by post, never to a named person: give the step af:step/@posts (the organisation "
    "file says who holds each post)"
)
_CODE = "code of that engine would run here; approvalflow runs no code from a model (see docs/security.md)"
_MAPPING = (
    "it maps case variables in or out; approvalflow passes the case data as it is, so the step would see other data "
    "than its author meant: remove the mapping and name the data the steps use"
)

#: Names refused at load, with why and what to write instead.
REFUSED = {
    "assignee": _BY_POST,
    "candidateUsers": _BY_POST,
    "dueDate": "a due date of that engine; approvalflow counts time limits in working days: af:step/@timeLimit",
    "followUpDate": "a follow-up date of that engine; approvalflow counts time limits in working days: "
    "af:step/@timeLimit",
    "class": _CODE,
    "expression": _CODE,
    "delegateExpression": _CODE,
    "resultVariable": _CODE,
    "executionListener": _CODE,
    "taskListener": _CODE,
    "field": _CODE,
    "connector": _CODE,
    "script": _CODE,
    "preScript": _CODE,
    "postScript": _CODE,
    "type": "an external task or service of that engine; approvalflow runs no service task",
    "topic": "an external task of that engine; approvalflow runs no service task",
    "taskDefinition": "a job worker of Camunda 8; approvalflow runs no service task",
    "inputOutput": _MAPPING,
    "inputParameter": _MAPPING,
    "outputParameter": _MAPPING,
    "in": _MAPPING,
    "out": _MAPPING,
    "ioMapping": _MAPPING,
    "input": _MAPPING,
    "output": _MAPPING,
    "decisionRef": "a decision table (DMN) of that engine; approvalflow runs no decision table",
    "calledDecision": "a decision table (DMN) of that engine; approvalflow runs no decision table",
    "calledDecisionId": "a decision table (DMN) of that engine; approvalflow runs no decision table",
    "calledElement": "Camunda 8 names the called process in an extension; write it as bpmn:callActivity/@calledElement",
    "loopCharacteristics": "Camunda 8 multi-instance; write bpmn:multiInstanceLoopCharacteristics with its "
    "af: annotation (docs/format.md)",
    "subscription": "a Camunda 8 message correlation key (an expression); the host delivers a message to one case "
    "(case.send_message), so remove it",
}


def _names(el: etree._Element) -> Iterator[tuple[str, str, etree._Element]]:
    """(engine, local name, element the name is on or is) for each engine-namespace name in ``el``'s attributes
    and for ``el`` itself."""
    for attribute in el.attrib:
        if attribute.startswith("{"):
            q = etree.QName(attribute)
            engine = ENGINE_NAMESPACES.get(q.namespace or "")
            if engine is not None:
                yield engine, q.localname, el
    q = etree.QName(el)
    engine = ENGINE_NAMESPACES.get(q.namespace or "")
    if engine is not None:
        yield engine, q.localname, el


def _owner(el: etree._Element) -> etree._Element:
    """The BPMN element an extension belongs to (itself for a BPMN element carrying an attribute)."""
    node: etree._Element | None = el
    while node is not None and etree.QName(node).namespace in ENGINE_NAMESPACES:
        node = node.getparent()
    if node is not None and node.tag == bpmn("extensionElements"):
        node = node.getparent()
    return node if node is not None else el


def _each_signer(task: etree._Element) -> bool:
    """``assignee="${v}"`` on a multi-instance task whose element variable is ``v``: each instance's signer, as the
    multi-instance reader takes it (Camunda's way of writing a 会签); any other assignee names a person."""
    loop = task.find(bpmn("multiInstanceLoopCharacteristics"))
    if loop is None:
        return False
    assignee = next((task.get(f"{{{ns}}}assignee") for ns in ENGINE_NAMESPACES if task.get(f"{{{ns}}}assignee")), "")
    variables = {loop.get(f"{{{ns}}}elementVariable") for ns in ENGINE_NAMESPACES} - {None}
    return any(assignee.strip() in (f"${{{v}}}", f"#{{{v}}}") for v in variables)


def _nearest_id(el: etree._Element) -> str | None:
    """The id of ``el`` or of its nearest ancestor that has one (a loop characteristic has none: its task's)."""
    node: etree._Element | None = el
    while node is not None and node.get("id") is None:
        node = node.getparent()
    return node.get("id") if node is not None else None


def vendor_problems(root: etree._Element, file: str | None) -> Iterator[NotExecutableError]:
    """A refusal for each refused or unknown engine extension of the document, in document order; the
    ``candidateGroups`` that cannot be read as posts too (an expression, or posts other than af:step's)."""
    for el in root.iter():
        if not isinstance(el.tag, str):
            continue
        for engine, name, where in _names(el):
            owner = _owner(where)
            reason = None if name == "assignee" and _each_signer(where) else REFUSED.get(name)
            if reason is None and name not in FOR_TOOLS and name not in MAPPED and name != "assignee":
                reason = "an extension whose effect approvalflow does not know; remove it, or use the af: annotations"
            if reason is not None:
                yield NotExecutableError(
                    f"{engine}:{name} on {element_label(owner)} is not run by approvalflow: {reason}",
                    file=file,
                    line=where.sourceline,
                    element=_nearest_id(owner),
                )
    for task in root.iter(bpmn("userTask")):
        try:
            candidate_groups(task)
        except ValueError as exc:
            yield NotExecutableError(str(exc), file=file, line=task.sourceline, element=task.get("id"))


def candidate_groups(task: etree._Element) -> tuple[str, ...]:
    """The posts a user task's ``candidateGroups`` names (any engine's; () without one). ``ValueError`` for an
    expression or for a value that is not a list of names."""
    values = [task.get(f"{{{ns}}}candidateGroups") for ns in ENGINE_NAMESPACES]
    for ext in task.iterfind(bpmn("extensionElements")):
        for el in ext:
            if isinstance(el.tag, str) and etree.QName(el).localname == "assignmentDefinition":
                values.append(el.get("candidateGroups"))
    found: list[str] = []
    for value in values:
        if value is None:
            continue
        text = value.strip()
        if any(mark in text for mark in ("${", "#{", "=")) or not text:
            raise ValueError(
                f"candidateGroups {text[:60]!r} on {element_label(task)} is an expression (or empty); approvalflow "
                "reads only literal group names as posts: write the posts, or af:step/@posts"
            )
        for part in text.split(","):
            name = part.strip()
            if not name or any(c.isspace() for c in name):
                raise ValueError(
                    f"candidateGroups {text[:60]!r} on {element_label(task)} is not a comma-separated list of names"
                )
            if name not in found:
                found.append(name)
    return tuple(found)
