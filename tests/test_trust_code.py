"""No path from a BPMN file or a saved case reaches eval, exec or compile (issue 14, items 1 and 2).

The guard in ``conftest.py`` replaces those builtins for every test; these tests check the guard itself, the
expressions that stand outside ``bpmn:process`` (messages, correlation properties, data associations), the
environment object SpiffWorkflow calls directly, and saved cases that try to reach SpiffWorkflow's migration
code.
"""

from __future__ import annotations

import itertools
import json
from pathlib import Path
from typing import Any

import pytest

from approvalflow import FakeClock, load_process_string, organisation_from_dict, start_case
from approvalflow._spiff import SafeEnvironment
from approvalflow.bpmn.loader import ProcessDefinition
from approvalflow.engine.case import Case
from approvalflow.engine.persistence import dump_case, load_case
from approvalflow.errors import CaseFormatError, EngineError, NotExecutableError, UnsafeContentError
from approvalflow.expressions import ExpressionError, SafeEvaluator

from .conftest import CodeExecutionAttempt
from .test_loader import HEAD, model

ORG = organisation_from_dict({"units": [{"id": "u"}], "people": {"a": {"unit": "u"}, "b": {"unit": "u"}}})


def payloads(marker: Path) -> list[str]:
    return [
        f"__import__('os').system('touch {marker}')",
        f"open('{marker}', 'w')",
        "().__class__.__mro__[1].__subclasses__()",
        f"exec(\"open('{marker}','w')\")",
        "[c for c in ().__class__.__base__.__subclasses__()]",
        "task_num.__globals__",
    ]


def escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace('"', "&quot;")


# A message throw event whose correlation property sits outside bpmn:process, at definitions level.
CORRELATION = (
    HEAD
    + '<bpmn:message id="M" name="m"/>\n'
    + '<bpmn:correlationProperty id="cp" name="cp">\n'
    + '<bpmn:correlationPropertyRetrievalExpression messageRef="M">\n'
    + "<bpmn:messagePath>{path}</bpmn:messagePath>\n"  # line 6
    + "</bpmn:correlationPropertyRetrievalExpression>\n"
    + "</bpmn:correlationProperty>\n"
    + '<bpmn:process id="p" isExecutable="true">\n'
    + '<bpmn:startEvent id="start"><bpmn:outgoing>f1</bpmn:outgoing></bpmn:startEvent>\n'
    + '<bpmn:userTask id="t1"><bpmn:incoming>f1</bpmn:incoming><bpmn:outgoing>f2</bpmn:outgoing></bpmn:userTask>\n'
    + '<bpmn:intermediateThrowEvent id="send"><bpmn:incoming>f2</bpmn:incoming><bpmn:outgoing>f3</bpmn:outgoing>'
    + '<bpmn:messageEventDefinition messageRef="M"/></bpmn:intermediateThrowEvent>\n'
    + '<bpmn:endEvent id="end"><bpmn:incoming>f3</bpmn:incoming></bpmn:endEvent>\n'
    + '<bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="t1"/>\n'
    + '<bpmn:sequenceFlow id="f2" sourceRef="t1" targetRef="send"/>\n'
    + '<bpmn:sequenceFlow id="f3" sourceRef="send" targetRef="end"/>\n'
    + "</bpmn:process>\n</bpmn:definitions>\n"
)


def test_the_guard_catches_spiffworkflows_own_eval() -> None:
    """The fixture is live: SpiffWorkflow's default environment cannot evaluate while a test runs."""
    from SpiffWorkflow.bpmn.script_engine.python_environment import TaskDataEnvironment

    with pytest.raises(CodeExecutionAttempt, match="SpiffWorkflow"):
        TaskDataEnvironment().evaluate("1 + 1", {})
    with pytest.raises(CodeExecutionAttempt, match="SpiffWorkflow"):
        TaskDataEnvironment().execute("x = 1", {})


def test_message_path_payloads_outside_the_process_are_refused_at_load(tmp_path: Path) -> None:
    marker = tmp_path / "pwned"
    load_process_string(CORRELATION.format(path="task_num"), filename="ok.bpmn")  # the benign form loads
    for payload in payloads(marker):
        with pytest.raises(UnsafeContentError) as info:
            load_process_string(CORRELATION.format(path=escape(payload)), filename="evil.bpmn")
        assert info.value.line == 6, payload
        assert "messagePath" in str(info.value), payload
        assert not marker.exists()


IO = (
    '<bpmn:ioSpecification><bpmn:dataInput id="y"/><bpmn:inputSet><bpmn:dataInputRefs>y</bpmn:dataInputRefs>'
    "</bpmn:inputSet><bpmn:outputSet/></bpmn:ioSpecification>"
)


@pytest.mark.parametrize(
    "where",
    [
        # a data input association's assignment, inside a task
        '<bpmn:userTask id="x">' + IO + '<bpmn:dataInputAssociation id="da"><bpmn:targetRef>y</bpmn:targetRef>'
        "<bpmn:assignment><bpmn:from>{p}</bpmn:from><bpmn:to>y</bpmn:to></bpmn:assignment></bpmn:dataInputAssociation>"
        "</bpmn:userTask>",
        # a transformation
        '<bpmn:userTask id="x">' + IO + '<bpmn:dataInputAssociation id="da"><bpmn:targetRef>y</bpmn:targetRef>'
        "<bpmn:transformation>{p}</bpmn:transformation></bpmn:dataInputAssociation></bpmn:userTask>",
        # an ad-hoc sub-process completion condition
        '<bpmn:adHocSubProcess id="x"><bpmn:userTask id="y"/><bpmn:completionCondition>{p}</bpmn:completionCondition>'
        "</bpmn:adHocSubProcess>",
        # a multi-instance cardinality and completion condition
        '<bpmn:userTask id="x"><bpmn:multiInstanceLoopCharacteristics><bpmn:loopCardinality>{p}</bpmn:loopCardinality>'
        "</bpmn:multiInstanceLoopCharacteristics></bpmn:userTask>",
        # a timer
        '<bpmn:intermediateCatchEvent id="x"><bpmn:timerEventDefinition><bpmn:timeDuration>{p}</bpmn:timeDuration>'
        "</bpmn:timerEventDefinition></bpmn:intermediateCatchEvent>",
        # a conditional event
        '<bpmn:intermediateCatchEvent id="x"><bpmn:conditionalEventDefinition><bpmn:condition>{p}</bpmn:condition>'
        "</bpmn:conditionalEventDefinition></bpmn:intermediateCatchEvent>",
        # a resource assignment
        '<bpmn:userTask id="x"><bpmn:potentialOwner><bpmn:resourceAssignmentExpression>'
        "<bpmn:formalExpression>{p}</bpmn:formalExpression></bpmn:resourceAssignmentExpression></bpmn:potentialOwner>"
        "</bpmn:userTask>",
    ],
)
def test_every_expression_bearing_element_is_checked(tmp_path: Path, where: str) -> None:
    marker = tmp_path / "pwned"
    start = '<bpmn:startEvent id="start"/>\n'
    for payload in payloads(marker)[:3]:
        text = model(start + where.format(p=escape(payload)))
        with pytest.raises(UnsafeContentError) as info:
            load_process_string(text, filename="evil.bpmn")
        assert info.value.line == 5, (where, payload)
        assert not marker.exists()


def test_the_environment_spiffworkflow_calls_directly_is_the_safe_one(tmp_path: Path) -> None:
    definition = load_process_string(CORRELATION.format(path="task_num"), filename="ok.bpmn")
    case = start_case(definition, ORG, clock=FakeClock("2026-01-05T09:00:00+08:00"))
    env = case._wf.script_engine.environment
    assert isinstance(env, SafeEnvironment)
    marker = tmp_path / "pwned"
    for payload in payloads(marker):
        with pytest.raises(ExpressionError):
            env.evaluate(payload, {"task_num": 1})
        with pytest.raises(ExpressionError):
            env.execute(payload, {})
    assert not marker.exists()
    restored = load_case(dump_case(case), definition, ORG)
    assert isinstance(restored._wf.script_engine.environment, SafeEnvironment)


def test_the_safe_environment_bounds_what_it_evaluates() -> None:
    env = SafeEnvironment(SafeEvaluator(), {})
    with pytest.raises(ExpressionError):
        env.evaluate("9**9**9**9 > 1", {})
    with pytest.raises(ExpressionError, match="unknown name"):
        env.evaluate("nobody > 1", {})
    assert env.evaluate("a + b", {"a": 1}, external_context={"b": 2}) == 3


AD_HOC_BAD_NAME = """<bpmn:startEvent id="start"><bpmn:outgoing>f1</bpmn:outgoing></bpmn:startEvent>
<bpmn:userTask id="t1"><bpmn:incoming>f1</bpmn:incoming><bpmn:outgoing>f2</bpmn:outgoing></bpmn:userTask>
<bpmn:exclusiveGateway id="gw" default="f_no"><bpmn:incoming>f2</bpmn:incoming><bpmn:outgoing>f_yes</bpmn:outgoing><bpmn:outgoing>f_no</bpmn:outgoing></bpmn:exclusiveGateway>
<bpmn:userTask id="t2"><bpmn:incoming>f_yes</bpmn:incoming><bpmn:incoming>f_no</bpmn:incoming><bpmn:outgoing>f3</bpmn:outgoing></bpmn:userTask>
<bpmn:endEvent id="e1"><bpmn:incoming>f3</bpmn:incoming></bpmn:endEvent>
<bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="t1"/>
<bpmn:sequenceFlow id="f2" sourceRef="t1" targetRef="gw"/>
<bpmn:sequenceFlow id="f_yes" sourceRef="gw" targetRef="t2"><bpmn:conditionExpression>{cond}</bpmn:conditionExpression></bpmn:sequenceFlow>
<bpmn:sequenceFlow id="f_no" sourceRef="gw" targetRef="t2"/>
<bpmn:sequenceFlow id="f3" sourceRef="t2" targetRef="e1"/>"""


@pytest.mark.parametrize("cond", ["nobody > 1", "9**9**9**9 > 1", "amount / 0 > 1", "'a' * 10**9 == 'a'"])
def test_a_failing_expression_leaves_the_step_ready_and_the_case_as_it_was(cond: str) -> None:
    definition = load_process_string(model(AD_HOC_BAD_NAME.format(cond=escape(cond))), filename="f.bpmn")
    case = start_case(definition, ORG, clock=FakeClock("2026-01-05T09:00:00+08:00"), data={"amount": 3})
    entries = len(case.trail.entries)
    digest = case._state_digest
    with pytest.raises(EngineError):
        case.complete("t1", "a")
    assert [s.id for s in case.ready_steps()] == ["t1"]
    assert case._state_digest == digest and case.path == []
    assert case.trail.entries[-1]["outcome"] == "engine-error" and len(case.trail.entries) == entries + 1
    case.complete("t1", "a", data={"nobody": 0, "amount": 3}) if cond == "nobody > 1" else None


def test_loop_cardinality_is_bounded_at_run_time() -> None:
    body = """<bpmn:startEvent id="start"><bpmn:outgoing>f1</bpmn:outgoing></bpmn:startEvent>
<bpmn:userTask id="t1"><bpmn:incoming>f1</bpmn:incoming><bpmn:outgoing>f2</bpmn:outgoing></bpmn:userTask>
<bpmn:userTask id="mi"><bpmn:incoming>f2</bpmn:incoming><bpmn:outgoing>f3</bpmn:outgoing><bpmn:multiInstanceLoopCharacteristics><bpmn:loopCardinality>n</bpmn:loopCardinality></bpmn:multiInstanceLoopCharacteristics></bpmn:userTask>
<bpmn:endEvent id="e1"><bpmn:incoming>f3</bpmn:incoming></bpmn:endEvent>
<bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="t1"/>
<bpmn:sequenceFlow id="f2" sourceRef="t1" targetRef="mi"/>
<bpmn:sequenceFlow id="f3" sourceRef="mi" targetRef="e1"/>"""
    definition = load_process_string(model(body), filename="mi.bpmn")
    for n in (10**9, 1001, -1, "3", 2.5):
        case = start_case(definition, ORG, clock=FakeClock("2026-01-05T09:00:00+08:00"))
        with pytest.raises(EngineError, match="cardinality"):
            case.complete("t1", "a", data={"n": n})
        assert case.path == []


CALLS = """<bpmn:startEvent id="s_{p}"><bpmn:outgoing>g1_{p}</bpmn:outgoing></bpmn:startEvent>
<bpmn:callActivity id="call_{p}" calledElement="{callee}"><bpmn:incoming>g1_{p}</bpmn:incoming><bpmn:outgoing>g2_{p}</bpmn:outgoing></bpmn:callActivity>
<bpmn:endEvent id="e_{p}"><bpmn:incoming>g2_{p}</bpmn:incoming></bpmn:endEvent>
<bpmn:sequenceFlow id="g1_{p}" sourceRef="s_{p}" targetRef="call_{p}"/>
<bpmn:sequenceFlow id="g2_{p}" sourceRef="call_{p}" targetRef="e_{p}"/>"""


def processes(chain: list[tuple[str, str]]) -> str:
    body = "".join(
        f'<bpmn:process id="{p}" isExecutable="true">\n{CALLS.format(p=p, callee=callee)}\n</bpmn:process>\n'
        for p, callee in chain
    )
    return HEAD + body + "</bpmn:definitions>\n"


@pytest.mark.parametrize(
    "chain",
    [[("a", "a")], [("a", "b"), ("b", "a")], [("a", "b"), ("b", "c"), ("c", "b")]],
    ids=["self", "pair", "tail"],
)
def test_recursive_call_activities_are_refused_at_load(chain: list[tuple[str, str]]) -> None:
    with pytest.raises(NotExecutableError, match="recursive call"):
        load_process_string(processes(chain), filename="rec.bpmn", process_id="a")


def test_call_chains_deeper_than_the_limit_are_refused() -> None:
    from approvalflow.bpmn.loader import MAX_CALL_DEPTH

    names = [f"p{n}" for n in range(MAX_CALL_DEPTH + 1)]
    chain = list(itertools.pairwise(names))
    last = names[-1]
    leaf = (
        f'<bpmn:process id="{last}" isExecutable="true"><bpmn:startEvent id="s_{last}"><bpmn:outgoing>x</bpmn:outgoing>'
        f'</bpmn:startEvent><bpmn:endEvent id="e_{last}"><bpmn:incoming>x</bpmn:incoming></bpmn:endEvent>'
        f'<bpmn:sequenceFlow id="x" sourceRef="s_{last}" targetRef="e_{last}"/></bpmn:process>\n'
    )
    text = processes(chain).replace("</bpmn:definitions>", leaf + "</bpmn:definitions>")
    with pytest.raises(NotExecutableError, match="deep"):
        load_process_string(text, filename="deep.bpmn", process_id="p0")
    shallow = processes(chain[:3]).replace(
        "</bpmn:definitions>",
        leaf.replace(last, "p3").replace('id="x"', 'id="x3"').replace(">x<", ">x3<") + "</bpmn:definitions>",
    )
    load_process_string(shallow, filename="ok.bpmn", process_id="p0")


# -- saved cases never reach SpiffWorkflow's migration code or embedded specs ---------------------------------
def saved(definition: ProcessDefinition, **kw: Any) -> tuple[Case, dict[str, Any]]:
    case = start_case(definition, ORG, clock=FakeClock("2026-01-05T09:00:00+08:00"), **kw)
    document: dict[str, Any] = json.loads(dump_case(case))
    return case, document


def test_a_saved_case_no_longer_embeds_the_process_spec() -> None:
    definition = load_process_string(model(AD_HOC_BAD_NAME.format(cond="amount > 1")), filename="f.bpmn")
    _, doc = saved(definition, data={"amount": 3})
    assert doc["version"] == 4
    assert "spec" not in doc["workflow"] and "subprocess_specs" not in doc["workflow"]
    assert "serializer_version" not in doc["workflow"]


def test_a_legacy_document_claiming_an_old_serializer_is_refused(tmp_path: Path) -> None:
    """Version 1.0 states would go through SpiffWorkflow's migration, which evals timer fields."""
    definition = load_process_string(model(AD_HOC_BAD_NAME.format(cond="amount > 1")), filename="f.bpmn")
    _, doc = saved(definition, data={"amount": 3})
    legacy = dict(doc)
    legacy["version"] = 1
    for entry in legacy["trail"]:
        entry.pop("state")
    from approvalflow.engine.trail import AuditTrail

    rechained = AuditTrail()
    for entry in legacy["trail"]:
        rechained.append(**{k: v for k, v in entry.items() if k not in ("seq", "prev", "hash")})
    legacy["trail"] = rechained.entries
    legacy["trail_head"] = {"hash": rechained.head.hash, "count": rechained.head.count}
    legacy["workflow"]["serializer_version"] = "1.0"
    marker = tmp_path / "pwned"
    legacy["workflow"]["tasks"][next(iter(legacy["workflow"]["tasks"]))]["internal_data"] = {
        "event_value": f"__import__('os').system('touch {marker}')"
    }
    with pytest.raises(CaseFormatError, match=r"serializer version '1\.0'"):
        load_case(json.dumps(legacy), definition, ORG)
    assert not marker.exists()
    legacy["workflow"]["serializer_version"] = "1.5"  # the current one: read, spec or not
    legacy["workflow"]["tasks"][next(iter(legacy["workflow"]["tasks"]))]["internal_data"] = {}
    restored = load_case(json.dumps(legacy), definition, ORG)
    assert [s.id for s in restored.ready_steps()] == ["t1"]


@pytest.mark.parametrize(
    "damage",
    [
        "spec",
        "typed-data",
        "unknown-state",
        "unknown-spec",
        "orphan",
        "foreign-subprocess",
        "events",
        "nan",
    ],
)
def test_engine_states_this_version_does_not_write_are_refused(damage: str) -> None:
    """Each damage is applied with the state digest recomputed, as a forger would: the check is structural."""
    from approvalflow.engine.persistence import check_workflow_state

    definition = load_process_string(model(AD_HOC_BAD_NAME.format(cond="amount > 1")), filename="f.bpmn")
    _, doc = saved(definition, data={"amount": 3})
    wf = doc["workflow"]
    first = next(iter(wf["tasks"]))
    task = wf["tasks"][first]
    if damage == "spec":
        wf["spec"] = {"typename": "BpmnProcessSpec"}
    elif damage == "typed-data":
        task["data"] = {"x": {"typename": "TimerEventDefinition", "expression": "1"}}
    elif damage == "unknown-state":
        task["state"] = 3
    elif damage == "unknown-spec":
        task["task_spec"] = "Transform"
    elif damage == "orphan":
        task["parent"] = "00000000-0000-0000-0000-000000000000"
    elif damage == "foreign-subprocess":
        wf["subprocesses"][first] = {"tasks": {}, "root": first}
    elif damage == "events":
        wf["bpmn_events"] = [{"typename": "BpmnEvent"}]
    elif damage == "nan":
        task["data"] = {"x": float("nan")}
    with pytest.raises(ValueError):
        check_workflow_state(wf, definition)


def test_ad_hoc_sub_processes_are_refused_by_name() -> None:
    """SpiffWorkflow 3.2 evaluates an ad-hoc completion condition at the start and then fails: refused, not run."""
    body = (
        '<bpmn:startEvent id="start"><bpmn:outgoing>f1</bpmn:outgoing></bpmn:startEvent>\n'
        '<bpmn:adHocSubProcess id="adhoc"><bpmn:incoming>f1</bpmn:incoming><bpmn:outgoing>f2</bpmn:outgoing>'
        '<bpmn:userTask id="a1"/><bpmn:completionCondition>done</bpmn:completionCondition></bpmn:adHocSubProcess>\n'
        '<bpmn:endEvent id="end"><bpmn:incoming>f2</bpmn:incoming></bpmn:endEvent>\n'
        '<bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="adhoc"/>\n'
        '<bpmn:sequenceFlow id="f2" sourceRef="adhoc" targetRef="end"/>'
    )
    with pytest.raises(NotExecutableError, match="ad-hoc") as info:
        load_process_string(model(body), filename="adhoc.bpmn")
    assert (info.value.line, info.value.element) == (5, "adhoc")


BOUNDED_RUN = r"""
import resource, sys
resource.setrlimit(resource.RLIMIT_AS, (768 * 2**20, 768 * 2**20))
from approvalflow import EngineError, FakeClock, NotExecutableError, load_process_string, organisation_from_dict, start_case
org = organisation_from_dict({"units": [{"id": "u"}], "people": {"a": {"unit": "u"}}})
text = sys.stdin.read()
try:
    definition = load_process_string(text, filename="bomb.bpmn", process_id="a" if 'id="a"' in text else None)
    case = start_case(definition, org, clock=FakeClock("2026-01-05T09:00:00+08:00"))
    case.complete("t1", "a", data={"n": 10**9})
except (EngineError, NotExecutableError) as exc:
    print(type(exc).__name__, str(exc)[:200])
"""


@pytest.mark.parametrize("kind", ["cardinality", "recursion"])
def test_refusals_are_bounded_in_memory_and_time(kind: str) -> None:
    """Run in a child with 768 MiB of address space and 60 s: a clear error, not an exhausted host."""
    import subprocess
    import sys

    if kind == "cardinality":
        text = model(
            '<bpmn:startEvent id="start"><bpmn:outgoing>f1</bpmn:outgoing></bpmn:startEvent>\n'
            '<bpmn:userTask id="t1"><bpmn:incoming>f1</bpmn:incoming><bpmn:outgoing>f2</bpmn:outgoing></bpmn:userTask>\n'
            '<bpmn:userTask id="mi"><bpmn:incoming>f2</bpmn:incoming><bpmn:outgoing>f3</bpmn:outgoing>'
            "<bpmn:multiInstanceLoopCharacteristics><bpmn:loopCardinality>n</bpmn:loopCardinality>"
            "</bpmn:multiInstanceLoopCharacteristics></bpmn:userTask>\n"
            '<bpmn:endEvent id="e1"><bpmn:incoming>f3</bpmn:incoming></bpmn:endEvent>\n'
            '<bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="t1"/>\n'
            '<bpmn:sequenceFlow id="f2" sourceRef="t1" targetRef="mi"/>\n'
            '<bpmn:sequenceFlow id="f3" sourceRef="mi" targetRef="e1"/>'
        )
        expected = "EngineError"
    else:
        text = processes([("a", "a")])
        expected = "NotExecutableError"
    done = subprocess.run(
        [sys.executable, "-c", BOUNDED_RUN], input=text, capture_output=True, text=True, timeout=60, check=False
    )
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.startswith(expected), done.stdout


BRANCHES = """<bpmn:startEvent id="start"><bpmn:outgoing>f1</bpmn:outgoing></bpmn:startEvent>
<bpmn:userTask id="t1"><bpmn:incoming>f1</bpmn:incoming><bpmn:outgoing>f2</bpmn:outgoing></bpmn:userTask>
<bpmn:exclusiveGateway id="gw" default="f_no"><bpmn:incoming>f2</bpmn:incoming><bpmn:outgoing>f_yes</bpmn:outgoing><bpmn:outgoing>f_no</bpmn:outgoing></bpmn:exclusiveGateway>
<bpmn:userTask id="big"><bpmn:incoming>f_yes</bpmn:incoming><bpmn:outgoing>f3</bpmn:outgoing></bpmn:userTask>
<bpmn:userTask id="small"><bpmn:incoming>f_no</bpmn:incoming><bpmn:outgoing>f4</bpmn:outgoing></bpmn:userTask>
<bpmn:endEvent id="e1"><bpmn:incoming>f3</bpmn:incoming><bpmn:incoming>f4</bpmn:incoming></bpmn:endEvent>
<bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="t1"/>
<bpmn:sequenceFlow id="f2" sourceRef="t1" targetRef="gw"/>
<bpmn:sequenceFlow id="f_yes" sourceRef="gw" targetRef="big"><bpmn:conditionExpression>amount<!-- note --><?pi x?> &gt; 5</bpmn:conditionExpression></bpmn:sequenceFlow>
<bpmn:sequenceFlow id="f_no" sourceRef="gw" targetRef="small"/>
<bpmn:sequenceFlow id="f3" sourceRef="big" targetRef="e1"/>
<bpmn:sequenceFlow id="f4" sourceRef="small" targetRef="e1"/>"""


@pytest.mark.parametrize(("amount", "branch"), [(3, "small"), (9, "big")])
def test_a_comment_inside_a_condition_does_not_change_what_runs(amount: int, branch: str) -> None:
    """SpiffWorkflow reads a condition as .text, which stops at a comment: 'amount' alone would always be true."""
    from approvalflow.validation import validate_string

    definition = load_process_string(model(BRANCHES), filename="c.bpmn")
    case = start_case(definition, ORG, clock=FakeClock("2026-01-05T09:00:00+08:00"), data={"amount": amount})
    case.complete("t1", "a")
    assert [s.id for s in case.ready_steps()] == [branch]
    findings = validate_string(model(BRANCHES), filename="c.bpmn")
    assert not [f for f in findings if f.rule == "not-executable"], findings
