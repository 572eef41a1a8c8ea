"""Fuzz saved cases: ``approvalflow.engine.persistence.load_case`` on damaged documents of ``dump_case``.

Seeds: the cases of scenario runs, dumped mid-way and at the end. Variants: byte edits; JSON tree edits as
they are (the trail's digest refuses them early) and *re-sealed*: after the edit the last trail entry's state
digest, its hash and the trail head are recomputed, as anyone who can write an unsigned saved case can do, so
that the edit reaches the state readers behind the trail check.
"""

from __future__ import annotations

import functools
import json
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from approvalflow import Case, load_organisation, load_process
from approvalflow.engine.persistence import dump_case, load_case, state_digest
from approvalflow.engine.trail import entry_hash
from approvalflow.testing.scenario import run_scenario

from .harness import ROOT, check_library, fuzz_settings, run_ci_profile
from .mutate import byte_mutation, dump_json, tree_mutation
from .seeds import SCENARIOS

KIND, EXT = "case", "json"
ORG = ROOT / "processes" / "org" / "sample_county.yaml"


@functools.cache
def definition_and_org() -> tuple[Any, Any]:
    """The licensing process and the sample county: what every seed case ran on."""
    return load_process(ROOT / "processes" / "licensing" / "general_licensing.bpmn"), load_organisation(ORG)


@functools.cache
def seeds() -> tuple[bytes, ...]:
    """Saved cases of the seed scenarios (open, done, refused)."""
    out = []
    for scenario in SCENARIOS:
        case: Case = run_scenario(scenario).case
        out.append(dump_case(case).encode("utf-8"))
    return tuple(out)


def exercise(data: bytes) -> None:
    """``load_case`` on the document ``data``."""
    definition, org = definition_and_org()
    check_library(KIND, EXT, data, lambda: load_case(data, definition, org, name="fuzz.json"))


#: In a corpus file, stands for the digest of the process the seed cases ran on: a corpus case stays on "this
#: definition" when the licensing process is edited.
DIGEST_PLACEHOLDER = b"@DIGEST@"


def replay(path: Path) -> None:
    """Replay one corpus file (its :data:`DIGEST_PLACEHOLDER` replaced by the licensing process's digest)."""
    definition, _ = definition_and_org()
    exercise(path.read_bytes().replace(DIGEST_PLACEHOLDER, definition.digest.encode("ascii")))


def reseal(doc: Any) -> Any:
    """``doc`` with its last trail entry bound to its (edited) state again, and the hashes recomputed."""
    try:
        trail = doc["trail"]
        last = trail[-1]
        last["state"] = state_digest(doc)
        last["hash"] = entry_hash(last)
        doc["trail_head"] = {"hash": last["hash"], "count": len(trail)}
    except (KeyError, IndexError, TypeError, ValueError, AttributeError, RecursionError):
        pass  # the edit broke the trail itself: load it as it is
    return doc


@fuzz_settings(default=10, ci=500)
@given(data=st.data())
def test_case_bytes(data: st.DataObject) -> None:
    exercise(data.draw(byte_mutation(data.draw(st.sampled_from(seeds())))))


@fuzz_settings(default=25, ci=1200)
@given(data=st.data())
def test_case_tree_resealed(data: st.DataObject) -> None:
    doc = json.loads(data.draw(st.sampled_from(seeds())))
    mutated = data.draw(tree_mutation(doc, surrogates=True))
    if data.draw(st.booleans()) and isinstance(mutated, dict):
        mutated = reseal(mutated)
    exercise(dump_json(mutated))


@pytest.mark.slow
def test_case_ci_profile() -> None:
    """The fuzz tests above under the ci profile, in a subprocess bounded in memory and time."""
    output = run_ci_profile(__file__)
    assert " passed" in output
