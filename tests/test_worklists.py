"""待办 and 已办 (issue 17, item 1): who may do each ready step now, indexed when the case is saved.

Who is expected on each list is worked out from the organisation file and the process (posts, units, 五不直接分管,
回避, 不相容岗位分离), never copied from the code's output.
"""

from __future__ import annotations

import contextlib
import sqlite3
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings

from approvalflow import FakeClock, load_organisation, load_process, organisation_from_dict, start_case
from approvalflow.engine.case import Case
from approvalflow.errors import InvalidInputError, StepRefused
from approvalflow.rules.checks import RULES, StepAttempt, step_units
from approvalflow.store.base import CaseStore, CollectingStore, IndexProblem, StoreError
from approvalflow.store.cases import add_case, complete_step, load_case_from, save_case
from approvalflow.store.check import check_store, reindex_store
from approvalflow.store.factory import open_store
from approvalflow.store.index import record_of
from approvalflow.store.sqlite import SqliteStore
from approvalflow.store.worklists import KNOWN_BEFORE, who_may
from approvalflow.testing.strategies import Walk, walks

from .conftest import LICENSING, MARKET_ORG
from .store_support import store  # noqa: F401  (the fixture)

PROCESS = load_process(LICENSING)
ORG = load_organisation(MARKET_ORG)
START = "2026-09-28T09:00:00+08:00"  # a Monday, a working day
COUNTERSIGN = Path(__file__).parent / "data" / "countersign"


def org_with(conflicts: dict[str, list[str]] | None = None, **changes: Any) -> Any:
    """The market bureau of tests/data/market_bureau.yaml, with people changed or added, and a second unit (and other
    declared conflicts of interest than liu's)."""
    people: dict[str, Any] = {
        "zhang": {"unit": "market-bureau", "posts": ["principal", "leader"]},
        "li": {"unit": "market-bureau", "posts": ["deputy", "leader"]},
        "zhao": {"unit": "market-bureau", "posts": ["deputy", "leader"]},
        "sun": {"unit": "market-bureau", "posts": ["deputy", "leader"]},
        "wang": {"unit": "market-bureau", "posts": ["clerk"]},
        "chen": {"unit": "market-bureau", "posts": ["clerk"]},
        "liu": {"unit": "market-bureau", "posts": ["reviewer"]},
        "zhou": {"unit": "market-bureau", "posts": ["reviewer", "clerk"]},
        "hu": {"unit": "tax-bureau", "posts": ["reviewer", "clerk", "deputy"]},  # another unit: never on these lists
    }
    people.update(changes)
    return organisation_from_dict(
        {
            "units": [
                {"id": "market-bureau", "principal": "zhang",
                 "deputies": {"li": ["approval", "procurement"], "zhao": ["finance"], "sun": ["engineering"]}},
                {"id": "tax-bureau", "principal": "hu"},
            ],
            "people": people,
            "conflicts": {"liu": ["某建筑工程有限公司"]} if conflicts is None else conflicts,
        }
    )  # fmt: skip


def started(
    org: Any = ORG, applicant: str = "某餐饮有限公司", policy: str = "enforce", case_id: str | None = None
) -> Case:
    return start_case(PROCESS, org, unit="market-bureau", clock=FakeClock(START), data={"applicant": applicant},
                      policy=policy, case_id=case_id)  # fmt: skip


def to_review(case: Case, clerk: str = "wang") -> Case:
    case.complete("receive", clerk, data={"materials_complete": True}, at="2026-09-28T10:00:00+08:00")
    case.complete("accept", clerk, at="2026-09-28T11:00:00+08:00")
    return case


def to_decide(case: Case) -> Case:
    to_review(case)
    case.complete("review", "zhou", data={"needs_extension": False, "needs_hearing": False},
                  at="2026-09-29T10:00:00+08:00")  # fmt: skip
    return case


def people_for(case: Case) -> dict[str, tuple[str, ...]]:
    return {r.id: who_may(case, r) for r in case.ready_steps()}


# -- who may do a ready step ---------------------------------------------------------------------------------------
def test_the_clerks_of_the_unit_see_the_first_step_and_nobody_else() -> None:
    # receive: posts="clerk"; the market bureau's clerks are wang, chen and zhou (hu is a clerk of another unit)
    assert people_for(started(org_with())) == {"receive": ("chen", "wang", "zhou")}


def test_a_recused_person_is_left_off() -> None:
    # review: posts="reviewer" (liu, zhou); liu declared a conflict with 某建筑工程有限公司 (回避)
    assert people_for(to_review(started(org_with(), applicant="某建筑工程有限公司"))) == {"review": ("zhou",)}
    assert people_for(to_review(started(org_with()))) == {"review": ("liu", "zhou")}


def test_separation_of_duties_leaves_off_who_did_the_step_to_keep_apart() -> None:
    # review is af:separateFrom accept: zhou (clerk and reviewer) accepted, so only liu may review
    assert people_for(to_review(started(org_with()), clerk="zhou")) == {"review": ("liu",)}


def test_the_head_is_left_off_a_five_domain_step_even_holding_its_post() -> None:
    # decide: posts="deputy", domain="approval"; zhang is the principal (五不直接分管) though he now holds 'deputy'
    org = org_with(zhang={"unit": "market-bureau", "posts": ["principal", "leader", "deputy"]})
    assert people_for(to_decide(started(org))) == {"decide": ("li", "sun", "zhao")}
    # under the record policy nothing is refused: everyone of the unit holding the post is on the list
    assert people_for(to_decide(started(org, policy="record"))) == {"decide": ("li", "sun", "zhang", "zhao")}


def test_what_a_rule_finds_for_one_candidate_is_not_taken_for_the_next() -> None:
    # the candidates are judged one after another on copies of one attempt; the head judged first (五不直接分管
    # keeps him off 'decide') must not keep off the deputies after him, nor a deputy judged first let the head on
    from approvalflow.store.worklists import _refused

    org = org_with(zhang={"unit": "market-bureau", "posts": ["principal", "leader", "deputy"]})
    case = to_decide(started(org))
    ready = next(r for r in case.ready_steps() if r.id == "decide")
    info = case.definition.steps["decide"]
    people = [org.people[p] for p in ("zhang", "li", "sun", "zhao")]
    assert [p.id for p in _refused(case, info, ready, people)] == ["li", "sun", "zhao"]
    assert [p.id for p in _refused(case, info, ready, people[::-1])] == ["zhao", "sun", "li"]


def test_a_case_whose_rules_replace_a_post_or_unit_rule_is_listed_by_its_own_rule() -> None:
    # the built-in unit and post rules (五不直接分管 among them) are read from keeps_off, kept per step and person; a
    # host that replaced one runs its own: here a rule that lets the head decide puts zhang on the list
    org = org_with(zhang={"unit": "market-bureau", "posts": ["principal", "leader", "deputy"]})
    rules: dict[str, Any] = {**RULES, "five-not-direct": lambda attempt: iter(())}
    case = start_case(PROCESS, org, unit="market-bureau", clock=FakeClock(START), data={"applicant": "某餐饮有限公司"},
                      rules=rules)  # fmt: skip
    assert people_for(to_decide(case)) == {"decide": ("li", "sun", "zhang", "zhao")}
    assert people_for(to_decide(started(org))) == {"decide": ("li", "sun", "zhao")}  # the built-in rule, kept


def test_cases_of_one_process_in_two_organisations_each_list_their_own_people() -> None:
    # what an organisation and a definition imply (who holds a step's posts, whom keeps_off keeps off it) is kept per
    # organisation object: a second organisation with the same ids but other posts is never answered from the first
    first = org_with()
    second = org_with(chen={"unit": "market-bureau", "posts": ["reviewer"]},  # no longer a clerk
                      zhang={"unit": "market-bureau", "posts": ["principal", "leader", "deputy"]})  # fmt: skip
    a, b = started(first), started(second)
    for _ in range(2):  # the second time from what the first kept
        assert people_for(a) == {"receive": ("chen", "wang", "zhou")}
        assert people_for(b) == {"receive": ("wang", "zhou")}
        assert [d.people for d in record_of(a, "{}").deadlines] == [("chen", "wang", "zhou")]
        assert [d.people for d in record_of(b, "{}").deadlines] == [("wang", "zhou")]
    # zhang holds 'deputy' in the second organisation only: 五不直接分管 keeps him off 'decide' there, and only the
    # deputies' post is on each list
    assert people_for(to_decide(a)) == {"decide": ("li", "sun", "zhao")}
    assert people_for(to_decide(b)) == {"decide": ("li", "sun", "zhao")}
    assert [d.people for d in record_of(b, "{}").deadlines if d.scope == "step"] == [("li", "sun", "zhang", "zhao")]
    assert [d.people for d in record_of(a, "{}").deadlines if d.scope == "step"] == [("li", "sun", "zhao")]


#: The market bureau with the head also holding 'deputy' (五不直接分管 then keeps him off 'decide'), zhou a reviewer and
#: a clerk (不相容岗位分离 between accept and review), liu in conflict with an applicant the walks may draw (回避).
HEAD_DEPUTY = org_with(zhang={"unit": "market-bureau", "posts": ["principal", "leader", "deputy"]})


def slow_who_may(case: Case, ready: Any) -> tuple[str, ...]:
    """Who may do ``ready`` by the definition: each candidate of the step's units and posts on whom no person rule
    (run as a rule, on an attempt of their own) finds anything."""
    info = case.definition.steps[ready.id]
    org = case.organisation
    units = step_units(info, case.unit.id)
    kept = []
    for person in org.people.values():
        if person.unit not in units or (info.posts and not person.posts & set(info.posts)):
            continue
        attempt = StepAttempt(info, person, case.unit, org, tuple(case.history), case.parties, ready.since, None,
                              {}, case.data, ready.since, case.calendar)  # fmt: skip
        if not any(list(case.rules[rule](attempt)) for rule in KNOWN_BEFORE if rule in case.rules):
            kept.append(person.id)
    return tuple(sorted(kept))


@settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(walks(PROCESS, HEAD_DEPUTY, unit="market-bureau", mode="break", breaks=2))
def test_who_may_is_who_no_person_rule_refuses_after_every_step(walk: Walk) -> None:
    case = start_case(PROCESS, HEAD_DEPUTY, unit=walk.unit, clock=FakeClock(walk.start), data=walk.data)
    for step in walk.steps:
        for ready in case.ready_steps():
            if ready.assignee is None:
                assert who_may(case, ready) == slow_who_may(case, ready), (ready.id, case.path)
        with contextlib.suppress(StepRefused):
            case.complete(step.task, step.actor, data=step.data, meeting=step.meeting, at=step.at)


def test_a_step_with_an_assignee_is_on_the_assignees_list_only() -> None:
    org = load_organisation(COUNTERSIGN / "org.yaml")
    case = start_case(load_process(COUNTERSIGN / "expert_review.bpmn"), org, clock=FakeClock("2026-06-01T09:00:00+08:00"),
                      data={"applicant": "宏达公司"})  # fmt: skip
    case.complete("receive", "clerk")
    # 会签 of the named experts li, zhao, sun: one instance each, each on its signer's list only
    rows = record_of(case, "{}").todo
    assert [(t.task, t.instance, t.person) for t in rows] == [
        ("expert_review", 0, "li"), ("expert_review", 1, "zhao"), ("expert_review", 2, "sun")
    ]  # fmt: skip
    case.complete("expert_review", "li")
    assert [(t.instance, t.person) for t in record_of(case, "{}").todo] == [(1, "zhao"), (2, "sun")]


def test_open_instances_are_listed_once_a_person_less_those_who_signed_the_round() -> None:
    from .test_countersign import load, received

    org = load_organisation(COUNTERSIGN / "org.yaml")
    loop = "<bpmn:multiInstanceLoopCharacteristics><bpmn:loopCardinality>n</bpmn:loopCardinality></bpmn:multiInstanceLoopCharacteristics>"
    case = received(load("", loop), org, n=2)  # two instances of 专家评审, no signer named; applicant 宏达公司
    # the experts of the bureau are chief, li, qian, sun and zhao; qian declared a conflict with 宏达公司 (回避)
    expected = ["chief", "li", "sun", "zhao"]
    assert [(t.instance, t.person) for t in record_of(case, "{}").todo] == [(None, p) for p in expected]
    case.complete("expert_review", "sun")  # sun signed one instance: not again in this round (signed-twice)
    assert [t.person for t in record_of(case, "{}").todo] == ["chief", "li", "zhao"]


def test_a_completed_case_has_no_todo_rows_and_keeps_its_done_rows() -> None:
    case = to_decide(started())
    case.complete("decide", "li", data={"approved": True}, at="2026-09-29T11:00:00+08:00")
    case.complete("deliver", "wang", at="2026-09-29T12:00:00+08:00")
    assert case.is_completed
    record = record_of(case, "{}")
    assert record.todo == ()
    assert [(d.person, d.task) for d in record.done] == [
        ("wang", "receive"), ("wang", "accept"), ("zhou", "review"), ("li", "decide"), ("wang", "deliver")
    ]  # fmt: skip


# -- the store's worklists -----------------------------------------------------------------------------------------
def test_todo_and_done_from_the_store(store: CaseStore) -> None:  # noqa: F811
    org = org_with()
    first = add_case(store, started(org, case_id="c1"))
    second = add_case(store, to_review(started(org, case_id="c2")))
    # receive's limit is 1 working day from Mon 2026-09-28 09:00: due at the end of Tue 2026-09-29
    items = store.todo("wang", at=datetime.fromisoformat("2026-09-28T12:00:00+08:00"))
    assert [(t.case_id, t.task, t.limit, str(t.deadline)) for t in items] == [("c1", "receive", "step", "2026-09-29")]
    assert items[0].level == "yellow"  # one working day left is the yellow (黄牌) day
    assert [t.task for t in store.todo("liu")] == ["review"] and store.todo("hu") == []
    later = store.todo("wang", at=datetime.fromisoformat("2026-10-09T09:00:00+08:00"))
    assert later[0].level == "red"  # past the deadline (the National Day holiday is between)
    assert [(d.case_id, d.task) for d in store.done("wang")] == [("c2", "accept"), ("c2", "receive")]
    assert store.done("wang")[0].status == "open"
    # wang receives c1 too: it joins his 已办 (most recent first) and c1's accept (clerks) replaces its receive
    stored = load_case_from(store, "c1", PROCESS, org)
    complete_step(store, stored, "receive", "wang", data={"materials_complete": True}, at="2026-09-30T09:00:00+08:00")
    at = datetime.fromisoformat("2026-09-30T10:00:00+08:00")
    for clerk in ("wang", "chen"):
        assert [(t.case_id, t.task) for t in store.todo(clerk, at=at)] == [("c1", "accept")]
    # zhou is a clerk and a reviewer. 2026's arrangement: 国庆 1 to 7 Oct off, Sat 10 Oct a working day. c1's accept
    # (1 working day from Wed 30 Sep) is due Thu 8 Oct; c2's review (8 working days from Mon 28 Sep: 29, 30 Sep,
    # 8, 9, 10, 12, 13, 14 Oct) is due Wed 14 Oct: accept comes first
    assert [(t.case_id, t.task, str(t.deadline)) for t in store.todo("zhou", at=at)] == [
        ("c1", "accept", "2026-10-08"), ("c2", "review", "2026-10-14")
    ]  # fmt: skip
    assert (store.done("wang")[0].case_id, store.done("wang")[0].task) == ("c1", "receive")
    assert store.get("c1").version == 2 and first.version == 1 and second.version == 1


def test_todo_is_ordered_by_deadline_then_since_and_pages(store: CaseStore) -> None:  # noqa: F811
    org = org_with()
    for n, day in enumerate(("2026-09-30", "2026-09-28", "2026-09-29")):
        case = start_case(PROCESS, org, unit="market-bureau", clock=FakeClock(f"{day}T09:00:00+08:00"),
                          data={"applicant": "某公司"}, case_id=f"c{n}")  # fmt: skip
        add_case(store, case)
    # each receive is due one working day after the case started: the earliest start comes first
    assert [t.case_id for t in store.todo("chen")] == ["c1", "c2", "c0"]
    assert [t.case_id for t in store.todo("chen", limit=2)] == ["c1", "c2"]
    assert [t.case_id for t in store.todo("chen", limit=2, offset=2)] == ["c0"]
    assert [t.case_id for t in store.todo("chen", offset=1)] == ["c2", "c0"]
    with pytest.raises(InvalidInputError, match="limit"):
        store.todo("chen", limit=0)
    with pytest.raises(InvalidInputError, match="offset"):
        store.done("chen", offset=-1)
    with pytest.raises(InvalidInputError, match="naive"):
        store.todo("chen", at=datetime(2026, 9, 28))
    for bad in ("", " chen"):
        with pytest.raises(InvalidInputError, match="person id"):
            store.done(bad)


def test_todo_json_has_the_fixed_keys() -> None:
    db = CollectingStore(open_store("memory:"))
    add_case(db, started(case_id="c1"))
    item = db.todo("wang", at=datetime.fromisoformat(START))[0].to_json()
    assert {"case", "task", "name", "ready_since", "deadline", "level"} <= set(item)
    # receive (1 working day) is due at the end of Tue 29 Sep; Mon 28 Sep is its last day but one: yellow (k = 1)
    assert item["case"] == "c1" and item["name"] == "收件" and item["level"] == "yellow"
    assert item["deadline"] == "2026-09-29"


# -- rows tied to the case row (SQLite) ------------------------------------------------------------------------------
def _saved(path: Path) -> SqliteStore:
    saved = SqliteStore(path)
    add_case(saved, to_review(started(case_id="c1")))
    return saved


def test_a_stale_todo_row_is_refused_or_listed_and_store_check_and_reindex_repair_it(tmp_path: Path) -> None:
    db = _saved(tmp_path / "cases.db")
    with sqlite3.connect(tmp_path / "cases.db") as conn:  # a row left from another version of the case
        conn.execute("UPDATE af_todo SET version = 7 WHERE person = 'liu'")
    with pytest.raises(StoreError, match="version 7, the case row is at version 1"):
        db.todo("liu")
    problems: list[IndexProblem] = []
    assert db.todo("liu", problems=problems) == [] and [p.table for p in problems] == ["af_todo"]
    assert [t.person for t in db.todo("zhou")] == ["zhou"]  # the others' rows still serve
    found = check_store(db, [PROCESS], [ORG])
    assert [(p.table, p.row) for p in found.problems] == [("af_todo", 0)]
    assert "version 7 (expected 1)" in found.problems[0].message
    assert reindex_store(db, [PROCESS], [ORG]).reindexed == 1
    assert [t.task for t in db.todo("liu")] == ["review"] and check_store(db, [PROCESS], [ORG]).ok
    db.close()


def test_rows_of_a_vanished_case_are_problems_and_reindex_removes_them(tmp_path: Path) -> None:
    db = _saved(tmp_path / "cases.db")
    with sqlite3.connect(tmp_path / "cases.db") as conn:
        conn.execute("DELETE FROM af_cases WHERE id = 'c1'")
    with pytest.raises(StoreError, match="a case the store does not have"):
        db.done("wang")
    assert {(p.table, p.case_id) for p in check_store(db, [PROCESS], [ORG]).problems} >= {
        ("af_todo", "c1"), ("af_done", "c1")
    }  # fmt: skip
    assert reindex_store(db, [PROCESS], [ORG]).orphans_removed > 0
    assert db.todo("liu") == [] and db.done("wang") == []
    db.close()


def test_a_damaged_todo_row_is_an_error_naming_the_column(tmp_path: Path) -> None:
    db = _saved(tmp_path / "cases.db")
    with sqlite3.connect(tmp_path / "cases.db") as conn:
        conn.execute("UPDATE af_todo SET ready_since = 'yesterday' WHERE person = 'liu'")
    with pytest.raises(StoreError, match=r"af_todo.*ready_since"):
        db.todo("liu")
    db.close()


# -- upgrading a schema-3 store ---------------------------------------------------------------------------------------
def _as_schema_3(path: Path) -> None:
    with sqlite3.connect(path) as conn:
        conn.execute("DROP TABLE af_todo")
        conn.execute("DROP TABLE af_done")
        conn.execute("UPDATE af_meta SET value = '3' WHERE key = 'schema'")


def test_a_schema_3_store_is_refused_naming_the_upgrade_then_upgraded_with_its_worklists(tmp_path: Path) -> None:
    from approvalflow.cli.main import main

    path = tmp_path / "cases.db"
    _saved(path).close()
    _as_schema_3(path)
    with pytest.raises(StoreError, match=r"schema version '3'.*store upgrade"):
        open_store(path)
    given = ["--process", str(LICENSING), "--org", str(MARKET_ORG)]
    assert main(["store", "upgrade", str(path), *given]) == 0
    db = open_store(path)
    try:
        assert [t.task for t in db.todo("liu")] == ["review"]
        assert [d.task for d in db.done("wang")] == ["accept", "receive"]
    finally:
        db.close()
    assert main(["store", "check", str(path), *given]) == 0


def test_the_schema_2_fixture_upgrades_with_its_worklists(tmp_path: Path) -> None:
    import shutil

    from approvalflow.cli.main import main

    from .conftest import ROOT

    path = tmp_path / "old.db"
    shutil.copyfile(Path(__file__).parent / "data" / "stores" / "schema2_03e87db.db", path)
    given = ["--process", str(ROOT / "processes" / "licensing"), "--org", str(MARKET_ORG)]
    assert main(["store", "upgrade", str(path), *given]) == 0
    db = open_store(path)
    try:
        open_ids = set(db.ids("open"))
        todo = {t.case_id for person in ORG.people for t in db.todo(person)}
        assert todo == open_ids  # every open case of the fixture waits on a step somebody may do
        assert "lic-decide-refused" in {t.case_id for t in db.todo("li")}  # decide waits for the deputy
        assert "lic-decide-refused" not in {t.case_id for t in db.todo("zhang")}  # never the head (五不直接分管)
    finally:
        db.close()


# -- the command line ----------------------------------------------------------------------------------------------
def _cli_store(path: Path) -> Path:
    db = SqliteStore(path)
    add_case(db, to_review(started(case_id="c1")))
    add_case(db, started(case_id="c2"))
    db.close()
    return path


def test_todo_and_done_on_the_command_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    import json

    from approvalflow.cli.main import main

    db = str(_cli_store(tmp_path / "cases.db"))
    assert main(["todo", db, "--person", "zhou", "--json", "--at", "2026-09-28T12:00:00+08:00"]) == 0
    items = json.loads(capsys.readouterr().out)
    # zhou is a clerk (c2's receive, due Tue 29 Sep) and a reviewer (c1's review, due Wed 14 Oct)
    assert [(i["case"], i["task"], i["deadline"], i["level"]) for i in items] == [
        ("c2", "receive", "2026-09-29", "yellow"), ("c1", "review", "2026-10-14", None)
    ]  # fmt: skip
    assert main(["todo", db, "--person", "zhou", "--json", "--limit", "1", "--offset", "1"]) == 0
    assert [i["case"] for i in json.loads(capsys.readouterr().out)] == ["c1"]
    assert main(["todo", db, "--person", "zhou", "--at", "2026-09-28T12:00:00+08:00"]) == 0
    out = capsys.readouterr().out
    assert "2 items" in out and "yellow  2026-09-29" in out and "审查" in out
    assert main(["done", db, "--person", "wang", "--json"]) == 0
    done = json.loads(capsys.readouterr().out)
    assert [(d["case"], d["task"], d["status"]) for d in done] == [("c1", "accept", "open"), ("c1", "receive", "open")]
    assert main(["done", db, "--person", "wang"]) == 0
    assert "已办 of wang: 2 items" in capsys.readouterr().out
    assert main(["todo", db, "--person", "nobody", "--json"]) == 0 and capsys.readouterr().out.strip() == "[]"


def test_the_command_line_refuses_bad_input(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from approvalflow.cli.main import main

    db = str(_cli_store(tmp_path / "cases.db"))
    missing = tmp_path / "none.db"
    assert main(["todo", str(missing), "--person", "zhou"]) == 2 and not missing.exists()
    assert "no such case store" in capsys.readouterr().err
    assert main(["todo", db, "--person", "zhou", "--at", "yesterday"]) == 2
    assert "--at: " in capsys.readouterr().err
    assert main(["todo", db, "--person", "zhou", "--at", "2026-09-28T12:00:00"]) == 2  # no offset: refused
    capsys.readouterr()
    assert main(["todo", db, "--person", " "]) == 2 and "not a person id" in capsys.readouterr().err
    for bad in (["--limit", "0"], ["--limit", "x"], ["--offset", "-1"]):
        with pytest.raises(SystemExit) as exc:
            main(["done", db, "--person", "wang", *bad])
        assert exc.value.code == 2
    assert "is not a whole number" in capsys.readouterr().err


def test_rows_that_do_not_tie_are_left_out_with_exit_1(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from approvalflow.cli.main import main

    db = _cli_store(tmp_path / "cases.db")
    with sqlite3.connect(db) as conn:
        conn.execute("UPDATE af_done SET version = 9 WHERE case_id = 'c1' AND seq = 0")
    assert main(["done", str(db), "--person", "wang", "--json"]) == 1
    captured = capsys.readouterr()
    assert '"accept"' in captured.out and '"receive"' not in captured.out
    assert "af_done row 0" in captured.err and "store check" in captured.err


def test_a_suspended_or_withdrawn_case_is_on_nobodys_list(store: CaseStore) -> None:  # noqa: F811
    case = to_review(started())
    stored = add_case(store, case)
    # review waits for a reviewer: liu and zhou hold the post (liu's conflict is with another company)
    assert {e.person for p in ("liu", "zhou") for e in store.todo(p)} == {"liu", "zhou"}
    case.suspend("li", reason="等待检验报告", basis="行政许可法第四十五条", at="2026-09-29T09:00:00+08:00")
    save_case(store, stored)
    assert store.todo("liu") == [] and store.todo("zhou") == []  # 中止: nothing can be done now
    case.resume("li", at="2026-09-30T09:00:00+08:00")
    save_case(store, stored)
    assert [e.task for e in store.todo("zhou")] == ["review"]
    case.withdraw("wang", reason="申请人撤回申请", at="2026-09-30T10:00:00+08:00")
    save_case(store, stored)
    assert store.todo("zhou") == [] and store.get(case.id).status == "withdrawn"
    assert [e.task for e in store.done("wang")] == ["accept", "receive"]  # 已办 stays, the latest first
