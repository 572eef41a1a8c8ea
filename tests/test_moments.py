"""Issue 14: moments are bounded to the years MIN_YEAR..MAX_YEAR and always timezone-aware.

``9999-12-31T23:59:59+14:00`` used to raise OverflowError deep inside deadline arithmetic. Now any text or
value given as a moment either parses to an aware datetime within the range or raises ValueError (the
contract of :func:`parse_moment`; the scenario reader turns it into a ScenarioError naming file and line, and
``supervise --at`` into a one-line error).
"""

from __future__ import annotations

import subprocess
import sys
from datetime import date, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from approvalflow.errors import ScenarioError
from approvalflow.testing.scenario import load_scenario
from approvalflow.time.clock import MAX_YEAR, MIN_YEAR, FakeClock, parse_moment

ROOT = Path(__file__).resolve().parents[1]
LICENSING = ROOT / "processes" / "licensing" / "general_licensing.bpmn"
SAMPLE_ORG = ROOT / "processes" / "org" / "sample_county.yaml"


def _within(moment: datetime) -> bool:
    return moment.utcoffset() is not None and MIN_YEAR <= moment.year <= MAX_YEAR


def _accepts_or_value_error(value: Any) -> None:
    try:
        moment = parse_moment(value)
    except ValueError as exc:
        assert str(exc)  # a message, never empty
    else:
        assert isinstance(moment, datetime) and _within(moment)


_ISOISH = st.from_regex(
    r"\A[+-]?\d{1,6}-\d{1,2}-\d{1,2}([T ]\d{1,2}(:\d{1,2}(:\d{1,2}(\.\d{1,9})?)?)?)?(Z|[+-]\d{1,2}(:?\d{2})?)?\Z"
)


@settings(max_examples=500)
@given(st.one_of(st.text(), _ISOISH, st.text(alphabet="0123456789-+:TZ. ", max_size=40)))
def test_any_text_is_a_bounded_aware_moment_or_a_value_error(text: str) -> None:
    _accepts_or_value_error(text)


@settings(max_examples=300)
@given(
    st.datetimes(timezones=st.none() | st.timezones()),
    st.one_of(st.none(), st.integers(min_value=-1439, max_value=1439)),
)
def test_any_datetime_is_a_bounded_aware_moment_or_a_value_error(moment: datetime, minutes: int | None) -> None:
    if minutes is not None:
        moment = moment.replace(tzinfo=timezone(timedelta(minutes=minutes)))
    _accepts_or_value_error(moment)
    _accepts_or_value_error(moment.isoformat())


@settings(max_examples=100)
@given(st.one_of(st.integers(), st.floats(), st.none(), st.dates(), st.binary(), st.lists(st.integers())))
def test_values_that_are_no_moment_give_a_value_error(value: Any) -> None:
    with pytest.raises(ValueError):
        parse_moment(value)


@pytest.mark.parametrize(
    "text",
    [
        "9999-12-31T23:59:59+14:00",
        "9999-12-31T23:59:59-14:00",
        "0001-01-01T00:00:00+14:00",
        f"{MAX_YEAR + 1}-01-01T00:00:00+08:00",
        f"{MIN_YEAR - 1}-12-31T23:59:59+08:00",
    ],
)
def test_moments_outside_the_years_are_refused(text: str) -> None:
    with pytest.raises(ValueError, match=f"outside the years {MIN_YEAR}-{MAX_YEAR}"):
        parse_moment(text)


def test_the_bounds_themselves_are_accepted() -> None:
    assert parse_moment(f"{MIN_YEAR}-01-01T00:00:00+14:00").year == MIN_YEAR
    assert parse_moment(f"{MAX_YEAR}-12-31T23:59:59-14:00").year == MAX_YEAR


def test_naive_and_long_text_are_refused() -> None:
    with pytest.raises(ValueError, match="no timezone"):
        parse_moment("2026-09-28T09:00:00")
    with pytest.raises(ValueError, match="characters of text"):
        parse_moment("2026-09-28T09:00:00+08:00" + " " * 1_000_000)


def test_fake_clock_cannot_be_advanced_out_of_the_years() -> None:
    clock = FakeClock("2026-09-28T09:00:00+08:00")
    with pytest.raises(ValueError, match="too long"):
        clock.advance("P9999999999D")
    with pytest.raises(ValueError, match="outside the years"):
        clock.advance("P400000D")
    assert clock.now() == datetime(2026, 9, 28, 9, tzinfo=timezone(timedelta(hours=8)))
    with pytest.raises(ValueError):
        clock.advance(timedelta(days=999_999_999))
    with pytest.raises(ValueError):
        FakeClock(date(2026, 9, 28))  # type: ignore[arg-type]


# -- the scenario reader ---------------------------------------------------------------------------------------------


def _scenario(tmp_path: Path, at: str) -> Path:
    path = tmp_path / "at.scenario.yaml"
    path.write_text(
        f"process: {LICENSING}\norg: {SAMPLE_ORG}\nunit: market-bureau\n"
        "start: 2026-09-28T09:00:00+08:00\n"
        f"steps:\n  - {{task: receive, actor: wang, at: {at}}}\n",
        encoding="utf-8",
    )
    return path


_YAML_SCALARS = st.one_of(
    _ISOISH,
    st.integers().map(str),
    st.floats(allow_nan=True).map(repr),
    st.text(alphabet="0123456789-+:TZ. ", min_size=1, max_size=40).map(lambda t: '"' + t + '"'),
    st.datetimes(timezones=st.none() | st.timezones()).map(lambda d: d.isoformat()),
)


@settings(max_examples=150, deadline=None)
@given(_YAML_SCALARS)
def test_scenario_moments_load_or_give_a_scenario_error(tmp_path_factory: pytest.TempPathFactory, at: str) -> None:
    path = _scenario(tmp_path_factory.mktemp("m"), at)
    try:
        scenario, _, _ = load_scenario(path)
    except ScenarioError as exc:
        assert exc.file == str(path) and exc.line is not None
    else:
        assert _within(scenario.steps[0].at)


def test_scenario_with_year_9999_names_the_line(tmp_path: Path) -> None:
    with pytest.raises(ScenarioError, match="outside the years") as info:
        load_scenario(_scenario(tmp_path, "9999-12-31T23:59:59+14:00"))
    assert info.value.line == 6


# -- the command line --------------------------------------------------------------------------------------------------


def _cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "approvalflow", *args], capture_output=True, text=True, timeout=60, check=False
    )


@pytest.mark.parametrize("at", ["9999-12-31T23:59:59+14:00", "2026-09-28T09:00:00", "tomorrow"])
def test_run_and_supervise_refuse_bad_moments_in_one_line(tmp_path: Path, at: str) -> None:
    for result in (_cli("run", str(_scenario(tmp_path, at))), _cli("supervise", str(tmp_path / "no.db"), "--at", at)):
        assert result.returncode == 2, result.stderr
        assert "Traceback" not in result.stderr and len(result.stderr.strip().splitlines()) == 1, result.stderr
