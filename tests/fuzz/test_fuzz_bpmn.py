"""Fuzz BPMN files: ``load_process_string``, ``load_process``, ``approvalflow validate`` and ``render``.

Seeds: the project's processes/ and the BPMN MIWG reference models (../shared/corpus/bpmn-miwg, read at test
time, never copied). Variants: byte edits, tree edits (elements dropped, duplicated, moved, renamed; attributes
and texts hostile; references pointing elsewhere) and models generated from scratch.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from approvalflow import load_process, load_process_string

from .harness import ROOT, SHARED, check_cli, check_library, fuzz_settings, run_ci_profile
from .mutate import byte_mutation, hostile_text, xml_attack, xml_mutation

KIND, EXT = "bpmn", "bpmn"

#: Seeds no larger than this (bytes): small seeds keep each example cheap.
SEED_MAX_BYTES = 40_000


def _seeds() -> list[bytes]:
    ours = sorted((ROOT / "processes").glob("**/*.bpmn"))
    miwg = sorted((SHARED / "bpmn-miwg").glob("*.bpmn"))
    return [p.read_bytes() for p in [*ours, *miwg] if p.stat().st_size <= SEED_MAX_BYTES]


SEEDS = _seeds()


def exercise(data: bytes, *, cli: bool = True) -> None:
    """Every reader of a BPMN file on ``data``: the library from bytes and from a file, validate and render."""
    check_library(KIND, EXT, data, lambda: load_process_string(data, filename="fuzz.bpmn"))
    if not cli:
        return
    with tempfile.TemporaryDirectory(prefix="af-fuzz-") as tmp:
        path = Path(tmp) / "fuzz.bpmn"
        path.write_bytes(data)
        check_library(KIND, EXT, data, lambda: load_process(path))
        check_cli(KIND, EXT, data, ["validate", str(path), "--json"])
        check_cli(KIND, EXT, data, ["render", str(path), "-o", str(Path(tmp) / "out")])


def replay(path: Path) -> None:
    """Replay one corpus file."""
    exercise(path.read_bytes())


@st.composite
def _seed(draw: st.DrawFn) -> bytes:
    return SEEDS[draw(st.integers(0, len(SEEDS) - 1))]


@fuzz_settings(default=12, ci=400)
@given(data=st.data())
def test_bpmn_bytes(data: st.DataObject) -> None:
    blob = data.draw(byte_mutation(data.draw(_seed())))
    exercise(blob, cli=data.draw(st.booleans()))


@fuzz_settings(default=15, ci=300)
@given(data=st.data())
def test_bpmn_structure(data: st.DataObject) -> None:
    blob = data.draw(xml_mutation(data.draw(_seed())))
    exercise(blob)


@fuzz_settings(default=6, ci=150)
@given(data=st.data())
def test_bpmn_xml_attacks(data: st.DataObject) -> None:
    exercise(data.draw(xml_attack(data.draw(_seed()))))


# -- generated from scratch ----------------------------------------------------------------------------------

_NODE_KINDS = (
    "startEvent",
    "endEvent",
    "userTask",
    "manualTask",
    "scriptTask",
    "serviceTask",
    "exclusiveGateway",
    "parallelGateway",
    "inclusiveGateway",
    "eventBasedGateway",
    "intermediateCatchEvent",
    "boundaryEvent",
    "callActivity",
    "subProcess",
)

_CONDITIONS = (
    'get("approved", False) == True',
    "amount > 1000",
    "x",
    "",
    "1/0",
    "2**99999",
    "'a' * 10**9",
    "__import__('os')",
    "[i for i in range(10**9)]",
    "lambda: 1",
    "(" * 500 + "1" + ")" * 500,
    "not " * 1000 + "True",
    "a.b.c",
    "x[0][1]",
)


def _attr(value: str) -> str:
    clean = "".join(c for c in value if c in "\t\n\r" or ord(c) >= 0x20)
    return clean.replace("&", "&amp;").replace("<", "&lt;").replace('"', "&quot;")


@st.composite
def generated_bpmn(draw: st.DrawFn) -> bytes:
    """A BPMN document built from scratch: random nodes, flows between them (or to nothing), conditions from a
    list of hostile expressions, af: extensions with hostile values."""
    n = draw(st.integers(1, 8))
    ids = [f"n{i}" for i in range(n)]
    text = st.one_of(st.sampled_from(["1", "10", "0", "-1", "1000000000", "workday", "day", "2/3"]), hostile_text())
    parts: list[str] = []
    for i in ids:
        kind = draw(st.sampled_from(_NODE_KINDS))
        inner = ""
        if kind in ("userTask", "manualTask", "callActivity", "subProcess"):
            ext = draw(
                st.lists(
                    st.sampled_from(
                        [
                            '<af:step posts="{a}" timeLimit="{b}" unit="{c}"/>',
                            '<af:separateFrom steps="{a}"/>',
                            '<af:requires steps="{a}"/>',
                            '<af:sameActorAs step="{a}"/>',
                            '<af:collective quorum="{b}" lastSpeaker="{a}" pass="{c}" group="{a}"/>',
                            '<af:timeLimit value="{b}" unit="{c}"/>',
                            '<af:minDuration value="{b}" unit="{c}" reason="{a}"/>',
                            "<af:once/>",
                            "<af:extension/>",
                            '<af:power code="{a}" name="{b}"/>',
                            '<af:risk id="{a}" level="{c}" category="{b}"><af:description>{a}</af:description></af:risk>',
                        ]
                    ),
                    max_size=3,
                )
            )
            filled = [
                e.format(a=_attr(draw(st.one_of(st.sampled_from(ids), text))), b=_attr(draw(text)), c=_attr(draw(text)))
                for e in ext
            ]
            if filled:
                inner = "<bpmn:extensionElements>" + "".join(filled) + "</bpmn:extensionElements>"
        if kind == "intermediateCatchEvent":
            inner += f"<bpmn:timerEventDefinition><bpmn:timeDuration>{_attr(draw(text))}</bpmn:timeDuration></bpmn:timerEventDefinition>"
        extra = ""
        if kind == "boundaryEvent":
            extra = f' attachedToRef="{draw(st.sampled_from([*ids, "nowhere"]))}"'
        if kind == "callActivity":
            extra = f' calledElement="{_attr(draw(st.one_of(st.just("p"), text)))}"'
        if kind == "scriptTask":
            inner += f"<bpmn:script>{_attr(draw(st.sampled_from(_CONDITIONS)))}</bpmn:script>"
        parts.append(f'<bpmn:{kind} id="{i}"{extra}>{inner}</bpmn:{kind}>')
    for j in range(draw(st.integers(0, 12))):
        source = draw(st.sampled_from([*ids, "nowhere"]))
        target = draw(st.sampled_from([*ids, "nowhere"]))
        cond = ""
        if draw(st.booleans()):
            cond = (
                '<bpmn:conditionExpression xsi:type="bpmn:tFormalExpression">'
                f"{_attr(draw(st.sampled_from(_CONDITIONS)))}</bpmn:conditionExpression>"
            )
        parts.append(
            f'<bpmn:sequenceFlow id="f{j}" sourceRef="{source}" targetRef="{target}">{cond}</bpmn:sequenceFlow>'
        )
    executable = draw(st.sampled_from(["true", "false", "maybe"]))
    doc = (
        '<?xml version="1.0" encoding="UTF-8"?>'
        '<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" xmlns:af="urn:approvalflow:bpmn:1"'
        ' xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" id="d" targetNamespace="urn:fuzz">'
        f'<bpmn:process id="p" isExecutable="{executable}">{"".join(parts)}</bpmn:process></bpmn:definitions>'
    )
    return doc.encode("utf-8")


@fuzz_settings(default=15, ci=300)
@given(blob=generated_bpmn())
def test_bpmn_generated(blob: bytes) -> None:
    exercise(blob)


@pytest.mark.slow
def test_bpmn_ci_profile() -> None:
    """The fuzz tests above under the ci profile, in a subprocess bounded in memory and time."""
    output = run_ci_profile(__file__)
    assert " passed" in output
