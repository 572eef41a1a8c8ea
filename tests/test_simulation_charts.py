"""The simulator's SVG charts, parsed with lxml: bar heights, widths, markers and printed figures against the dict.

The browser test (slow) opens the charts in headless Chromium and checks with getBBox() that no two labels
overlap and every label stays inside the SVG.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
from lxml import etree

from approvalflow.render.text import FONT_STACK
from approvalflow.simulation.charts import nice_ticks, utilization_colour, write_charts, write_compare_chart
from approvalflow.simulation.outputs import ResultFormatError

SVG = "{http://www.w3.org/2000/svg}"
CHROMIUM = shutil.which("chromium") or ("/usr/bin/chromium" if Path("/usr/bin/chromium").exists() else None)


def result(**changes: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "model": "一般行政许可 as-is",
        "cases": 7,
        "seed": 7,
        "replications": 1,
        "cycle_time_hours": {"mean": 250.0, "p50": 220.0, "p90": 380.0, "p99": 420.0},
        "cycle_time_working_days": {"mean": 10.5, "p50": 9.0, "p90": 16.0, "p99": 18.0},
        "waiting_time_hours": {"mean": 200.0},
        "processing_time_hours": {"mean": 50.0},
        "utilization": {"clerk": 0.92, "reviewer": 0.75, "deputy": 0.4},
        "queue_length": {"clerk": {"mean": 3.5, "max": 14}, "reviewer": {"mean": 1.25, "max": 6},
                         "deputy": {"mean": 0.1, "max": 2}},
        "on_time": {"promised": 0.8, "statutory": 0.95},
        "cards": {"yellow": 12, "red": 3},
        "steps": {},
        "histogram": {"unit": "hours", "edges": [100.0, 200.0, 300.0, 400.0], "counts": [1, 2, 4]},
        "wall_seconds": 0.5,
    }  # fmt: skip
    base.update(changes)
    return base


def parse(path: Path) -> etree._Element:
    return etree.parse(str(path)).getroot()


def charts(tmp_path: Path, r: dict[str, Any] | None = None, **kw: Any) -> dict[str, etree._Element]:
    paths = write_charts(r or result(), tmp_path / "charts", **kw)
    assert [p.name for p in paths] == ["cycle_time.svg", "utilization.svg"]
    return {p.stem: parse(p) for p in paths}


def bars(svg: etree._Element) -> list[etree._Element]:
    return sorted(svg.iter(f"{SVG}rect"), key=lambda e: int(e.get("data-bin", -1)))


def num(e: etree._Element, attr: str) -> float:
    return float(e.get(attr))


# -- helpers ---------------------------------------------------------------------------------------------------------
def test_nice_ticks() -> None:
    assert nice_ticks(0, 97, 6) == [0, 20, 40, 60, 80, 100]  # 97/5 = 19.4 -> a step of 20
    assert nice_ticks(0, 1000, 8) == [0, 200, 400, 600, 800, 1000]  # 1000/7 = 142.9 -> 200
    assert nice_ticks(3, 7, 5) == [3, 4, 5, 6, 7]
    assert nice_ticks(0.0, 0.37, 5) == [0.0, 0.1, 0.2, 0.3, 0.4]
    assert nice_ticks(5, 5)[::5] == [5, 6]  # an empty range still gets an axis: 5 to 6 by 0.2


def test_utilization_colour_thresholds() -> None:
    assert [utilization_colour(s) for s in (0.0, 0.69, 0.7, 0.9, 0.9001, 1.2)] == [
        "#2e9d5b", "#2e9d5b", "#ee8a12", "#ee8a12", "#d64545", "#d64545"]  # fmt: skip


# -- the cycle-time histogram --------------------------------------------------------------------------------------------
def test_bar_heights_are_proportional_to_counts(tmp_path: Path) -> None:
    svg = charts(tmp_path)["cycle_time"]
    found = [b for b in bars(svg) if b.get("data-bin") is not None]
    assert [int(b.get("data-count")) for b in found] == [1, 2, 4]
    heights = [num(b, "height") for b in found]
    assert heights[1] == pytest.approx(2 * heights[0], abs=0.02) and heights[2] == pytest.approx(
        4 * heights[0], abs=0.02
    )
    assert [num(b, "y") + num(b, "height") for b in found] == pytest.approx([num(found[0], "y") + heights[0]] * 3)
    widths = [num(b, "width") for b in found]  # equal bins, equal widths, side by side
    assert widths[0] == pytest.approx(widths[1]) == pytest.approx(widths[2])
    assert num(found[1], "x") == pytest.approx(num(found[0], "x") + widths[0] + 1, abs=0.02)
    assert [(b.get("data-from"), b.get("data-to")) for b in found] == [("100", "200"), ("200", "300"), ("300", "400")]


def axis(svg: etree._Element) -> tuple[float, float]:
    """Intercept and slope of the x axis, read from the first bar (drawn 0.5 px inside its bin edges)."""
    first = next(b for b in bars(svg) if b.get("data-bin") == "0")
    slope = (num(first, "width") + 1) / (float(first.get("data-to")) - float(first.get("data-from")))
    return num(first, "x") - 0.5 - slope * float(first.get("data-from")), slope


def test_markers_sit_at_their_values(tmp_path: Path) -> None:
    r = result()
    svg = charts(tmp_path, r, limits={"promised": 336.0})["cycle_time"]
    at, slope = axis(svg)
    lines = {e.get("data-marker"): e for e in svg.iter(f"{SVG}line") if e.get("data-marker")}
    assert set(lines) == {"mean", "p50", "p90", "promised"}
    for key in ("mean", "p50", "p90"):
        assert num(lines[key], "data-value") == r["cycle_time_hours"][key]
        assert num(lines[key], "x1") == pytest.approx(at + slope * r["cycle_time_hours"][key], abs=0.05)
    assert num(lines["promised"], "x1") == pytest.approx(at + slope * 336.0, abs=0.05)
    assert lines["promised"].get("stroke-dasharray")  # limits are dashed
    labels = {e.get("data-marker"): e.text for e in svg.iter(f"{SVG}text") if e.get("data-marker")}
    assert labels == {"mean": "均值 mean 250", "p50": "中位数 p50 220", "p90": "p90 380",
                      "promised": "承诺时限 promised 336"}  # fmt: skip


def test_no_limit_lines_unless_given(tmp_path: Path) -> None:
    svg = charts(tmp_path)["cycle_time"]
    assert not [e for e in svg.iter(f"{SVG}line") if e.get("data-marker") in ("promised", "statutory")]


def test_axis_covers_a_limit_beyond_the_histogram(tmp_path: Path) -> None:
    svg = charts(tmp_path, limits={"statutory": 950.0})["cycle_time"]
    ticks = [float(t.text.replace(",", "")) for t in svg.iter(f"{SVG}text") if t.get("data-role") == "tick"]
    assert max(ticks) >= 950.0 and min(ticks) <= 100.0


def texts(svg: etree._Element, role: str) -> list[str]:
    return ["".join(e.itertext()) for e in svg.iter(f"{SVG}text") if e.get("data-role") == role]


def test_key_figures_and_labels(tmp_path: Path) -> None:
    svg = charts(tmp_path)["cycle_time"]
    assert svg.get("font-family") == FONT_STACK
    assert svg.get("data-chart") == "cycle-time"
    assert texts(svg, "title") == ["办理时长分布 Cycle time distribution"]
    assert texts(svg, "subtitle") == ["一般行政许可 as-is · 7 cases 件 · seed 7"]
    assert texts(svg, "stat") == ["250 h", "220 h", "380 h", "420 h", "80.0%", "95.0%", "12 / 3"]
    assert "10.5 工作日 days" in texts(svg, "stat-unit")
    assert "办理时长 cycle time (hours 小时)" in texts(svg, "axis-title")
    assert "案件数 cases" in texts(svg, "axis-title")
    w, h = float(svg.get("width")), float(svg.get("height"))
    assert svg.get("viewBox") == f"0 0 {w:g} {h:g}"


def test_without_calendar_limits_or_cases(tmp_path: Path) -> None:
    r = result(cycle_time_working_days=None, on_time=None, cards=None, seed=None,
               histogram={"unit": "hours", "edges": [0.0, 1.0], "counts": [0]})  # fmt: skip
    svg = charts(tmp_path, r)["cycle_time"]
    assert texts(svg, "stat") == ["250 h", "220 h", "380 h", "420 h"]
    assert texts(svg, "note") == ["无办结案件 no completed cases"]
    assert "no seed" in texts(svg, "subtitle")[0]
    assert [num(b, "height") for b in bars(svg) if b.get("data-bin")] == [0.0]


def test_output_is_deterministic_and_bad_input_is_named(tmp_path: Path) -> None:
    first = [p.read_bytes() for p in write_charts(result(), tmp_path / "a")]
    second = [p.read_bytes() for p in write_charts(result(), tmp_path / "b")]
    assert first == second
    with pytest.raises(ResultFormatError, match="histogram"):
        write_charts(result(histogram={"edges": [0.0], "counts": [1]}), tmp_path / "c")


# -- utilisation -----------------------------------------------------------------------------------------------------
def test_utilisation_bars_percentages_and_queues(tmp_path: Path) -> None:
    r = result()
    svg = charts(tmp_path, r)["utilization"]
    found = {e.get("data-pool"): e for e in svg.iter(f"{SVG}rect") if e.get("data-share")}
    assert set(found) == set(r["utilization"])
    for pool, share in r["utilization"].items():
        assert float(found[pool].get("data-share")) == share
    per = {pool: num(e, "width") / r["utilization"][pool] for pool, e in found.items()}
    assert max(per.values()) == pytest.approx(min(per.values()), abs=0.05)  # widths proportional to shares
    assert {p: e.get("fill") for p, e in found.items()} == {"clerk": "#d64545", "reviewer": "#ee8a12",
                                                            "deputy": "#2e9d5b"}  # fmt: skip
    percent = {e.get("data-pool"): e.text for e in svg.iter(f"{SVG}text") if e.get("data-role") == "percent"}
    assert percent == {"clerk": "92.0%", "reviewer": "75.0%", "deputy": "40.0%"}
    queue = {e.get("data-pool"): e.text for e in svg.iter(f"{SVG}text") if e.get("data-role") == "queue"}
    assert queue == {"clerk": "3.5 (max 14)", "reviewer": "1.2 (max 6)", "deputy": "0.1 (max 2)"}
    assert float(found["clerk"].get("data-queue-mean")) == 3.5
    # busiest first
    assert [e.get("data-pool") for e in svg.iter(f"{SVG}text") if e.get("data-role") == "pool"] == [
        "clerk", "reviewer", "deputy"]  # fmt: skip


def test_a_share_above_one_fills_the_track_and_prints_the_truth(tmp_path: Path) -> None:
    svg = charts(tmp_path, result(utilization={"a": 1.25, "b": 0.5}, queue_length={}))["utilization"]
    found = {e.get("data-pool"): e for e in svg.iter(f"{SVG}rect") if e.get("data-share")}
    assert num(found["a"], "width") == pytest.approx(2 * num(found["b"], "width"), abs=0.02)
    assert "125.0%" in texts(svg, "percent")
    assert texts(svg, "queue") == ["–", "–"]


# -- comparison ------------------------------------------------------------------------------------------------------
def faster() -> dict[str, Any]:
    return result(
        model="一般行政许可 to-be",
        cases=4,
        cycle_time_working_days={"mean": 3.5, "p50": 3.0, "p90": 5.0, "p99": 6.0},
        cycle_time_hours={"mean": 84.0, "p50": 72.0, "p90": 120.0, "p99": 140.0},
        utilization={"clerk": 0.61, "window": 0.3},
        histogram={"unit": "hours", "edges": [0.0, 50.0, 100.0, 150.0], "counts": [1, 2, 1]},
    )


def test_compare_chart(tmp_path: Path) -> None:
    path = write_compare_chart(result(), faster(), tmp_path / "out" / "compare.svg")
    svg = parse(path)
    assert svg.get("data-chart") == "compare"
    assert texts(svg, "headline") == ["mean cycle time fell from 10.5 to 3.5 working days (-66.7%)"]
    hist = [e for e in svg.iter(f"{SVG}rect") if e.get("data-bin") is not None]
    a = [e for e in hist if e.get("data-model") == "a"]
    b = [e for e in hist if e.get("data-model") == "b"]
    assert sum(float(e.get("data-share")) for e in a) == pytest.approx(1.0)  # counts 1, 2, 4 of 7
    assert [float(e.get("data-share")) for e in b] == pytest.approx([0.25, 0.5, 0.25])
    # A's bins are 100 h wide, B's 50 h: heights are shares per hour, so A's 4/7 over 100 h stands
    # 4/7 / 100 high against B's 2/4 / 50: a ratio of (4/7/100) / (2/4/50) = 4/7
    assert num(a[2], "height") / num(b[1], "height") == pytest.approx(4 / 7, rel=1e-4)
    assert num(a[1], "width") == pytest.approx(2 * (num(b[1], "width") + 1) - 1, abs=0.03)
    means = {e.get("data-model"): float(e.get("data-value")) for e in svg.iter(f"{SVG}line") if e.get("data-marker")}
    assert means == {"a": 250.0, "b": 84.0}
    util = {(e.get("data-pool"), e.get("data-model")): float(e.get("data-share"))
            for e in svg.iter(f"{SVG}rect") if e.get("data-pool")}  # fmt: skip
    assert util == {("clerk", "a"): 0.92, ("clerk", "b"): 0.61, ("reviewer", "a"): 0.75, ("deputy", "a"): 0.4,
                    ("window", "b"): 0.3}  # fmt: skip
    legend = [e.text for e in svg.iter(f"{SVG}text") if e.get("data-role") == "legend"]
    assert legend == ["A  一般行政许可 as-is", "B  一般行政许可 to-be"]
    assert "B –" in texts(svg, "percent") and "A 92.0%" in texts(svg, "percent")


# -- in a browser ----------------------------------------------------------------------------------------------------
SCRIPT = """
function check() {
  const out = {texts: 0, outside: [], overlaps: []};
  for (const svg of document.querySelectorAll('svg[data-chart]')) {
    const vb = svg.viewBox.baseVal, seen = [];
    for (const t of svg.querySelectorAll('text')) {
      const b = t.getBBox(), r = [b.x, b.y, b.x + b.width, b.y + b.height];
      out.texts++;
      if (r[0] < vb.x - 0.5 || r[1] < vb.y - 0.5 || r[2] > vb.x + vb.width + 0.5 || r[3] > vb.y + vb.height + 0.5)
        out.outside.push({svg: svg.id, text: t.textContent, box: r});
      for (const [s, q] of seen) {
        const w = Math.min(r[2], q[2]) - Math.max(r[0], q[0]), h = Math.min(r[3], q[3]) - Math.max(r[1], q[1]);
        if (w > 0.5 && h > 0.5) out.overlaps.push({svg: svg.id, a: t.textContent, b: s});
      }
      seen.push([t.textContent, r]);
    }
  }
  const pre = document.createElement('pre'); pre.id = 'result'; pre.textContent = JSON.stringify(out);
  document.body.appendChild(pre);
}
document.fonts.ready.then(check);
"""


def crowded() -> dict[str, Any]:
    """Markers close together, long post names, many posts: what placement must survive."""
    pools = {f"岗位{i} 审批科室经办人员 reviewer of applications number {i}": i / 10 for i in range(11)}
    return result(
        model="一个名字很长很长的模拟模型 a model with a very long name that must be cut to fit the width of the chart",
        cases=123456,
        seed=None,
        replications=5,
        cycle_time_hours={"mean": 201.0, "p50": 199.0, "p90": 205.0, "p99": 1990.0},
        cycle_time_working_days={"mean": 12345.6, "p50": 9.0, "p90": 16.0, "p99": 18.0},
        utilization=pools,
        queue_length={p: {"mean": 123.4, "max": 99999} for p in pools},
        cards={"yellow": 1234567, "red": 7654321},
        histogram={"unit": "hours", "edges": [float(e) for e in range(0, 2001, 50)], "counts": list(range(40))},
    )


def chromium(args: list[str], profile: Path) -> str:
    assert CHROMIUM is not None
    cmd = [CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
           "--disable-component-update", "--disable-sync", "--no-first-run", f"--user-data-dir={profile}",
           "--hide-scrollbars", "--virtual-time-budget=10000", *args]  # fmt: skip
    return subprocess.run(cmd, capture_output=True, text=True, timeout=120, check=False).stdout


@pytest.mark.slow
@pytest.mark.skipif(CHROMIUM is None, reason="chromium is not installed (Debian package chromium)")
def test_labels_do_not_overlap_in_the_browser(tmp_path: Path) -> None:
    svgs: list[tuple[str, str]] = []
    cases = [("plain", result(), {"promised": 300.0, "statutory": 390.0}), ("crowded", crowded(), {"promised": 200.0})]
    for name, r, limits in cases:
        for path in write_charts(r, tmp_path / name, limits=limits):
            svgs.append((f"{name}-{path.stem}", path.read_text(encoding="utf-8")))
    for name, (a, b) in {"compare": (result(), faster()), "compare-crowded": (crowded(), faster())}.items():
        svgs.append((name, write_compare_chart(a, b, tmp_path / f"{name}.svg").read_text(encoding="utf-8")))
    body = "".join(f"<h3>{n}</h3>" + re.sub(r"^<svg ", f'<svg id="{n}" ', s) for n, s in svgs)
    html = tmp_path / "page.html"
    html.write_text(f"<!doctype html><html><head><meta charset='utf-8'></head><body>{body}"
                    f"<script>{SCRIPT}</script></body></html>", encoding="utf-8")  # fmt: skip
    dom = chromium(["--dump-dom", html.as_uri()], tmp_path / "profile")
    found = re.search(r'<pre id="result">(.*?)</pre>', dom, re.S)
    assert found, "the page script did not run"
    out = json.loads(found.group(1).replace("&quot;", '"').replace("&amp;", "&").replace("&lt;", "<"))
    assert out["texts"] > 150
    assert out["outside"] == []
    assert out["overlaps"] == []
    shot = tmp_path / "page.png"
    chromium([f"--screenshot={shot}", "--window-size=800,4200", html.as_uri()], tmp_path / "profile")
    assert shot.exists() and shot.stat().st_size > 10_000


# -- the pictures in docs/simulation_outputs.md ------------------------------------------------------------------------
DOCS = Path(__file__).parent.parent / "docs" / "images" / "simulation"
DOC_LIMITS = {"promised": 504.0, "statutory": 672.0}  # 15 and 20 working days as about 21 and 28 calendar days


def test_documentation_charts_are_up_to_date(tmp_path: Path) -> None:
    """docs/images/simulation/*.svg are the charts of the example results beside them, as the code draws them now."""
    from approvalflow.simulation.outputs import read_result

    a, b = read_result(DOCS / "as_is.json"), read_result(DOCS / "to_be.json")
    fresh = write_charts(a, tmp_path, limits=DOC_LIMITS)
    fresh.append(write_compare_chart(a, b, tmp_path / "compare.svg"))
    for path in fresh:
        committed = DOCS / path.name
        assert committed.read_text(encoding="utf-8") == path.read_text(encoding="utf-8"), (
            f"{committed} is stale: regenerate it with write_charts/write_compare_chart (see docs/simulation_outputs.md)"
        )
