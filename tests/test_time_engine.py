"""Deadlines, suspensions, the extension, overdue findings, alerts and time accounting of real cases.

Every expected date is derived by hand from the published 2026 arrangement (国务院办公厅): 中秋 Sep 25–27
off; 国庆 Oct 1–7 off with Sun Sep 20 and Sat Oct 10 worked. Weekends are off otherwise (and we keep
forgetting Sep 20: it is a working day).
"""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Any

import pytest

from approvalflow import FakeClock, StepRefused, dump_case, load_case, load_process, organisation_from_dict, start_case
from approvalflow.bpmn.loader import ProcessDefinition
from approvalflow.engine import Policy
from approvalflow.engine.case import Case
from approvalflow.errors import CalendarError
from approvalflow.org.organisation import Organisation
from approvalflow.time import ChinaCalendar
from approvalflow.time.caseclock import CaseDeadlines

from .conftest import DATA

ORG = organisation_from_dict(
    {
        "units": [{"id": "u", "principal": "boss"}],
        "people": {
            "boss": {"unit": "u", "posts": ["head"]},
            "c": {"unit": "u", "posts": ["clerk"]},
            "e": {"unit": "u", "posts": ["expert"]},
            "r": {"unit": "u", "posts": ["reviewer"]},
        },
    }
)


@pytest.fixture(scope="module")
def timed() -> ProcessDefinition:
    return load_process(DATA / "timed.bpmn")


def new_case(timed: ProcessDefinition, start: str = "2026-09-14T09:00:00+08:00", **kw: Any) -> Case:
    return start_case(timed, ORG, clock=FakeClock(start), **kw)


def days(d: CaseDeadlines | None) -> tuple[date, date]:
    assert d is not None and d.promised is not None and d.statutory is not None
    return (d.promised.day, d.statutory.day)


def promised_day(case: Case, at: str | None = None) -> date:
    d = case.deadlines(at)
    assert d is not None and d.promised is not None
    return d.promised.day


def test_no_case_deadline_before_the_clock_starts(timed: ProcessDefinition) -> None:
    case = new_case(timed)
    deadlines = case.deadlines()
    assert deadlines is not None
    assert (deadlines.promised, deadlines.statutory) == (None, None)


def test_spec_example_accepted_on_2026_09_28(timed: ProcessDefinition) -> None:
    # SPEC section 5: accepted 2026-09-28 (Mon); 10 working days: Sep 29, 30, Oct 8, 9, 10 (Sat, worked),
    # 12, 13, 14, 15, 16 -> Oct 16; 20: then Oct 19-23, 26-30 -> Oct 30.
    case = new_case(timed, start="2026-09-28T09:00:00+08:00")
    case.complete("accept", "c", at="2026-09-28T10:00:00+08:00", data={"expert": False})
    assert days(case.deadlines()) == (date(2026, 10, 16), date(2026, 10, 30))


def test_suspension_moves_both_case_deadlines(timed: ProcessDefinition) -> None:
    # Accepted Mon 2026-09-14. Without suspension, 10 working days: Sep 15-18 (4), Sun 20 (5, worked),
    # 21-24 (9), [25-27 off], 28 (10) -> Sep 28; 20: Sep 29, 30, Oct 8, 9, 10 (Sat, worked) (15), 12-16 (20)
    # -> Oct 16. The expert review is open from Sep 14 10:00 to Fri Sep 18 15:00: it removes the working days
    # after Sep 14 up to and including Sep 18, i.e. 4, so: promised Sep 28 + 4 = Sep 29, 30, Oct 8, 9 -> Oct 9;
    # statutory Oct 16 + 4 = Oct 19, 20, 21, 22 -> Oct 22.
    case = new_case(timed)
    case.complete("accept", "c", at="2026-09-14T10:00:00+08:00", data={"expert": True})
    case.complete("expert_review", "e", at="2026-09-18T15:00:00+08:00")
    assert days(case.deadlines()) == (date(2026, 10, 9), date(2026, 10, 22))
    [s] = case.suspensions
    assert (s.step, s.reason) == ("expert_review", "专家评审")


def test_open_suspension_counts_up_to_the_moment_asked(timed: ProcessDefinition) -> None:
    case = new_case(timed)
    case.complete("accept", "c", at="2026-09-14T10:00:00+08:00", data={"expert": True})
    # as of Wed Sep 16: Sep 15 and 16 suspended (2): promised Sep 28 + 2 = Sep 29, 30 -> Sep 30
    assert promised_day(case, "2026-09-16T12:00:00+08:00") == date(2026, 9, 30)


def test_extension_moves_both_deadlines_once(timed: ProcessDefinition) -> None:
    # Accepted Sep 28 -> Oct 16 / Oct 30 (above). +10 working days: Oct 19-23, 26-30 -> Oct 30;
    # Oct 30 + 10: Nov 2-6, 9-13 -> Nov 13.
    case = new_case(timed, start="2026-09-28T09:00:00+08:00")
    case.complete("accept", "c", at="2026-09-28T10:00:00+08:00", data={"expert": False})
    case.complete("review", "r", at="2026-10-09T10:00:00+08:00", data={"extend": True})
    case.complete("extend", "boss", at="2026-10-09T11:00:00+08:00")
    assert days(case.deadlines()) == (date(2026, 10, 30), date(2026, 11, 13))
    with pytest.raises(StepRefused) as info:
        case.complete("extend_again", "boss", at="2026-10-09T12:00:00+08:00")
    assert info.value.rules == ["extension"]
    assert days(case.deadlines()) == (date(2026, 10, 30), date(2026, 11, 13))


def test_extension_longer_than_allowed_is_a_finding(timed: ProcessDefinition) -> None:
    case = new_case(timed, start="2026-09-28T09:00:00+08:00", policy=Policy.RECORD)
    case.complete("accept", "c", at="2026-09-28T10:00:00+08:00", data={"expert": False})
    case.complete("review", "r", at="2026-10-09T10:00:00+08:00", data={"extend": True})
    found = case.complete("extend", "boss", at="2026-10-09T11:00:00+08:00", data={"extension_days": 15})
    assert [f.rule for f in found] == ["extension"]
    again = case.complete("extend_again", "boss", at="2026-10-09T12:00:00+08:00")
    assert [f.rule for f in again] == ["extension"]


def test_step_and_case_overdue_are_recorded_not_refused(timed: ProcessDefinition) -> None:
    case = new_case(timed, start="2026-09-28T09:00:00+08:00")
    case.complete("accept", "c", at="2026-09-28T10:00:00+08:00", data={"expert": False})
    # review: 3 working days from Sep 28 -> Sep 29, 30, Oct 8. Completed Oct 9: late by one working day.
    late = case.complete("review", "r", at="2026-10-09T10:00:00+08:00", data={"extend": False})
    assert [(f.rule, f.step, f.actor) for f in late] == [("step-overdue", "review", "r")]
    # decide: ready Oct 9 10:00, 2 working days -> Oct 10 (Sat, worked), Oct 12. Promised deadline Oct 16.
    # Completed Oct 19: the step (deadline Oct 12) and the promised limit (Oct 16) are passed, not the statutory.
    found = case.complete("decide", "boss", at="2026-10-19T09:00:00+08:00")
    assert [(f.rule, f.actor) for f in found] == [("step-overdue", "boss"), ("case-overdue", "boss")]
    assert "promised" in found[1].message and "2026-10-16" in found[1].message
    assert case.is_completed and case.ended_at is not None


def test_work_on_the_deadline_day_is_on_time(timed: ProcessDefinition) -> None:
    case = new_case(timed, start="2026-09-28T09:00:00+08:00")
    case.complete("accept", "c", at="2026-09-28T10:00:00+08:00", data={"expert": False})
    assert case.complete("review", "r", at="2026-10-08T23:59:00+08:00", data={"extend": False}) == []


def test_alerts_at_any_moment(timed: ProcessDefinition) -> None:
    case = new_case(timed, start="2026-09-28T09:00:00+08:00")
    case.complete("accept", "c", at="2026-09-28T10:00:00+08:00", data={"expert": False})
    # review's deadline is Oct 8 (above); the case's Oct 16 / Oct 30.
    # Sep 29: working days after it up to Oct 8 are Sep 30, Oct 8 = 2 > 1: no card.
    assert case.alerts("2026-09-29T12:00:00+08:00") == []
    # Sep 30: only Oct 8 is left (Oct 1-7 are off): yellow for the step.
    [a] = case.alerts("2026-09-30T12:00:00+08:00")
    assert (a.level, a.scope, a.limit, a.task, a.deadline.day) == (
        "yellow",
        "step",
        "step",
        "review",
        date(2026, 10, 8),
    )
    # Oct 9 00:00 Shanghai (Oct 8 16:00 UTC): the step is red.
    levels = [(x.level, x.scope, x.limit) for x in case.alerts("2026-10-08T16:00:00+00:00")]
    assert levels == [("red", "step", "step")]
    # Oct 15: promised Oct 16 has one working day left -> yellow; Oct 17: red; statutory still far.
    assert [(x.level, x.limit) for x in case.alerts("2026-10-15T09:00:00+08:00")] == [
        ("yellow", "promised"),
        ("red", "step"),
    ]
    assert [(x.level, x.limit) for x in case.alerts("2026-10-17T09:00:00+08:00")] == [
        ("red", "promised"),
        ("red", "step"),
    ]


def test_yellow_threshold_is_a_setting(timed: ProcessDefinition) -> None:
    case = new_case(timed, start="2026-09-28T09:00:00+08:00", yellow_days=3)
    case.complete("accept", "c", at="2026-09-28T10:00:00+08:00", data={"expert": False})
    # Sep 28 afternoon: review's Oct 8 deadline has Sep 29, 30, Oct 8 = 3 working days left: yellow with 3.
    assert [a.level for a in case.alerts("2026-09-28T15:00:00+08:00")] == ["yellow"]


def test_deadlines_survive_serialization(timed: ProcessDefinition) -> None:
    case = new_case(timed)
    case.complete("accept", "c", at="2026-09-14T10:00:00+08:00", data={"expert": True})
    moment = "2026-09-16T12:00:00+08:00"
    restored = load_case(dump_case(case), timed, ORG, clock=FakeClock(moment))
    assert restored.deadlines(moment) == case.deadlines(moment)
    restored.complete("expert_review", "e", at="2026-09-18T15:00:00+08:00")
    assert days(restored.deadlines()) == (date(2026, 10, 9), date(2026, 10, 22))
    assert restored.alerts(moment) == case.alerts(moment)


def test_time_report(timed: ProcessDefinition) -> None:
    case = new_case(timed)
    case.complete("accept", "c", at="2026-09-14T10:00:00+08:00", data={"expert": True})
    case.complete("expert_review", "e", at="2026-09-18T15:00:00+08:00")
    report = case.time_report("2026-09-22T12:00:00+08:00")
    # working days after Sep 14 up to Sep 22: 15, 16, 17, 18, 20 (Sun, worked), 21, 22 = 7; 4 of them
    # suspended -> 3 counted.
    assert (report.elapsed, report.suspended) == (3, 4)
    # promised Oct 9 (above): left after Sep 22: 23, 24, 28, 29, 30, Oct 8, 9 = 7
    assert report.remaining_promised == 7
    review = next(s for s in report.steps if s.step == "review")
    assert review.done is None and review.limit == 3 and review.on_time is True


def test_a_year_the_calendar_does_not_cover(timed: ProcessDefinition, tmp_path: Path) -> None:
    # a calendar that answers no year from the law (the default answers 2027 provisionally: test_provisional.py)
    case = new_case(timed, start="2027-03-01T09:00:00+08:00", calendar=ChinaCalendar(provisional_until=None))
    with pytest.raises(CalendarError, match="2027"):
        case.complete("accept", "c", at="2027-03-01T10:00:00+08:00", data={"expert": False})
    assert case.path == []  # nothing changed
    supplement = tmp_path / "2027.yaml"
    supplement.write_text("year: 2027\nsource: test\nholidays: [2027-03-03]\n", encoding="utf-8")
    ok = new_case(timed, start="2027-03-01T09:00:00+08:00", calendar=ChinaCalendar([supplement]))
    ok.complete("accept", "c", at="2027-03-01T10:00:00+08:00", data={"expert": False})
    # Mon Mar 1; Mar 3 is a (test) holiday: 2, 4, 5, 8, 9, 10, 11, 12, 15, 16 -> Mar 16
    assert promised_day(ok) == date(2027, 3, 16)


def test_fallback_is_recorded_on_the_case_and_its_trail(timed: ProcessDefinition) -> None:
    case = new_case(timed, start="2027-03-01T09:00:00+08:00", calendar=ChinaCalendar(fallback=True))
    case.complete("accept", "c", at="2027-03-01T10:00:00+08:00", data={"expert": False})
    # weekends only: Mar 2, 3, 4, 5, 8, 9, 10, 11, 12, 15 -> Mar 15
    assert promised_day(case) == date(2027, 3, 15)

    assert case.fallback_years == {2027}
    assert [e["data"]["years"] for e in case.trail.entries if e["action"] == "calendar-fallback"] == [[2027]]
    assert case.trail.verify()


def test_parallel_branches_and_overlapping_suspensions_count_once() -> None:
    definition = load_process(DATA / "parallel.bpmn")
    org = organisation_from_dict(
        {
            "units": [{"id": "u"}],
            "people": {
                "a": {"unit": "u", "posts": ["clerk"]},
                "b": {"unit": "u", "posts": ["clerk"]},
                "c": {"unit": "u", "posts": ["clerk"]},
            },
        }
    )
    case = start_case(definition, org, clock=FakeClock("2026-11-02T09:00:00+08:00"))
    case.complete("accept", "a", at="2026-11-02T10:00:00+08:00")  # Monday
    assert sorted(s.id for s in case.ready_steps()) == ["hearing", "inspection"]
    # hearing open Nov 2 -> Wed Nov 4; inspection open Nov 2 -> Fri Nov 6: the union of the days after Nov 2
    # up to Nov 6 is Nov 3, 4, 5, 6 = 4 working days (not 2 + 4 = 6).
    case.complete("hearing", "b", at="2026-11-04T16:00:00+08:00")
    assert [s.id for s in case.ready_steps()] == ["inspection"]
    case.complete("inspection", "b", at="2026-11-06T16:00:00+08:00")
    # promised 10 from Nov 2: Nov 3-6 (4), 9-13 (9), 16 (10) -> Nov 16; + 4: Nov 17, 18, 19, 20 -> Nov 20.
    # statutory 20: Nov 17-20 (14), 23-27 (19), 30 (20) -> Nov 30; + 4: Dec 1, 2, 3, 4 -> Dec 4.
    assert days(case.deadlines()) == (date(2026, 11, 20), date(2026, 12, 4))
    with pytest.raises(StepRefused, match="separate-actors"):
        case.complete("decide", "b", at="2026-11-09T10:00:00+08:00")
    case.complete("decide", "c", at="2026-11-09T10:00:00+08:00")
    assert case.is_completed and case.path == ["accept", "hearing", "inspection", "decide"]


def test_suspension_before_the_clock_starts_changes_nothing(licensing: ProcessDefinition, org: Organisation) -> None:
    # 一次告知补正 suspends the clock, but it happens before 受理 starts the case clock.
    case = start_case(licensing, org, clock=FakeClock("2026-09-21T09:00:00+08:00"), data={"applicant": "甲"})
    case.complete("receive", "wang", at="2026-09-21T09:30:00+08:00", data={"materials_complete": False})
    case.complete("notify_correction", "wang", at="2026-09-25T10:00:00+08:00")
    case.complete("receive", "wang", at="2026-09-28T09:00:00+08:00", data={"materials_complete": True})
    case.complete("accept", "wang", at="2026-09-28T10:00:00+08:00")
    assert len(case.suspensions) == 1 and case.suspensions[0].end is not None
    # as if there had been no suspension: accepted Sep 28 -> promised (15) Oct 23, statutory Oct 30
    assert days(case.deadlines()) == (date(2026, 10, 23), date(2026, 10, 30))
    assert case.time_report().suspended == 0


def test_completing_the_starts_after_step_again_restarts_the_clock(tmp_path: Path) -> None:
    # register starts the clock; a correction loops back to register, which restarts it (信息公开条例 art. 30)
    text = (
        (DATA / "loop.bpmn")
        .read_text(encoding="utf-8")
        .replace(
            '<bpmn:process id="loop_process" isExecutable="true">',
            '<bpmn:process id="loop_process" isExecutable="true"><bpmn:extensionElements>'
            '<af:timeLimit xmlns:af="urn:approvalflow:bpmn:1" promised="20" unit="workday" startsAfter="check"/>'
            "</bpmn:extensionElements>",
        )
    )
    path = tmp_path / "restart.bpmn"
    path.write_text(text, encoding="utf-8")
    definition = load_process(path)
    org = organisation_from_dict({"units": [{"id": "u"}], "people": {"a": {"unit": "u"}}})
    case = start_case(definition, org, clock=FakeClock("2026-11-02T09:00:00+08:00"))
    case.complete("check", "a", at="2026-11-02T10:00:00+08:00", data={"redo": True})
    # from Mon Nov 2: 20 working days -> Nov 3-6, 9-13, 16-20, 23-27, 30 -> Nov 30
    assert promised_day(case) == date(2026, 11, 30)
    case.complete("check", "a", at="2026-11-09T10:00:00+08:00", data={"redo": False})
    # restarted Mon Nov 9: Nov 10-13 (4), 16-20 (9), 23-27 (14), Nov 30-Dec 4 (19), Dec 7 (20) -> Dec 7
    assert promised_day(case) == date(2026, 12, 7)
