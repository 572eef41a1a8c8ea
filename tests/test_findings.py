"""One finding type and one way to register rules and checks (issue 15, item 2)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta, timezone

import pytest
from hypothesis import given
from hypothesis import strategies as st

from approvalflow.catalog.check import RULES as CATALOG_RULES
from approvalflow.catalog.check import CatalogFinding
from approvalflow.catalog.problems import CATALOG, catalog_finding
from approvalflow.rules.checks import RULES, RUNTIME
from approvalflow.rules.checks import Finding as RuleFinding
from approvalflow.rules.findings import SEVERITIES, Finding
from approvalflow.rules.registry import Registry
from approvalflow.validation import SEVERITY, StaticFinding, validate_string
from approvalflow.validation.context import CHECKS
from approvalflow.validation.findings import STATIC, finding

# the ids of SPEC section 4, copied from the contract (not from the code)
SPEC_RUNTIME = ["unauthorized", "five-not-direct", "separate-actors", "same-actor", "recusal", "once", "precedence", "quorum", "last-speaker", "step-overdue", "case-overdue", "extension"]  # fmt: skip
SPEC_STATIC = ["unreachable", "dead-end", "deadlock", "no-sync", "missing-default", "no-posts", "no-time-limit", "risk-coverage", "time-budget", "requires-not-dominating", "unknown-step-ref", "staffing", "org-five-not-direct", "org-all-five", "not-executable"]  # fmt: skip


def test_the_old_names_are_the_one_finding_type() -> None:
    assert StaticFinding is Finding
    assert CatalogFinding is Finding
    assert RuleFinding is Finding


def test_every_rule_id_of_the_contract_is_declared_with_a_severity() -> None:
    assert set(SPEC_RUNTIME) <= set(RUNTIME.severity)
    assert set(SPEC_STATIC) <= set(STATIC.severity)
    assert RUNTIME.severity["step-overdue"] == RUNTIME.severity["case-overdue"] == "warning"  # time rules never refuse
    assert RULES is RUNTIME.checks and CHECKS is STATIC.checks and SEVERITY is STATIC.severity
    assert CATALOG_RULES is CATALOG.severity
    assert all(level in SEVERITIES for r in (RUNTIME, STATIC, CATALOG) for level in r.severity.values())


def test_the_json_of_each_report_has_the_fields_the_contract_fixes() -> None:
    at = datetime(2026, 10, 9, 9, 0, tzinfo=timezone(timedelta(hours=8)))
    run = Finding("recusal", "review", "li", "conflict", at)
    assert run.to_dict() == {
        "rule": "recusal",
        "task": "review",
        "actor": "li",
        "message": "conflict",
        "at": "2026-10-09T09:00:00+08:00",
        "severity": "error",
    }
    static = finding("no-posts", "name posts", file="a.bpmn", line=7, element="decide")
    assert static.to_json() == {
        "rule": "no-posts",
        "severity": "warning",
        "file": "a.bpmn",
        "line": 7,
        "element": "decide",
        "message": "name posts",
    }
    cat = catalog_finding("catalog-limit-blank", 3, "法定办结时限", "blank", power="P1")
    assert cat.to_json() == {
        "rule": "catalog-limit-blank",
        "severity": "warning",
        "sheet": "权力清单",
        "row": 3,
        "column": "法定办结时限",
        "power": "P1",
        "message": "blank",
    }


def test_where_names_the_location() -> None:
    assert finding("unreachable", "m", file="a.bpmn", line=7, element="x").where() == "a.bpmn:7 x"
    assert (
        catalog_finding("catalog-risk-text", 4, "风险点", "m", "廉政风险点").where()
        == "廉政风险点 row 4, column 风险点"
    )
    assert Finding("once", "notify", "li", "m").where() == "notify"


def test_a_severity_outside_the_three_is_refused() -> None:
    with pytest.raises(ValueError, match="severity"):
        Finding("x", None, None, "m", None, "fatal")  # type: ignore[arg-type]


moments = st.datetimes(timezones=st.sampled_from([UTC, timezone(timedelta(hours=8))]))
texts = st.text(max_size=20)
run_findings = st.builds(
    Finding,
    rule=st.text(min_size=1, max_size=20),
    element=st.none() | texts,
    actor=st.none() | texts,
    message=texts,
    at=st.none() | moments,
    severity=st.sampled_from(SEVERITIES),
)


@given(run_findings)
def test_a_run_time_finding_reads_back_as_written(f: Finding) -> None:
    back = Finding.from_dict(f.to_dict())
    assert back == f
    assert back.at is None or back.at.utcoffset() == f.at.utcoffset()  # type: ignore[union-attr]


@pytest.mark.parametrize(
    "doc",
    [
        [],
        {"rule": ""},
        {"rule": 3},
        {"rule": "once", "task": 4},
        {"rule": "once", "message": None},
        {"rule": "once", "severity": "fatal"},
        {"rule": "once", "at": "2026-10-09T09:00:00"},  # no time zone
        {"rule": "once", "at": "yesterday"},
    ],
)
def test_a_saved_finding_that_was_not_written_so_is_refused(doc: object) -> None:
    with pytest.raises(ValueError):
        Finding.from_dict(doc)


def test_a_registry_runs_every_check_once_and_collects_every_finding() -> None:
    reg: Registry[int] = Registry("test", {"even": "warning"}, default="error")
    calls: list[str] = []

    @reg.register("even", "small")  # one check, two ids
    def parity(n: int) -> Iterator[Finding]:
        calls.append("parity")
        if n % 2 == 0:
            yield reg.finding("even", f"{n} is even", element=str(n))
        if n < 10:
            yield reg.finding("small", f"{n} is small")

    @reg.register("big", severity="info")
    def big(n: int) -> Iterator[Finding]:
        if n > 1:
            yield reg.finding("big", "big")

    found = reg.run(4)
    assert calls == ["parity"]
    assert [(f.rule, f.severity) for f in found] == [("even", "warning"), ("small", "error"), ("big", "info")]
    assert reg.severity == {"even": "warning", "small": "error", "big": "info"}


def test_a_registry_without_a_default_refuses_an_undeclared_id() -> None:
    reg: Registry[int] = Registry("strict", {"known": "error"})
    with pytest.raises(KeyError, match="no severity"):
        reg.register("unknown")
    with pytest.raises(KeyError, match="unknown rule id"):
        reg.finding("unknown", "m")
    with pytest.raises(ValueError):
        reg.declare("", "error")
    with pytest.raises(ValueError):
        reg.declare("x", "fatal")  # type: ignore[arg-type]
    assert "known" in reg and "unknown" not in reg


def test_validate_findings_carry_the_severity_their_rule_declares() -> None:
    text = (
        '<definitions xmlns="http://www.omg.org/spec/BPMN/20100524/MODEL" id="d" targetNamespace="t">'
        '<process id="p" isExecutable="true"><startEvent id="s"/><userTask id="t1"/><userTask id="lost"/>'
        '<endEvent id="e"/><sequenceFlow id="f1" sourceRef="s" targetRef="t1"/>'
        '<sequenceFlow id="f2" sourceRef="t1" targetRef="e"/></process></definitions>'
    )
    found = validate_string(text, filename="x.bpmn")
    assert {"unreachable", "no-posts"} <= {f.rule for f in found}
    for f in found:
        assert isinstance(f, Finding)
        assert f.severity == STATIC.severity[f.rule]
        assert f.file == "x.bpmn"
