"""The project's YAML simulation model: reading it, and errors that name file, line and key."""

from __future__ import annotations

import math
import random
import statistics
from pathlib import Path

import pytest

from approvalflow.simulation import Distribution, SimulationModelError, load_simulation_model, simulate
from approvalflow.simulation.calendars import DayIndex, DayRule, Hours, WorkTime

from .conftest import ROOT
from .simulation_fixtures import ALWAYS, serial, write_model

EXAMPLES = ROOT / "examples" / "simulation"


def test_the_licensing_example_reads_staff_from_the_organisation_and_overrides() -> None:
    m = load_simulation_model(EXAMPLES / "general_licensing.yaml")
    pools = {p.name: p for p in m.pools}
    assert pools["reviewer"].count == 2 and pools["clerk"].count == 2  # given in the model
    assert pools["hearing-officer"].count == 3  # 马立, 何静, 郑义 hold it in the market bureau
    assert pools["leader"].count == 4  # 张, 李, 赵, 孙
    assert pools["deputy"].hours == Hours.daily(((14.5 * 3600, 17.5 * 3600),))
    assert m.graph.time_limit is not None and m.graph.time_limit.promised == 15
    ids = {m.graph.nodes[m.graph.index[k]].id for k in m.steps}
    assert {"hearing_notice", "hearing_preside", "hearing_record"} <= ids  # hearing.bpmn is inlined
    review = next(s for k, s in m.steps.items() if k == "review")
    assert review.duration.kind == "gamma" and review.duration.mean == 6 * 3600


def test_the_licensing_example_runs_and_respects_one_time_notification() -> None:
    result = simulate(load_simulation_model(EXAMPLES / "general_licensing.yaml"), cases=300, seed=3, keep_traces=300)
    for trace in result.traces:
        assert trace["path"].count("notify_correction") <= 1  # af:once: 一次告知
    assert any("notify_correction" in t["path"] for t in result.traces)
    d = result.to_dict()
    assert d["on_time"] is not None and set(d["on_time"]) == {"promised", "statutory"}
    assert d["cards"]["yellow"] >= d["cards"]["red"] >= 0


def bad(tmp_path: Path, model: dict[str, object]) -> SimulationModelError:
    base: dict[str, object] = {
        "calendar": ALWAYS,
        "staff": {"staff": 1},
        "arrivals": {"per_hour": 1},
        "steps": {"a": 10},
    }
    path = write_model(tmp_path, serial(["a"]), {**base, **model})
    with pytest.raises(SimulationModelError) as info:
        load_simulation_model(path)
    assert str(path) in str(info.value)
    return info.value


def line_of(tmp_path: Path, key: str) -> int:
    lines = (tmp_path / "model.yaml").read_text(encoding="utf-8").splitlines()
    prefix = key if ":" in key else key + ":"
    return next(i for i, text in enumerate(lines, 1) if text.strip().startswith(prefix))


@pytest.mark.parametrize(
    ("model", "element", "key_line", "what"),
    [
        ({"stafff": {"staff": 1}}, "stafff", "stafff", "unknown key"),
        ({"steps": {"a": {"dist": "weibull", "mean": 3}}}, "steps.a.dist", "dist", "expected one of"),
        ({"steps": {"a": {"dist": "lognormal", "mean": 3}}}, "steps.a", "a", "needs 'sd'"),
        ({"steps": {"a": {"dist": "uniform", "min": 5, "max": 1}}}, "steps.a", "a", "min <= max"),
        ({"steps": {}}, "steps", "steps", "no duration for step 'a'"),
        ({"steps": {"a": 10, "b": 5}}, "steps.b", "b", "no step 'b'"),
        ({"staff": {"other": 1}}, "steps.a", "a", "nobody holds post staff"),
        ({"staff": {"staff": -1}}, "staff.staff", "staff: -1", "number of people"),
        ({"arrivals": {"per_hour": "many"}}, "arrivals.per_hour", "per_hour", "expected a number"),
        ({"arrivals": {"per_day": 1, "per_hour": 1}}, "arrivals", "arrivals", "one of per_day or per_hour"),
        ({"calendar": {"days": "lunar"}}, "calendar.days", "days", "china, weekdays or every-day"),
        ({"calendar": {"hours": ["17:00-09:00"]}}, "calendar.hours.0", "hours", "increasing"),
        ({"start": "someday"}, "start", "start", "expected a date"),
        ({"process": "missing.bpmn"}, "process", "process", "no such file"),
    ],
)
def test_bad_models_name_file_line_and_key(
    tmp_path: Path, model: dict[str, object], element: str, key_line: str, what: str
) -> None:
    err = bad(tmp_path, model)
    assert err.element == element
    assert what in str(err)
    if key_line != "hours":
        assert err.line == line_of(tmp_path, key_line)


def test_branch_probabilities_must_add_up_to_one(tmp_path: Path) -> None:
    from .test_simulation_kernel import xor_process

    path = write_model(
        tmp_path,
        xor_process(),
        {"calendar": ALWAYS, "arrivals": {"per_hour": 1}, "steps": {"a": 1, "b": 1},
         "branches": {"gw": {"to_a": 0.5, "to_b": 0.6}}},
    )  # fmt: skip
    with pytest.raises(SimulationModelError, match=r"add up to 1\.1") as info:
        load_simulation_model(path)
    assert info.value.element == "branches.gw"
    path.write_text(path.read_text(encoding="utf-8").replace("branches:", "branchez:"), encoding="utf-8")
    with pytest.raises(SimulationModelError, match="unknown key 'branchez'"):
        load_simulation_model(path)


def test_invalid_yaml_names_the_line(tmp_path: Path) -> None:
    path = tmp_path / "m.yaml"
    path.write_text("process: p.bpmn\nsteps: {a: [1, 2\n", encoding="utf-8")
    with pytest.raises(SimulationModelError) as info:
        load_simulation_model(path)
    assert info.value.line is not None and info.value.line >= 2


def test_a_bpmn_file_given_as_the_model_is_named_for_what_it_is() -> None:
    path = ROOT / "bench" / "prosimos-approval" / "approval.bpmn"
    with pytest.raises(SimulationModelError, match="not a simulation model") as info:
        load_simulation_model(path)
    assert info.value.file == str(path) and info.value.line == 1


@pytest.mark.parametrize(
    ("dist", "mean", "sd"),
    [
        (Distribution("exponential", mean=10), 10, 10),
        (Distribution("normal", mean=10, sd=2), 10, 2),
        (Distribution("lognormal", mean=10, sd=4), 10, 4),
        (Distribution("gamma", mean=10, sd=4), 10, 4),  # shape 6.25 (Marsaglia-Tsang)
        (Distribution("gamma", mean=10, sd=20), 10, 20),  # shape 0.25
        (Distribution("uniform", low=4, high=16), 10, 12 / math.sqrt(12)),
        (Distribution("triangular", low=4, mode=10, high=16), 10, math.sqrt((16 + 100 + 256 - 40 - 64 - 160) / 18)),
        (Distribution("empirical", values=(6.0, 14.0)), 10, 4),
        (Distribution("exponential", mean=10, shift=4), 10, 6),
    ],
)
def test_distributions_have_their_mean_and_sd(dist: Distribution, mean: float, sd: float) -> None:

    xs = dist.batch(random.Random(5))(40000)
    assert min(xs) >= 0
    assert abs(statistics.fmean(xs) - mean) < 4 * sd / math.sqrt(40000)
    assert statistics.pstdev(xs) == pytest.approx(sd, rel=0.06)


def test_truncation_draws_again_inside_the_bounds() -> None:
    d = Distribution("normal", mean=10, sd=5, low=8, high=12)
    xs = [d.sampler(random.Random(1))() for _ in range(1)] + d.batch(random.Random(2))(5000)
    assert min(xs) >= 8 and max(xs) <= 12
    assert statistics.fmean(xs) == pytest.approx(10, abs=0.1)  # symmetric truncation keeps the mean


def test_working_days_agree_with_the_engines_period_arithmetic() -> None:
    from datetime import date, timedelta

    from approvalflow.time.calendar import ChinaCalendar
    from approvalflow.time.periods import add_working_days

    epoch = date(2026, 9, 1)
    index = DayIndex(epoch, DayRule("china").predicate())
    accepted = (date(2026, 9, 28) - epoch).days
    # SPEC section 5: accepted 2026-09-28, 10 working days end on 2026-10-16 and 20 on 2026-10-30
    assert epoch + timedelta(index.add(accepted, 10)) == date(2026, 10, 16)
    assert epoch + timedelta(index.add(accepted, 20)) == date(2026, 10, 30)
    cal = ChinaCalendar()
    for k in range(0, 100, 7):
        for n in (1, 3, 8):
            assert epoch + timedelta(index.add(k, n)) == add_working_days(cal, epoch + timedelta(k), n)


def test_work_time_pauses_over_nights_and_days_off() -> None:
    from datetime import date

    days = DayIndex(date(2026, 3, 6), DayRule("weekdays").predicate())  # a Friday
    wt = WorkTime(Hours.daily(((9 * 3600.0, 12 * 3600.0), (13 * 3600.0, 17 * 3600.0))), days)
    h = 3600.0
    assert wt.next_available(8 * h) == 9 * h
    assert wt.next_available(12.5 * h) == 13 * h
    assert wt.finish(11 * h, 2 * h) == 14 * h  # 1 h before lunch, 1 h after
    assert wt.finish(16 * h, 2 * h) == 3 * 24 * h + 10 * h  # Friday 16:00 + 2 h: Monday 10:00
    assert wt.available(0, 7 * 24 * h) == 5 * 7 * h  # a week: five days of seven hours


def test_a_cross_unit_step_is_not_pooled_with_the_case_units_staff(tmp_path: Path) -> None:
    """Staff counted from the organisation are the case unit's; a step other units do has the pool of those units
    (issue 16: counted by the engine's rule; approval-bureau has no reviewer, so nobody may do it), or a named one."""
    import shutil

    from approvalflow.simulation import SimulationModelError, load_simulation_model

    root = Path(__file__).resolve().parents[1]
    text = (root / "processes" / "licensing" / "general_licensing.bpmn").read_text(encoding="utf-8")
    text = text.replace(
        '<af:step posts="reviewer" timeLimit="8"', '<af:step posts="reviewer" units="approval-bureau" timeLimit="8"'
    )
    (tmp_path / "general_licensing.bpmn").write_text(text, encoding="utf-8")
    shutil.copy(root / "processes" / "licensing" / "hearing.bpmn", tmp_path / "hearing.bpmn")
    model = (root / "examples" / "simulation" / "general_licensing.yaml").read_text(encoding="utf-8")
    model = model.replace("../../processes/licensing/general_licensing.bpmn", "general_licensing.bpmn")
    model = model.replace(
        "../../processes/org/sample_county.yaml", str(root / "processes" / "org" / "sample_county.yaml")
    )
    (tmp_path / "m.yaml").write_text(model, encoding="utf-8")
    with pytest.raises(SimulationModelError, match="pool reviewer@approval-bureau") as info:
        load_simulation_model(tmp_path / "m.yaml")
    assert "review" in str(info.value)
    pooled = model.replace("  review: {dist: gamma", "  review: {post: reviewer, duration: {dist: gamma").replace(
        "unit: hours}    # 审查", "unit: hours}}    # 审查"
    )
    (tmp_path / "m.yaml").write_text(pooled, encoding="utf-8")
    assert load_simulation_model(tmp_path / "m.yaml") is not None
