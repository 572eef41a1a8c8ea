"""A standing proxy's 待办 (委托): the steps the principal holds, on the proxy's list within the proxy's period.

The licensing process in the market bureau of tests/data/market_bureau.yaml: 决定 (decide) is done by a deputy
(posts ``deputy``) in the approval domain; li is the deputy holding approval, sun and zhao the other deputies, zhang
the principal (五不直接分管: never on an approval-domain step). li claims 决定 and goes on leave; sun stands in for
him. Who is expected on each list is worked out from the organisation and the process, never copied from the code.
"""

from __future__ import annotations

import json
import sqlite3
import tempfile
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from approvalflow import FakeClock, StepRefused, load_process, organisation_from_dict, start_case
from approvalflow.engine.case import Case
from approvalflow.org.organisation import Organisation
from approvalflow.store.base import CaseStore, StoreError, TodoEntry
from approvalflow.store.cases import add_case, load_case_from, save_case
from approvalflow.store.check import check_store, reindex_store
from approvalflow.store.index import record_of
from approvalflow.store.memory import MemoryStore
from approvalflow.store.sql import todo_from_row, todo_rows
from approvalflow.store.sqlite import SqliteStore

from .conftest import LICENSING, MARKET_ORG
from .store_support import store  # noqa: F401  (the fixture)

PROCESS = load_process(LICENSING)
START = "2026-09-28T09:00:00+08:00"  # a Monday, a working day
#: li's leave: from Wed 30 Sep 2026 00:00 (included) to Fri 2 Oct 2026 00:00 (excluded), Shanghai time
LEAVE_START = "2026-09-30T00:00:00+08:00"
LEAVE_END = "2026-10-02T00:00:00+08:00"
LEAVE = {"principal": "li", "proxy": "sun", "start": LEAVE_START, "end": LEAVE_END, "reason": "年假"}


def moment(text: str) -> datetime:
    return datetime.fromisoformat(text)


def org_of(*proxies: dict[str, Any], conflicts: dict[str, list[str]] | None = None) -> Organisation:
    raw: dict[str, Any] = yaml.safe_load(MARKET_ORG.read_text(encoding="utf-8"))
    raw["proxies"] = list(proxies)
    if conflicts is not None:
        raw["conflicts"] = conflicts
    return organisation_from_dict(raw)


def claimed_by_li(org: Organisation, *, policy: str = "enforce", case_id: str = "c1") -> Case:
    """决定 ready (收件, 受理 by wang, 审查 by zhou) and claimed by li on Tue 29 Sep at 11:00."""
    case = start_case(PROCESS, org, unit="market-bureau", clock=FakeClock(START), data={"applicant": "某餐饮有限公司"},
                      policy=policy, case_id=case_id)  # fmt: skip
    case.complete("receive", "wang", data={"materials_complete": True}, at="2026-09-28T10:00:00+08:00")
    case.complete("accept", "wang", at="2026-09-28T11:00:00+08:00")
    case.complete("review", "zhou", data={"needs_extension": False, "needs_hearing": False},
                  at="2026-09-29T10:00:00+08:00")  # fmt: skip
    case.claim("decide", "li", at="2026-09-29T11:00:00+08:00")
    return case


def proxy_rows(case: Case) -> list[tuple[str, str, str | None, datetime | None, datetime | None]]:
    return [(t.person, t.task, t.on_behalf_of, t.valid_from, t.valid_to) for t in record_of(case, "{}").todo]


# -- the rows the index computes -----------------------------------------------------------------------------------
def test_a_held_step_gives_its_holders_proxy_a_row_with_the_period() -> None:
    case = claimed_by_li(org_of(LEAVE))
    assert proxy_rows(case) == [
        ("li", "decide", None, None, None),  # li's own item: no principal, no period
        ("sun", "decide", "li", moment(LEAVE_START), moment(LEAVE_END)),
    ]


def test_an_open_step_gives_no_proxy_row() -> None:
    # before li claims 决定 it is open to every deputy allowed (li, sun, zhao): sun is there in his own name
    case = claimed_by_li(org_of(LEAVE))
    case.unclaim("decide", "li", at="2026-09-29T12:00:00+08:00")
    assert proxy_rows(case) == [(p, "decide", None, None, None) for p in ("li", "sun", "zhao")]


@pytest.mark.parametrize(
    ("limits", "listed"),
    [
        ({"posts": ["clerk"]}, False),  # 决定 names the post deputy, not clerk
        ({"posts": ["clerk", "deputy"]}, True),
        ({"processes": ["some-other-process"]}, False),
        ({"processes": [PROCESS.id]}, True),
        ({"posts": ["deputy"], "processes": ["some-other-process"]}, False),
    ],
)
def test_a_proxy_limited_to_other_posts_or_processes_gets_no_row(limits: dict[str, Any], listed: bool) -> None:
    case = claimed_by_li(org_of({**LEAVE, **limits}))
    assert [t.person for t in record_of(case, "{}").todo] == (["li", "sun"] if listed else ["li"])


def test_a_proxy_a_known_rule_refuses_gets_no_row_under_enforce_only() -> None:
    # sun declared a conflict with the applicant (回避): as himself he may not decide this case
    conflicts = {"sun": ["某餐饮有限公司"]}
    assert [t.person for t in record_of(claimed_by_li(org_of(LEAVE, conflicts=conflicts)), "{}").todo] == ["li"]
    # zhang, the principal, may never handle an approval-domain step (五不直接分管), by proxy or not
    zhang = {**LEAVE, "proxy": "zhang"}
    assert [t.person for t in record_of(claimed_by_li(org_of(zhang)), "{}").todo] == ["li"]
    # wang is a clerk: he does not borrow li's deputy post
    wang = {**LEAVE, "proxy": "wang"}
    assert [t.person for t in record_of(claimed_by_li(org_of(wang)), "{}").todo] == ["li"]
    # under record nothing is refused: both are listed, for li
    recorded = claimed_by_li(org_of(LEAVE, zhang, conflicts=conflicts), policy="record")
    assert [(t.person, t.on_behalf_of) for t in record_of(recorded, "{}").todo] == [
        ("li", None), ("sun", "li"), ("zhang", "li")
    ]  # fmt: skip


def test_a_step_returned_to_its_doer_gives_proxies_no_row() -> None:
    case = claimed_by_li(org_of(LEAVE))
    case.complete("decide", "li", data={"approved": True}, at="2026-09-29T14:00:00+08:00")
    case.take_back("decide", "li", reason="意见写错", at="2026-09-29T15:00:00+08:00")  # 撤回: li's again
    decide = next(r for r in case.ready_steps() if r.id == "decide")
    assert (decide.assignee, decide.held) == ("li", "returned")
    assert proxy_rows(case) == [("li", "decide", None, None, None)]


def test_a_delegated_step_gives_the_delegates_proxy_a_row() -> None:
    # li delegates 决定 to zhao (委派); zhao is the one who acts, and sun stands in for zhao (not for li)
    for_zhao = {**LEAVE, "principal": "zhao"}
    case = claimed_by_li(org_of(LEAVE, for_zhao))
    case.delegate("decide", "li", "zhao", reason="请提出意见", at="2026-09-29T12:00:00+08:00")
    assert [(t.person, t.on_behalf_of) for t in record_of(case, "{}").todo] == [("zhao", None), ("sun", "zhao")]


def test_periods_of_one_proxy_that_touch_are_joined_and_a_past_one_is_left_out() -> None:
    first = {**LEAVE, "end": "2026-10-01T00:00:00+08:00"}
    second = {**LEAVE, "start": "2026-10-01T00:00:00+08:00"}  # starts where the first ends: one period
    over = {**LEAVE, "start": "2026-09-20T00:00:00+08:00", "end": "2026-09-25T00:00:00+08:00"}  # before 决定 was ready
    case = claimed_by_li(org_of(second, over, first))
    assert proxy_rows(case)[1:] == [("sun", "decide", "li", moment(LEAVE_START), moment(LEAVE_END))]


# -- the store's 待办 --------------------------------------------------------------------------------------------------
def test_the_proxy_sees_the_step_only_within_the_period(store: CaseStore) -> None:  # noqa: F811
    add_case(store, claimed_by_li(org_of(LEAVE)))
    before = moment("2026-09-29T23:59:59+08:00")  # the last second before the leave
    assert store.todo("sun", at=before) == []
    for inside in (LEAVE_START, "2026-10-01T12:00:00+08:00", "2026-10-01T23:59:59.999999+08:00"):
        items = store.todo("sun", at=moment(inside))
        assert [(t.case_id, t.task, t.on_behalf_of) for t in items] == [("c1", "decide", "li")]
        assert items[0].to_json()["on_behalf_of"] == "li"
    assert store.todo("sun", at=moment(LEAVE_END)) == []  # the end is excluded
    # li's own item is there all along, with no principal
    for at in (before, moment(LEAVE_START), moment(LEAVE_END)):
        mine = store.todo("li", at=at)
        assert [(t.task, t.on_behalf_of) for t in mine] == [("decide", None)]
        assert mine[0].to_json()["on_behalf_of"] is None


def test_a_proxy_row_keeps_the_order_and_paging(store: CaseStore) -> None:  # noqa: F811
    org = org_of(LEAVE)
    add_case(store, claimed_by_li(org, case_id="c1"))
    other = claimed_by_li(org, case_id="c2")
    other.unclaim("decide", "li", at="2026-09-29T12:00:00+08:00")  # open: sun may do it in his own name
    add_case(store, other)
    at = moment("2026-09-30T09:00:00+08:00")
    # both wait since 29 Sep (c1 claimed at 11:00 but ready since 10:00 like c2): same deadline, then the case id
    assert [(t.case_id, t.on_behalf_of) for t in store.todo("sun", at=at)] == [("c1", "li"), ("c2", None)]
    assert [t.case_id for t in store.todo("sun", at=at, limit=1, offset=1)] == ["c2"]
    assert [t.case_id for t in store.todo("sun", at=moment(LEAVE_END))] == ["c2"]


def test_the_proxy_completes_the_step_and_the_lists_follow(tmp_path: Path) -> None:
    org = org_of(LEAVE)
    db = SqliteStore(tmp_path / "cases.db")
    add_case(db, claimed_by_li(org))
    at = moment("2026-09-30T09:00:00+08:00")
    assert [t.task for t in db.todo("sun", at=at)] == ["decide"]
    assert check_store(db, [PROCESS], [org]).ok
    stored = load_case_from(db, "c1", PROCESS, org)
    stored.case.complete("decide", "sun", data={"approved": True}, at=at)  # Case.complete, as li's proxy
    entry = stored.case.trail.entries[-1]
    assert (entry["action"], entry["actor"], entry["on_behalf_of"]) == ("complete", "sun", "li")
    assert stored.case.trail.verify().ok
    save_case(db, stored)
    assert db.todo("sun", at=at) == [] and db.todo("li", at=at) == []
    assert [t.task for t in db.todo("wang", at=at)] == ["deliver"]
    assert [(d.task, d.person) for d in db.done("sun")] == [("decide", "sun")]
    assert check_store(db, [PROCESS], [org]).ok
    db.close()


def test_store_check_compares_the_proxy_columns_and_reindex_repairs_them(tmp_path: Path) -> None:
    org = org_of(LEAVE)
    db = SqliteStore(tmp_path / "cases.db")
    add_case(db, claimed_by_li(org))
    with sqlite3.connect(tmp_path / "cases.db") as conn:  # the period stretched by hand
        conn.execute("UPDATE af_todo SET valid_to = valid_to + 86400000000 WHERE person = 'sun'")
    found = check_store(db, [PROCESS], [org])
    assert [(p.table, p.row) for p in found.problems] == [("af_todo", 1)]
    assert "valid_to" in found.problems[0].message
    assert reindex_store(db, [PROCESS], [org]).reindexed == 1
    assert check_store(db, [PROCESS], [org]).ok
    assert db.todo("sun", at=moment(LEAVE_END)) == []
    db.close()


def test_a_damaged_proxy_row_is_refused_by_name(tmp_path: Path) -> None:
    org = org_of(LEAVE)
    db = SqliteStore(tmp_path / "cases.db")
    add_case(db, claimed_by_li(org))
    at = moment("2026-09-30T09:00:00+08:00")
    for change, column in (
        ("valid_to = NULL", "on_behalf_of"),  # a principal without the whole period
        ("on_behalf_of = NULL", "on_behalf_of"),  # a period without a principal
        ("valid_to = valid_from", "valid_to"),  # an empty period
        ("on_behalf_of = 'sun'", "on_behalf_of"),  # standing in for oneself
        ("valid_from = 'x'", "valid_from"),  # not a moment
    ):
        with sqlite3.connect(tmp_path / "cases.db") as conn:
            conn.execute(f"UPDATE af_todo SET {change} WHERE person = 'sun'")
        if column != "valid_from":
            with pytest.raises(StoreError, match=column):
                db.todo("sun", at=at)
        found = check_store(db, [PROCESS], [org])
        assert [p.table for p in found.problems] == ["af_todo", "af_todo"]  # damaged, and not the computed row
        assert column in found.problems[0].message
        assert reindex_store(db, [PROCESS], [org]).reindexed == 1 and check_store(db, [PROCESS], [org]).ok
    db.close()


def test_todo_from_row_reads_back_what_todo_rows_wrote() -> None:
    rows = todo_rows(record_of(claimed_by_li(org_of(LEAVE)), "{}"), 1)
    assert [len(r) for r in rows] == [19, 19]
    back = [todo_from_row(r) for r in rows]
    assert [(t.person, t.on_behalf_of, t.valid_from, t.valid_to) for t in back] == [
        ("li", None, None, None), ("sun", "li", moment(LEAVE_START), moment(LEAVE_END))
    ]  # fmt: skip
    assert all(isinstance(t, TodoEntry) for t in back)


def test_the_command_line_marks_a_proxy_item(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from approvalflow.cli.main import main

    path = tmp_path / "cases.db"
    db = SqliteStore(path)
    add_case(db, claimed_by_li(org_of(LEAVE)))
    db.close()
    assert main(["todo", str(path), "--person", "sun", "--at", "2026-09-30T09:00:00+08:00", "--json"]) == 0
    items = json.loads(capsys.readouterr().out)
    assert [(i["task"], i["on_behalf_of"]) for i in items] == [("decide", "li")]
    assert main(["todo", str(path), "--person", "sun", "--at", "2026-09-30T09:00:00+08:00"]) == 0
    assert "代 li" in capsys.readouterr().out
    assert main(["todo", str(path), "--person", "sun", "--at", LEAVE_END, "--json"]) == 0
    assert json.loads(capsys.readouterr().out) == []


# -- property: the row is listed exactly when the period covers the moment -------------------------------------------
_BASE = moment("2026-09-29T12:00:00+08:00")  # after li claimed 决定


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.integers(-3000, 3000), st.integers(1, 3000), st.lists(st.integers(-4000, 7000), min_size=1, max_size=6))
def test_a_proxy_item_is_listed_exactly_when_its_period_covers_the_moment(
    start: int, length: int, asked: list[int]
) -> None:
    # periods and moments in minutes from _BASE; a period may begin before the step was ready (it still counts),
    # but one that ended by the moment it was (review done at 10:00 on 29 Sep, 120 minutes before _BASE) can never
    # be used on it and gives no row at all
    begin, end = _BASE + timedelta(minutes=start), _BASE + timedelta(minutes=start + length)
    ready = moment("2026-09-29T10:00:00+08:00")
    org = org_of({**LEAVE, "start": begin.isoformat(), "end": end.isoformat()})
    case = claimed_by_li(org)
    with tempfile.TemporaryDirectory() as folder:
        for db in (MemoryStore(), SqliteStore(Path(folder) / "cases.db")):
            add_case(db, case)
            for minutes in asked:
                at = _BASE + timedelta(minutes=minutes)
                listed = [t.on_behalf_of for t in db.todo("sun", at=at)]
                assert listed == (["li"] if begin <= at < end and end > ready else [])
                assert [t.on_behalf_of for t in db.todo("li", at=at)] == [None]
            db.close()


# -- signed steps (会签) -------------------------------------------------------------------------------------------------
COUNTERSIGN = Path(__file__).parent / "data" / "countersign"
YEAR = {"start": "2026-01-01T00:00:00+08:00", "end": "2027-01-01T00:00:00+08:00"}  # all of 2026


def countersign_org(*proxies: dict[str, Any]) -> Organisation:
    raw: dict[str, Any] = yaml.safe_load((COUNTERSIGN / "org.yaml").read_text(encoding="utf-8"))
    raw["proxies"] = list(proxies)
    return organisation_from_dict(raw)


def test_the_named_signers_instance_gives_no_proxy_row_even_under_record() -> None:
    # 专家评审 names its signers li, zhao and sun (one instance each): only li signs instance 0, so a proxy of li
    # could not sign it (not-signer, under either policy) and is not listed for it, even claimed
    org = countersign_org({"principal": "li", "proxy": "chief", **YEAR})
    case = start_case(load_process(COUNTERSIGN / "expert_review.bpmn"), org, clock=FakeClock("2026-06-01T09:00:00+08:00"),
                      data={"applicant": "宏达公司"}, policy="record")  # fmt: skip
    case.complete("receive", "clerk")
    case.claim("expert_review", "li", instance=0, at="2026-06-01T10:00:00+08:00")
    assert [(t.person, t.instance, t.on_behalf_of) for t in record_of(case, "{}").todo] == [
        ("li", 0, None), ("zhao", 1, None), ("sun", 2, None)
    ]  # fmt: skip


def test_a_claimed_open_instance_gives_the_proxy_a_row_for_it_until_the_proxy_signed() -> None:
    from .test_countersign import load, received

    org = countersign_org({"principal": "li", "proxy": "zhao", **YEAR})
    loop = "<bpmn:multiInstanceLoopCharacteristics><bpmn:loopCardinality>n</bpmn:loopCardinality></bpmn:multiInstanceLoopCharacteristics>"
    case = received(load("", loop), org, n=2)  # two instances, no signer named; qian is recused (宏达公司)
    case.claim("expert_review", "li", instance=0, at="2026-06-01T10:00:00+08:00")
    # instance 0 is li's (and zhao's for li); instance 1 is open to every expert allowed who has not signed, but li,
    # who signs his own (one instance a person in a round), and qian, recused: chief, sun and zhao. zhao may sign
    # either, not both
    rows = [(t.person, t.instance, t.on_behalf_of) for t in record_of(case, "{}").todo]
    assert rows == [("li", 0, None), ("zhao", 0, "li")] + [(p, None, None) for p in ("chief", "sun", "zhao")]
    case.complete("expert_review", "zhao", instance=1, at="2026-06-01T11:00:00+08:00")  # zhao signs the open one
    # one person signs one instance of a round (signed-twice): zhao may no longer sign li's for him
    assert [(t.person, t.instance, t.on_behalf_of) for t in record_of(case, "{}").todo] == [("li", 0, None)]


# -- property: the proxy is listed exactly when the engine lets them complete the step -------------------------------
_PEOPLE = ["zhang", "li", "zhao", "sun", "wang", "liu", "zhou"]


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.sampled_from(["li", "zhao"]),  # who holds 决定: li claims it, and may transfer it to zhao
    st.lists(
        st.tuples(
            st.sampled_from(["li", "zhao", "sun"]),  # principal
            st.sampled_from(_PEOPLE),  # proxy
            st.integers(-2, 2),  # start, days from Wed 30 Sep 00:00
            st.integers(1, 4),  # length in days
            st.sampled_from([[], ["deputy"], ["clerk"]]),  # posts
            st.sampled_from([[], [PROCESS.id], ["other"]]),  # processes
        ),
        min_size=1,
        max_size=4,
    ),
    st.sampled_from(["sun", "zhao", "li", "zhang", "wang", "liu"]),
    st.integers(0, 3 * 24 - 1),  # the moment asked, hours from Wed 30 Sep 00:00
    st.sampled_from(["enforce", "record"]),
)
def test_the_proxy_is_listed_exactly_when_the_completion_would_not_be_refused_for_who_acts(
    holder: str, declared: list[tuple[str, str, int, int, list[str], list[str]]], actor: str, hours: int, policy: str
) -> None:
    origin = moment(LEAVE_START)
    proxies = [
        {"principal": principal, "proxy": proxy, "start": (origin + timedelta(days=start)).isoformat(),
         "end": (origin + timedelta(days=start + days)).isoformat(), "posts": posts, "processes": processes}
        for principal, proxy, start, days, posts, processes in declared
        if principal != proxy
    ]  # fmt: skip
    case = claimed_by_li(org_of(*proxies), policy=policy)
    if holder != "li":
        case.transfer("decide", "li", holder, reason="出差", at="2026-09-29T11:30:00+08:00")
    at = origin + timedelta(hours=hours)
    db = MemoryStore()
    add_case(db, case)
    listed = [t for t in db.todo(actor, at=at) if t.on_behalf_of is not None]
    # ``claimed`` (not the holder nor a proxy of theirs) refuses under either policy; the rules known before the
    # completion refuse under enforce only
    who_acts = {"unauthorized", "other-unit", "five-not-direct", "separate-actors", "same-actor", "recusal"}
    try:
        rules = {f.rule for f in case.check("decide", actor, data={"approved": True}, at=at)}
    except StepRefused as exc:
        rules = set(exc.rules)
    allowed = "claimed" not in rules and (policy == "record" or not rules & who_acts)
    # the holder does it in their own name (no proxy item); anyone else only as a proxy of the holder
    expected = allowed and actor != holder
    event(f"listed: {expected}")
    assert [(t.task, t.on_behalf_of) for t in listed] == ([("decide", holder)] if expected else [])
