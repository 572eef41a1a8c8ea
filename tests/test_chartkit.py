"""The chart kit every SVG chart and HTML report draws through (approvalflow.render.chartkit)."""

from __future__ import annotations

import itertools
import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from lxml import etree, html

from approvalflow.render.chartkit import (
    Axis,
    Bar,
    Canvas,
    Label,
    bar_rows,
    coord,
    draw_axes,
    html_page,
    html_table,
    nice_ticks,
    num,
    place_labels,
    x_axis,
)
from approvalflow.render.text import measure

SVG = "{http://www.w3.org/2000/svg}"
HOSTILE = "<b>&\"'x</b>"


def test_numbers_for_people_and_for_coordinates() -> None:
    assert num(1234567.0) == "1,234,567"
    assert num(12.345) == "12.3"
    assert num(0.25) == "0.25"
    assert num(0.5) == "0.5"
    assert coord(10.0) == "10"
    assert coord(1.005) in ("1", "1.01")  # two decimals at most
    assert coord(3.14159) == "3.14"


@given(
    st.floats(min_value=-1e6, max_value=1e6, allow_nan=False),
    st.floats(min_value=1e-3, max_value=1e6, allow_nan=False),
    st.integers(min_value=1, max_value=12),
)
def test_nice_ticks_cover_the_range_with_round_equal_steps(low: float, span: float, most: int) -> None:
    high = low + span
    ticks = nice_ticks(low, high, most)
    assert 2 <= len(ticks) <= max(most, 3 if low < 0 < high else 2)  # across zero: below, zero, above
    steps = {round(b - a, 6) for a, b in itertools.pairwise(ticks)}
    step = min(steps)
    assert max(steps) - step <= 1e-6 * max(1.0, step)
    assert ticks[0] <= low + 1e-8 * step and ticks[-1] >= high - 1e-8 * step  # float fuzz of a billionth of a step
    mantissa = step / 10 ** math.floor(math.log10(step))
    assert min(abs(mantissa - m) for m in (1, 2, 5, 10)) < 1e-6


def test_ticks_of_a_tiny_range_stay_apart_and_float_noise_is_gone() -> None:
    assert nice_ticks(0.0, 2.3e-199, 4) == [0.0, 1e-199, 2e-199, 3e-199]
    assert nice_ticks(0.0, 0.6, 8) == [0.0, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6]  # not 0.30000000000000004
    assert nice_ticks(-0.75, 0.25, 2) == [-1.0, 0.0, 1.0]  # across zero: three ticks even when two are asked


@settings(deadline=None)  # the first call loads the font metrics
@given(st.lists(st.floats(min_value=0, max_value=1e5, allow_nan=False), min_size=1, max_size=8))
def test_x_axis_maps_every_value_inside_the_plot(values: list[float]) -> None:
    x, ticks = x_axis(values, 100.0, 700.0)
    assert x(ticks[0]) == pytest.approx(100.0) and x(ticks[-1]) == pytest.approx(700.0)
    for v in values:
        assert 100.0 - 1e-6 <= x(v) <= 700.0 + 1e-6


@settings(deadline=None)  # the first call loads the font metrics
@given(st.lists(st.floats(min_value=30, max_value=730, allow_nan=False), min_size=1, max_size=8))
def test_placed_labels_never_overlap(xs: list[float]) -> None:
    labels = [Label(f"k{i}", f"标签 label {i}", x, "#000") for i, x in enumerate(xs)]
    place_labels(labels, 11.5, 28.0, 732.0, [])
    for i, a in enumerate(labels):
        assert a.span[0] >= 28.0 - 1e-6 and a.span[1] <= 732.0 + 1e-6
        for b in labels[i + 1 :]:
            if a.row == b.row:
                assert a.span[1] <= b.span[0] or b.span[1] <= a.span[0]


def test_canvas_escapes_text_and_tooltips() -> None:
    c = Canvas(200, "test")
    c.text(10, 20, HOSTILE)
    c.rect(0, 0, 10, 10, "#fff", tip=HOSTILE)
    svg = etree.fromstring(c.svg(50, HOSTILE).encode())
    assert svg.get("data-chart") == "test"
    assert [t.text for t in svg.iter(f"{SVG}text")] == [HOSTILE]
    assert [t.text for t in svg.iter(f"{SVG}title")] == [HOSTILE, HOSTILE]


def test_axes_put_a_grid_line_at_each_y_tick_and_a_label_at_each_x_tick() -> None:
    c = Canvas(400, "axes")
    x = Axis(0.0, 100.0, 50.0, 350.0)
    draw_axes(c, x, [0.0, 50.0, 100.0], [0.0, 10.0], lambda t: 200 - t * 10, 200.0, lambda t: f"{t:g}%")
    svg = etree.fromstring(c.svg(260, "axes").encode())
    lines = list(svg.iter(f"{SVG}line"))
    assert [(float(e.get("y1")), float(e.get("y2"))) for e in lines[:2]] == [(200.0, 200.0), (100.0, 100.0)]
    assert [float(e.get("x1")) for e in lines[2:]] == [50.0, 200.0, 350.0]
    assert [t.text for t in svg.iter(f"{SVG}text")] == ["0%", "10%", "0", "50", "100"]


@settings(deadline=None)  # the first call loads the font metrics
@given(st.lists(st.floats(min_value=0, max_value=1, allow_nan=False), min_size=1, max_size=4))
def test_bar_rows_are_proportional_and_read_back(values: list[float]) -> None:
    rows = [
        (f"g{i}", [Bar(v, "#123456", f"g{i} {v}", {"group": f"g{i}", "metric": "m"})]) for i, v in enumerate(values)
    ]
    svg = etree.fromstring(bar_rows("rates", rows, 1.0, left=100, track=400).encode())
    bars = [e for e in svg.iter(f"{SVG}rect") if e.get("data-group")]
    assert [float(e.get("data-value", "nan")) for e in bars] == values
    for e, v in zip(bars, values, strict=True):
        assert float(e.get("width", "nan")) == pytest.approx(400 * v, abs=0.06)
        assert float(e.get("x", "nan")) == 100


def test_bar_rows_keep_hostile_group_names_as_text() -> None:
    svg = etree.fromstring(bar_rows("x", [(HOSTILE, [Bar(0.5, "#000", HOSTILE, {"group": HOSTILE})])], 1.0).encode())
    assert [e.get("data-group") for e in svg.iter(f"{SVG}rect") if e.get("data-group")] == [HOSTILE]
    assert HOSTILE in [t.text for t in svg.iter(f"{SVG}text")]


def test_html_table_and_page_escape_everything_they_are_given() -> None:
    table = html_table([HOSTILE, "n"], [(HOSTILE, [HOSTILE, None]), ("ok", [1, 0.5])])
    page = html.fromstring(html_page(HOSTILE, table))
    assert page.findtext(".//title") == HOSTILE and page.findtext(".//h1") == HOSTILE
    cells = [[c.text_content() for c in tr] for tr in page.iter("tr")]
    assert cells == [["", HOSTILE, "n"], [HOSTILE, HOSTILE, ""], ["ok", "1", "0.5"]]
    assert page.find(".//script") is None and page.find(".//b") is None


def test_measure_is_what_the_kit_fits_with() -> None:
    assert measure("办理时长", 12) > measure("abcd", 12)  # CJK is wider: the kit's labels are placed with it
