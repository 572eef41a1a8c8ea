"""Handing work on (issue 17 item 1 and 2): 签收 / 退签, 转办, 委派, 委托, 抄送, 催办, each under the rules.

The licensing process (收件 clerk -> 受理 clerk -> 审查 reviewer, separate from 受理 -> 决定 deputy, approval domain,
separate from 审查 -> 送达 clerk) in the market bureau: zhang is the principal (五不直接分管), li the deputy holding
approval, liu a reviewer with a declared conflict with 某建筑工程有限公司, zhou both reviewer and clerk.
"""

from __future__ import annotations

from typing import Any

import pytest

from approvalflow import FakeClock, StepRefused, load_organisation, load_process, organisation_from_dict, start_case
from approvalflow.engine.case import Case
from approvalflow.engine.persistence import dump_case, load_case
from approvalflow.engine.state import case_state
from approvalflow.errors import CaseFormatError, EngineError, InvalidInputError, OrganisationError, StepNotReady
from approvalflow.org.organisation import Organisation

from .conftest import LICENSING, MARKET_ORG

PROCESS = load_process(LICENSING)
ORG = load_organisation(MARKET_ORG)
START = "2026-09-28T09:00:00+08:00"  # a Monday


def opened(org: Organisation = ORG, *, applicant: str = "某餐饮有限公司", policy: str = "enforce") -> Case:
    """A case whose 收件 and 受理 are done by wang: 审查 is ready."""
    case = start_case(PROCESS, org, clock=FakeClock(START), data={"applicant": applicant}, policy=policy)
    case.complete("receive", "wang", data={"materials_complete": True}, at="2026-09-28T10:00:00+08:00")
    case.complete("accept", "wang", at="2026-09-28T11:00:00+08:00")
    return case


def reviewed(org: Organisation = ORG) -> Case:
    """审查 done by liu: 决定 is ready."""
    case = opened(org)
    case.complete("review", "liu", data={"needs_extension": False, "needs_hearing": False},
                  at="2026-09-29T10:00:00+08:00")  # fmt: skip
    return case


def refused(case: Case, operation: str, *args: Any, **kwargs: Any) -> list[str]:
    """The rule ids of a refused operation; the case is exactly as it was, the trail holds the refused attempt."""
    before, count = case_state(case), case.trail.count
    with pytest.raises(StepRefused) as exc:
        getattr(case, operation)(*args, **kwargs)
    assert case_state(case) == before
    assert case.trail.count == count + 1 and case.trail.entries[-1]["outcome"] == "refused"
    assert case.trail.entries[-1]["action"] == operation
    return list(exc.value.rules)


def held(case: Case, step: str) -> list[tuple[str | None, str | None, str | None]]:
    return [(r.assignee, r.held, r.owner) for r in case.ready_steps() if r.id == step]


# -- 签收 / 退签 -----------------------------------------------------------------------------------------------------
def test_a_claimed_step_is_completed_by_its_claimant_only() -> None:
    case = opened()
    assert held(case, "review") == [(None, None, None)]  # open to every reviewer
    assert case.claim("review", "zhou", at="2026-09-28T14:00:00+08:00") == []
    assert held(case, "review") == [("zhou", "claimed", None)]
    assert refused(case, "complete", "review", "liu", at="2026-09-28T15:00:00+08:00") == ["claimed"]
    assert refused(case, "claim", "review", "liu", at="2026-09-28T15:00:00+08:00") == ["claimed"]
    assert refused(case, "claim", "review", "zhou", at="2026-09-28T15:00:00+08:00") == ["claimed"]  # already his
    case.complete("review", "zhou", data={"needs_extension": False, "needs_hearing": False},
                  at="2026-09-28T16:00:00+08:00")  # fmt: skip
    assert case.path[-1] == "review" and case.history[-1].actor == "zhou"
    assert held(case, "decide") == [(None, None, None)]  # the holding ended with the step
    assert [e.action for e in case.handovers] == ["claim"]
    assert case.trail.verify().ok


def test_a_claim_is_refused_when_the_claimant_could_not_complete_the_step() -> None:
    case = opened(applicant="某建筑工程有限公司")
    # wang is a clerk, not a reviewer, and he accepted the case (审查 is separate from 受理)
    assert refused(case, "claim", "review", "wang") == ["unauthorized", "separate-actors"]
    assert refused(case, "claim", "review", "liu") == ["recusal"]  # his declared conflict with the applicant
    case = opened()
    case.complete("review", "liu", data={"needs_extension": False, "needs_hearing": False},
                  at="2026-09-28T14:00:00+08:00")  # fmt: skip
    # zhang is the principal: 五不直接分管 (and he holds no deputy post); liu reviewed, so he may not decide
    assert sorted(refused(case, "claim", "decide", "zhang")) == ["five-not-direct", "unauthorized"]
    assert refused(case, "claim", "decide", "liu") == ["unauthorized", "separate-actors"]


def test_separation_of_duties_keeps_the_acceptor_off_the_review() -> None:
    case = start_case(PROCESS, ORG, clock=FakeClock(START), data={"applicant": "某餐饮有限公司"})
    case.complete("receive", "zhou", data={"materials_complete": True})
    case.complete("accept", "zhou")  # zhou is reviewer and clerk: he accepted, so he may not review (不相容岗位分离)
    assert refused(case, "claim", "review", "zhou") == ["separate-actors"]


def test_unclaim_by_the_claimant_only() -> None:
    case = opened()
    assert refused(case, "unclaim", "review", "liu") == ["claimed"]  # nobody holds it
    case.claim("review", "liu")
    assert refused(case, "unclaim", "review", "zhou") == ["claimed"]
    assert case.unclaim("review", "liu") == []
    assert held(case, "review") == [(None, None, None)]
    case.complete("review", "zhou", data={"needs_extension": False, "needs_hearing": False},
                  at="2026-09-28T14:00:00+08:00")  # open again  # fmt: skip
    assert [(e.action, e.actor) for e in case.handovers] == [("claim", "liu"), ("unclaim", "liu")]
    done = [e["action"] for e in case.trail.entries if e["outcome"] != "refused"]
    assert done[-3:] == ["claim", "unclaim", "complete"]


def test_under_record_a_claim_that_breaks_a_rule_goes_through_with_its_finding() -> None:
    case = opened(policy="record")
    found = case.claim("review", "chen")  # a clerk
    assert [f.rule for f in found] == ["unauthorized"] and case.findings[-1].rule == "unauthorized"
    assert held(case, "review") == [("chen", "claimed", None)]
    assert case.trail.entries[-1]["outcome"] == "recorded"


def test_not_ready_and_unknown_people_are_refused_before_anything() -> None:
    case = opened()
    with pytest.raises(StepNotReady):
        case.claim("decide", "li")
    with pytest.raises(StepNotReady):
        case.claim("nothing", "li")
    before = case_state(case)
    with pytest.raises(InvalidInputError):
        case.transfer("review", "liu", "nobody", reason="休假")
    with pytest.raises(InvalidInputError):
        case.transfer("review", "liu", "zhou", reason="  ")
    assert case_state(case) == before


# -- 转办 ------------------------------------------------------------------------------------------------------------
def test_transfer_makes_the_receiver_the_holder() -> None:
    case = opened()
    case.claim("review", "liu")
    assert case.transfer("review", "liu", "zhou", reason="刘审查员出差", at="2026-09-28T14:00:00+08:00") == []
    assert held(case, "review") == [("zhou", "transferred", None)]
    assert refused(case, "complete", "review", "liu") == ["claimed"]  # the one who handed it on no longer may
    assert refused(case, "transfer", "review", "liu", "liu", reason="拿回") == ["claimed"]  # nor hand it on
    entry = next(e for e in case.trail.entries if e["action"] == "transfer")
    assert entry["data"] == {"to": "zhou", "reason": "刘审查员出差"} and entry["actor"] == "liu"
    case.complete("review", "zhou", data={"needs_extension": False, "needs_hearing": False},
                  at="2026-09-28T15:00:00+08:00")  # fmt: skip
    assert case.history[-1].actor == "zhou"


def test_transfer_is_refused_when_the_receiver_could_not_do_the_step() -> None:
    case = opened(applicant="某建筑工程有限公司")
    case.claim("review", "zhou")
    assert refused(case, "transfer", "review", "zhou", "chen", reason="r") == ["unauthorized"]  # a clerk
    assert refused(case, "transfer", "review", "zhou", "liu", reason="r") == ["recusal"]
    assert held(case, "review") == [("zhou", "claimed", None)]


def test_the_head_may_not_take_over_a_deputys_approval_step() -> None:
    # zhang also holds the deputy post here, so that only 五不直接分管 keeps him off 决定
    raw = _org_dict()
    raw["people"]["zhang"]["posts"] = ["principal", "leader", "deputy"]
    case = reviewed(organisation_from_dict(raw))
    case.claim("decide", "li")
    assert refused(case, "transfer", "decide", "li", "zhang", reason="李副局长请假") == ["five-not-direct"]
    assert refused(case, "delegate", "decide", "li", "zhang", reason="请局长把关") == ["five-not-direct"]
    assert case.transfer("decide", "li", "sun", reason="李副局长请假") == []


def test_an_open_step_is_transferred_only_by_someone_who_could_do_it() -> None:
    case = opened()
    assert refused(case, "transfer", "review", "chen", "zhou", reason="分派") == ["unauthorized"]  # a clerk
    case.transfer("review", "liu", "zhou", reason="分派")
    assert held(case, "review") == [("zhou", "transferred", None)]


def test_transfer_checks_separation_of_duties() -> None:
    case = start_case(PROCESS, ORG, clock=FakeClock(START), data={"applicant": "某餐饮有限公司"})
    case.complete("receive", "wang", data={"materials_complete": True})
    case.complete("accept", "zhou")
    case.claim("review", "liu")
    assert refused(case, "transfer", "review", "liu", "zhou", reason="r") == ["separate-actors"]


# -- 委派 ------------------------------------------------------------------------------------------------------------
def test_delegate_resolves_and_the_holder_completes() -> None:
    case = reviewed()
    assert case.delegate("decide", "li", "sun", reason="请孙副局长先审", at="2026-09-29T11:00:00+08:00") == []
    assert held(case, "decide") == [("sun", "delegated", "li")]  # sun acts now; li owns it
    assert refused(case, "complete", "decide", "zhao") == ["claimed"]
    assert refused(case, "unclaim", "decide", "li") == ["delegated"]
    assert refused(case, "transfer", "decide", "li", "zhao", reason="r") == ["delegated"]
    path = list(case.path)
    assert case.complete("decide", "sun", data={"suggestion": "准予"}, comment="材料齐全",
                         at="2026-09-29T14:00:00+08:00") == []  # fmt: skip
    assert case.path == path and "suggestion" not in case.data  # resolved, not completed: the step is back with li
    assert held(case, "decide") == [("li", "claimed", None)]
    resolved = case.handovers[-1]
    assert (resolved.action, resolved.actor, resolved.to) == ("resolve", "sun", "li")
    assert dict(resolved.data) == {"suggestion": "准予", "comment": "材料齐全"}
    assert refused(case, "complete", "decide", "sun") == ["claimed"]  # no longer his
    case.complete("decide", "li", at="2026-09-29T15:00:00+08:00")
    assert case.history[-1].actor == "li" and case.path[-1] == "decide"
    done = [e["action"] for e in case.trail.entries if e["outcome"] != "refused"]
    assert done[-3:] == ["delegate", "resolve", "complete"]
    assert case.trail.verify().ok


def test_a_delegate_is_checked_under_the_rules() -> None:
    case = reviewed()
    case.claim("decide", "li")
    assert refused(case, "delegate", "decide", "li", "liu", reason="r") == ["unauthorized", "separate-actors"]
    assert refused(case, "delegate", "decide", "li", "li", reason="r") == ["claimed"]  # to oneself


# -- 委托 (standing proxies) -----------------------------------------------------------------------------------------
def _org_dict(proxies: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    import yaml

    raw: dict[str, Any] = yaml.safe_load(MARKET_ORG.read_text(encoding="utf-8"))
    if proxies is not None:
        raw["proxies"] = proxies
    return raw


LEAVE = {"principal": "li", "proxy": "sun", "start": "2026-09-29T00:00:00+08:00",
         "end": "2026-10-09T00:00:00+08:00", "reason": "年假"}  # fmt: skip


def test_a_standing_proxy_does_the_principals_held_step_in_the_period() -> None:
    org = organisation_from_dict(_org_dict([LEAVE]))
    case = reviewed(org)
    case.claim("decide", "li", at="2026-09-29T11:00:00+08:00")
    assert refused(case, "complete", "decide", "zhao", at="2026-09-30T09:00:00+08:00") == ["claimed"]
    case.complete("decide", "sun", at="2026-09-30T09:00:00+08:00")  # in li's leave: sun stands in
    entry = case.trail.entries[-1]
    assert (entry["action"], entry["actor"], entry["on_behalf_of"]) == ("complete", "sun", "li")


def test_a_proxy_outside_the_period_or_the_posts_is_refused() -> None:
    late = {**LEAVE, "end": "2026-09-30T00:00:00+08:00"}
    case = reviewed(organisation_from_dict(_org_dict([late])))
    case.claim("decide", "li", at="2026-09-29T11:00:00+08:00")
    assert refused(case, "complete", "decide", "sun", at="2026-09-30T09:00:00+08:00") == ["claimed"]  # leave over
    other = {**LEAVE, "posts": ["clerk"]}  # stands in on clerks' steps only
    case = reviewed(organisation_from_dict(_org_dict([other])))
    case.claim("decide", "li", at="2026-09-29T11:00:00+08:00")
    assert refused(case, "complete", "decide", "sun", at="2026-09-30T09:00:00+08:00") == ["claimed"]


def test_a_proxy_is_judged_as_themselves() -> None:
    # the proxy zhang is the principal: standing in for li does not lift 五不直接分管 from him
    org = organisation_from_dict(_org_dict([{**LEAVE, "proxy": "zhang"}]))
    case = reviewed(org)
    case.claim("decide", "li", at="2026-09-29T11:00:00+08:00")
    assert "five-not-direct" in refused(case, "complete", "decide", "zhang", at="2026-09-30T09:00:00+08:00")


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"proxy": "nobody"}, "proxy 'nobody' is not among people"),
        ({"proxy": "li"}, "cannot stand in for themselves"),
        ({"end": "2026-09-01T00:00:00+08:00"}, "ends"),
        ({"start": "2026-09-29T00:00:00"}, "timezone"),
        ({"when": "x"}, "when"),
    ],
)
def test_bad_proxies_are_refused_naming_the_file(change: dict[str, Any], message: str) -> None:
    with pytest.raises(OrganisationError, match=message):
        organisation_from_dict(_org_dict([{**LEAVE, **change}]), file="org.yaml")


# -- 抄送, 催办 --------------------------------------------------------------------------------------------------------
def test_cc_is_recorded_and_kept() -> None:
    case = opened()
    notice = case.cc("liu", ["zhang", "li"], step="review", note="请阅", at="2026-09-28T14:00:00+08:00")
    assert case.ccs == [notice] and notice.to == ("zhang", "li") and notice.step == "review"
    entry = case.trail.entries[-1]
    assert (entry["action"], entry["actor"], entry["data"]) == ("cc", "liu", {"to": ["zhang", "li"], "note": "请阅"})
    before = case_state(case)
    for bad in ([], ["nobody"], "zhang"):
        with pytest.raises(InvalidInputError):
            case.cc("liu", bad)  # type: ignore[arg-type]
    with pytest.raises(InvalidInputError):
        case.cc("liu", ["li"], step="nothing")
    assert case_state(case) == before


def test_urge_names_who_holds_the_step() -> None:
    case = opened()
    assert case.urge("zhang", "review", at="2026-09-30T09:00:00+08:00").to == ()  # open: nobody holds it yet
    case.claim("review", "liu", at="2026-09-30T10:00:00+08:00")
    notice = case.urge("zhang", "review", note="请尽快", at="2026-10-08T09:00:00+08:00")
    assert notice.to == ("liu",) and len(case.urges) == 2
    assert case.trail.entries[-1]["data"] == {"to": ["liu"], "note": "请尽快"}
    with pytest.raises(StepNotReady):
        case.urge("zhang", "decide")


# -- 延时追责: the cards name the holder --------------------------------------------------------------------------------
def test_a_late_steps_card_names_its_holder() -> None:
    case = opened()
    # 审查 became ready on Mon 09-28 with 8 working days: 09-29, 09-30, then 10-09 (Fri), 10-10 (Sat, 调休 working),
    # 10-12..10-15: it ends with 10-15, so on 10-20 its card is red.
    unheld = [a for a in case.alerts("2026-10-20T09:00:00+08:00") if a.scope == "step"]
    assert [(a.task, a.level, a.responsible) for a in unheld] == [("review", "red", None)]
    assert "responsible" not in unheld[0].to_json()
    case.claim("review", "liu", at="2026-09-28T14:00:00+08:00")
    case.transfer("review", "liu", "zhou", reason="出差", at="2026-09-29T09:00:00+08:00")
    held_card = next(a for a in case.alerts("2026-10-20T09:00:00+08:00") if a.scope == "step")
    assert held_card.responsible == "zhou" and held_card.to_json()["responsible"] == "zhou"
    case.delegate("review", "zhou", "liu", reason="协助", at="2026-09-29T10:00:00+08:00")
    card = next(a for a in case.alerts("2026-10-20T09:00:00+08:00") if a.scope == "step")
    assert card.responsible == "zhou"  # the delegator still answers for the step


# -- saved cases -----------------------------------------------------------------------------------------------------
def test_handovers_survive_a_save_and_a_hostile_saved_holding_is_refused() -> None:
    case = reviewed()
    case.claim("decide", "li")
    case.delegate("decide", "li", "sun", reason="先审")
    case.cc("li", ["zhang"])
    case.urge("zhang", "decide")
    text = dump_case(case)
    again = load_case(text, PROCESS, ORG)
    assert case_state(again) == case_state(case)
    assert held(again, "decide") == [("sun", "delegated", "li")]
    assert [e.action for e in again.handovers] == ["claim", "delegate"] and len(again.ccs) == len(again.urges) == 1
    import json

    doc = json.loads(text)
    key = next(iter(doc["handover"]["holdings"]))
    doc["handover"]["holdings"][key]["holder"] = "mallory"
    with pytest.raises(CaseFormatError):
        load_case(json.dumps(doc, ensure_ascii=False), PROCESS, ORG)


def test_a_case_that_never_handed_anything_on_saves_no_handover_key() -> None:
    case = reviewed()
    assert "handover" not in case_state(case)


def test_check_answers_for_a_held_step_and_changes_nothing() -> None:
    case = opened()
    case.claim("review", "zhou", at="2026-09-28T14:00:00+08:00")
    before, count = case_state(case), case.trail.count
    assert [f.rule for f in case.check("review", "liu", at="2026-09-28T15:00:00+08:00")] == ["claimed"]
    assert case.check("review", "zhou", at="2026-09-28T15:00:00+08:00") == []
    assert case_state(case) == before and case.trail.count == count


def test_a_failure_inside_an_operation_puts_the_holdings_back() -> None:
    case = opened()
    case.claim("review", "liu", at="2026-09-28T14:00:00+08:00")
    before, holdings = case_state(case), dict(case._holdings)

    class Failing(list[Any]):
        def append(self, item: Any) -> None:
            raise RuntimeError("disk full")

    case.handovers = Failing(case.handovers)
    with pytest.raises(EngineError):
        case.transfer("review", "liu", "zhou", reason="出差", at="2026-09-28T15:00:00+08:00")
    assert case._holdings == holdings and case_state(case) == before
    assert case.trail.entries[-1]["outcome"] == "engine-error" and case.trail.verify().ok


@pytest.mark.parametrize(
    "corrupt",
    [
        lambda h: h.update(holdings=[]),
        lambda h: h.update(extra=1),
        lambda h: next(iter(h["holdings"].values())).update(kind="owned"),
        lambda h: next(iter(h["holdings"].values())).update(since="2026-09-28T14:00:00"),
        lambda h: next(iter(h["holdings"].values())).update(step="deliver"),
        lambda h: h["log"][0].update(action="steal"),
        lambda h: h["ccs"].append(
            {"kind": "cc", "actor": "li", "to": ["nobody"], "step": None, "at": START, "note": None}
        ),
        lambda h: h["urges"].append(
            {"kind": "urge", "actor": "li", "to": [], "step": "nothing", "at": START, "note": None}
        ),
    ],
)
def test_a_hostile_saved_handover_is_refused_field_by_field(corrupt: Any) -> None:
    import json

    from approvalflow.engine.state import apply_state

    case = opened()
    case.claim("review", "liu", at="2026-09-28T14:00:00+08:00")
    case.cc("li", ["zhang"], at="2026-09-28T14:10:00+08:00")
    doc = json.loads(dump_case(case))
    apply_state(opened(), doc)  # as saved: accepted
    corrupt(doc["handover"])
    with pytest.raises(ValueError, match="handover"):  # (load_case would refuse it as a CaseFormatError)
        apply_state(opened(), doc)


def test_a_bad_instance_is_refused() -> None:
    case = opened()
    with pytest.raises(InvalidInputError, match="instance"):
        case.claim("review", "liu", instance=-1)


def test_a_holder_who_stands_in_for_their_delegate_completes_rather_than_resolves() -> None:
    # found by the property test: sun holds 决定 and delegated it to li, for whom sun is the standing proxy;
    # sun's completion is the holder's decision (the pending delegation ends unresolved), not a resolve for li
    org = organisation_from_dict(_org_dict([{**LEAVE, "start": "2026-09-28T00:00:00+08:00"}]))
    case = reviewed(org)
    case.claim("decide", "sun", at="2026-09-29T11:00:00+08:00")
    case.delegate("decide", "sun", "li", reason="请李副局长把关", at="2026-09-29T11:10:00+08:00")
    case.complete("decide", "sun", at="2026-09-29T11:20:00+08:00")
    assert case.path[-1] == "decide" and case.history[-1].actor == "sun"
    assert [e.action for e in case.handovers] == ["claim", "delegate"]
