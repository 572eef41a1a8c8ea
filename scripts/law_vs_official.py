"""Compare the holidays the law fixes with the official arrangements and write the table of docs/time.md (issue 18).

    python scripts/law_vs_official.py            # rewrite the table in docs/time.md
    python scripts/law_vs_official.py --check    # exit 1 when docs/time.md is not current

For each year of :data:`YEARS` (the official arrangements in the ``chinesecalendar`` package), the days
:mod:`approvalflow.time.statutory` computes from 《全国年节及纪念日放假办法》 (its holidays and their 补假) against the
official calendar: a day the law fixes that was a working day, a 补假 that was a working day, the days off Monday
to Friday the arrangement added (调休 joins), and the Saturdays and Sundays it made working days. The table sits
between the two marker lines of docs/time.md.
"""

from __future__ import annotations

import argparse
import sys
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path

import chinese_calendar

from approvalflow.time.statutory import law_days, makeup_days, version_for

PAGE = Path(__file__).resolve().parent.parent / "docs" / "time.md"
YEARS = range(2015, 2027)
BEGIN = "<!-- law-vs-official: begin (scripts/law_vs_official.py) -->"
END = "<!-- law-vs-official: end -->"


@dataclass
class Row:
    """How one year's official arrangement differs from the law."""

    law_worked: list[date] = field(default_factory=list)  # a day the law fixes, worked
    makeup_worked: list[date] = field(default_factory=list)  # a 补假 the law gives, worked
    extra_off: list[date] = field(default_factory=list)  # Monday-Friday off beyond the law (调休)
    weekend_worked: list[date] = field(default_factory=list)  # Saturday or Sunday made a working day (调休)


def differences(years: range = YEARS) -> dict[int, Row]:
    """Each year's :class:`Row`."""
    out: dict[int, Row] = {}
    for year in years:
        law, makeup, row = law_days(year), makeup_days(year), Row()
        day = date(year, 1, 1)
        while day.year == year:
            working = bool(chinese_calendar.is_workday(day))
            if day in law and working:
                row.law_worked.append(day)
            elif day in makeup and working:
                row.makeup_worked.append(day)
            elif day.weekday() < 5 and not working and day not in law and day not in makeup:
                row.extra_off.append(day)
            elif day.weekday() >= 5 and working:
                row.weekend_worked.append(day)
            day += timedelta(1)
        out[year] = row
    return out


def _days(days: list[date]) -> str:
    """Dates as ``MM-DD``, runs of consecutive days as ``MM-DD..MM-DD``; ``-`` when none."""
    if not days:
        return "-"
    runs: list[list[date]] = []
    for day in days:
        if runs and day - runs[-1][-1] == timedelta(1):
            runs[-1].append(day)
        else:
            runs.append([day])
    return ", ".join(f"{r[0]:%m-%d}" + (f"..{r[-1]:%m-%d}" if len(r) > 1 else "") for r in runs)


def table(years: range = YEARS) -> str:
    """The Markdown table of docs/time.md."""
    columns = ("year", "law (text of)", "law days worked", "补假 worked", "extra days off (Mon-Fri, 调休)")
    columns += ("weekend days worked (调休)",)
    lines = ["| " + " | ".join(columns) + " |", "|---" * len(columns) + "|"]
    for year, row in differences(years).items():
        cells = (row.law_worked, row.makeup_worked, row.extra_off, row.weekend_worked)
        lines.append(f"| {year} | {version_for(year).revision} | " + " | ".join(_days(c) for c in cells) + " |")
    return "\n".join(lines) + "\n"


def render(page: str) -> str:
    """``page`` with the table between the markers replaced by the current one."""
    head, begin, rest = page.partition(BEGIN + "\n")
    _, end, tail = rest.partition(END)
    if not begin or not end:
        raise SystemExit(f"{PAGE}: the markers {BEGIN!r} and {END!r} are missing")
    return head + begin + table() + end + tail


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="exit 1 when docs/time.md is not current")
    args = parser.parse_args(argv)
    page = PAGE.read_text(encoding="utf-8")
    fresh = render(page)
    if args.check:
        return 0 if fresh == page else 1
    PAGE.write_text(fresh, encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
