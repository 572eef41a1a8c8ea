"""Migrating running cases between deployed versions: plans, dry runs, what is applied, what is refused."""

from __future__ import annotations

import json
import re
import shutil
import sqlite3
import tempfile
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from approvalflow import FakeClock, Organisation, load_organisation
from approvalflow.cli.main import main
from approvalflow.engine.migration import check_plan, migrate_case, plan_from, read_plan
from approvalflow.engine.state import case_state
from approvalflow.errors import DefinitionError, StepRefused
from approvalflow.store import open_store
from approvalflow.store.base import CaseStore
from approvalflow.store.cases import complete_step, load_case_from, start_deployed
from approvalflow.store.migrate import migrate_store
from approvalflow.store.registry import deploy, stored_definition

from .conftest import DATA, MARKET_ORG
from .registry_support import permit, write

MONDAY = "2026-03-02T09:00:00+08:00"
THURSDAY = "2026-03-05T09:00:00+08:00"
ORDER = ("accept", "review", "decide")
WHO = {"accept": "wang", "review": "liu", "decide": "li"}


@pytest.fixture(scope="module")
def org() -> Organisation:
    return load_organisation(MARKET_ORG)


def with_inspection(text: str) -> str:
    """The permit process with a new step 'inspect' between review and decide, which decide requires."""
    text = text.replace('<bpmn:sequenceFlow id="f3" sourceRef="review" targetRef="decide"/>',
                        '<bpmn:sequenceFlow id="f3" sourceRef="review" targetRef="inspect"/>'
                        '<bpmn:sequenceFlow id="f3b" sourceRef="inspect" targetRef="decide"/>')  # fmt: skip
    text = text.replace("<bpmn:incoming>f3</bpmn:incoming><bpmn:outgoing>f4", "<bpmn:incoming>f3b</bpmn:incoming>"
                        "<bpmn:outgoing>f4")  # fmt: skip
    inspect = (
        '<bpmn:userTask id="inspect"><bpmn:extensionElements><af:step posts="reviewer"/></bpmn:extensionElements>'
        "<bpmn:incoming>f3</bpmn:incoming><bpmn:outgoing>f3b</bpmn:outgoing></bpmn:userTask>\n"
    )
    return text.replace('    <bpmn:endEvent id="end">', inspect + '    <bpmn:endEvent id="end">')


def fill(store: CaseStore, org: Organisation, done: dict[str, int], version: int = 1) -> None:
    """Start each case on ``version`` (default 1) and complete its first ``done[case]`` steps."""
    for case_id, n in done.items():
        stored = start_deployed(store, "permit", org, case_id=case_id, clock=FakeClock(MONDAY), version=version)
        for k, step in enumerate(ORDER[:n]):
            complete_step(store, stored, step, WHO[step], at=f"2026-03-02T1{k}:00:00+08:00")


def rows(db: Path) -> list[str]:
    """Every row of every table of the store, as SQL text."""
    with sqlite3.connect(db) as conn:
        return list(conn.iterdump())


def two_versions(tmp_path: Path, second: str) -> tuple[Path, CaseStore]:
    db = tmp_path / "s.db"
    store = open_store(db)
    deploy(store, [write(tmp_path, "v1.bpmn", permit(promised=10))], at=MONDAY)
    deploy(store, [write(tmp_path, "v2.bpmn", second)], at=MONDAY)
    return db, store


RENAMED = permit(promised=15, review="check")  # review is 'check' now, and the promise 15 working days
PLAN = {"process": "permit", "from": 1, "to": 2, "steps": {"review": "check"}}


def test_a_dry_run_reports_and_changes_nothing_then_the_migration_does_exactly_that(
    tmp_path: Path, org: Organisation
) -> None:
    db, store = two_versions(tmp_path, RENAMED)
    fill(store, org, {"c0": 0, "c1": 1, "c2": 2, "done": 3})
    before = rows(db)
    plan = plan_from(PLAN)
    dry = migrate_store(store, plan, [org], dry_run=True, at=THURSDAY)
    assert rows(db) == before
    assert [c.case for c in dry.cases] == ["c0", "c1", "c2"]  # the completed case is not open
    assert [c.outcome for c in dry.cases] == ["would-migrate"] * 3
    assert [c.steps for c in dry.cases] == [{"accept": "accept"}, {"review": "check"}, {"decide": "decide"}]
    # 10 working days after Monday 2 March 2026: 16 March; 15: 17-20 and 23 March. Statutory (20) is unchanged.
    assert all(c.deadlines == {"promised": ["2026-03-16", "2026-03-23"]} for c in dry.cases)
    done = migrate_store(store, plan, [org], at=THURSDAY, actor="admin")
    assert [c.to_json() | {"outcome": "x"} for c in done.cases] == [c.to_json() | {"outcome": "x"} for c in dry.cases]
    assert [c.outcome for c in done.cases] == ["migrated"] * 3
    v1, v2 = stored_definition(store, "permit", 1), stored_definition(store, "permit", 2)
    assert store.get("done").digest == v1.digest  # a completed case stays on its version
    for c, waiting in zip(done.cases, (["accept"], ["check"], ["decide"]), strict=True):
        case = load_case_from(store, c.case, None, org).case
        assert case.definition.digest == v2.digest and store.get(c.case).digest == v2.digest
        assert [r.id for r in case.ready_steps()] == waiting
        assert str(case.deadlines(THURSDAY)).startswith("promised 2026-03-23")
        entry = case.trail.entries[-1]
        assert (entry["action"], entry["outcome"], entry["actor"]) == ("migrate", "migrated", "admin")
        assert entry["data"]["from"] == {"version": 1, "digest": v1.digest}
        assert entry["data"]["to"] == {"version": 2, "digest": v2.digest}
        assert case.trail.verify().ok
    c2 = load_case_from(store, "c2", None, org)
    assert [h.step for h in c2.case.history] == ["accept", "check"]  # renamed through the plan
    complete_step(store, c2, "decide", "li", at="2026-03-06T10:00:00+08:00")
    assert c2.case.is_completed
    assert migrate_store(store, plan, [org], at=THURSDAY).cases == []  # nothing left on version 1


def test_the_report_names_the_cards_a_shorter_limit_raises_now(tmp_path: Path, org: Organisation) -> None:
    db = tmp_path / "s.db"
    store = open_store(db)
    deploy(store, [write(tmp_path, "v1.bpmn", permit(promised=15))])
    deploy(store, [write(tmp_path, "v2.bpmn", permit(promised=10))])
    fill(store, org, {"c1": 1})
    # On Monday 16 March 2026 at 10:00: version 1's promise ends 23 March (no card yet); version 2's ends today,
    # within the one working day of warning: a yellow card for the case's promised limit.
    report = migrate_store(store, plan_from({"process": "permit", "from": 1, "to": 2}), [org],
                           dry_run=True, at="2026-03-16T10:00:00+08:00")  # fmt: skip
    [c] = report.cases
    assert c.deadlines == {"promised": ["2026-03-23", "2026-03-16"]}
    assert [(k["level"], k["scope"], k["limit"]) for k in c.cards] == [("yellow", "case", "promised")]


def state_of(store: CaseStore, case_id: str) -> tuple[str, int]:
    record = store.get(case_id)
    return record.state, record.version


def test_cases_that_cannot_migrate_are_refused_by_name_and_left_untouched(tmp_path: Path, org: Organisation) -> None:
    _, store = two_versions(tmp_path, with_inspection(permit(promised=10, requires="inspect")))
    fill(store, org, {"c0": 0, "c1": 1, "c2": 2})
    kept = {c: state_of(store, c) for c in ("c0", "c1", "c2")}
    report = migrate_store(store, plan_from({"process": "permit", "from": 1, "to": 2}), [org], at=THURSDAY)
    outcome = {c.case: (c.outcome, c.reason) for c in report.cases}
    assert outcome["c0"][0] == outcome["c1"][0] == "migrated"
    assert outcome["c2"][0] == "refused"
    assert "requires 'inspect' before 'decide'" in str(outcome["c2"][1])
    assert state_of(store, "c2") == kept["c2"]
    assert state_of(store, "c1") != kept["c1"]


def test_a_waiting_or_completed_step_without_counterpart_is_refused(tmp_path: Path, org: Organisation) -> None:
    _, store = two_versions(tmp_path, RENAMED)
    fill(store, org, {"c1": 1, "c2": 2})
    report = migrate_store(store, plan_from({"process": "permit", "from": 1, "to": 2}), [org], at=THURSDAY)
    reasons = {c.case: c.reason for c in report.cases}
    assert "step 'review' has no counterpart in version 2" in str(reasons["c1"])
    assert "completed step 'review' has no counterpart" in str(reasons["c2"])
    assert {c.outcome for c in report.cases} == {"refused"}


@pytest.mark.parametrize(
    ("folder", "bpmn", "orgfile", "steps", "reason"),
    [
        ("timers", "review.bpmn", MARKET_ORG, [("accept", "wang")], "timer"),
        ("countersign", "expert_review.bpmn", DATA / "countersign" / "org.yaml", [("receive", "clerk")],
         "multi-instance round of 'expert_review'"),
        ("calls", "main.bpmn", MARKET_ORG, [("review", "liu")], "call activity or sub-process 'hearing' is running"),
    ],
)  # fmt: skip
def test_shapes_that_cannot_move_correctly_are_refused_not_approximated(
    tmp_path: Path, folder: str, bpmn: str, orgfile: Path, steps: list[tuple[str, str]], reason: str
) -> None:
    shutil.copytree(DATA / folder, tmp_path / "v1")
    shutil.copytree(DATA / folder, tmp_path / "v2")
    v2 = tmp_path / "v2" / bpmn
    text = v2.read_text(encoding="utf-8")
    changed = re.sub(r"(<bpmn:process [^>]*>)", r"\1<bpmn:documentation>v2</bpmn:documentation>", text, count=1)
    v2.write_text(changed, encoding="utf-8")
    organisation = load_organisation(orgfile)
    db = tmp_path / "s.db"
    store = open_store(db)
    [d1], [d2] = deploy(store, [tmp_path / "v1" / bpmn]), deploy(store, [v2])
    assert (d1.version, d2.version) == (1, 2)
    stored = start_deployed(store, d1.process, organisation, case_id="x", clock=FakeClock(MONDAY), version=1)
    for step, actor in steps:
        complete_step(store, stored, step, actor, at="2026-03-02T10:00:00+08:00")
    before = rows(db)
    report = migrate_store(store, plan_from({"process": d1.process, "from": 1, "to": 2}), [organisation], at=THURSDAY)
    [c] = report.cases
    assert c.outcome == "refused" and reason in str(c.reason)
    assert rows(db) == before


def test_a_bad_plan_is_refused_naming_file_and_line_before_any_case(tmp_path: Path, org: Organisation) -> None:
    db, store = two_versions(tmp_path, permit(review="check", review_kind="manualTask"))
    fill(store, org, {"c1": 1})
    before = rows(db)
    plan = write(tmp_path, "plan.yaml", "process: permit\nfrom: 1\nto: 2\nsteps:\n  review: check\n")
    with pytest.raises(DefinitionError, match=r"plan\.yaml:5.*a userTask cannot become a manualTask"):
        migrate_store(store, read_plan(plan), [org], at=THURSDAY)
    bad = {
        "process: permit\nfrom: 1\nto: 1\n": r"plan\.yaml:3.*same version",
        "process: permit\nfrom: one\nto: 2\n": r"plan\.yaml:2.*'from' must be a version number",
        "process: permit\nfrom: 1\nto: 2\nsteps:\n  review: [a]\n": r"plan\.yaml:5.*each pair maps",
        "process: permit\nfrom: 1\nto: 2\nmapping: {}\n": r"unknown key 'mapping'",
        "- a list\n": "a migration plan is a mapping",
    }
    for text, message in bad.items():
        with pytest.raises(DefinitionError, match=message):
            read_plan(write(tmp_path, "plan.yaml", text))
    v1, v2 = stored_definition(store, "permit", 1), stored_definition(store, "permit", 2)
    with pytest.raises(DefinitionError, match=r"'nothing' is no step of version 1"):
        check_plan(plan_from({"process": "permit", "from": 1, "to": 2, "steps": {"nothing": "check"}}), v1, v2)
    assert rows(db) == before


def _many(tmp_path: Path, org: Organisation, n: int) -> None:
    """``n`` open cases on version 1 (a third at each step), some on version 2 and completed ones: every open case
    of version 1 is reported once; those at 'decide' are refused (version 2 requires 'inspect' first), the others
    move; none is lost."""
    _, store = two_versions(tmp_path, with_inspection(permit(promised=15, requires="inspect")))
    stored = [
        start_deployed(store, "permit", org, case_id=f"c{i:05d}", clock=FakeClock(MONDAY), version=1) for i in range(n)
    ]
    for i, s in enumerate(stored):
        for k, step in enumerate(ORDER[: i % 3]):
            complete_step(store, s, step, WHO[step], at=f"2026-03-02T1{k}:00:00+08:00")
    fill(store, org, {"other": 1}, version=2)
    fill(store, org, {"closed": 3}, version=1)
    kept = {f"c{i:05d}": state_of(store, f"c{i:05d}") for i in range(n) if i % 3 == 2}
    report = migrate_store(store, plan_from({"process": "permit", "from": 1, "to": 2}), [org], at=THURSDAY)
    assert sorted(c.case for c in report.cases) == [f"c{i:05d}" for i in range(n)]
    v2 = stored_definition(store, "permit", 2).digest
    for c in report.cases:
        if int(c.case[1:]) % 3 == 2:
            assert c.outcome == "refused" and "requires 'inspect'" in str(c.reason)
            assert state_of(store, c.case) == kept[c.case]
        else:
            assert c.outcome == "migrated" and store.get(c.case).digest == v2
    assert report.count("migrated") == n - len(kept) and report.count("refused") == len(kept)
    assert store.count() == n + 2


def test_a_few_hundred_open_cases_each_reported_none_lost(tmp_path: Path, org: Organisation) -> None:
    _many(tmp_path, org, 300)


@pytest.mark.slow
def test_ten_thousand_open_cases_each_reported_none_lost(tmp_path: Path, org: Organisation) -> None:
    _many(tmp_path, org, 10_000)


@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    done=st.lists(st.integers(0, 3), min_size=1, max_size=5),
    second=st.sampled_from(["renamed", "inspection", "same"]),
    pairs=st.sampled_from([{}, {"review": "check"}, {"accept": "check"}]),
    hour=st.integers(0, 23 * 20),
)
def test_a_dry_run_never_changes_the_store(
    done: list[int], second: str, pairs: dict[str, str], hour: int, org: Organisation
) -> None:
    texts = {
        "renamed": RENAMED,
        "inspection": with_inspection(permit(promised=5, requires="inspect")),
        "same": permit(statutory=30),
    }
    folder = Path(tempfile.mkdtemp())
    try:
        db, store = two_versions(folder, texts[second])
        fill(store, org, {f"c{i}": n for i, n in enumerate(done)}, version=1)
        before = rows(db)
        plan = plan_from({"process": "permit", "from": 1, "to": 2, "steps": pairs})
        at = f"2026-03-{3 + hour // 24:02d}T{hour % 24:02d}:00:00+08:00"
        try:
            report: Any = migrate_store(store, plan, [org], dry_run=True, at=at)
        except DefinitionError:
            report = None  # a plan that does not fit the versions: refused before any case
        assert rows(db) == before
        if report is not None:
            assert sorted(c.case for c in report.cases) == sorted(f"c{i}" for i, n in enumerate(done) if n < 3)
            assert report.count("migrated") == 0
        store.close()
    finally:
        shutil.rmtree(folder)


def test_cli_migrate(tmp_path: Path, org: Organisation, capsys: pytest.CaptureFixture[str]) -> None:
    db, store = two_versions(tmp_path, RENAMED)
    fill(store, org, {"c1": 1, "c2": 2})
    store.close()
    plan = write(tmp_path, "plan.yaml", "process: permit\nfrom: 1\nto: 2\nsteps:\n  review: check\n")
    before = rows(db)
    args = ["migrate", str(db), "--plan", str(plan), "--org", str(MARKET_ORG), "--at", THURSDAY]
    assert main([*args, "--dry-run"]) == 0
    out = capsys.readouterr().out
    assert "(dry run: nothing written): 2 open cases on version 1, 2 would migrate, 0 refused" in out
    assert "c1: would migrate: waits at review -> check; promised 2026-03-16 -> 2026-03-23" in out
    assert rows(db) == before
    assert main([*args, "--json", "--actor", "admin"]) == 0
    shown = json.loads(capsys.readouterr().out)
    assert shown["counts"]["migrated"] == 2 and [c["outcome"] for c in shown["cases"]] == ["migrated"] * 2
    assert main([*args]) == 0
    assert "0 open cases on version 1" in capsys.readouterr().out
    bad = write(tmp_path, "bad.yaml", "process: permit\nfrom: 1\nto: 9\n")
    assert main(["migrate", str(db), "--plan", str(bad), "--org", str(MARKET_ORG)]) == 2
    assert "has no version 9" in capsys.readouterr().err


def test_cli_migrate_exit_1_when_a_case_is_refused(
    tmp_path: Path, org: Organisation, capsys: pytest.CaptureFixture[str]
) -> None:
    db, store = two_versions(tmp_path, RENAMED)
    fill(store, org, {"c1": 1})
    store.close()
    plan = write(tmp_path, "plan.yaml", "process: permit\nfrom: 1\nto: 2\n")
    assert main(["migrate", str(db), "--plan", str(plan), "--org", str(MARKET_ORG), "--at", THURSDAY]) == 1
    assert "c1: refused: step 'review' has no counterpart in version 2" in capsys.readouterr().out


def test_a_case_waiting_on_two_parallel_steps_moves_and_runs_to_the_end(tmp_path: Path, org: Organisation) -> None:
    v1 = (DATA / "parallel.bpmn").read_text(encoding="utf-8")
    v2 = v1.replace('"hearing"', '"hearing2"').replace('steps="hearing inspection"', 'steps="hearing2 inspection"')
    store = open_store(tmp_path / "s.db")
    deploy(store, [write(tmp_path, "v1.bpmn", v1)])
    deploy(store, [write(tmp_path, "v2.bpmn", v2.replace('promised="10"', 'promised="12"'))])
    stored = start_deployed(store, "parallel", org, case_id="p", clock=FakeClock(MONDAY), version=1)
    complete_step(store, stored, "accept", "wang", at="2026-03-02T10:00:00+08:00")
    plan = plan_from({"process": "parallel", "from": 1, "to": 2, "steps": {"hearing": "hearing2"}})
    [c] = migrate_store(store, plan, [org], at=THURSDAY).cases
    assert (c.outcome, c.steps) == ("migrated", {"hearing": "hearing2", "inspection": "inspection"})
    again = load_case_from(store, "p", None, org)
    assert sorted(r.id for r in again.case.ready_steps()) == ["hearing2", "inspection"]
    assert [s.step for s in again.case.suspensions if s.end is None] == ["hearing", "inspection"]  # both still open
    complete_step(store, again, "inspection", "wang", at="2026-03-06T10:00:00+08:00")
    assert [r.id for r in again.case.ready_steps()] == ["hearing2"]  # the join waits for the other branch
    complete_step(store, again, "hearing2", "chen", at="2026-03-06T11:00:00+08:00")
    complete_step(store, again, "decide", "zhou", at="2026-03-06T15:00:00+08:00")
    assert again.case.is_completed and again.case.trail.verify().ok


def test_two_waiting_steps_that_follow_one_another_in_the_new_version_are_refused(
    tmp_path: Path, org: Organisation
) -> None:
    v1 = (DATA / "parallel.bpmn").read_text(encoding="utf-8")
    # version 2: hearing, then inspection, one after the other (no parallel gateway)
    v2 = (
        v1.replace('<bpmn:sequenceFlow id="fa" sourceRef="split" targetRef="hearing"/>',
                   '<bpmn:sequenceFlow id="fa" sourceRef="split" targetRef="hearing"/>'.replace("split", "accept"))
        .replace('<bpmn:sequenceFlow id="f2" sourceRef="accept" targetRef="split"/>', "")
        .replace('<bpmn:sequenceFlow id="fb" sourceRef="split" targetRef="inspection"/>',
                 '<bpmn:sequenceFlow id="fb" sourceRef="hearing" targetRef="inspection"/>')
        .replace('<bpmn:sequenceFlow id="fa2" sourceRef="hearing" targetRef="join"/>', "")
        .replace('<bpmn:sequenceFlow id="fb2" sourceRef="inspection" targetRef="join"/>',
                 '<bpmn:sequenceFlow id="fb2" sourceRef="inspection" targetRef="decide"/>')
    )  # fmt: skip
    v2 = re.sub(r'<bpmn:parallelGateway id="(split|join)">.*?</bpmn:parallelGateway>', "", v2)
    v2 = v2.replace(
        "<bpmn:outgoing>f2</bpmn:outgoing></bpmn:userTask>", "<bpmn:outgoing>fa</bpmn:outgoing></bpmn:userTask>"
    )
    v2 = v2.replace("<bpmn:incoming>fa</bpmn:incoming><bpmn:outgoing>fa2</bpmn:outgoing>",
                    "<bpmn:incoming>fa</bpmn:incoming><bpmn:outgoing>fb</bpmn:outgoing>")  # fmt: skip
    v2 = v2.replace("<bpmn:incoming>fb</bpmn:incoming><bpmn:outgoing>fb2</bpmn:outgoing>",
                    "<bpmn:incoming>fb</bpmn:incoming><bpmn:outgoing>fb2</bpmn:outgoing>")  # fmt: skip
    v2 = v2.replace("<bpmn:incoming>f3</bpmn:incoming><bpmn:outgoing>f4</bpmn:outgoing>",
                    "<bpmn:incoming>fb2</bpmn:incoming><bpmn:outgoing>f4</bpmn:outgoing>")  # fmt: skip
    v2 = v2.replace('<bpmn:sequenceFlow id="f3" sourceRef="join" targetRef="decide"/>', "")
    store = open_store(tmp_path / "s.db")
    deploy(store, [write(tmp_path, "v1.bpmn", v1)])
    deploy(store, [write(tmp_path, "v2.bpmn", v2)])
    stored = start_deployed(store, "parallel", org, case_id="p", clock=FakeClock(MONDAY), version=1)
    complete_step(store, stored, "accept", "wang", at="2026-03-02T10:00:00+08:00")
    before = state_of(store, "p")
    [c] = migrate_store(store, plan_from({"process": "parallel", "from": 1, "to": 2}), [org], at=THURSDAY).cases
    assert c.outcome == "refused" and "'hearing' and 'inspection' follow one another" in str(c.reason)
    assert state_of(store, "p") == before


def test_a_refused_migration_leaves_the_case_in_memory_as_it_was(tmp_path: Path, org: Organisation) -> None:
    _, store = two_versions(tmp_path, with_inspection(permit(promised=10, requires="inspect")))
    fill(store, org, {"c2": 2})
    case = load_case_from(store, "c2", None, org).case
    state, entries = case_state(case), len(case.trail.entries)
    result = migrate_case(case, plan_from({"process": "permit", "from": 1, "to": 2}),
                          stored_definition(store, "permit", 2), at=datetime.fromisoformat(THURSDAY))  # fmt: skip
    assert result.outcome == "refused"
    assert case_state(case) == state and len(case.trail.entries) == entries
    assert case.definition.digest == stored_definition(store, "permit", 1).digest


def test_a_waiting_step_keeps_the_moment_it_became_ready_under_its_new_limit(tmp_path: Path, org: Organisation) -> None:
    db = tmp_path / "s.db"
    store = open_store(db)
    deploy(store, [write(tmp_path, "v1.bpmn", permit(review_limit=5))])
    deploy(store, [write(tmp_path, "v2.bpmn", permit(review="check", review_limit=3))])
    fill(store, org, {"c1": 1})  # review ready since Monday 2 March 2026, 10:00
    plan = plan_from(PLAN)
    [c] = migrate_store(store, plan, [org], at=THURSDAY).cases
    # 5 working days after 2 March: 3, 4, 5, 6, 9 March; 3: 3, 4, 5 March
    assert c.deadlines == {"step check": ["2026-03-09", "2026-03-05"]}
    case = load_case_from(store, "c1", None, org).case
    assert [(r.id, r.since.isoformat()) for r in case.ready_steps()] == [("check", "2026-03-02T10:00:00+08:00")]


def test_a_step_moved_into_an_embedded_sub_process_cannot_be_placed(tmp_path: Path, org: Organisation) -> None:
    review = re.search(r"    <bpmn:userTask id=\"review\">.*?</bpmn:userTask>\n", permit(), re.S)
    assert review is not None
    inner = review.group(0).replace("<bpmn:incoming>f2</bpmn:incoming><bpmn:outgoing>f3</bpmn:outgoing>",
                                    "<bpmn:incoming>s1</bpmn:incoming><bpmn:outgoing>s2</bpmn:outgoing>")  # fmt: skip
    sub = (
        '    <bpmn:subProcess id="sub"><bpmn:incoming>f2</bpmn:incoming><bpmn:outgoing>f3</bpmn:outgoing>\n'
        '      <bpmn:startEvent id="s_start"><bpmn:outgoing>s1</bpmn:outgoing></bpmn:startEvent>\n'
        f"  {inner}"
        '      <bpmn:endEvent id="s_end"><bpmn:incoming>s2</bpmn:incoming></bpmn:endEvent>\n'
        '      <bpmn:sequenceFlow id="s1" sourceRef="s_start" targetRef="review"/>\n'
        '      <bpmn:sequenceFlow id="s2" sourceRef="review" targetRef="s_end"/>\n'
        "    </bpmn:subProcess>\n"
    )
    v2 = (
        permit()
        .replace(review.group(0), sub)
        .replace('sourceRef="accept" targetRef="review"', 'sourceRef="accept" targetRef="sub"')
        .replace('sourceRef="review" targetRef="decide"', 'sourceRef="sub" targetRef="decide"')
    )
    _, store = two_versions(tmp_path, v2)
    fill(store, org, {"c1": 1})
    before = state_of(store, "c1")
    [c] = migrate_store(store, plan_from({"process": "permit", "from": 1, "to": 2}), [org], at=THURSDAY).cases
    assert c.outcome == "refused" and "'review' is not on any path of the new version's top-level process" in str(
        c.reason
    )
    assert state_of(store, "c1") == before


def test_the_operations_records_follow_the_steps_through_a_migration(tmp_path: Path, org: Organisation) -> None:
    from approvalflow.store.cases import act

    _db, store = two_versions(tmp_path, RENAMED)
    fill(store, org, {"c1": 1})  # accept done by wang: review waits
    stored = load_case_from(store, "c1", None, org)
    act(store, stored, lambda case: case.claim("review", "liu", at="2026-03-03T09:00:00+08:00"))
    act(store, stored, lambda case: case.urge("wang", "review", note="请尽快", at="2026-03-03T10:00:00+08:00"))
    [c] = migrate_store(store, plan_from(PLAN), [org], at=THURSDAY).cases
    assert c.outcome == "migrated"
    case = load_case_from(store, "c1", None, org).case
    # review is 'check' now: liu still holds it (签收 follows the step), the urge names the new id
    [ready] = case.ready_steps()
    assert (ready.id, ready.assignee, ready.held) == ("check", "liu", "claimed")
    assert [(u.step, u.note) for u in case.urges] == [("check", "请尽快")]
    assert [h.step for h in case.handovers] == ["check"]
    # accept was completed on version 1: it cannot be taken back on version 2
    with pytest.raises(StepRefused):
        case.take_back("accept", "wang", reason="写错", at="2026-03-05T10:00:00+08:00")
    case.complete("check", "liu", at="2026-03-05T11:00:00+08:00")
    assert [r.id for r in case.ready_steps()] == ["decide"]


def _claim(case: Any, who: str) -> Any:
    return case.claim("review", who, at="2026-03-03T09:00:00+08:00")


def test_a_held_step_moves_only_if_its_holder_may_still_do_it(tmp_path: Path, org: Organisation) -> None:
    from functools import partial

    from approvalflow.store.cases import act

    # version 2: review is 'check', done by clerks now (liu is a reviewer only; zhou is both)
    _db, store = two_versions(tmp_path, RENAMED.replace('posts="reviewer"', 'posts="clerk"'))
    fill(store, org, {"held": 1, "held-by-zhou": 1, "open": 1})
    for case_id, who in (("held", "liu"), ("held-by-zhou", "zhou")):
        stored = load_case_from(store, case_id, None, org)
        act(store, stored, partial(_claim, who=who))
    before = store.get("held").state
    report = {c.case: c for c in migrate_store(store, plan_from(PLAN), [org], at=THURSDAY).cases}
    assert report["held"].outcome == "refused" and "held by liu" in (report["held"].reason or "")
    assert "unauthorized" in (report["held"].reason or "")
    assert store.get("held").state == before  # left untouched
    assert report["held-by-zhou"].outcome == "migrated" and report["open"].outcome == "migrated"
