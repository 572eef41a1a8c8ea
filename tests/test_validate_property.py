"""Property: a random block-structured process is sound by construction, so validate finds nothing structural;
replacing one matching join by the other kind gives a deadlock (XOR -> AND) or a lack of sync (AND -> XOR)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from approvalflow.validation import validate_string

from .test_validate_support import Flow, Node, model, step

STRUCTURAL = {"unreachable", "dead-end", "deadlock", "no-sync", "missing-default", "unknown-step-ref", "not-executable"}

Block = Any  # ("task",) | ("seq", a, b) | ("xor", [..]) | ("and", [..]) | ("loop", a)

blocks = st.recursive(
    st.just(("task",)),
    lambda inner: st.one_of(
        st.tuples(st.just("seq"), inner, inner),
        st.tuples(st.just("xor"), st.lists(inner, min_size=2, max_size=3)),
        st.tuples(st.just("and"), st.lists(inner, min_size=2, max_size=3)),
        st.tuples(st.just("loop"), inner),
    ),
    max_leaves=7,
)


@dataclass
class Builder:
    nodes: list[Node] = field(default_factory=list)
    flows: list[Flow] = field(default_factory=list)
    joins: dict[str, str] = field(default_factory=dict)  # join id -> its kind
    count: int = 0

    def add(self, kind: str, prefix: str, ext: str = "") -> str:
        self.count += 1
        ident = f"{prefix}{self.count}"
        self.nodes.append((kind, ident, ext))
        return ident

    def build(self, block: Block) -> tuple[str, str]:
        if block[0] == "task":
            t = self.add("userTask", "t", step())
            return t, t
        if block[0] == "seq":
            f1, l1 = self.build(block[1])
            f2, l2 = self.build(block[2])
            self.flows.append((l1, f2))
            return f1, l2
        if block[0] == "loop":
            merge = self.add("exclusiveGateway", "lm")
            first, last = self.build(block[1])
            split = self.add("exclusiveGateway", "ls")
            after = self.add("userTask", "t", step())
            self.flows += [(merge, first), (last, split), (split, merge, "again == True"), (split, after, "default")]
            return merge, after
        kind = "exclusiveGateway" if block[0] == "xor" else "parallelGateway"
        split, join = self.add(kind, "split"), self.add(kind, "join")
        self.joins[join] = kind
        for i, child in enumerate(block[1]):
            first, last = self.build(child)
            if kind == "exclusiveGateway":
                self.flows.append((split, first, "default") if i == 0 else (split, first, f"choice == {i}"))
            else:
                self.flows.append((split, first))
            self.flows.append((last, join))
        return split, join

    def document(self, block: Block) -> str:
        start = ("startEvent", "s")
        first, last = self.build(block)
        return model([start, *self.nodes, ("endEvent", "e")], [("s", first), *self.flows, (last, "e")])


SLOW_OK = settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@SLOW_OK
@given(blocks)
def test_block_structured_process_has_no_structural_finding(block: Block) -> None:
    text = Builder().document(block)
    found = [(f.rule, f.element) for f in validate_string(text) if f.rule in STRUCTURAL]
    assert found == []


@SLOW_OK
@given(blocks, st.data())
def test_swapping_one_join_breaks_soundness(block: Block, data: st.DataObject) -> None:
    builder = Builder()
    text = builder.document(block)
    if not builder.joins:
        return
    join = data.draw(st.sampled_from(sorted(builder.joins)))
    was = builder.joins[join]
    now = "parallelGateway" if was == "exclusiveGateway" else "exclusiveGateway"
    mutated = text.replace(f'<bpmn:{was} id="{join}" ></bpmn:{was}>', f'<bpmn:{now} id="{join}" ></bpmn:{now}>')
    assert mutated != text
    expected = "deadlock" if was == "exclusiveGateway" else "no-sync"
    found = {(f.rule, f.element) for f in validate_string(mutated)}
    assert (expected, join) in found
