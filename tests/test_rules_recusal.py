"""Recusal (回避) cannot be walked around by spelling a party's name differently.

Party names and declared conflicts compare by :func:`approvalflow.org.organisation.party_key`: Unicode NFKC (full width and
half width alike), case folded, whitespace and invisible format characters removed.
"""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from approvalflow import FakeClock, StepRefused, organisation_from_dict, start_case
from approvalflow.engine import Policy
from approvalflow.errors import OrganisationError
from approvalflow.org.organisation import party_key

START = "2026-09-28T09:00:00+08:00"
NO_EXT = {"needs_extension": False}
CONFLICTS = {"liu": ["某建筑工程有限公司", "ACME Trading Co., Ltd.", "甲(集团)公司"]}
ORG: dict[str, Any] = {
    "units": [{"id": "market-bureau", "principal": "zhang", "deputies": {"li": ["approval"]}}],
    "people": {
        "zhang": {"unit": "market-bureau", "posts": ["principal", "leader"]},
        "li": {"unit": "market-bureau", "posts": ["deputy", "leader"]},
        "wang": {"unit": "market-bureau", "posts": ["clerk"]},
        "liu": {"unit": "market-bureau", "posts": ["reviewer"]},
        "zhou": {"unit": "market-bureau", "posts": ["reviewer"]},
    },
    "conflicts": CONFLICTS,
}


def at_review(licensing: Any, data: dict[str, Any], policy: Policy = Policy.ENFORCE, org: Any = None) -> Any:
    organisation = org or organisation_from_dict(ORG)
    case = start_case(licensing, organisation, clock=FakeClock(START), data=data, policy=policy)
    case.complete("receive", "wang", data={"materials_complete": True}, at="2026-09-28T10:00:00+08:00")
    case.complete("accept", "wang", at="2026-09-28T11:00:00+08:00")
    return case


def snapshot(case: Any) -> tuple[Any, ...]:
    return ([(r.id, r.since) for r in case.ready_steps()], list(case.history), dict(case.data), list(case.findings))


def review_rules(case: Any, actor: str = "liu") -> list[str]:
    before = snapshot(case)
    with pytest.raises(StepRefused) as exc:
        case.complete("review", actor, data=NO_EXT, at="2026-09-29T10:00:00+08:00")
    assert snapshot(case) == before
    return list(exc.value.rules)


VARIANTS = [
    "某建筑工程有限公司 ",  # a trailing space: the reported hole
    " 某建筑工程有限公司",
    "某建筑工程有限公司\u3000",  # ideographic space
    "某建筑 工程有限公司",
    "某建筑\t工程\n有限公司",
    "某建筑\u200b工程有限公司",  # zero-width space
    "\ufeff某建筑工程有限公司",  # BOM
    "acme trading co., ltd.",
    "ＡＣＭＥ　Ｔｒａｄｉｎｇ　Ｃｏ．，　Ｌｔｄ．",  # full width
    "ACME  Trading Co.,Ltd.",
    "甲（集团）公司",  # full-width brackets
    "甲 (集团) 公司",
]


@pytest.mark.parametrize("name", VARIANTS)
def test_a_variant_applicant_is_refused_under_enforce(licensing: Any, name: str) -> None:
    assert review_rules(at_review(licensing, {"applicant": name})) == ["recusal"]


@pytest.mark.parametrize("name", VARIANTS)
def test_a_variant_in_parties_is_refused_under_enforce(licensing: Any, name: str) -> None:
    case = at_review(licensing, {"applicant": "某餐饮有限公司", "parties": ["乙公司", name]})
    assert review_rules(case) == ["recusal"]


@pytest.mark.parametrize("name", VARIANTS)
def test_a_variant_is_a_finding_under_record(licensing: Any, name: str) -> None:
    case = at_review(licensing, {"applicant": name}, Policy.RECORD)
    found = case.complete("review", "liu", data=NO_EXT, at="2026-09-29T10:00:00+08:00")
    assert [f.rule for f in found] == ["recusal"]


def test_someone_without_the_conflict_may_review(licensing: Any) -> None:
    case = at_review(licensing, {"applicant": "某建筑工程有限公司 "})
    assert case.complete("review", "zhou", data=NO_EXT, at="2026-09-29T10:00:00+08:00") == []


@pytest.mark.parametrize("name", ["某建筑工程有限责任公司", "某建筑工程", "ACME Trading", "乙公司", ""])
def test_a_different_party_is_not_a_conflict(licensing: Any, name: str) -> None:
    case = at_review(licensing, {"applicant": name})
    assert case.complete("review", "liu", data=NO_EXT, at="2026-09-29T10:00:00+08:00") == []


def test_a_conflict_declared_in_full_width_catches_the_half_width_name(licensing: Any) -> None:
    org = organisation_from_dict({**ORG, "conflicts": {"liu": ["ＸＹＺ　公司 "]}})
    assert review_rules(at_review(licensing, {"applicant": "xyz公司"}, org=org)) == ["recusal"]


def test_one_party_named_twice_is_one_finding(licensing: Any) -> None:
    case = at_review(licensing, {"applicant": "某建筑工程有限公司", "parties": ["某建筑工程有限公司 "]}, Policy.RECORD)
    found = case.complete("review", "liu", data=NO_EXT, at="2026-09-29T10:00:00+08:00")
    assert [f.rule for f in found] == ["recusal"]  # one party, however often and however it is named


@pytest.mark.parametrize("blank", ["", "   ", "\u3000", "\u200b"])
def test_a_blank_declared_conflict_is_an_error(blank: str) -> None:
    with pytest.raises(OrganisationError, match="blank"):
        organisation_from_dict({**ORG, "conflicts": {"liu": ["某公司", blank]}})


def test_party_key() -> None:
    assert party_key(" 某公司 ") == party_key("某公司") == party_key("某 公司")
    assert party_key("ＡＢＣ") == party_key("abc") == party_key("Abc")
    assert party_key("Straße") == party_key("STRASSE")
    assert party_key("某公司") != party_key("某某公司")


# -- Hypothesis: any whitespace, width, case or invisible variant of a declared name is caught ------------------
SPACES = [" ", "\t", "\n", "\r", "\u00a0", "\u2002", "\u3000", "\u200b", "\u200d", "\ufeff", "\u00ad"]


def full_width(ch: str) -> str:
    return chr(ord(ch) + 0xFEE0) if "!" <= ch <= "~" else ("\u3000" if ch == " " else ch)


@st.composite
def variant(draw: st.DrawFn) -> str:
    base = draw(st.sampled_from([n for names in CONFLICTS.values() for n in names]))
    out = [draw(st.text(st.sampled_from(SPACES), max_size=3))]
    for ch in base:
        if draw(st.booleans()):
            ch = full_width(ch)
        if ch.isascii() and ch.isalpha() and draw(st.booleans()):
            ch = ch.swapcase()
        out.append(ch)
        out.append(draw(st.text(st.sampled_from(SPACES), max_size=2)))
    return "".join(out)


@settings(max_examples=200, deadline=None)
@given(variant())
def test_every_variant_matches_the_declared_name(name: str) -> None:
    org = organisation_from_dict(ORG)
    assert org.conflicted("liu", ["乙公司", name]) == [name]
    assert org.conflicted("zhou", [name]) == []


@settings(max_examples=25, deadline=None)
@given(variant(), st.booleans())
def test_every_variant_is_refused_by_the_engine(licensing: Any, name: str, as_party: bool) -> None:
    data = {"applicant": "某餐饮有限公司", "parties": [name]} if as_party else {"applicant": name}
    assert review_rules(at_review(licensing, data)) == ["recusal"]
