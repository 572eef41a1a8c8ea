"""Efficiency evaluation (效能评估) per unit, power, post and period, from the store's case summaries.

Figures per group:

- ``received``: cases whose clock started (受理) in the group; ``completed``: cases ended (办结);
- ``on_time_rate`` (按时办结率): completed on or before the promised deadline day / completed with a limit;
- ``early_rate`` (提前办结率): completed with at least one working day of the promised limit left / the same;
- ``overdue_rate`` (超期办结率): completed after the promised deadline / the same;
- ``avg_working_days`` against ``avg_limit`` (the promised limit), ``avg_suspended_days`` (补正, 专家评审 …);
- ``refusals``: attempts the engine refused;
- ``withdrawn`` (撤回/撤销申请) and ``terminated`` (终止): cases that ended early, counted apart: they are not
  ``completed`` and count in no on-time, early or overdue rate (nobody decided them late or on time).
- ``good_rate`` (好评率): evaluations (好差评, :meth:`Case.evaluate <approvalflow.engine.case.Case.evaluate>`) graded
  非常满意, 满意 or 基本满意 / all evaluations, grouped by the evaluated case's unit and power and the period of the
  evaluation; ``rectification_rate`` (差评整改率): 差评 whose 整改 case (:mod:`approvalflow.exchange.rectification`,
  case data ``rectifies``) completed on or before its promised deadline, by ``until`` / all 差评. A 差评 whose 整改
  case is missing, still open, ended early or late counts as not rectified. None when there is nothing to divide.

Per post the figures are the steps done by people in that post: ``completed`` steps, ``on_time_rate`` against
each step's own limit, ``avg_working_days`` per step, and ``refusals`` of people acting in that post.
Periods are calendar months (``2026-10``) or quarters (``2026-Q4``) of the receipt and of the completion.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal

from ..io.csvsafe import neutralise_row
from ..store.base import CaseRecord
from .report_html import render_html

__all__ = ["DIMENSIONS", "Evaluation", "Figures", "evaluate_efficiency"]

DIMENSIONS = ("unit", "power", "post", "period")
Period = Literal["month", "quarter"]


@dataclass
class Figures:
    """Counts and sums for one group; rates and averages are derived."""

    received: int = 0
    completed: int = 0
    timed: int = 0  # completed with a limit
    on_time: int = 0
    early: int = 0
    late: int = 0
    working_days: int = 0
    limit_days: int = 0
    suspended_days: int = 0
    refusals: int = 0
    withdrawn: int = 0
    terminated: int = 0
    urges: int = 0  # 催办 of the cases' steps (Case.urge)
    evaluations: int = 0  # 好差评 given
    good: int = 0  # 好评: 非常满意, 满意, 基本满意
    poor: int = 0  # 差评: 不满意, 非常不满意
    rectified: int = 0  # 差评 whose 整改 case completed on time

    def add_completion(self, outcome: str | None, working: int | None, limit: int | None, suspended: int) -> None:
        self.completed += 1
        self.suspended_days += suspended
        if outcome is None:
            return
        self.timed += 1
        self.on_time += outcome in ("on_time", "early")
        self.early += outcome == "early"
        self.late += outcome == "late"
        self.working_days += working or 0
        self.limit_days += limit or 0

    def _rate(self, n: int) -> float | None:
        return round(n / self.timed, 4) if self.timed else None

    def _avg(self, total: int, n: int) -> float | None:
        return round(total / n, 2) if n else None

    def to_json(self) -> dict[str, Any]:
        return {
            "received": self.received,
            "completed": self.completed,
            "on_time_rate": self._rate(self.on_time),
            "early_rate": self._rate(self.early),
            "overdue_rate": self._rate(self.late),
            "avg_working_days": self._avg(self.working_days, self.timed),
            "avg_limit": self._avg(self.limit_days, self.timed),
            "avg_suspended_days": self._avg(self.suspended_days, self.completed),
            "refusals": self.refusals,
            "withdrawn": self.withdrawn,
            "terminated": self.terminated,
            "urges": self.urges,
            "good_rate": round(self.good / self.evaluations, 4) if self.evaluations else None,
            "rectification_rate": round(self.rectified / self.poor, 4) if self.poor else None,
        }


@dataclass
class Evaluation:
    """Figures per dimension and group, and in total."""

    until: datetime | None
    period: Period
    total: Figures = field(default_factory=Figures)
    groups: dict[str, dict[str, Figures]] = field(default_factory=lambda: {d: {} for d in DIMENSIONS})

    def figures(self, dimension: str, key: str) -> Figures:
        return self.groups[dimension].setdefault(key, Figures())

    def to_json(self) -> dict[str, Any]:
        return {
            "until": self.until.isoformat() if self.until else None,
            "period": self.period,
            "total": self.total.to_json(),
            **{f"by_{d}": {k: f.to_json() for k, f in sorted(self.groups[d].items())} for d in DIMENSIONS},
        }

    def to_csv(self) -> str:
        """One row per dimension and group (the total first), rates as fractions.

        Every cell goes through :func:`approvalflow.io.csvsafe.neutralise`: a group (a unit, power or post id from
        the store) that a spreadsheet could run as a formula gets a ``'`` prefix; figures are plain numbers and
        are written as they are (a negative number is a number, not a formula).
        """
        out = io.StringIO()
        names = list(Figures().to_json())
        writer = csv.writer(out, lineterminator="\n")
        writer.writerow(neutralise_row(["dimension", "group", *names]))
        writer.writerow(neutralise_row(["total", "", *self.total.to_json().values()]))
        for d in DIMENSIONS:
            for key, f in sorted(self.groups[d].items()):
                writer.writerow(neutralise_row([d, key, *f.to_json().values()]))
        return out.getvalue()

    def to_html(self, title: str = "效能评估报告") -> str:
        """The static HTML report (:mod:`.report_html`): tables and inline SVG bar charts."""
        return render_html(self.to_json(), title)


def _period(moment: str, period: Period) -> str:
    day = datetime.fromisoformat(moment)
    return f"{day.year}-{day.month:02d}" if period == "month" else f"{day.year}-Q{(day.month - 1) // 3 + 1}"


def _before(moment: str | None, until: datetime | None) -> bool:
    return moment is not None and (until is None or datetime.fromisoformat(moment) <= until)


_POOR = ("不满意", "非常不满意")


def _rectified_on_time(records: list[CaseRecord], until: datetime | None) -> dict[str, bool]:
    """Case id -> whether the 整改 case answering it (summary ``rectifies``) completed on time by ``until``."""
    out: dict[str, bool] = {}
    for r in records:
        s = r.summary
        target = s.get("rectifies")
        if not isinstance(target, str):
            continue
        done = (
            r.status == "completed" and _before(s.get("ended_at"), until) and s.get("outcome") in ("on_time", "early")
        )
        out[target] = out.get(target, False) or done
    return out


def _add_evaluation(ev: Evaluation, r: CaseRecord, rectified: dict[str, bool]) -> None:
    given = r.summary.get("evaluation")
    if not isinstance(given, dict) or not _before(given.get("at"), ev.until):
        return
    keys = {"unit": r.unit, "power": r.power or r.process}
    groups = [
        ev.total,
        *(ev.figures(d, k) for d, k in keys.items()),
        ev.figures("period", _period(given["at"], ev.period)),
    ]
    poor = given.get("grade") in _POOR
    for f in groups:
        f.evaluations += 1
        f.good += not poor
        f.poor += poor
        f.rectified += poor and rectified.get(r.id, False)


def _add_case(ev: Evaluation, r: CaseRecord) -> None:
    s = r.summary
    keys = {"unit": r.unit, "power": r.power or r.process}
    groups = [ev.total, *(ev.figures(d, k) for d, k in keys.items())]
    if _before(s.get("received_at"), ev.until):
        for f in [*groups, ev.figures("period", _period(s["received_at"], ev.period))]:
            f.received += 1
    if r.status in ("withdrawn", "terminated"):
        if _before(s.get("ended_at"), ev.until):
            for f in [*groups, ev.figures("period", _period(s["ended_at"], ev.period))]:
                setattr(f, r.status, getattr(f, r.status) + 1)
    elif _before(s.get("ended_at"), ev.until):
        args = (s.get("outcome"), s.get("working_days"), s.get("promised_limit"), s.get("suspended_days") or 0)
        for f in [*groups, ev.figures("period", _period(s["ended_at"], ev.period))]:
            f.add_completion(*args)
    for f in groups:
        f.refusals += int(s.get("refusals") or 0)
        f.urges += int(s.get("urges") or 0)
    for post in s.get("refused_posts") or []:
        ev.figures("post", post or "?").refusals += 1
    for c in s.get("completions") or []:
        if _before(c.get("at"), ev.until):
            on_time = c.get("on_time")
            outcome = None if on_time is None else ("on_time" if on_time else "late")
            ev.figures("post", c.get("post") or "?").add_completion(outcome, c.get("working_days"), c.get("limit"), 0)


def evaluate_efficiency(
    records: Iterable[CaseRecord], *, until: datetime | None = None, period: Period = "month"
) -> Evaluation:
    """Efficiency figures of the cases (e.g. ``store.summaries()``) as of ``until`` (default: everything)."""
    ev = Evaluation(until, period)
    kept = list(records)
    rectified = _rectified_on_time(kept, until)
    for record in kept:
        _add_case(ev, record)
        _add_evaluation(ev, record, rectified)
    return ev


# The name before issue 15, kept so that code written against it keeps working.
evaluate = evaluate_efficiency
