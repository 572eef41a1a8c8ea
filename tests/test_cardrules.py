"""Card rules (issue 19 item 4): the rules file, one case's cards, a store's sweep under rules, ``supervise --rules``.

Calendar facts used below (2026, China's official arrangement: National Day Oct 1-7 off, Sat Oct 10 worked):
working days after Mon 2026-09-28 are Sep 29 (1), Sep 30 (2), Oct 8 (3), Oct 9 (4), Oct 10 (5, a Saturday worked),
Oct 12 (6), 13 (7), 14 (8), 15 (9), 16 (10), 19 (11), 20 (12), 21 (13), 22 (14), 23 (15), 26 (16), 27 (17),
28 (18), 29 (19), 30 (20). So a 20-working-day period from Sep 28 ends with Oct 30, 15 with Oct 23, 8 with Oct 14
(the licensing process: statutory 20, promised 15, review 8; its case clock starts when ``accept`` completes).
"""

from __future__ import annotations

import json
import subprocess
import sys
from datetime import date, datetime, timedelta
from fractions import Fraction
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from approvalflow import FakeClock, start_case
from approvalflow.bpmn.loader import ProcessDefinition
from approvalflow.engine.case import Case
from approvalflow.org.organisation import Organisation
from approvalflow.store.base import CaseStore
from approvalflow.store.cardfacts import CaseFacts
from approvalflow.store.cases import add_case
from approvalflow.store.factory import open_store
from approvalflow.supervision.cardrules import (
    DEFAULT_RULES,
    CardRulesError,
    cards,
    count_card,
    load_card_rules,
    rules_from_data,
    share_moment,
)
from approvalflow.supervision.sweep import sweep_store
from approvalflow.time.calendar import ChinaCalendar
from approvalflow.time.periods import SHANGHAI, end_of_day, period_deadline, yellow_from

from .store_support import store  # noqa: F401  (fixture)

CAL = ChinaCalendar()
RULES_TEXT = """\
rules:
  - id: yellow-90          # 90% of the period used
    kind: share-of-period
    level: yellow
    share: 0.9
  - id: stage-overrun
    kind: stage-overrun
    level: red
  - id: case-overrun
    kind: case-overrun
    level: red
  - id: no-reason
    kind: refusal-without-reason
    level: red
    min_chars: 2
  - id: supplements
    kind: repeated-supplement
    level: yellow
    more_than: 1
  - id: urged
    kind: urges
    level: yellow
    more_than: 1
"""


def moment(text: str) -> datetime:
    return datetime.fromisoformat(text)


def opened(licensing: ProcessDefinition, org: Organisation, case_id: str = "lic-1") -> Case:
    """A licensing case accepted on Mon 2026-09-28 10:00: clock started then; review ready since 10:00."""
    case = start_case(licensing, org, clock=FakeClock("2026-09-28T09:00:00+08:00"), case_id=case_id)
    case.complete("receive", "wang", data={"materials_complete": True}, at="2026-09-28T09:30:00+08:00")
    case.complete("accept", "wang", at="2026-09-28T10:00:00+08:00")
    return case


@pytest.fixture(scope="module")
def rules() -> tuple:  # type: ignore[type-arg]
    return rules_from_data(__import__("yaml").safe_load(RULES_TEXT))


# -- the rules file ------------------------------------------------------------------------------------------------
def test_a_rules_file_reads_every_kind(tmp_path: Path) -> None:
    path = tmp_path / "rules.yaml"
    path.write_text(RULES_TEXT, encoding="utf-8")
    got = load_card_rules(path)
    assert [(r.id, r.kind, r.level) for r in got] == [
        ("yellow-90", "share-of-period", "yellow"),
        ("stage-overrun", "stage-overrun", "red"),
        ("case-overrun", "case-overrun", "red"),
        ("no-reason", "refusal-without-reason", "red"),
        ("supplements", "repeated-supplement", "yellow"),
        ("urged", "urges", "yellow"),
    ]
    assert got[0].share == Fraction(9, 10)  # the decimal as written, not the float nearest to 0.9
    assert (got[3].min_chars, got[4].more_than, got[5].more_than) == (2, 1, 1)


@pytest.mark.parametrize(
    ("text", "line", "says"),
    [
        ("rules:\n  - id: a\n    kind: nonsense\n    level: red\n", 3, "unknown kind 'nonsense'"),
        ("rules:\n  - id: a\n    kind: share-of-period\n    level: yellow\n    share: 1.5\n", 5, "outside"),
        ("rules:\n  - id: a\n    kind: share-of-period\n    level: yellow\n    share: '90%'\n", 5, "'share' is a"),
        ("rules:\n  - id: a\n    kind: share-of-period\n    level: yellow\n    share: .nan\n", 5, "'share' is a"),
        ("rules:\n  - id: a\n    kind: share-of-period\n    level: yellow\n    share: 0\n", 5, "outside"),
        ("rules:\n  - id: a\n    kind: urges\n    level: yellow\n    more_than: true\n", 5, "whole number"),
        ("rules:\n  - id: a\n    kind: urges\n    level: yellow\n", 2, "needs 'more_than'"),
        ("rules:\n  - id: a\n    kind: urges\n    level: orange\n    more_than: 1\n", 4, "yellow or red"),
        ("rules:\n  - id: a\n    kind: deadline\n    level: red\n", 4, "takes no 'level'"),
        ("rules:\n  - id: a\n    kind: stage-overrun\n    level: red\n    share: 0.5\n", 5, "does not take 'share'"),
        ("rules:\n  - {id: a, kind: stage-overrun, level: red}\n  - {id: a, kind: case-overrun, level: red}\n", 3,
         "given twice"),
        ("rules:\n  - id: Bad_Id\n    kind: urges\n", 2, "'id' is text"),
        ("rules: []\n", 1, "non-empty list"),
        ("rule:\n  - id: a\n", 1, "one key, 'rules'"),
        ("rules:\n  - just text\n", 2, "a rule is a mapping"),
    ],
)  # fmt: skip
def test_a_bad_rules_file_is_named_with_its_line_and_key(tmp_path: Path, text: str, line: int, says: str) -> None:
    path = tmp_path / "bad.yaml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(CardRulesError) as exc:
        load_card_rules(path)
    assert says in str(exc.value)
    assert exc.value.file is not None and exc.value.file.endswith("bad.yaml")
    assert exc.value.line == line


def test_a_rules_file_that_is_not_yaml_or_too_deep_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "bad.yaml"
    path.write_text("rules: [" * 200, encoding="utf-8")
    with pytest.raises(CardRulesError) as exc:
        load_card_rules(path)
    assert exc.value.file is not None and exc.value.file.endswith("bad.yaml")


# -- share of the period: worked dates -----------------------------------------------------------------------------
def test_share_of_a_twenty_working_day_period_from_september_28() -> None:
    start = moment("2026-09-28T10:00:00+08:00")
    d = period_deadline(CAL, start, 20, "workday")
    assert d.day == date(2026, 10, 30)
    # 90% of 20 = 18 working days used: the 18th working day after Sep 28 is Oct 28, so from the end of Oct 28.
    assert share_moment(CAL, d, 20, "workday", Fraction(9, 10)) == end_of_day(date(2026, 10, 28))
    # ... which is the one-day yellow (from the start of Oct 29, the working day before Oct 30): 18 = 20 - 2.
    assert yellow_from(CAL, d, 1) == datetime(2026, 10, 29, tzinfo=SHANGHAI)
    # 25% = 5 working days: Oct 10, the Saturday worked; 20% = 4: Oct 9, whose end is the start of Sat Oct 10.
    assert share_moment(CAL, d, 20, "workday", Fraction(1, 4)) == end_of_day(date(2026, 10, 10))
    assert share_moment(CAL, d, 20, "workday", Fraction(1, 5)) == end_of_day(date(2026, 10, 9))
    # 0.7 of 10 is 7, not 8 (the float 0.7 * 10 is 7.000000000000001): 7th working day Oct 13.
    d10 = period_deadline(CAL, start, 10, "workday")
    assert d10.day == date(2026, 10, 16)
    assert share_moment(CAL, d10, 10, "workday", Fraction(7, 10)) == end_of_day(date(2026, 10, 13))
    # 100%: the end of the deadline day, the red moment.
    assert share_moment(CAL, d, 20, "workday", Fraction(1)) == d.end


def test_share_of_calendar_day_and_hour_periods() -> None:
    start = moment("2026-09-28T10:00:00+08:00")
    days = period_deadline(CAL, start, 10, "day")  # 10 calendar days after Sep 28: Oct 8
    assert days.day == date(2026, 10, 8)
    assert share_moment(CAL, days, 10, "day", Fraction(1, 2)) == end_of_day(date(2026, 10, 3))  # 5 days used
    hours = period_deadline(CAL, start, 48, "hour")  # ends Sep 30 10:00
    assert share_moment(CAL, hours, 48, "hour", Fraction(3, 4)) == moment("2026-09-29T22:00:00+08:00")  # 36 h


@settings(max_examples=200, deadline=None)
@given(
    start=st.dates(min_value=date(2026, 1, 1), max_value=date(2026, 10, 31)),
    n=st.integers(min_value=1, max_value=40),
    share=st.fractions(min_value=Fraction(1, 100), max_value=Fraction(1)).filter(lambda f: f.denominator <= 1000),
)
def test_a_share_yellow_is_no_later_than_the_one_day_yellow_exactly_when_it_leaves_two_days(
    start: date, n: int, share: Fraction
) -> None:
    """The one-day yellow comes at the start of the working day before the deadline day, i.e. once n - 2 working
    days are fully used; a share yellow comes once ceil(share × n) are. So the share's is no later exactly when
    ceil(share × n) <= n - 2, i.e. share <= (n - 2) / n; and it is never after the red moment."""
    d = period_deadline(CAL, datetime(start.year, start.month, start.day, 10, tzinfo=SHANGHAI), n, "workday")
    at_share = share_moment(CAL, d, n, "workday", share)
    one_day = yellow_from(CAL, d, 1)
    used = -(-share.numerator * n // share.denominator)  # ceil
    assert (at_share <= one_day) == (used <= n - 2)
    assert at_share <= d.end
    assert share_moment(CAL, d, n, "workday", min(Fraction(1), share + Fraction(1, 10))) >= at_share  # monotone


# -- one case ------------------------------------------------------------------------------------------------------
def _alerts(case: Case, at: datetime) -> list[tuple[object, ...]]:
    return [(a.level, a.scope, a.limit, a.task, a.deadline.day) for a in case.alerts(at)]


def _cards(case: Case, rules: object, at: datetime) -> list[tuple[object, ...]]:
    return [(c.level, c.scope, c.limit, c.task, c.deadline) for c in cards(case, rules, at)]  # type: ignore[arg-type]


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(minutes=st.integers(min_value=0, max_value=60 * 24 * 60))
def test_without_rules_the_cards_are_todays(licensing: ProcessDefinition, org: Organisation, minutes: int) -> None:
    case = opened(licensing, org)
    at = moment("2026-09-28T10:00:00+08:00") + timedelta(minutes=minutes)
    got = cards(case, None, at)
    assert _cards(case, None, at) == _alerts(case, at)
    assert {c.rule for c in got} <= {"deadline"}
    assert _cards(case, DEFAULT_RULES, at) == _alerts(case, at)


def test_share_and_overrun_cards_of_one_case(
    licensing: ProcessDefinition,
    org: Organisation,
    rules: tuple,  # type: ignore[type-arg]
) -> None:
    case = opened(licensing, org)
    deadline_rules = [r for r in rules if r.kind in ("share-of-period", "stage-overrun", "case-overrun")]
    # review: 8 working days from Sep 28 -> Oct 14; 90% = ceil(7.2) = 8 used, so yellow only from the end of Oct 14
    # itself, which is the red moment: red by stage-overrun, never yellow. Today's rule gives it yellow on Oct 13.
    assert _alerts(case, moment("2026-10-13T09:00:00+08:00")) == [
        ("yellow", "step", "step", "review", date(2026, 10, 14))
    ]
    assert cards(case, deadline_rules, moment("2026-10-14T23:59:00+08:00")) == []
    [red] = cards(case, deadline_rules, moment("2026-10-15T00:00:00+08:00"))
    assert (red.rule, red.level, red.task, red.deadline) == ("stage-overrun", "red", "review", date(2026, 10, 14))
    # promised 15 working days -> Oct 23; 90% = ceil(13.5) = 14 used: from the end of Oct 22 (the 14th).
    # statutory 20 -> Oct 30; 90% = 18: from the end of Oct 28. Review is red from Oct 15 on.
    at = moment("2026-10-22T23:59:00+08:00")
    assert [(c.rule, c.level, c.limit) for c in cards(case, deadline_rules, at)] == [("stage-overrun", "red", "step")]
    at = moment("2026-10-23T00:00:00+08:00")
    assert [(c.rule, c.level, c.limit, c.deadline) for c in cards(case, deadline_rules, at)] == [
        ("yellow-90", "yellow", "promised", date(2026, 10, 23)),
        ("stage-overrun", "red", "step", date(2026, 10, 14)),
    ]
    at = moment("2026-10-29T08:00:00+08:00")  # promised overrun (after Oct 23); statutory at 90% since Oct 29 00:00
    assert [(c.rule, c.level, c.limit) for c in cards(case, deadline_rules, at)] == [
        ("case-overrun", "red", "promised"),
        ("yellow-90", "yellow", "statutory"),
        ("stage-overrun", "red", "step"),
    ]


def test_count_rules_of_one_case(
    licensing: ProcessDefinition,
    org: Organisation,
    rules: tuple,  # type: ignore[type-arg]
) -> None:
    case = opened(licensing, org)
    urged = [r for r in rules if r.kind == "urges"]  # more than 1
    case.urge("zhang", "review", at="2026-09-30T09:00:00+08:00")
    assert cards(case, urged, moment("2026-10-08T09:00:00+08:00")) == []  # one urge: not more than one
    case.urge("zhang", "review", at="2026-10-08T09:00:00+08:00")
    [card] = cards(case, urged, moment("2026-10-08T09:00:00+08:00"))
    assert (card.rule, card.kind, card.level, card.count, card.deadline) == ("urged", "urges", "yellow", 2, None)
    assert cards(case, urged, moment("2026-10-07T09:00:00+08:00")) == []  # the second urge came later


def test_a_refusal_without_reason_gives_a_card_even_after_the_case_ended(rules: tuple) -> None:  # type: ignore[type-arg]
    [rule] = [r for r in rules if r.kind == "refusal-without-reason"]  # min_chars 2
    at = moment("2026-10-20T09:00:00+08:00")
    refused = moment("2026-10-19T09:00:00+08:00")
    for reason, card in ((None, True), ("  ", True), ("无", True), ("材料不实", False)):
        facts = CaseFacts(outcome="denied", outcome_at=refused, reason=reason)
        got = count_card(rule, facts, at, open_case=False)
        assert (got is not None) == card, reason
    assert (
        count_card(rule, CaseFacts(outcome="denied", outcome_at=refused, reason=None), refused - timedelta(1)) is None
    )
    assert count_card(rule, CaseFacts(), at) is None  # no refusal recorded


def test_repeated_supplement_counts_the_notices() -> None:
    from approvalflow import load_organisation

    from .test_materials import DATA as MATERIALS_ORG_DIR
    from .test_materials import model, new_case

    org = load_organisation(MATERIALS_ORG_DIR / "org.yaml")
    case = new_case(model(), org, policy="record")  # record: a second notice in a round goes through (rule once)
    [rule] = rules_from_data({"rules": [{"id": "supplements", "kind": "repeated-supplement", "level": "yellow",
                                          "more_than": 1}]})  # fmt: skip
    case.notify_missing("clerk", step="accept", at="2026-06-01T10:00:00+08:00")
    assert cards(case, [rule], "2026-06-02T09:00:00+08:00") == []
    case.notify_missing("clerk", step="accept", at="2026-06-02T10:00:00+08:00")
    [card] = cards(case, [rule], "2026-06-02T11:00:00+08:00")
    assert (card.rule, card.count) == ("supplements", 2)
    assert len(case.notices) == 2


# -- a store -------------------------------------------------------------------------------------------------------
MOMENTS = (
    "2026-09-30T09:00:00+08:00",
    "2026-10-10T09:00:00+08:00",
    "2026-10-13T09:00:00+08:00",
    "2026-10-15T00:00:00+08:00",
    "2026-10-23T00:00:00+08:00",
    "2026-10-29T08:00:00+08:00",
    "2026-11-20T09:00:00+08:00",
)


def _three_cases(licensing: ProcessDefinition, org: Organisation) -> list[Case]:
    first = opened(licensing, org, "lic-a")
    second = opened(licensing, org, "lic-b")
    second.complete("review", "liu", data={"needs_extension": False}, at="2026-10-12T16:00:00+08:00")
    third = opened(licensing, org, "lic-c")
    third.urge("zhang", "review", at="2026-09-30T09:00:00+08:00")
    third.urge("zhang", "review", at="2026-10-09T09:00:00+08:00")
    return [first, second, third]


def test_a_sweep_under_rules_gives_each_case_its_cards(
    store: CaseStore,  # noqa: F811
    licensing: ProcessDefinition,
    org: Organisation,
    rules: tuple,  # type: ignore[type-arg]
) -> None:
    cases = _three_cases(licensing, org)
    for c in cases:
        add_case(store, c)
    known = {licensing.digest: licensing}
    for text in MOMENTS:
        at = moment(text)
        swept = sweep_store(store, at, rules=rules, definitions=known.get)
        assert swept.notes == []
        for c in cases:
            expected = [(x.rule, x.level, x.scope, x.limit, x.task, x.deadline, x.count) for x in cards(c, rules, at)]
            got = [
                (j["card_rule"], j["level"], j["scope"], j["limit"], j["task"], j["deadline"], j.get("count"))
                for j in (card.to_json() for card in swept.all_cards() if card.case == c.id)
            ]
            assert got == [(*e[:5], e[5].isoformat() if e[5] else None, e[6]) for e in expected], (c.id, text)


def test_without_the_process_a_share_on_a_step_is_named_not_guessed(
    store: CaseStore,  # noqa: F811
    licensing: ProcessDefinition,
    org: Organisation,
    rules: tuple,  # type: ignore[type-arg]
) -> None:
    add_case(store, opened(licensing, org))
    swept = sweep_store(store, moment("2026-10-13T09:00:00+08:00"), rules=rules)  # no definitions
    assert len(swept.notes) == 1 and "lic-1" in swept.notes[0] and "'review'" in swept.notes[0]
    assert "card_notes" in swept.to_json()


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(minutes=st.integers(min_value=0, max_value=60 * 24 * 60))
def test_a_rules_file_saying_todays_rule_sweeps_as_today(
    licensing: ProcessDefinition, org: Organisation, minutes: int
) -> None:
    mem = open_store("memory:")
    cases = _three_cases(licensing, org)
    for c in cases:
        add_case(mem, c)
    at = moment("2026-09-28T10:00:00+08:00") + timedelta(minutes=minutes)
    same = rules_from_data({"rules": [{"id": "today", "kind": "deadline"}]})  # not DEFAULT_RULES: the rules path
    default = [c.to_json() for c in sweep_store(mem, at).cards]
    ruled = [c.to_json() for c in sweep_store(mem, at, rules=same).cards]
    assert ruled == [c | {"card_rule": "today"} for c in default]
    assert all(c["card_rule"] == "deadline" for c in default)


# -- the command line ----------------------------------------------------------------------------------------------
def _cli(*args: str) -> subprocess.CompletedProcess[str]:
    src = str(Path(__file__).parent.parent / "src")
    env = {"PYTHONPATH": src, "PATH": "/usr/bin:/bin"}
    return subprocess.run(
        [sys.executable, "-m", "approvalflow", *args], capture_output=True, text=True, env=env, check=False
    )


def test_supervise_with_rules(tmp_path: Path, licensing: ProcessDefinition, org: Organisation) -> None:
    db = tmp_path / "cases.db"
    sqlite = open_store(str(db))
    for c in _three_cases(licensing, org):
        add_case(sqlite, c)
    sqlite.close()
    rules = tmp_path / "rules.yaml"
    rules.write_text(RULES_TEXT, encoding="utf-8")
    bpmn = Path(__file__).parent.parent / "processes" / "licensing" / "general_licensing.bpmn"
    at = "2026-10-13T09:00:00+08:00"
    done = _cli("supervise", str(db), "--at", at, "--rules", str(rules), "--process", str(bpmn), "--json")
    assert done.returncode == 0, done.stderr
    out = json.loads(done.stdout)
    # Oct 13: review (8 working days, Oct 14) is not at 90% yet (8 of 8 needed), nor is lic-b's decide (ready Oct 12
    # 16:00, 2 working days -> Oct 14, 90% = 2 of 2); lic-c was urged twice (> 1).
    assert [(c["case"], c["card_rule"], c["rule"], c.get("count")) for c in out["cards"]] == [
        ("lic-c", "urged", "urges", 2)
    ]
    plain = _cli("supervise", str(db), "--at", at, "--json")
    assert plain.returncode == 0, plain.stderr
    # today's rule: review (lic-a, lic-c) and decide (lic-b) are due Oct 14, so yellow on Oct 13, the working day
    # before; the case deadlines (Oct 23, Oct 30) are far off
    assert [(c["case"], c["task"], c["card_rule"], c["level"]) for c in json.loads(plain.stdout)["cards"]] == [
        ("lic-a", "review", "deadline", "yellow"),
        ("lic-b", "decide", "deadline", "yellow"),
        ("lic-c", "review", "deadline", "yellow"),
    ]
    # without --process the share rule on review cannot be judged: named, exit 1
    blind = _cli("supervise", str(db), "--at", at, "--rules", str(rules))
    assert blind.returncode == 1 and "NOT JUDGED" in blind.stdout and "'review'" in blind.stdout
    rules.write_text("rules:\n  - id: x\n    kind: urges\n    level: yellow\n    more_than: -1\n", encoding="utf-8")
    bad = _cli("supervise", str(db), "--at", at, "--rules", str(rules))
    assert bad.returncode == 2 and "rules.yaml" in bad.stderr and ":5" in bad.stderr and "Traceback" not in bad.stderr


def test_the_supervision_scenarios_sweep_as_each_case_says(store: CaseStore, rules: tuple) -> None:  # type: ignore[type-arg]  # noqa: F811
    """The scenarios of tests/data/supervision (an open 专家评审 suspending the clock: deadlines that move; an
    extension; refusals), swept under every kind of rule, give each case what :func:`cards` gives it."""
    from approvalflow.testing.scenario import run_scenario

    results = [run_scenario(p) for p in sorted((Path(__file__).parent / "data" / "supervision").glob("*.yaml"))
               if p.name.endswith(".scenario.yaml")]  # fmt: skip
    for r in results:
        add_case(store, r.case)
    known = {r.case.definition.digest: r.case.definition for r in results}
    assert any(rec.clock for rec in store.moving())  # one case's deadlines move
    every = [*rules, *rules_from_data({"rules": [{"id": "two-days", "kind": "deadline", "yellow_days": 2}]})]
    for text in (*MOMENTS, "2026-10-20T09:00:00+08:00", "2026-10-30T12:00:00+08:00"):
        at = moment(text)
        swept = sweep_store(store, at, rules=every, definitions=known.get)
        assert swept.notes == []
        for r in results:
            expected = [(x.rule, x.level, x.limit, x.task, x.deadline) for x in cards(r.case, every, at)]
            got = [(c.card_rule, c.level, c.limit, c.task, c.deadline) for c in swept.cards_of(r.case.id)]
            assert got == expected, (r.case.id, text)


def test_count_cards_in_a_store_and_what_the_summary_cannot_say(
    licensing: ProcessDefinition,
    org: Organisation,
    rules: tuple,  # type: ignore[type-arg]
) -> None:
    from dataclasses import replace

    mem = open_store("memory:")
    refused = opened(licensing, org, "lic-refused")
    refused.record_outcome("zhang", "not-accepted", reason="无", at="2026-09-29T09:00:00+08:00")  # 1 char < 2
    add_case(mem, refused)
    counted = [r for r in rules if r.kind in ("refusal-without-reason", "urges")]
    at = moment("2026-09-30T09:00:00+08:00")
    swept = sweep_store(mem, at, rules=counted)
    [card] = swept.case_cards
    assert (card.case, card.card_rule, card.rule, card.level) == (
        "lic-refused",
        "no-reason",
        "refusal-without-reason",
        "red",
    )
    assert card.to_json()["deadline"] is None and swept.counts()["red"] == 1
    assert sweep_store(mem, moment("2026-09-29T08:59:00+08:00"), rules=counted).case_cards == []  # not yet recorded
    # a case saved before card_facts existed, with two urges: named, not counted as none
    urged = opened(licensing, org, "lic-old")
    urged.urge("zhang", "review", at="2026-09-29T09:00:00+08:00")
    urged.urge("zhang", "review", at="2026-09-29T10:00:00+08:00")
    from approvalflow.engine.persistence import dump_case
    from approvalflow.store.index import record_of

    record = record_of(urged, dump_case(urged))
    assert record.summary["card_facts"]["urges"] == ["2026-09-29T09:00:00+08:00", "2026-09-29T10:00:00+08:00"]
    other = open_store("memory:")
    other.insert(replace(record, summary={k: v for k, v in record.summary.items() if k != "card_facts"}))
    notes = sweep_store(other, at, rules=counted).notes
    assert len(notes) == 1 and "lic-old" in notes[0] and "store reindex" in notes[0]
