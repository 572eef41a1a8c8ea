"""Property tests of handing work on (issue 17): random claim / unclaim / transfer / delegate / complete attempts by
random people on the licensing process. Every refused operation leaves the case state unchanged; every completion is
made by the step's holder (or its pending delegate, which resolves it instead); the trail verifies; a saved case
comes back the same."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import yaml
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from approvalflow import FakeClock, load_process, organisation_from_dict, start_case
from approvalflow.engine.persistence import dump_case, load_case
from approvalflow.engine.state import case_state
from approvalflow.errors import RunError, StepRefused

from .conftest import LICENSING, MARKET_ORG

PROCESS = load_process(LICENSING)
_RAW = yaml.safe_load(MARKET_ORG.read_text(encoding="utf-8"))
#: standing proxies for part of the walk (委托): zhou for liu all along, sun for li on the first day only
_RAW["proxies"] = [
    {"principal": "liu", "proxy": "zhou", "start": "2026-09-28T00:00:00+08:00", "end": "2026-10-10T00:00:00+08:00"},
    {"principal": "li", "proxy": "sun", "start": "2026-09-28T00:00:00+08:00", "end": "2026-09-29T00:00:00+08:00"},
]
ORG = organisation_from_dict(_RAW)
PEOPLE = ["wang", "chen", "liu", "zhou", "li", "zhao", "sun", "zhang"]
STEPS = ["receive", "accept", "review", "decide", "deliver"]
OPERATIONS = ["claim", "unclaim", "transfer", "delegate", "complete", "complete"]
DATA: dict[str, dict[str, Any]] = {
    "receive": {"materials_complete": True},
    "review": {"needs_extension": False, "needs_hearing": False},
}


@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.data(), st.integers(1, 40))
def test_random_handovers_keep_the_case_consistent(data: st.DataObject, count: int) -> None:
    clock = FakeClock("2026-09-28T09:00:00+08:00")
    applicant = data.draw(st.sampled_from(["某建筑工程有限公司", "某餐饮有限公司"]))  # liu must recuse from the first
    case = start_case(PROCESS, ORG, clock=clock, data={"applicant": applicant})
    for i in range(count):
        ready = [r.id for r in case.ready_steps()]
        from_ready = bool(ready) and data.draw(st.integers(0, 4)) > 0  # a ready step four times in five
        step = data.draw(st.sampled_from(ready if from_ready else STEPS))
        operation = data.draw(st.sampled_from(OPERATIONS))
        # people likely to matter (the step's holders and the holders of its posts) half the time, else anyone
        info = PROCESS.steps[step]
        likely = [p for r in case.ready_steps() if r.id == step for p in (r.assignee, r.owner) if p is not None]
        likely += [p.id for post in info.posts for p in ORG.holders(post)] + ["zhou", "sun"]
        pick = st.sampled_from(likely) if likely else st.sampled_from(PEOPLE)
        actor, to = (
            data.draw(st.one_of(pick, st.sampled_from(PEOPLE))),
            data.draw(st.one_of(pick, st.sampled_from(PEOPLE))),
        )
        at = case.started_at + timedelta(minutes=10 * (i + 1))
        before, path = case_state(case), list(case.path)
        holders = {r.id: (r.assignee, r.held, r.owner) for r in case.ready_steps()}
        try:
            if operation == "complete":
                case.complete(step, actor, data=DATA.get(step), at=at)
            elif operation in ("claim", "unclaim"):
                getattr(case, operation)(step, actor, at=at)
            else:
                getattr(case, operation)(step, actor, to, reason="随机", at=at)
        except StepRefused:
            assert case_state(case) == before  # refused: nothing changed but the trail
            assert case.trail.entries[-1]["outcome"] == "refused"
            continue
        except RunError:
            assert case_state(case) == before  # not ready, bad input...: nothing changed
            continue
        if operation == "complete" and len(case.path) > len(path):
            assignee, held, owner = holders[step]
            event(f"completed a {held or 'open'} step")
            if held is not None:  # a held step is completed by its holder only (a delegate's completion resolves it)
                holder = owner if held == "delegated" else assignee
                done = [e for e in case.trail.entries if e["action"] == "complete"][-1]
                assert actor == holder or done.get("on_behalf_of") == holder  # or by the holder's standing proxy
                if actor != holder:
                    event("a proxy completed a held step")
        elif operation == "complete":  # a resolve: the delegate gave the step back to its holder
            event("resolved a delegation")
            resolved = case.handovers[-1]
            assert resolved.action == "resolve" and holders[step][1] == "delegated"
            assert holders[step][0] in (actor, resolved.on_behalf_of)
            back = [(r.assignee, r.held) for r in case.ready_steps() if r.id == step]
            assert back in ([(holders[step][2], "claimed")], [(holders[step][2], "transferred")])
    assert case.trail.verify().ok
    again = load_case(dump_case(case), PROCESS, ORG)
    assert case_state(again) == case_state(case)
    assert [(r.id, r.assignee, r.held, r.owner) for r in again.ready_steps()] == [
        (r.id, r.assignee, r.held, r.owner) for r in case.ready_steps()
    ]
