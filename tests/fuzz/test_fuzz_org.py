"""Fuzz organisation files (YAML, SPEC section 3): ``load_organisation`` and ``approvalflow validate --org``.

Seeds: processes/org/sample_county.yaml and tests/data/market_bureau.yaml. Variants: tree edits (values of the
wrong type, size or depth; keys dropped, added, renamed), YAML attacks (aliases, merge keys, Python tags, deep
nesting, duplicate keys) and byte edits.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

import pytest
import yaml
from hypothesis import given
from hypothesis import strategies as st

from approvalflow import load_organisation

from .harness import ROOT, check_cli, check_library, fuzz_settings, run_ci_profile
from .mutate import byte_mutation, dump_yaml, tree_mutation, yaml_text_mutation

KIND, EXT = "org", "yaml"
SEED_FILES = (ROOT / "processes" / "org" / "sample_county.yaml", ROOT / "tests" / "data" / "market_bureau.yaml")
SEEDS = [p.read_bytes() for p in SEED_FILES]
TREES = [yaml.safe_load(s) for s in SEEDS]
#: A process whose staffing ``validate --org`` checks against the fuzzed organisation.
PROCESS = ROOT / "processes" / "seal" / "seal_use.bpmn"


def exercise(data: bytes) -> None:
    """The library and the CLI on the organisation file ``data``."""
    with tempfile.TemporaryDirectory(prefix="af-fuzz-") as tmp:
        path = Path(tmp) / "org.yaml"
        path.write_bytes(data)
        check_library(KIND, EXT, data, lambda: load_organisation(path))
        check_cli(KIND, EXT, data, ["validate", str(PROCESS), "--org", str(path), "--json"])


def replay(path: Path) -> None:
    """Replay one corpus file."""
    exercise(path.read_bytes())


@fuzz_settings(default=20, ci=500)
@given(data=st.data())
def test_org_tree(data: st.DataObject) -> None:
    tree = TREES[data.draw(st.integers(0, len(TREES) - 1))]
    exercise(dump_yaml(data.draw(tree_mutation(tree, surrogates=True))))


@fuzz_settings(default=12, ci=600)
@given(data=st.data())
def test_org_yaml_text(data: st.DataObject) -> None:
    seed = SEEDS[data.draw(st.integers(0, len(SEEDS) - 1))]
    exercise(data.draw(yaml_text_mutation(seed)))


@fuzz_settings(default=10, ci=500)
@given(data=st.data())
def test_org_bytes(data: st.DataObject) -> None:
    seed = SEEDS[data.draw(st.integers(0, len(SEEDS) - 1))]
    exercise(data.draw(byte_mutation(seed)))


@pytest.mark.slow
def test_org_ci_profile() -> None:
    """The fuzz tests above under the ci profile, in a subprocess bounded in memory and time."""
    output = run_ci_profile(__file__)
    assert " passed" in output
