"""Loading or running a BPMN file never runs code on the host and never reads files or the network."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pytest

from approvalflow import FakeClock, load_process_string, organisation_from_dict, start_case
from approvalflow.errors import UnsafeContentError, XmlError

from .test_loader import HEAD, model

CONDITION_MODEL = """<bpmn:startEvent id="start"><bpmn:outgoing>f1</bpmn:outgoing></bpmn:startEvent>
<bpmn:userTask id="t1"><bpmn:incoming>f1</bpmn:incoming><bpmn:outgoing>f2</bpmn:outgoing></bpmn:userTask>
<bpmn:exclusiveGateway id="gw" default="f_no"><bpmn:incoming>f2</bpmn:incoming><bpmn:outgoing>f_yes</bpmn:outgoing><bpmn:outgoing>f_no</bpmn:outgoing></bpmn:exclusiveGateway>
<bpmn:endEvent id="e1"><bpmn:incoming>f_yes</bpmn:incoming></bpmn:endEvent>
<bpmn:endEvent id="e2"><bpmn:incoming>f_no</bpmn:incoming></bpmn:endEvent>
<bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="t1"/>
<bpmn:sequenceFlow id="f2" sourceRef="t1" targetRef="gw"/>
<bpmn:sequenceFlow id="f_yes" sourceRef="gw" targetRef="e1"><bpmn:conditionExpression>{cond}</bpmn:conditionExpression></bpmn:sequenceFlow>
<bpmn:sequenceFlow id="f_no" sourceRef="gw" targetRef="e2"/>"""


def payloads(marker: Path) -> list[str]:
    m = str(marker)
    return [
        f"__import__('os').system('touch {m}')",
        f'__import__("subprocess").run(["touch", "{m}"])',
        "().__class__.__bases__[0].__subclasses__()",
        f"open('{m}', 'w').write('x')",
        f"exec(\"open('{m}','w')\")",
        f"eval(\"__import__('os').system('touch {m}')\")",
        "getattr(__builtins__, 'open')",
        f"(lambda: __import__('os').system('touch {m}'))()",
        "[x for x in range(10**9)]",
        "{x: x for x in range(10**9)}",
        "globals()",
        "amount.__class__",
        "x.real",
        "${amount > 100}",
        f"compile('open(\"{m}\",\"w\")', 'x', 'exec')",
    ]


def test_condition_payloads_are_refused_at_load_time(tmp_path: Path) -> None:
    marker = tmp_path / "pwned"
    for payload in payloads(marker):
        text = model(CONDITION_MODEL.format(cond=payload.replace("&", "&amp;").replace("<", "&lt;")))
        with pytest.raises(UnsafeContentError) as info:
            load_process_string(text, filename="evil.bpmn")
        assert info.value.element == "f_yes", payload
        assert info.value.line == 11, payload
        assert not marker.exists(), payload


@pytest.mark.allow_code_execution
def test_bare_engine_would_have_run_it(tmp_path: Path) -> None:
    """Why this matters: SpiffWorkflow's default engine evaluates the same text with eval() and builtins."""
    from SpiffWorkflow.bpmn.script_engine import PythonScriptEngine

    marker = tmp_path / "bare"
    PythonScriptEngine().environment.evaluate(f"__import__('pathlib').Path('{marker}').touch()", {})
    assert marker.exists()


def test_runtime_bombs_fail_cleanly() -> None:
    text = model(CONDITION_MODEL.format(cond="amount ** amount ** amount > 1"))
    definition = load_process_string(text, filename="bomb.bpmn")
    org = organisation_from_dict({"units": [{"id": "u"}], "people": {"a": {"unit": "u"}}})
    case = start_case(definition, org, clock=FakeClock("2026-01-05T09:00:00+08:00"))
    from approvalflow.errors import EngineError

    with pytest.raises(EngineError):
        case.complete("t1", "a", data={"amount": 99})
    assert case.path == []


SCRIPT = """<bpmn:startEvent id="start"><bpmn:outgoing>f1</bpmn:outgoing></bpmn:startEvent>
<bpmn:scriptTask id="s1" scriptFormat="python"><bpmn:incoming>f1</bpmn:incoming><bpmn:outgoing>f2</bpmn:outgoing><bpmn:script>{script}</bpmn:script></bpmn:scriptTask>
<bpmn:userTask id="t1"><bpmn:incoming>f2</bpmn:incoming><bpmn:outgoing>f3</bpmn:outgoing></bpmn:userTask>
<bpmn:endEvent id="end"><bpmn:incoming>f3</bpmn:incoming></bpmn:endEvent>
<bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="s1"/>
<bpmn:sequenceFlow id="f2" sourceRef="s1" targetRef="t1"/>
<bpmn:sequenceFlow id="f3" sourceRef="t1" targetRef="end"/>"""


def test_script_tasks_are_refused_without_trusted_functions(tmp_path: Path) -> None:
    marker = tmp_path / "script"
    text = model(SCRIPT.format(script=f"import os; os.system('touch {marker}')"))
    with pytest.raises(UnsafeContentError, match="trusted function") as info:
        load_process_string(text, filename="s.bpmn")
    assert info.value.element == "s1" and info.value.line == 5
    assert not marker.exists()


def test_script_task_runs_only_a_registered_function() -> None:
    calls: list[dict[str, Any]] = []

    def stamp(data: Mapping[str, Any]) -> dict[str, Any]:
        calls.append(dict(data))
        return {"stamped": True}

    text = model(SCRIPT.format(script="stamp()"))
    with pytest.raises(UnsafeContentError):
        load_process_string(text, filename="s.bpmn", trusted_functions={"other": stamp})
    definition = load_process_string(text, filename="s.bpmn", trusted_functions={"stamp": stamp})
    org = organisation_from_dict({"units": [{"id": "u"}], "people": {"a": {"unit": "u"}}})
    case = start_case(definition, org, clock=FakeClock("2026-01-05T09:00:00+08:00"), data={"n": 1})
    assert calls == [{"n": 1}]
    case.complete("t1", "a")
    assert case.data.get("n") == 1


BILLION_LAUGHS = """<?xml version="1.0"?>
<!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
<!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">
<!ENTITY lol4 "&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;">]>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" id="D"><bpmn:documentation>&lol4;</bpmn:documentation></bpmn:definitions>"""


def test_entity_expansion_is_refused() -> None:
    with pytest.raises(XmlError, match="DOCTYPE"):
        load_process_string(BILLION_LAUGHS, filename="laughs.bpmn")


def test_external_entities_are_refused(tmp_path: Path) -> None:
    secret = tmp_path / "secret.txt"
    secret.write_text("TOP-SECRET")
    text = (
        f'<?xml version="1.0"?>\n<!DOCTYPE d [<!ENTITY xxe SYSTEM "{secret.as_uri()}">]>\n'
        + HEAD.split("\n", 1)[1]
        + "<bpmn:process id='p'><bpmn:documentation>&xxe;</bpmn:documentation>"
        "</bpmn:process></bpmn:definitions>"
    )
    with pytest.raises(XmlError) as info:
        load_process_string(text, filename="xxe.bpmn")
    assert "TOP-SECRET" not in str(info.value)
    assert info.value.line == 2
