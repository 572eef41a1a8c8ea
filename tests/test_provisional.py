"""Provisional years (issue 18, item 3): a year without the official arrangement answered from the law.

The law (《全国年节及纪念日放假办法》 as amended 2024-11, in force 2025-01-01; REFERENCE.md section 6): 元旦 1 Jan;
春节 农历除夕 and 正月初一至初三; 清明 the day of the solar term; 劳动节 1-2 May; 端午 农历五月初五; 中秋 农历八月十五;
国庆 1-3 Oct; a holiday on a Saturday or Sunday made up on a working day (补假: approvalflow makes it up on the
first Monday-to-Friday after the run of holidays, docs/time.md).

2027, written out by hand from the Gregorian dates of the lunar festivals (春节 2027: 正月初一 is Sat Feb 6, so
除夕 is Fri Feb 5 (the twelfth month of 丙午 has 29 days); 端午 Wed Jun 9; 中秋 Wed Sep 15; 清明 Mon Apr 5):

- 元旦 Fri Jan 1 (no 补假);
- 春节 Fri Feb 5, Sat Feb 6, Sun Feb 7, Mon Feb 8: two on the weekend -> 补假 Tue Feb 9 and Wed Feb 10;
- 清明 Mon Apr 5; 劳动节 Sat May 1, Sun May 2 -> 补假 Mon May 3, Tue May 4;
- 端午 Wed Jun 9; 中秋 Wed Sep 15;
- 国庆 Fri Oct 1, Sat Oct 2, Sun Oct 3 -> 补假 Mon Oct 4, Tue Oct 5.
"""

from __future__ import annotations

import json
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import chinese_calendar
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from approvalflow import dump_case, load_case
from approvalflow.cli.main import main
from approvalflow.errors import CalendarError
from approvalflow.store.factory import open_store
from approvalflow.store.keeping import store_scenario_case
from approvalflow.supervision.sweep import sweep_store
from approvalflow.testing.scenario import run_scenario
from approvalflow.time import ChinaCalendar, FakeCalendar, add_working_days, working_days_between
from approvalflow.time.calendar import PROVISIONAL_YEARS_AHEAD
from approvalflow.time.statutory import law_days, law_holidays, makeup_days, qingming, version_for

from .conftest import ROOT


def d(text: str) -> date:
    return date.fromisoformat(text)


def days(*texts: str) -> set[date]:
    out: set[date] = set()
    for text in texts:
        first, _, last = text.partition("..")
        a, b = d(first), d(last or first)
        out |= {a + timedelta(n) for n in range((b - a).days + 1)}
    return out


LAW_2027 = days("2027-01-01", "2027-02-05..2027-02-08", "2027-04-05", "2027-05-01..2027-05-02", "2027-06-09")
LAW_2027 |= days("2027-09-15", "2027-10-01..2027-10-03")
MAKEUP_2027 = days("2027-02-09..2027-02-10", "2027-05-03..2027-05-04", "2027-10-04..2027-10-05")


def test_the_law_gives_these_days_in_2027() -> None:
    assert set(law_days(2027)) == LAW_2027
    assert set(makeup_days(2027)) == MAKEUP_2027
    assert law_holidays(2027) == LAW_2027 | MAKEUP_2027
    assert law_days(2027)[d("2027-02-05")] == "春节" and makeup_days(2027)[d("2027-05-04")] == "劳动节"
    assert version_for(2027).revision == "2024" and version_for(2024).revision == "2013"


def test_the_default_calendar_answers_2027_from_the_law() -> None:
    cal = ChinaCalendar()
    assert [cal.year_status(y) for y in (2003, 2004, 2026, 2027, 2029, 2030)] == [
        "unknown", "official", "official", "provisional", "provisional", "unknown",
    ]  # fmt: skip
    assert 2026 + PROVISIONAL_YEARS_AHEAD == 2029
    assert cal.is_working_day(d("2027-01-01")) is False  # 元旦, a Friday
    assert cal.is_working_day(d("2027-01-04")) is True
    assert cal.is_working_day(d("2027-02-10")) is False  # 补假 for 春节
    assert cal.is_working_day(d("2027-02-13")) is False  # a Saturday: no 调休 is known
    assert cal.provisional_years == {2027} and cal.fallback_years == set()
    assert ChinaCalendar(fallback=True).year_status(2027) == "fallback"
    assert ChinaCalendar(provisional_until=2035).year_status(2035) == "provisional"
    assert ChinaCalendar(provisional_until=None).year_status(2027) == "unknown"
    with pytest.raises(TypeError):
        ChinaCalendar(provisional_until="2030")  # type: ignore[arg-type]


def test_the_weekends_only_fallback_still_answers_as_chosen() -> None:
    cal = ChinaCalendar(fallback=True)
    assert cal.is_working_day(d("2027-01-01")) is True  # weekends only, as before provisional years
    assert cal.fallback_years == {2027} and cal.provisional_years == set()


@pytest.mark.parametrize("year", range(2004, 2100))
def test_qingming_agrees_with_chinesecalendar(year: int) -> None:
    # chinesecalendar computes the solar terms by its own method: two independent sources for the day of 清明
    [(day, name)] = chinese_calendar.get_solar_terms(date(year, 4, 1), date(year, 4, 15))
    assert name == "清明" and qingming(year) == day


@pytest.mark.parametrize("year", range(2015, 2027))
def test_every_day_the_law_fixes_is_an_official_holiday(year: int) -> None:
    # 2015-2024 under the 2013 text (春节 初一至初三, 劳动节 1 May), 2025-2026 under the 2024 text
    for day, festival in law_days(year).items():
        assert not chinese_calendar.is_workday(day), f"{day} ({festival}) is a working day in {year}"


def test_the_law_and_the_official_arrangements_differ_only_as_the_page_says() -> None:
    script = _script()
    page = (ROOT / "docs" / "time.md").read_text(encoding="utf-8")
    assert script.table(range(2015, 2027)) in page, "run: python scripts/law_vs_official.py"
    rows = script.differences(range(2015, 2027))
    # where a 补假 the law gives was not a day off: 2015 中秋 (Sun Sep 27; the arrangement gave no extra day)
    assert [(y, r.makeup_worked) for y, r in rows.items() if r.makeup_worked] == [(2015, [d("2015-09-28")])]
    assert all(not r.law_worked for r in rows.values())


def _script() -> Any:
    import importlib.util
    import sys

    if "law_vs_official" in sys.modules:
        return sys.modules["law_vs_official"]
    spec = importlib.util.spec_from_file_location("law_vs_official", ROOT / "scripts" / "law_vs_official.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # its dataclass looks its module up there
    spec.loader.exec_module(module)
    return module


# -- the case of issue 18: accepted on 2026-12-05 ---------------------------------------------------------------
#
# Saturday 2026-12-05 10:00: a 政务服务中心 open at the weekend accepts the application. Day D is not counted;
# December 2026 has no holiday and no 调休 in the 2026 arrangement (its last change was Oct 10), so its working
# days are Mon-Fri: Dec 7-11 (1-5), 14-18 (6-10), 21-25 (11-15: promised 15 -> Fri 2026-12-25), 28-31 (16-19);
# then 2027, provisional: Fri Jan 1 元旦 off, Sat 2 and Sun 3 off, Mon Jan 4 (20: statutory -> 2027-01-04).

SCENARIO = """\
process: {root}/processes/licensing/general_licensing.bpmn
org: {root}/processes/org/sample_county.yaml
unit: market-bureau
case_id: lic-2027
start: 2026-12-05T09:00:00+08:00
data: {{applicant: 某餐饮有限公司}}
steps:
  - {{task: receive, actor: wang, at: 2026-12-05T09:30:00+08:00, data: {{materials_complete: true}}}}
  - {{task: accept, actor: wang, at: 2026-12-05T10:00:00+08:00}}
  - {{task: review, actor: liu, at: 2026-12-10T16:00:00+08:00, data: {{needs_extension: false}}}}
check_at: 2026-12-11T09:00:00+08:00
"""


def _scenario(tmp_path: Path, supplement: str | None = None) -> Path:
    path = tmp_path / "lic-2027.scenario.yaml"
    text = SCENARIO.format(root=ROOT)
    if supplement is not None:
        (tmp_path / "cn2027.yaml").write_text(supplement, encoding="utf-8")
        text += "calendar: {supplements: [cn2027.yaml]}\n"
    path.write_text(text, encoding="utf-8")
    return path


def test_december_2026_is_as_the_comment_says() -> None:
    december = sorted(day for day in days("2026-12-01..2026-12-31") if chinese_calendar.is_workday(day))
    assert december == sorted(day for day in days("2026-12-01..2026-12-31") if day.weekday() < 5)


def test_a_case_accepted_on_2026_12_05_gets_a_provisional_deadline(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["run", str(_scenario(tmp_path)), "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["deadlines"] == {"promised": "2026-12-25", "statutory": "2027-01-04", "provisional": [2027]}
    case = run_scenario(_scenario(tmp_path)).case
    assert case.provisional_years == {2027} and case.fallback_years == set()
    noted = [e for e in case.trail.entries if e["action"] == "calendar-provisional"]
    assert [(e["data"]["years"], e["data"]["calendar"], e["outcome"]) for e in noted] == [([2027], "china", "noted")]
    assert case.trail.verify()
    again = load_case(dump_case(case), case.definition, case.organisation, calendar=ChinaCalendar(), clock=case.clock)
    assert again.provisional_years == {2027}
    assert str(again.deadlines("2026-12-11T09:00:00+08:00")).endswith("(provisional: 2027)")


def test_the_2027_arrangement_makes_the_deadline_official(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    # A made-up arrangement (the real one is not published): 元旦 Jan 1 only: the same day, no longer provisional.
    plain = "year: 2027\nsource: test arrangement\nholidays: [2027-01-01]\n"
    assert main(["run", str(_scenario(tmp_path, plain)), "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["deadlines"] == {"promised": "2026-12-25", "statutory": "2027-01-04"}
    # Another made-up one that joins Mon Jan 4 to 元旦: the 20th working day moves to Tue Jan 5.
    joined = "year: 2027\nsource: test arrangement\nholidays: [2027-01-01..2027-01-04]\nworkdays: []\n"
    assert main(["run", str(_scenario(tmp_path, joined)), "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["deadlines"] == {"promised": "2026-12-25", "statutory": "2027-01-05"}


def test_supervise_flags_a_card_on_a_provisional_deadline(tmp_path: Path) -> None:
    db = tmp_path / "cases.db"
    store_scenario_case(str(db), run_scenario(_scenario(tmp_path)))
    store = open_store(str(db))
    try:
        # On Dec 31 the working days left up to Jan 4 are Jan 4 only (Jan 1 元旦): statutory yellow, provisional.
        # The promised deadline (Dec 25) has passed: red, and it lies in 2026 only.
        cards = {c.limit: c for c in sweep_store(store, "2026-12-31T09:00:00+08:00").cards if c.scope == "case"}
    finally:
        store.close()
    assert (cards["statutory"].level, cards["statutory"].to_json()["provisional"]) == ("yellow", [2027])
    assert cards["promised"].level == "red" and "provisional" not in cards["promised"].to_json()


def test_a_year_the_law_cannot_provide_is_still_an_error() -> None:
    with pytest.raises(CalendarError, match="2030"):
        add_working_days(ChinaCalendar(), d("2029-12-20"), 20)


# -- the SPEC section 5 rules hold on a provisional year ----------------------------------------------------------

PROVISIONAL_DAYS = st.dates(min_value=date(2027, 1, 1), max_value=date(2029, 10, 31))


class _WithHoliday:
    """The default calendar with one more day off."""

    name = "china+1"

    def __init__(self, extra: date) -> None:
        self.extra = extra
        self.base = ChinaCalendar()

    def is_working_day(self, day: date) -> bool:
        return day != self.extra and self.base.is_working_day(day)


@settings(max_examples=150, deadline=None)
@given(PROVISIONAL_DAYS, st.integers(1, 40), PROVISIONAL_DAYS)
def test_working_day_arithmetic_on_a_provisional_year(start: date, n: int, extra: date) -> None:
    cal = ChinaCalendar()
    end = add_working_days(cal, start, n)
    assert cal.is_working_day(end)  # N working days end on a working day
    assert working_days_between(cal, start, end) == n  # the day D itself is not counted
    assert add_working_days(_WithHoliday(extra), start, n) >= end  # one more holiday never makes it earlier
    law = FakeCalendar(holidays=law_holidays(2027) | law_holidays(2028) | law_holidays(2029))
    assert add_working_days(law, start, n) == end  # exactly the law's days off, and weekends, nothing else


@settings(max_examples=60, deadline=None)
@given(st.integers(2027, 2029), st.integers(0, 364))
def test_a_provisional_year_has_no_adjusted_working_day(year: int, offset: int) -> None:
    day = date(year, 1, 1) + timedelta(offset)
    expected = day.weekday() < 5 and day not in law_holidays(day.year)
    assert ChinaCalendar().is_working_day(day) is expected


# -- approvalflow calendar update STORE FILE ---------------------------------------------------------------------

PROCESS = ROOT / "processes" / "licensing" / "general_licensing.bpmn"
ORG = ROOT / "processes" / "org" / "sample_county.yaml"


def _store_with_cases(tmp_path: Path) -> Path:
    """The 2026-12-05 case (statutory 2027-01-04, provisional) and a case that runs in September 2026 only."""
    db = tmp_path / "cases.db"
    store_scenario_case(str(db), run_scenario(_scenario(tmp_path)))
    early = tmp_path / "early.scenario.yaml"
    text = SCENARIO.format(root=ROOT).replace("lic-2027", "lic-2026").replace("2026-12-", "2026-09-")
    early.write_text(text.replace("2026-09-10T16", "2026-09-08T16").replace("2026-09-11T09", "2026-09-09T09"))
    store_scenario_case(str(db), run_scenario(early))
    return db


def _update(db: Path, arrangement: Path, capsys: pytest.CaptureFixture[str]) -> tuple[int, dict[str, Any]]:
    args = ["calendar", "update", str(db), str(arrangement), "--process", str(PROCESS), "--org", str(ORG)]
    code = main([*args, "--at", "2026-12-11T09:00:00+08:00", "--json"])
    return code, json.loads(capsys.readouterr().out)


def test_calendar_update_moves_the_deadlines_and_records_it(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    db = _store_with_cases(tmp_path)
    # made-up arrangement joining Mon Jan 4 to 元旦: the statutory deadline moves from Jan 4 to Jan 5
    arrangement = tmp_path / "cn2027.yaml"
    arrangement.write_text("year: 2027\nsource: test arrangement\nholidays: [2027-01-01..2027-01-04]\n", "utf-8")
    code, out = _update(db, arrangement, capsys)
    assert code == 0
    assert (out["year"], out["source"], out["cases"], out["noted"], out["refused"]) == (
        2027, f"test arrangement ({arrangement})", 2, ["lic-2027"], [],
    )  # fmt: skip
    moved = {"scope": "case", "limit": "statutory", "task": None, "old": "2027-01-04", "new": "2027-01-05"}
    assert out["moved"] == [{"case": "lic-2027", "deadlines": [moved]}]
    store = open_store(str(db))
    try:
        rows = {d.limit: d.day for d in store.get("lic-2027").deadlines if d.scope == "case"}
        state = json.loads(store.get("lic-2027").state)
        untouched = json.loads(store.get("lic-2026").state)
    finally:
        store.close()
    assert rows == {"promised": d("2026-12-25"), "statutory": d("2027-01-05")}  # the index follows
    [entry] = [e for e in state["trail"] if e["action"] == "calendar-update"]
    assert (entry["data"]["year"], entry["data"]["moved"], entry["at"]) == (2027, [moved], "2026-12-11T09:00:00+08:00")
    assert not [e for e in untouched["trail"] if e["action"] == "calendar-update"]


def test_calendar_update_that_moves_nothing_still_notes_a_provisional_case(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    db = _store_with_cases(tmp_path)
    arrangement = tmp_path / "cn2027.yaml"
    arrangement.write_text("year: 2027\nsource: test arrangement\nholidays: [2027-01-01]\n", "utf-8")
    code, out = _update(db, arrangement, capsys)
    assert (code, out["moved"], out["noted"]) == (0, [], ["lic-2027"])


def test_calendar_update_bad_input_changes_nothing(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    db = _store_with_cases(tmp_path)
    before = db.read_bytes()
    bad = tmp_path / "bad.yaml"
    bad.write_text("year: 2027\nsource: x\nholidays: [2027-02-30]\n", "utf-8")
    args = ["calendar", "update", str(db), str(bad), "--process", str(PROCESS), "--org", str(ORG)]
    assert main(args) == 2
    err = capsys.readouterr().err
    assert "bad.yaml" in err and "2027-02-30" in err and "Traceback" not in err
    assert (
        main(["calendar", "update", str(tmp_path / "none.db"), str(bad), "--process", str(PROCESS), "--org", str(ORG)])
        == 2
    )
    assert not (tmp_path / "none.db").exists()
    assert db.read_bytes() == before


def test_calendar_update_prints_each_case_whose_deadlines_moved(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    db = _store_with_cases(tmp_path)
    arrangement = tmp_path / "cn2027.yaml"
    arrangement.write_text("year: 2027\nsource: test arrangement\nholidays: [2027-01-01..2027-01-04]\n", "utf-8")
    args = ["calendar", "update", str(db), str(arrangement), "--process", str(PROCESS), "--org", str(ORG)]
    assert main(args) == 0
    out = capsys.readouterr().out
    assert "applied to 2 open cases: deadlines moved in 1, 1 noted in their trail, 0 refused" in out
    assert "  lic-2027: statutory 2027-01-04 -> 2027-01-05" in out


def test_calendar_update_refuses_a_case_it_cannot_load_and_leaves_it(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    db = _store_with_cases(tmp_path)
    before = db.read_bytes()
    arrangement = tmp_path / "cn2027.yaml"
    arrangement.write_text("year: 2027\nsource: test arrangement\nholidays: [2027-01-01..2027-01-04]\n", "utf-8")
    other = ROOT / "tests" / "data" / "timed.bpmn"  # not the process the cases ran on
    args = ["calendar", "update", str(db), str(arrangement), "--process", str(other), "--org", str(ORG), "--json"]
    assert main(args) == 1
    out = json.loads(capsys.readouterr().out)
    assert sorted(r["case"] for r in out["refused"]) == ["lic-2026", "lic-2027"]
    assert all("no such process was given" in r["message"] for r in out["refused"])
    assert out["moved"] == [] and out["noted"] == []
    assert db.read_bytes() == before
