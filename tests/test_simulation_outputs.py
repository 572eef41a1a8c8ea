"""The simulator's CSV and the side-by-side comparison, on result dicts written by hand."""

from __future__ import annotations

import csv
import json
from pathlib import Path
from typing import Any

import pytest

from approvalflow.errors import DefinitionError
from approvalflow.simulation.outputs import (
    CSV_COLUMNS,
    ResultFormatError,
    compare,
    format_compare,
    read_result,
    write_csv,
)


def result(**changes: Any) -> dict[str, Any]:
    """A result shaped like SimulationResult.to_dict(): 一般行政许可 as it runs today."""
    base: dict[str, Any] = {
        "model": "一般行政许可 as-is",
        "cases": 500,
        "seed": 7,
        "replications": 1,
        "cycle_time_hours": {"mean": 360.0, "p50": 330.5, "p90": 610.25, "p99": 801.0},
        "cycle_time_working_days": {"mean": 15.0, "p50": 14.0, "p90": 24.0, "p99": 31.5},
        "waiting_time_hours": {"mean": 300.0},
        "processing_time_hours": {"mean": 60.0},
        "utilization": {"clerk": 0.92, "reviewer": 0.75, "deputy": 0.4},
        "queue_length": {"clerk": {"mean": 3.5, "max": 14}, "reviewer": {"mean": 1.25, "max": 6},
                         "deputy": {"mean": 0.1, "max": 2}},
        "on_time": {"promised": 0.8, "statutory": 0.95},
        "cards": {"yellow": 120, "red": 25},
        "steps": {"receive": {"name": "收件", "count": 560, "waiting_hours_mean": 2.5, "processing_hours_mean": 0.5},
                  "decide": {"name": "决定", "count": 500, "waiting_hours_mean": 20.0, "processing_hours_mean": 1.0}},
        "histogram": {"unit": "hours", "edges": [0.0, 200.0, 400.0, 600.0, 800.0, 1000.0], "counts": [40, 210, 180, 60, 10]},
        "wall_seconds": 1.75,
    }  # fmt: skip
    base.update(changes)
    return base


def read_rows(path: Path) -> list[list[str]]:
    with path.open(encoding="utf-8-sig", newline="") as f:
        return list(csv.reader(f))


def rebuild(rows: list[list[str]]) -> dict[tuple[str, str, str], str]:
    return {(s, k, m): v for s, k, m, v in rows[1:]}


# -- CSV -----------------------------------------------------------------------------------------------------------
def test_csv_starts_with_a_bom_and_a_header(tmp_path: Path) -> None:
    out = tmp_path / "r.csv"
    write_csv(result(), out)
    raw = out.read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf")  # Excel in China reads UTF-8 only with the BOM
    assert raw.decode("utf-8-sig").splitlines()[0] == "section,key,metric,value"
    assert read_rows(out)[0] == list(CSV_COLUMNS)
    assert all(len(row) == 4 for row in read_rows(out))


def test_every_number_of_the_result_is_a_row(tmp_path: Path) -> None:
    r = result()
    out = tmp_path / "r.csv"
    write_csv(r, out)
    cells = rebuild(read_rows(out))
    assert float(cells[("run", "", "cases")]) == 500
    assert cells[("run", "", "model")] == "一般行政许可 as-is"
    assert float(cells[("run", "", "wall_seconds")]) == 1.75
    for section in ("cycle_time_hours", "cycle_time_working_days"):
        for stat, value in r[section].items():
            assert float(cells[(section, "", stat)]) == value
    assert float(cells[("waiting_time_hours", "", "mean")]) == 300.0
    assert float(cells[("processing_time_hours", "", "mean")]) == 60.0
    for pool, share in r["utilization"].items():
        assert float(cells[("utilization", pool, "share")]) == share
    for pool, q in r["queue_length"].items():
        assert float(cells[("queue_length", pool, "mean")]) == q["mean"]
        assert int(cells[("queue_length", pool, "max")]) == q["max"]
    assert float(cells[("on_time", "", "promised")]) == 0.8
    assert int(cells[("cards", "", "red")]) == 25
    assert cells[("steps", "receive", "name")] == "收件"
    assert int(cells[("steps", "decide", "count")]) == 500
    assert float(cells[("steps", "decide", "waiting_hours_mean")]) == 20.0
    for i, count in enumerate(r["histogram"]["counts"]):
        assert int(cells[("histogram", str(i), "count")]) == count
        assert float(cells[("histogram", str(i), "from")]) == r["histogram"]["edges"][i]
        assert float(cells[("histogram", str(i), "to")]) == r["histogram"]["edges"][i + 1]
    # nothing else: 5 run + 8 cycle + 2 + 3 util + 6 queue + 2 on-time + 2 cards + 8 steps + 1 unit + 15 bins
    assert len(cells) == 5 + 8 + 2 + 3 + 6 + 2 + 2 + 8 + 1 + 15


def test_floats_keep_full_precision(tmp_path: Path) -> None:
    third = 1 / 3
    out = tmp_path / "r.csv"
    write_csv(result(utilization={"clerk": third}), out)
    assert float(rebuild(read_rows(out))[("utilization", "clerk", "share")]) == third


def test_null_sections_have_no_rows_and_a_null_seed_is_empty(tmp_path: Path) -> None:
    out = tmp_path / "r.csv"
    write_csv(result(seed=None, cycle_time_working_days=None, on_time=None, cards=None), out)
    cells = rebuild(read_rows(out))
    assert cells[("run", "", "seed")] == ""
    assert not [k for k in cells if k[0] in ("cycle_time_working_days", "on_time", "cards")]


def test_on_time_null_share_is_an_empty_cell(tmp_path: Path) -> None:
    out = tmp_path / "r.csv"
    write_csv(result(on_time={"promised": None, "statutory": 1.0}), out)
    cells = rebuild(read_rows(out))
    assert cells[("on_time", "", "promised")] == ""
    assert float(cells[("on_time", "", "statutory")]) == 1.0


def test_a_malformed_result_names_the_key(tmp_path: Path) -> None:
    bad = result()
    del bad["histogram"]
    with pytest.raises(ResultFormatError, match="histogram"):
        write_csv(bad, tmp_path / "r.csv")
    with pytest.raises(ResultFormatError, match=r"edges.*one more"):
        write_csv(result(histogram={"unit": "hours", "edges": [0.0, 1.0], "counts": [1, 2]}), tmp_path / "r.csv")
    with pytest.raises(ResultFormatError, match=r"cycle_time_hours\.p90"):
        write_csv(result(cycle_time_hours={"mean": 1.0, "p50": 1.0, "p99": 2.0}), tmp_path / "r.csv")
    assert not (tmp_path / "r.csv").exists()


def test_read_result_names_file_and_line(tmp_path: Path) -> None:
    good = tmp_path / "a.json"
    good.write_text(json.dumps(result()), encoding="utf-8")
    assert read_result(good)["cases"] == 500
    broken = tmp_path / "b.json"
    broken.write_text('{"model": "x",\n "cases": }', encoding="utf-8")
    with pytest.raises(ResultFormatError) as info:
        read_result(broken)
    assert isinstance(info.value, DefinitionError)
    assert str(broken) in str(info.value) and info.value.line == 2
    partial = tmp_path / "c.json"
    partial.write_text(json.dumps({"model": "x", "cases": 1}), encoding="utf-8")
    with pytest.raises(ResultFormatError, match=r"c\.json.*cycle_time_hours"):
        read_result(partial)


# -- comparison ------------------------------------------------------------------------------------------------------
def faster() -> dict[str, Any]:
    return result(
        model="一般行政许可 to-be",
        cycle_time_working_days={"mean": 5.0, "p50": 4.0, "p90": 8.0, "p99": 12.0},
        cycle_time_hours={"mean": 120.0, "p50": 100.0, "p90": 200.0, "p99": 300.0},
        utilization={"clerk": 0.61, "reviewer": 0.75, "window": 0.3},
        queue_length={"clerk": {"mean": 0.5, "max": 3}},
        on_time={"promised": 0.99, "statutory": 1.0},
        cards={"yellow": 30, "red": 0},
    )


def test_compare_gives_absolute_and_relative_change() -> None:
    found = compare(result(), faster())
    mean = found["metrics"]["cycle_time_working_days.mean"]
    assert (mean["a"], mean["b"], mean["change"]) == (15.0, 5.0, -10.0)
    assert mean["relative"] == pytest.approx(-2 / 3)  # 15 -> 5 is a fall of two thirds
    hours = found["metrics"]["cycle_time_hours.p90"]
    assert hours["change"] == pytest.approx(200.0 - 610.25)
    assert hours["relative"] == pytest.approx((200.0 - 610.25) / 610.25)
    red = found["metrics"]["cards.red"]
    assert (red["a"], red["b"], red["relative"]) == (25, 0, -1.0)
    promised = found["metrics"]["on_time.promised"]
    assert promised["change"] == pytest.approx(0.19)
    assert found["a"]["model"] == "一般行政许可 as-is" and found["b"]["cases"] == 500


def test_compare_pools_of_either_side() -> None:
    found = compare(result(), faster())
    util = found["utilization"]
    assert list(util) == ["clerk", "reviewer", "deputy", "window"]
    assert util["clerk"]["change"] == pytest.approx(0.61 - 0.92)
    assert util["reviewer"]["relative"] == 0.0
    assert util["deputy"]["b"] is None and util["deputy"]["change"] is None
    assert util["window"]["a"] is None
    assert found["queue_length"]["clerk"]["relative"] == pytest.approx((0.5 - 3.5) / 3.5)
    assert found["queue_length"]["reviewer"]["b"] is None


def test_relative_change_from_zero_is_undefined() -> None:
    found = compare(result(cards={"yellow": 0, "red": 0}), result(cards={"yellow": 4, "red": 0}))
    assert found["metrics"]["cards.yellow"]["relative"] is None
    assert found["metrics"]["cards.yellow"]["change"] == 4
    assert found["metrics"]["cards.red"]["relative"] == 0.0


def test_metrics_missing_on_both_sides_are_left_out() -> None:
    found = compare(result(on_time=None, cards=None), result(on_time=None, cards=None))
    assert not [m for m in found["metrics"] if m.startswith(("on_time", "cards"))]
    one = compare(result(), result(on_time=None))
    assert one["metrics"]["on_time.promised"]["b"] is None


def test_headline_in_working_days() -> None:
    assert compare(result(), faster())["headline"] == "mean cycle time fell from 15.0 to 5.0 working days (-66.7%)"
    assert compare(faster(), result())["headline"] == "mean cycle time rose from 5.0 to 15.0 working days (+200.0%)"
    assert compare(result(), result())["headline"] == "mean cycle time stayed at 15.0 working days"


def test_headline_falls_back_to_hours_without_a_calendar() -> None:
    a, b = result(cycle_time_working_days=None), faster()
    assert compare(a, b)["headline"] == "mean cycle time fell from 360.0 to 120.0 hours (-66.7%)"


def test_format_compare_table() -> None:
    text = format_compare(result(), faster())
    lines = text.splitlines()
    assert lines[0] == "mean cycle time fell from 15.0 to 5.0 working days (-66.7%)"
    assert "A = 一般行政许可 as-is (500 cases), B = 一般行政许可 to-be (500 cases)" in lines[1]
    row = next(line for line in lines if line.strip().startswith("cycle time mean") and "15.0" in line)
    assert row.split()[-4:] == ["15.0", "5.0", "-10.0", "-66.7%"]
    clerk = next(line for line in lines if line.strip().startswith("clerk") and "%" in line)
    assert clerk.split()[1:] == ["92.0%", "61.0%", "-31.0", "pp", "-33.7%"]  # (0.61 - 0.92) / 0.92 = -33.7%
    deputy = next(line for line in lines if line.strip().startswith("deputy"))
    assert deputy.split()[1:] == ["40.0%", "–", "–", "–"]
    red = next(line for line in lines if line.strip().startswith("red cards"))
    assert red.split()[2:] == ["25", "0", "-25", "-100.0%"]


def test_format_compare_columns_line_up() -> None:
    lines = [line for line in format_compare(result(), faster()).splitlines() if line.endswith("%")]
    assert len({len(line) for line in lines}) == 1  # right-aligned numbers end in the same column


def test_the_example_in_the_docs_runs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The first Python block of docs/simulation_outputs.md runs, on the example results beside the pictures."""
    root = Path(__file__).parent.parent
    text = (root / "docs" / "simulation_outputs.md").read_text(encoding="utf-8")
    code = text.split("```python\n", 1)[1].split("```", 1)[0]
    examples = tmp_path / "docs" / "images" / "simulation"
    examples.mkdir(parents=True)
    for name in ("as_is.json", "to_be.json"):
        (examples / name).write_bytes((root / "docs" / "images" / "simulation" / name).read_bytes())
    monkeypatch.chdir(tmp_path)
    printed: list[str] = []
    exec(compile(code, "docs/simulation_outputs.md", "exec"), {"print": printed.append})
    assert printed == ["mean cycle time fell from 9.4 to 5.1 working days (-45.7%)"]
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == [
        "as_is.csv", "compare.svg", "cycle_time.svg", "utilization.svg"]  # fmt: skip


def test_a_tiny_change_is_not_printed_as_minus_zero() -> None:
    a = result(processing_time_hours={"mean": 8.1}, utilization={"leader": 0.0023})
    b = result(processing_time_hours={"mean": 8.06}, utilization={"leader": 0.0022})
    lines = format_compare(a, b).splitlines()
    processing = next(line for line in lines if "processing time mean" in line)
    assert processing.split()[-2:] == ["-0.04", "-0.5%"]  # 8.06 - 8.1 = -0.04, -0.04 / 8.1 = -0.49%
    leader = next(line for line in lines if line.strip().startswith("leader"))
    assert leader.split()[1:] == ["0.2%", "0.2%", "-0.01", "pp", "-4.3%"]  # -0.0001 = -0.01 pp; -1/23 = -4.3%
