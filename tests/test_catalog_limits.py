"""Time limits in people's words (办结时限) and stage-tagged responsibility text."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from approvalflow.catalog import format_limit, parse_time_limit, split_stages


@pytest.mark.parametrize(
    ("text", "value", "unit"),
    [
        ("20个工作日", 20, "workday"),
        ("20工作日", 20, "workday"),
        ("30日", 30, "day"),
        ("30天", 30, "day"),
        ("3小时", 3, "hour"),
        ("即办", 0, "workday"),
        (" 15 个工作日 ", 15, "workday"),
        ("２０个工作日", 20, "workday"),  # full-width digits, as IMEs type them
    ],
)
def test_parse_limit(text: str, value: int, unit: str) -> None:
    limit = parse_time_limit(text)
    assert (limit.value, limit.unit) == (value, unit)
    assert limit.text == text.strip()  # the words are kept as written


@pytest.mark.parametrize("text", ["二十天", "20", "3个月", "20个工作日内", "即时", "-5日", ""])
def test_not_a_limit(text: str) -> None:
    with pytest.raises(ValueError, match="is not a time limit"):
        parse_time_limit(text)


def test_format_limit() -> None:
    assert format_limit(20).text == "20个工作日"
    assert format_limit(30, "day").text == "30日"
    assert format_limit(2, "hour").text == "2小时"
    assert format_limit(0).text == "即办" and format_limit(0).immediate


@given(st.integers(0, 9999), st.sampled_from(["workday", "day", "hour"]))
def test_format_then_parse(value: int, unit: str) -> None:
    limit = format_limit(value, unit)  # type: ignore[arg-type]
    assert parse_time_limit(limit.text) == limit


def test_split_stages() -> None:
    text = "1.受理阶段责任：公示材料；2.审查阶段责任：审查材料；3.决定阶段责任：作出决定"
    items = split_stages(text)
    assert [(i.stage, i.text) for i in items] == [("受理", "公示材料"), ("审查", "审查材料"), ("决定", "作出决定")]


def test_split_stages_untagged_text_gives_nothing() -> None:
    assert split_stages("1.对符合法定条件的申请不予受理的；2.未在法定期限内作出决定的") == ()
    assert split_stages(None) == ()
