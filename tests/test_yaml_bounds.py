"""Issue 14: every YAML reader of the package is bounded in size, depth and (alias-expanded) nodes.

The hostile documents are written here, not taken from the code: alias bombs ("billion laughs"), recursive
aliases, deep nesting in flow and block style, oversized files, bad UTF-8. Each reader (organisation file,
scenario, ``validate --org``, catalog, calendar supplement, simulation model and the organisation file it
names) must refuse them with its own DefinitionError naming the file and the line, never a RecursionError,
MemoryError or a hang; memory and time are measured in a subprocess under ``resource.setrlimit``.
"""

from __future__ import annotations

import subprocess
import sys
import textwrap
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from approvalflow.catalog import load_catalog
from approvalflow.errors import CalendarError, DefinitionError, OrganisationError, ScenarioError
from approvalflow.io import yamlio
from approvalflow.io.yamlio import MAX_YAML_DEPTH, load_yaml, parse_yaml
from approvalflow.org.organisation import load_organisation
from approvalflow.simulation.model import SimulationModelError
from approvalflow.simulation.yaml_model import load_yaml_model
from approvalflow.testing.scenario import load_scenario
from approvalflow.time.calendar import ChinaCalendar
from approvalflow.validation.orgcheck import load_org_tolerant

ROOT = Path(__file__).resolve().parents[1]
LICENSING = ROOT / "processes" / "licensing" / "general_licensing.bpmn"
SAMPLE_ORG = ROOT / "processes" / "org" / "sample_county.yaml"


def billion_laughs(levels: int = 9, width: int = 10) -> str:
    """``a0: &a0 [x, x, ...]`` and each level a list of ``width`` aliases of the one before."""
    lines = ["a0: &a0 [" + ", ".join(["lol"] * width) + "]"]
    for i in range(1, levels + 1):
        lines.append(f"a{i}: &a{i} [" + ", ".join([f"*a{i - 1}"] * width) + "]")
    return "\n".join(lines) + "\n"


def expanded_nodes(levels: int, width: int) -> int:
    """The nodes :func:`billion_laughs` stands for, counted by hand: the top mapping, its keys and every level."""
    size = [1 + width]  # level 0: the list and its scalars
    for _ in range(levels):
        size.append(1 + width * size[-1])
    return 1 + (levels + 1) + sum(size)


# -- the primitive ------------------------------------------------------------------------------------------------


def test_expanded_count_matches_a_hand_count_at_the_limit(tmp_path: Path) -> None:
    text = billion_laughs(levels=3, width=4)
    exact = expanded_nodes(3, 4)
    data, _, _ = load_yaml("bomb.yaml", error=ScenarioError, text=text, max_nodes=exact)
    assert len(data["a3"]) == 4 and data["a3"][0][0][0] == ["lol"] * 4
    with pytest.raises(ScenarioError, match=f"more than {exact - 1:,} nodes with the aliases expanded"):
        load_yaml("bomb.yaml", error=ScenarioError, text=text, max_nodes=exact - 1)


def test_plain_node_count_is_bounded_too() -> None:
    items = 500
    text = "[" + ", ".join(["x"] * items) + "]"  # the list and its items
    assert load_yaml("n.yaml", error=ScenarioError, text=text, max_nodes=items + 1)[0] == ["x"] * items
    with pytest.raises(ScenarioError, match="more than 500 nodes"):
        load_yaml("n.yaml", error=ScenarioError, text=text, max_nodes=items)


def test_billion_laughs_is_refused_before_it_expands() -> None:
    with pytest.raises(ScenarioError) as info:
        load_yaml("bomb.yaml", error=ScenarioError, text=billion_laughs())
    assert info.value.file == "bomb.yaml"
    assert info.value.line is not None and 2 <= info.value.line <= 10
    assert f"more than {yamlio.MAX_YAML_NODES:,} nodes" in info.value.message
    assert "max_nodes=" in info.value.message  # says how to raise the limit


def test_a_few_anchors_still_work() -> None:
    text = textwrap.dedent(
        """\
        defaults: &d {hours: 8, unit: workday}
        steps:
          - {<<: *d, name: accept}
          - {<<: *d, name: review, hours: 4}
        shared: *d
        """
    )
    data, lines, _ = load_yaml("ok.yaml", error=ScenarioError, text=text)
    assert data["steps"][1] == {"hours": 4, "unit": "workday", "name": "review"}
    assert data["shared"] == {"hours": 8, "unit": "workday"}
    assert lines.of(("steps", 1, "name")) == 4


@pytest.mark.parametrize(
    "text, line",
    [
        ("a: &a [1, *a]\n", 1),
        ("x: 1\na: &a\n  b: *a\n", 3),
        ("&a [[[*a]]]\n", 1),
        ("- &top\n  - 1\n  - {k: [*top]}\n", 3),
    ],
)
def test_recursive_alias_is_refused_with_its_line(text: str, line: int) -> None:
    with pytest.raises(ScenarioError) as info:
        load_yaml("rec.yaml", error=ScenarioError, text=text)
    assert "recursive" in info.value.message
    assert info.value.line == line


def _flow(depth: int) -> str:
    return "[" * depth + "]" * depth + "\n"


def _block_maps(depth: int) -> str:
    return "".join("  " * i + "k:\n" for i in range(depth - 1)) + "  " * (depth - 1) + "k: v\n"


def _compact_seqs(depth: int) -> str:
    return "- " * depth + "x\n"


@pytest.mark.parametrize("make", [_flow, _block_maps, _compact_seqs])
def test_depth_limit_is_exact(make: Callable[[int], str]) -> None:
    load_yaml("d.yaml", error=ScenarioError, text=make(MAX_YAML_DEPTH))
    with pytest.raises(ScenarioError, match=f"nested more than {MAX_YAML_DEPTH} levels deep"):
        load_yaml("d.yaml", error=ScenarioError, text=make(MAX_YAML_DEPTH + 1))
    load_yaml("d.yaml", error=ScenarioError, text=make(MAX_YAML_DEPTH + 1), max_depth=MAX_YAML_DEPTH + 1)


@pytest.mark.parametrize("make, depth", [(_flow, 20_000), (_compact_seqs, 20_000), (_block_maps, 2_000)])
def test_thousands_of_levels_give_an_error_not_a_recursion_error(make: Callable[[int], str], depth: int) -> None:
    """(Block mappings indent once per level: 2,000 levels are already 4 MB of text.)"""
    with pytest.raises(ScenarioError) as info:
        load_yaml("deep.yaml", error=ScenarioError, text=make(depth))
    assert "nested more than" in info.value.message
    assert info.value.line is not None


def test_merge_key_chain_is_bounded() -> None:
    """A chain of merge keys ('<<') costs quadratic work; the node bound stops it with an error."""
    lines = ["m0: &m0 {k0: 0}"] + [f"m{i}: &m{i} {{<<: *m{i - 1}, k{i}: {i}}}" for i in range(1, 3000)]
    with pytest.raises(ScenarioError, match="nodes"):
        load_yaml("merge.yaml", error=ScenarioError, text="\n".join(lines))


def test_file_size_is_bounded_and_can_be_raised(tmp_path: Path) -> None:
    path = tmp_path / "big.yaml"
    path.write_text("a: " + "x" * 5000 + "\n", encoding="utf-8")
    with pytest.raises(OrganisationError, match="larger than the limit of 1,000 bytes") as info:
        load_yaml(path, error=OrganisationError, max_bytes=1000)
    assert info.value.file == str(path)
    assert load_yaml(path, error=OrganisationError, max_bytes=6000)[0] == {"a": "x" * 5000}


def test_bad_utf8_names_the_line(tmp_path: Path) -> None:
    path = tmp_path / "latin1.yaml"
    path.write_bytes("a: 1\nb: 2\nname: Müller\n".encode("latin-1"))
    with pytest.raises(OrganisationError, match="not UTF-8") as info:
        load_yaml(path, error=OrganisationError)
    assert info.value.line == 3


def test_lines_of_a_large_document_need_no_recursion() -> None:
    text = "".join(f"k{i}:\n  - {{a: {i}}}\n" for i in range(2000))
    _, lines, _ = load_yaml("wide.yaml", error=ScenarioError, text=text)
    assert lines.of(("k1999", 0, "a")) == 2 * 1999 + 2


_ALPHABET = st.sampled_from(
    ["[", "]", "{", "}", ",", ":", " ", "- ", "\n", "  ", "&a ", "*a", "&b ", "*b", "x", "<<: "]
)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(_ALPHABET, max_size=200).map("".join), st.integers(min_value=1, max_value=12))
def test_any_text_loads_or_gives_the_readers_error(text: str, depth: int) -> None:
    """Whatever the text, the reader returns data or raises its own error: never anything else."""
    for fast in (False, True):
        try:
            parse_yaml("h.yaml", error=ScenarioError, text=text, fast=fast, max_depth=depth, max_nodes=500)
        except ScenarioError as exc:
            assert exc.file == "h.yaml"


@settings(max_examples=60, deadline=None)
@given(st.integers(min_value=1, max_value=6), st.integers(min_value=1, max_value=8), st.integers(10, 5000))
def test_alias_bombs_are_refused_exactly_when_over_the_bound(levels: int, width: int, bound: int) -> None:
    text = billion_laughs(levels, width)
    over = expanded_nodes(levels, width) > bound
    try:
        load_yaml("b.yaml", error=ScenarioError, text=text, max_nodes=bound)
    except ScenarioError as exc:
        assert over, exc
    else:
        assert not over


# -- every reader --------------------------------------------------------------------------------------------------

HOSTILE = {
    "bomb": billion_laughs(),
    "recursive": "units: &u\n  - id: x\n    more: *u\n",
    "deep": _flow(20_000),
    "deep-block": _compact_seqs(20_000),
}


def _org(path: Path) -> Any:
    return load_organisation(path)


def _orgcheck(path: Path) -> Any:
    return load_org_tolerant(path)


def _scenario(path: Path) -> Any:
    return load_scenario(path)


def _catalog(path: Path) -> Any:
    return load_catalog(path)


def _calendar(path: Path) -> Any:
    return ChinaCalendar([path])


def _model(path: Path) -> Any:
    return load_yaml_model(path)


def _model_org(path: Path) -> Any:
    """The simulation model names the hostile file as its organisation file."""
    model = path.with_name("model.yaml")
    model.write_text(f"process: {LICENSING}\norg: {path.name}\nunit: market-bureau\n", encoding="utf-8")
    return load_yaml_model(model)


READERS: list[tuple[str, Callable[[Path], Any], type[DefinitionError]]] = [
    ("organisation", _org, OrganisationError),
    ("validate --org", _orgcheck, OrganisationError),
    ("scenario", _scenario, ScenarioError),
    ("catalog", _catalog, DefinitionError),
    ("calendar", _calendar, CalendarError),
    ("simulation model", _model, SimulationModelError),
    ("simulation model's org", _model_org, SimulationModelError),
]


@pytest.mark.parametrize("kind", sorted(HOSTILE))
@pytest.mark.parametrize("reader", READERS, ids=[r[0] for r in READERS])
def test_every_reader_refuses_hostile_yaml(
    tmp_path: Path, reader: tuple[str, Callable[[Path], Any], type[DefinitionError]], kind: str
) -> None:
    _, read, error = reader
    path = tmp_path / "hostile.yaml"
    path.write_text(HOSTILE[kind], encoding="utf-8")
    with pytest.raises(error) as info:
        read(path)
    message = str(info.value)
    assert "hostile.yaml" in message
    assert any(word in message for word in ("nodes", "recursive", "nested more than", "nesting depth")), message
    problems = getattr(info.value, "problems", None)  # a catalog lists its problems, each with its line
    line = problems[0].row if problems else info.value.line
    if reader[0] != "simulation model's org":  # that one is named at the model's 'org' key
        assert line is not None


def test_catalog_yaml_bounds_can_be_raised(tmp_path: Path) -> None:
    from approvalflow.catalog.formats.tree_format import read_yaml

    path = tmp_path / "c.yaml"
    path.write_text("powers: []\nrisk_points: []\n", encoding="utf-8")
    with pytest.raises(DefinitionError, match="read_yaml"):
        read_yaml(path, max_bytes=10)
    with pytest.raises(DefinitionError, match="nodes"):
        read_yaml(path, max_nodes=3)
    assert read_yaml(path).powers == []


def test_deep_json_catalog_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "deep.json"
    path.write_text('{"powers": [\n' + "[" * 50_000 + "]" * 50_000 + "\n]}", encoding="utf-8")
    with pytest.raises(DefinitionError, match="nested more than") as info:
        load_catalog(path)
    assert "RecursionError" not in str(info.value)
    path.write_text('{"powers": [' + "[" * 150 + "]" * 150 + "]}", encoding="utf-8")
    with pytest.raises(DefinitionError, match="nested more than"):
        load_catalog(path)


# -- the command line, bounded in memory and time ------------------------------------------------------------------

_LIMITED = """
import resource, runpy, sys
resource.setrlimit(resource.RLIMIT_AS, ({mem}, {mem}))
sys.argv = ["approvalflow", *sys.argv[1:]]
runpy.run_module("approvalflow", run_name="__main__")
"""


def run_limited(*args: str, mem: int = 1536 * 2**20, timeout: float = 60) -> subprocess.CompletedProcess[str]:
    """``approvalflow ARGS`` in a subprocess with at most ``mem`` bytes of address space and ``timeout`` seconds."""
    code = _LIMITED.format(mem=mem)
    return subprocess.run(
        [sys.executable, "-c", code, *args], capture_output=True, text=True, timeout=timeout, check=False
    )


def _scenario_with_data(tmp_path: Path, data: str) -> Path:
    path = tmp_path / "bomb.scenario.yaml"
    path.write_text(
        f"process: {LICENSING}\norg: {SAMPLE_ORG}\nunit: market-bureau\n"
        f"start: 2026-09-28T09:00:00+08:00\n{data}steps: []\n",
        encoding="utf-8",
    )
    return path


@pytest.mark.parametrize("kind", ["bomb", "recursive", "deep"])
def test_run_refuses_hostile_scenario_data_within_bounds(tmp_path: Path, kind: str) -> None:
    data = {
        "bomb": textwrap.indent(billion_laughs(), "  ").join(["data:\n", ""]),
        "recursive": "data: &d\n  self: *d\n",
        "deep": "data: {k: " + _flow(20_000).strip() + "}\n",
    }[kind]
    result = run_limited("run", str(_scenario_with_data(tmp_path, data)))
    assert result.returncode == 2, result.stderr[-2000:]
    assert "Traceback" not in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
    assert "bomb.scenario.yaml:" in result.stderr


def test_validate_and_simulate_refuse_deep_yaml_within_bounds(tmp_path: Path) -> None:
    org = tmp_path / "org.yaml"
    org.write_text("units: " + _flow(20_000), encoding="utf-8")
    model = tmp_path / "model.yaml"
    model.write_text("process: x.bpmn\nsteps: " + _flow(20_000), encoding="utf-8")
    for args in (["validate", str(LICENSING), "--org", str(org)], ["simulate", str(model)]):
        result = run_limited(*args)
        assert result.returncode == 2, result.stderr[-2000:]
        assert "Traceback" not in result.stderr and "nested more than" in result.stderr


@pytest.mark.parametrize(
    "text, line",
    [
        ("units: []\nnote: 2026-9-8T25:00:00\n", 2),  # an hour PyYAML cannot build
        ("a: 1\nb: [1, {c: 2027-02-30}]\n", 2),  # an impossible date, nested
        ("- {x: [1, 2]}\n- {y: 2026-13-01}\n", 2),
        ("a: &d 2026-02-30\nb: *d\n", 1),
    ],
)
def test_a_value_the_constructor_cannot_build_names_its_line(text: str, line: int) -> None:
    for fast in (False, True):
        with pytest.raises(ScenarioError, match="not a valid value") as info:
            parse_yaml("v.yaml", error=ScenarioError, text=text, fast=fast)
        assert info.value.line == line
