"""One YAML reader (``approvalflow.io.yamlio``) for every YAML file, with the same bounds and the same lines.

Every reader of the package (organisation, ``validate --org``, scenario, catalog, calendar supplement, simulation
model and the organisation file it names) must go through the one bounded reader; the simulator must read the
organisation file with :func:`approvalflow.org.organisation.load_organisation`, so an organisation the engine
refuses is refused by ``simulate`` too. Expected lines are counted in the texts written here.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from approvalflow.catalog import load_catalog
from approvalflow.catalog.problems import CatalogError
from approvalflow.errors import DefinitionError, OrganisationError
from approvalflow.io import yamlio
from approvalflow.io.yamlio import line_of, parse_yaml
from approvalflow.org.organisation import load_organisation
from approvalflow.simulation.model import SimulationModelError
from approvalflow.simulation.yaml_model import load_yaml_model
from approvalflow.testing.scenario import load_scenario
from approvalflow.time.calendar import ChinaCalendar
from approvalflow.validation.orgcheck import load_org_tolerant

ROOT = Path(__file__).resolve().parents[1]
ORG = ROOT / "processes" / "org" / "sample_county.yaml"
MODEL = ROOT / "examples" / "simulation" / "general_licensing.yaml"
SCENARIO = ROOT / "examples" / "scenarios" / "general_licensing_hearing.scenario.yaml"
CATALOG = ROOT / "processes" / "catalog" / "sample_county.yaml"
LICENSING = ROOT / "processes" / "licensing" / "general_licensing.bpmn"
SUPPLEMENT = "year: 2027\nsource: test arrangement\nholidays: [2027-01-01]\nworkdays: []\n"


def line_with(text: str, needle: str) -> int:
    hits = [n for n, line in enumerate(text.splitlines(), 1) if needle in line]
    assert len(hits) == 1, hits
    return hits[0]


@pytest.fixture
def checked(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[str]]:
    """The names of the files that passed the bound checks of yamlio's one reader."""
    seen: list[str] = []
    original = yamlio._check_events

    def spy(text: str, loader: Any, *, file: str, **kw: Any) -> None:
        seen.append(Path(file).name)
        original(text, loader, file=file, **kw)

    monkeypatch.setattr(yamlio, "_check_events", spy)
    yield seen


def _calendar(path: Path) -> object:
    return ChinaCalendar([path])


READERS: list[tuple[str, Callable[[Path], object], Path | None]] = [
    ("organisation", load_organisation, ORG),
    ("validate --org", load_org_tolerant, ORG),
    ("scenario", load_scenario, SCENARIO),
    ("catalog", load_catalog, CATALOG),
    ("calendar", _calendar, None),
]


@pytest.mark.parametrize("reader", READERS, ids=[r[0] for r in READERS])
def test_every_reader_goes_through_the_one_bounded_reader(
    checked: list[str], tmp_path: Path, reader: tuple[str, Callable[[Path], object], Path | None]
) -> None:
    _, read, path = reader
    if path is None:
        path = tmp_path / "cal2027.yaml"
        path.write_text(SUPPLEMENT, encoding="utf-8")
    read(path)
    assert path.name in checked


def test_the_simulation_model_and_its_organisation_go_through_it(checked: list[str]) -> None:
    load_yaml_model(MODEL)
    assert checked[:1] == [MODEL.name] and ORG.name in checked


# -- the simulator reads the organisation as the engine does ------------------------------------------------------
def _model(tmp_path: Path, org_text: str) -> tuple[Path, Path, str]:
    org = tmp_path / "org.yaml"
    org.write_text(org_text, encoding="utf-8")
    text = (
        f"process: {LICENSING}\n"
        "org: org.yaml\n"  # line 2
        "unit: market-bureau\n"
        "steps: {receive: 20, review: 60, decide: 30}\n"
    )
    model = tmp_path / "model.yaml"
    model.write_text(text, encoding="utf-8")
    return model, org, text


BROKEN_ORGS = {
    # 五不直接分管: the principal directly holds a domain (the engine refuses the file)
    "principal holds approval": (
        "units:\n  - id: market-bureau\n    principal: zhang\n    deputies:\n      zhang: [approval]\n"
        "people:\n  zhang: {unit: market-bureau, posts: [leader]}\n  wang: {unit: market-bureau, posts: [clerk]}\n",
        "zhang: [approval]",
    ),
    # a person of a unit the file does not define
    "unknown unit": (
        "units:\n  - id: market-bureau\n    principal: zhang\n"
        "people:\n  zhang: {unit: market-bureau, posts: [leader]}\n  wang: {unit: elsewhere, posts: [clerk]}\n",
        "wang:",
    ),
}


@pytest.mark.parametrize("name", sorted(BROKEN_ORGS))
def test_simulate_refuses_an_organisation_the_engine_refuses(tmp_path: Path, name: str) -> None:
    org_text, needle = BROKEN_ORGS[name]
    model, org, text = _model(tmp_path, org_text)
    with pytest.raises(OrganisationError) as direct:
        load_organisation(org)
    assert direct.value.line == line_with(org_text, needle)
    with pytest.raises(SimulationModelError) as info:
        load_yaml_model(model)
    assert info.value.file == str(model) and info.value.line == line_with(text, "org: org.yaml")
    assert info.value.element == "org"
    assert str(direct.value) in info.value.message  # the engine's error, with the organisation file and line


def test_staff_are_counted_from_the_loaded_organisation() -> None:
    model = load_yaml_model(MODEL)
    staff = {p.name: p.count for p in model.pools}
    # the model gives clerk, reviewer and deputy itself; the others come from the organisation file
    # (processes/org/sample_county.yaml): 马立, 何静 and 郑义 hold hearing-officer in the market bureau (lines
    # 104-108), and its four leaders 张, 李, 赵, 孙 hold leader (lines 96-99)
    assert staff == {"clerk": 2, "reviewer": 2, "deputy": 1, "hearing-officer": 3, "leader": 4}


# -- the same position for the same text, whichever reader --------------------------------------------------------
BAD_YAML = "units:\n  - id: a\n    name: [x\npeople: {}\n"  # the flow sequence of line 3 never closes


@pytest.mark.parametrize(
    ("read", "error"),
    [
        (load_organisation, OrganisationError),
        (load_org_tolerant, OrganisationError),
        (load_scenario, DefinitionError),
        (load_yaml_model, SimulationModelError),
        (_calendar, DefinitionError),
    ],
    ids=["organisation", "validate --org", "scenario", "model", "calendar"],
)
def test_a_syntax_error_has_the_same_line_in_every_reader(
    tmp_path: Path, read: Callable[[Path], object], error: type[DefinitionError]
) -> None:
    path = tmp_path / "bad.yaml"
    path.write_text(BAD_YAML, encoding="utf-8")
    with pytest.raises(error) as info:
        read(path)
    expected = parse_yaml_line(path)
    assert info.value.file == str(path)
    assert info.value.line == expected
    assert expected is not None and expected >= 3  # PyYAML notices at the next key after the open '['


def parse_yaml_line(path: Path) -> int | None:
    with pytest.raises(DefinitionError) as info:
        parse_yaml(path, error=DefinitionError)
    return info.value.line


def test_catalog_rows_are_the_lines_of_their_items(tmp_path: Path) -> None:
    text = "# a catalog\npowers:\n  - 1\n  -\n    - x\nrisk_points: []\n"
    path = tmp_path / "c.yaml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(CatalogError) as info:
        load_catalog(path)
    rows = [p.row for p in info.value.problems if "must be a mapping" in p.message]
    assert rows == [3, 5]  # "- 1" on line 3; the nested list starts on line 5
    assert {p.row_kind for p in info.value.problems if "must be a mapping" in p.message} == {"line"}


def test_lines_by_path_down_to_a_depth() -> None:
    text = "a:\n  - x: 1\n    y:\n      - 2\n  - 3\nb: 4\n"
    doc = parse_yaml("t.yaml", error=DefinitionError, text=text)
    full = doc.lines()
    assert full.of(("a", 0, "y", 0)) == 4 and full.of(("a", 1)) == 5 and full.of(("b",)) == 6
    shallow = doc.lines(depth=2)
    assert shallow.of(("a", 0)) == 2 and shallow.of(("a", 1)) == 5
    assert shallow.of(("a", 0, "y", 0)) == 2  # deeper than asked: the line of the nearest recorded ancestor
    assert line_of(doc.node) == 1 and line_of(None) is None
