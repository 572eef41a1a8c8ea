"""Fuzz scenario files (YAML, SPEC section 6): ``run_scenario`` and ``approvalflow run SCENARIO --json``.

Seeds: tests/scenarios/**/*.scenario.yaml, with their ``process`` and ``org`` made absolute so that the fuzzed
file can live in a temporary folder (a mutation may still point them anywhere). Variants: tree edits, YAML
attacks and byte edits; ``run --store`` on some examples.
"""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import given
from hypothesis import strategies as st

from approvalflow.testing.scenario import run_scenario

from .harness import ROOT, check_cli, check_library, fuzz_settings, run_ci_profile
from .mutate import byte_mutation, dump_yaml, tree_mutation, yaml_text_mutation

KIND, EXT = "scenario", "yaml"


def _absolute(path: Path) -> Any:
    doc = yaml.safe_load(path.read_text(encoding="utf-8"))
    for key in ("process", "org"):
        if isinstance(doc.get(key), str):
            doc[key] = str((path.parent / doc[key]).resolve())
    supplements = (doc.get("calendar") or {}).get("supplements") or []
    if supplements:
        doc["calendar"]["supplements"] = [str((path.parent / s).resolve()) for s in supplements]
    return doc


SEED_FILES = sorted((ROOT / "tests" / "scenarios").glob("**/*.scenario.yaml"))
TREES = [_absolute(p) for p in SEED_FILES]
SEEDS = [dump_yaml(t) for t in TREES]


def exercise(data: bytes, *, store: bool = False) -> None:
    """The library and the CLI on the scenario file ``data``."""
    with tempfile.TemporaryDirectory(prefix="af-fuzz-") as tmp:
        path = Path(tmp) / "fuzz.scenario.yaml"
        path.write_bytes(data)
        check_library(KIND, EXT, data, lambda: run_scenario(path))
        argv = ["run", str(path), "--json"]
        if store:
            argv += ["--store", str(Path(tmp) / "cases.db"), "--trail", str(Path(tmp) / "trail.jsonl")]
        check_cli(KIND, EXT, data, argv)


def replay(path: Path) -> None:
    """Replay one corpus file (with and without ``--store``)."""
    exercise(path.read_bytes(), store=True)


@fuzz_settings(default=10, ci=120)
@given(data=st.data())
def test_scenario_tree(data: st.DataObject) -> None:
    tree = TREES[data.draw(st.integers(0, len(TREES) - 1))]
    exercise(dump_yaml(data.draw(tree_mutation(tree, surrogates=True))), store=data.draw(st.booleans()))


@fuzz_settings(default=6, ci=150)
@given(data=st.data())
def test_scenario_yaml_text(data: st.DataObject) -> None:
    seed = SEEDS[data.draw(st.integers(0, len(SEEDS) - 1))]
    exercise(data.draw(yaml_text_mutation(seed)))


@fuzz_settings(default=6, ci=300)
@given(data=st.data())
def test_scenario_bytes(data: st.DataObject) -> None:
    seed = SEEDS[data.draw(st.integers(0, len(SEEDS) - 1))]
    exercise(data.draw(byte_mutation(seed)))


@pytest.mark.slow
def test_scenario_ci_profile() -> None:
    """The fuzz tests above under the ci profile, in a subprocess bounded in memory and time."""
    output = run_ci_profile(__file__)
    assert " passed" in output
