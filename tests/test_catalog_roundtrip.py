"""Property: any catalog, however awkward its text, survives any chain of formats unchanged.

Random catalogs (commas, quotes and line breaks inside cells, CJK including characters outside GBK, blank
optional fields, extra columns, every way of writing a time limit, cells starting with a formula character or a
quote) go through random chains of YAML, JSON,
CSV in UTF-8, CSV in GB18030 and XLSX, and must come back equal to the original after every step.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from approvalflow.bpmn.model import Category, RiskLevel
from approvalflow.catalog import Catalog, PowerRow, RiskPointRow, load_catalog, parse_time_limit, save_catalog
from approvalflow.catalog.columns import POWER_COLUMNS, RISK_COLUMNS

FORMATS = ("yaml", "json", "csv", "gb18030", "xlsx")
HEADERS = {c.header for c in (*POWER_COLUMNS, *RISK_COLUMNS)}

# Pieces that break naive writers: separators, quotes, line breaks, formula-looking text, YAML and JSON
# specials, CJK from GBK and from outside it (𠀀 U+20000, 䶮 U+4DAE: four bytes in GB18030), full-width forms.
_PIECES = st.sampled_from(
    [",", '"', "'", '""', "\n", "，", "；", "：", "=SUM(A1)", "- ", "#", "null", "true", "0356", "1e3", "{x}",
     "[1]", "&amp;", "<t>", "\t", " ", "行政许可", "责任", "𠀀", "䶮", "𫟼", "ｆｕｌｌ", "é", "€", "…"]
)  # fmt: skip
_WORD = st.text(st.characters(codec="utf-8", exclude_categories=("Cs", "Cc", "Zl", "Zp", "Cn")), max_size=6)
_RAW = st.lists(_PIECES | _WORD, min_size=1, max_size=6).map("".join)
# cells that start with a character a spreadsheet takes for a formula (CSV writes them with a ' prefix that the
# reader strips again), with the quote itself, or that are plain negative numbers (written as they are)
_FORMULA_START = st.sampled_from(["=", "+", "-", "@", "'", "''", "'=", "＝", "＋", "－", "＠", "-3.5", "+2", "'-1"])
_CELL = (_RAW | st.builds(str.__add__, _FORMULA_START, _RAW | st.just(""))).map(str.strip).filter(bool)
_LINE = _CELL.filter(lambda t: "\n" not in t and "\r" not in t)  # one 防控措施 a line
_MAYBE = st.none() | _CELL
_LIMIT_WORDS = st.sampled_from(["{}个工作日", "{}工作日", "{}日", "{}天", "{}小时", "{}个自然日", "{} 个工作日"])
_LIMIT = (
    st.none()
    | st.sampled_from(["即办", "即办件", "当场办结", "２０个工作日"]).map(parse_time_limit)
    | st.builds(lambda word, n: parse_time_limit(word.format(n)), _LIMIT_WORDS, st.integers(0, 999))
)
_EXTRA_KEY = st.sampled_from(["备注", "事项编码", "Note, with comma", '"引号"', "行使层级"]) | _LINE.filter(
    lambda k: k not in HEADERS and len(k) < 20
)
_EXTRA = st.dictionaries(_EXTRA_KEY, _CELL, max_size=2)

POWERS = st.builds(
    PowerRow,
    code=_LINE,
    name=_CELL,
    category=st.sampled_from(list(Category)),
    basis=_MAYBE,
    body=_MAYBE,
    office=_MAYBE,
    statutory_limit=_LIMIT,
    promised_limit=_LIMIT,
    fees=_MAYBE,
    flowchart=_MAYBE,
    responsibilities=_MAYBE,
    accountability=_MAYBE,
    phone=_MAYBE,
    extra=_EXTRA,
)
RISKS = st.builds(
    RiskPointRow,
    power=_LINE,
    step=_CELL,
    id=_CELL,
    description=_CELL,
    level=st.sampled_from(list(RiskLevel)),
    measures=st.lists(_LINE, max_size=3).map(tuple),
    post=_MAYBE,
    category=_MAYBE,
    extra=_EXTRA,
)
CATALOGS = st.builds(Catalog, powers=st.lists(POWERS, min_size=1, max_size=4), risk_points=st.lists(RISKS, max_size=4))
CHAINS = st.lists(st.sampled_from(FORMATS), min_size=1, max_size=5)


def _through(catalog: Catalog, fmt: str, folder: Path, step: int) -> Catalog:
    if fmt == "gb18030":
        path = folder / f"c{step}.csv"
        save_catalog(catalog, path, encoding="gb18030")
    else:
        path = folder / f"c{step}.{fmt}"
        save_catalog(catalog, path)
    return load_catalog(path)


def _check_chain(catalog: Catalog, chain: list[str]) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        current = catalog
        for step, fmt in enumerate([*chain, "yaml"]):
            current = _through(current, fmt, Path(tmp), step)
            assert current == catalog, f"changed by {fmt} at step {step} of {chain}"
            assert [p.extra for p in current.powers] == [p.extra for p in catalog.powers]
            assert [p.statutory_limit for p in current.powers] == [p.statutory_limit for p in catalog.powers]


@settings(max_examples=40, deadline=None)
@given(catalog=CATALOGS, chain=CHAINS)
def test_any_chain_of_formats_loses_nothing(catalog: Catalog, chain: list[str]) -> None:
    _check_chain(catalog, chain)


@pytest.mark.slow
@settings(max_examples=400, deadline=None)
@given(catalog=CATALOGS, chain=CHAINS)
def test_many_chains_lose_nothing(catalog: Catalog, chain: list[str]) -> None:
    _check_chain(catalog, chain)


def test_equality_sees_every_field() -> None:
    """The property is only as strong as ``==``: a change in any field, or in an extra column, is seen."""
    base = PowerRow(code="A", name="B", category=Category.OTHER, statutory_limit=parse_time_limit("20工作日"))
    assert base != base.model_copy(update={"phone": "1"})
    assert base != base.model_copy(update={"extra": {"备注": "x"}})
    # the same limit in other words is another cell: conversions must keep the words
    assert base != base.model_copy(update={"statutory_limit": parse_time_limit("20个工作日")})
    assert Catalog(powers=[base]) != Catalog(powers=[base, base])
