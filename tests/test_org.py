"""The organisation file (SPEC section 3) and its configuration errors, each naming file and line."""

from __future__ import annotations

from pathlib import Path

import pytest

from approvalflow import load_organisation
from approvalflow.bpmn import Domain
from approvalflow.errors import OrganisationError
from approvalflow.org.organisation import Organisation


def test_sample_county(org: Organisation) -> None:
    unit = org.unit()
    assert unit.id == "market-bureau" and unit.principal == "zhang"
    assert unit.domains_of("li") == {Domain.APPROVAL, Domain.PROCUREMENT}
    assert org.people["wang"].posts == {"clerk"}
    assert org.conflicts["liu"] == {"某建筑工程有限公司"}
    assert {p.id for p in org.holders("reviewer")} == {"liu", "zhou"}


GOOD = """units:
  - id: bureau
    principal: zhang
    deputies:
      li: [approval]
people:
  zhang: {unit: bureau, posts: [principal]}
  li: {unit: bureau, posts: [deputy]}
"""


def load(tmp_path: Path, text: str) -> tuple[Organisation, Path]:

    path = tmp_path / "org.yaml"
    path.write_text(text, encoding="utf-8")
    return load_organisation(path), path


def error(tmp_path: Path, text: str) -> OrganisationError:
    with pytest.raises(OrganisationError) as info:
        load(tmp_path, text)
    assert info.value.file is not None and info.value.file.endswith("org.yaml")
    return info.value


def test_good(tmp_path: Path) -> None:
    org, _ = load(tmp_path, GOOD)
    assert org.unit("bureau").principal == "zhang"


def test_principal_holding_a_domain(tmp_path: Path) -> None:
    e = error(tmp_path, GOOD.replace("      li: [approval]", "      li: [approval]\n      zhang: [finance]"))
    assert e.line == 6 and "五不直接分管" in e.message and "zhang" in e.message


def test_deputy_holding_all_five(tmp_path: Path) -> None:
    e = error(tmp_path, GOOD.replace("[approval]", "[approval, finance, personnel, engineering, procurement]"))
    assert e.line == 5 and "all five" in e.message


def test_unknown_principal(tmp_path: Path) -> None:
    e = error(tmp_path, GOOD.replace("principal: zhang", "principal: wu"))
    assert e.line == 3 and "wu" in e.message


def test_unknown_deputy(tmp_path: Path) -> None:
    e = error(tmp_path, GOOD.replace("      li: [approval]", "      qian: [approval]"))
    assert e.line == 5 and "qian" in e.message


def test_unknown_unit_of_a_person(tmp_path: Path) -> None:
    e = error(tmp_path, GOOD.replace("li: {unit: bureau", "li: {unit: nowhere"))
    assert e.line == 8 and "nowhere" in e.message


def test_unknown_domain(tmp_path: Path) -> None:
    e = error(tmp_path, GOOD.replace("[approval]", "[sports]"))
    assert e.line == 5


def test_unknown_key(tmp_path: Path) -> None:
    e = error(tmp_path, GOOD + "budget: 100\n")
    assert e.line == 9 and "budget" in str(e)


def test_conflict_of_unknown_person(tmp_path: Path) -> None:
    e = error(tmp_path, GOOD + "conflicts:\n  ghost: [甲公司]\n")
    assert e.line == 10 and "ghost" in e.message


def test_bad_yaml(tmp_path: Path) -> None:
    e = error(tmp_path, GOOD + "  : [\n")
    assert e.line is not None and e.line >= 9


def test_not_a_mapping(tmp_path: Path) -> None:
    e = error(tmp_path, "- a\n- b\n")
    assert "mapping" in e.message


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(OrganisationError, match="cannot read"):
        load_organisation(tmp_path / "absent.yaml")


def test_sample_county_file_has_several_units() -> None:
    from .conftest import SAMPLE_ORG

    county = load_organisation(SAMPLE_ORG)
    assert len(county.units) >= 5
    assert county.unit("market-bureau").principal == "zhang"
    for unit in county.units.values():
        assert unit.principal is not None and unit.domains_of(unit.principal) == frozenset()
        assert county.people[unit.principal].unit == unit.id
