"""Structural checks of validate: each rule fails on a small model made to break it and passes on its fix.

Models are written by ``model()`` with one element a line: node ``i`` is on line ``5 + i``.
"""

from __future__ import annotations

from approvalflow.validation import StaticFinding, validate_string

from .test_validate_support import Flow, Node, model, step


def rules(findings: list[StaticFinding], *only: str) -> list[tuple[str, str | None, int | None]]:
    return [(f.rule, f.element, f.line) for f in findings if not only or f.rule in only]


START, END = ("startEvent", "s"), ("endEvent", "e")
STRUCTURAL = ("unreachable", "dead-end", "deadlock", "no-sync", "missing-default", "unknown-step-ref")


def test_sequence_is_clean() -> None:
    text = model([START, ("userTask", "a", step()), END], [("s", "a"), ("a", "e")])
    assert validate_string(text) == []


def test_unreachable_task() -> None:
    # 'orphan' (node 2, line 7) has no incoming flow while the process has a start event: nothing reaches it.
    # It has an outgoing flow to the end, so it is not a dead end.
    text = model(
        [START, ("userTask", "a", step()), ("userTask", "orphan", step()), END],
        [("s", "a"), ("a", "e"), ("orphan", "e")],
    )
    assert rules(validate_string(text), *STRUCTURAL) == [("unreachable", "orphan", 7)]


def test_dead_end_loop_without_exit() -> None:
    # s -> a -> x -> b -> x: once in the loop no path reaches the end event, so s (line 5), a (6), gateway x (7)
    # and b (8) are all dead ends, and the end event (line 9) is unreachable.
    text = model(
        [START, ("userTask", "a", step()), ("exclusiveGateway", "x"), ("userTask", "b", step()), END],
        [("s", "a"), ("a", "x"), ("x", "b"), ("b", "x")],
    )
    found = rules(validate_string(text), "dead-end", "unreachable")
    assert ("dead-end", "x", 7) in found and ("dead-end", "b", 8) in found and ("dead-end", "a", 6) in found
    assert ("unreachable", "e", 9) in found
    assert ("dead-end", "s", 5) in found  # every path from the start loops


def test_gateway_without_outgoing_is_dead_end() -> None:
    # x (line 7) has no outgoing flow; a gateway is never an implicit end.
    text = model(
        [START, ("userTask", "a", step()), ("exclusiveGateway", "x"), END], [("s", "a"), ("a", "x"), ("a", "e")]
    )
    assert ("dead-end", "x", 7) in rules(validate_string(text))


def xor_split(join_kind: str) -> str:
    # s -> a -> x(XOR, default to c) -> b | c -> j(join_kind) -> e
    return model(
        [
            START,
            ("userTask", "a", step()),
            ("exclusiveGateway", "x"),
            ("userTask", "b", step()),
            ("userTask", "c", step()),
            (join_kind, "j"),
            END,
        ],
        [("s", "a"), ("a", "x"), ("x", "b", "go == True"), ("x", "c", "default"), ("b", "j"), ("c", "j"), ("j", "e")],
    )


def test_exclusive_split_into_parallel_join_deadlocks() -> None:
    # only one of b, c runs, so the parallel join j (node 5, line 10) never gets both tokens.
    found = validate_string(xor_split("parallelGateway"))
    assert rules(found, *STRUCTURAL) == [("deadlock", "j", 10)]
    assert "exclusiveGateway 'x'" in found[0].message


def test_exclusive_split_into_exclusive_merge_is_sound() -> None:
    assert rules(validate_string(xor_split("exclusiveGateway")), *STRUCTURAL) == []


def and_split(join_kind: str) -> str:
    return model(
        [
            START,
            ("parallelGateway", "fork"),
            ("userTask", "b", step()),
            ("userTask", "c", step()),
            (join_kind, "j"),
            ("userTask", "after", step()),
            END,
        ],
        [("s", "fork"), ("fork", "b"), ("fork", "c"), ("b", "j"), ("c", "j"), ("j", "after"), ("after", "e")],
    )


def test_parallel_split_into_exclusive_merge_lacks_sync() -> None:
    # b and c both run; the exclusive merge j (node 4, line 9) passes both tokens: 'after' runs twice.
    found = validate_string(and_split("exclusiveGateway"))
    assert rules(found, *STRUCTURAL) == [("no-sync", "j", 9)]
    assert "parallelGateway 'fork'" in found[0].message


def test_parallel_split_into_parallel_join_is_sound() -> None:
    assert rules(validate_string(and_split("parallelGateway")), *STRUCTURAL) == []


def test_task_with_two_incoming_flows_from_a_fork_lacks_sync() -> None:
    # no gateway at all: the fork's two branches enter 'after' (line 8) directly, an implicit exclusive merge.
    text = model(
        [START, ("parallelGateway", "fork"), ("userTask", "b", step()), ("userTask", "after", step()), END],
        [("s", "fork"), ("fork", "b"), ("fork", "after"), ("b", "after"), ("after", "e")],
    )
    assert rules(validate_string(text), *STRUCTURAL) == [("no-sync", "after", 8)]


def test_deadlock_found_through_nested_blocks_not_one_shape() -> None:
    # the XOR split x leads through a nested AND block (fork..join1) on one branch and straight on the other,
    # and both meet at the parallel join j2 (node 8, line 13): a deadlock two gateways away from the split.
    text = model(
        [
            START,
            ("exclusiveGateway", "x"),
            ("parallelGateway", "fork"),
            ("userTask", "b", step()),
            ("userTask", "c", step()),
            ("parallelGateway", "join1"),
            ("userTask", "d", step()),
            ("userTask", "z", step()),
            ("parallelGateway", "j2"),
            END,
        ],
        [
            ("s", "x"),
            ("x", "fork", "go == True"),
            ("x", "d", "default"),
            ("fork", "b"),
            ("fork", "c"),
            ("b", "join1"),
            ("c", "join1"),
            ("join1", "z"),
            ("z", "j2"),
            ("d", "j2"),
            ("j2", "e"),
        ],
    )
    assert rules(validate_string(text), *STRUCTURAL) == [("deadlock", "j2", 13)]


def test_missing_default_when_all_flows_have_conditions() -> None:
    # both flows of x (line 7) carry conditions that need not cover every case, and there is no default.
    text = model(
        [
            START,
            ("userTask", "a", step()),
            ("exclusiveGateway", "x"),
            ("userTask", "b", step()),
            ("userTask", "c", step()),
            ("exclusiveGateway", "m"),
            END,
        ],
        [
            ("s", "a"),
            ("a", "x"),
            ("x", "b", "amount &gt; 10"),
            ("x", "c", "amount &lt; 5"),
            ("b", "m"),
            ("c", "m"),
            ("m", "e"),
        ],
    )
    assert rules(validate_string(text), *STRUCTURAL) == [("missing-default", "x", 7)]


def test_visibly_complementary_conditions_need_no_default() -> None:
    text = model(
        [
            START,
            ("userTask", "a", step()),
            ("exclusiveGateway", "x"),
            ("userTask", "b", step()),
            ("userTask", "c", step()),
            ("exclusiveGateway", "m"),
            END,
        ],
        [
            ("s", "a"),
            ("a", "x"),
            ("x", "b", "ok == True"),
            ("x", "c", "ok != True"),
            ("b", "m"),
            ("c", "m"),
            ("m", "e"),
        ],
    )
    assert rules(validate_string(text), *STRUCTURAL) == []


def test_unknown_step_refs_are_all_reported() -> None:
    # b (line 7) names 'ghost' in separateFrom and 'nobody' in requires; startsAfter names 'nowhere' (process line 3)
    ext = '<af:timeLimit promised="5" statutory="10" startsAfter="nowhere"/>'
    text = model(
        [
            START,
            ("userTask", "a", step()),
            ("userTask", "b", step(extra='<af:separateFrom steps="a ghost"/><af:requires steps="nobody"/>')),
            END,
        ],
        [("s", "a"), ("a", "b"), ("b", "e")],
        process_ext=ext,
    )
    found = rules(validate_string(text), "unknown-step-ref")
    assert sorted(found) == [("unknown-step-ref", "b", 7), ("unknown-step-ref", "b", 7), ("unknown-step-ref", "p", 3)]


def test_boundary_event_path_is_reachable_and_not_a_deadlock() -> None:
    # a timer on 'a' leads to 'escalate'; both paths meet at an exclusive merge: sound, every node reachable.
    nodes: list[Node] = [
        START,
        ("userTask", "a", step()),
        ("boundaryEvent", "timer", "", 'attachedToRef="a"'),
        ("userTask", "escalate", step()),
        ("exclusiveGateway", "m"),
        END,
    ]
    flows: list[Flow] = [("s", "a"), ("a", "m"), ("timer", "escalate"), ("escalate", "m"), ("m", "e")]
    text = model(nodes, flows).replace(
        'attachedToRef="a"></bpmn:boundaryEvent>', 'attachedToRef="a"><bpmn:timerEventDefinition/></bpmn:boundaryEvent>'
    )
    assert rules(validate_string(text), *STRUCTURAL) == []


def test_not_well_formed_xml_is_one_finding_with_line() -> None:
    text = model([START, END], [("s", "e")]).replace('<bpmn:endEvent id="e" >', '<bpmn:endEvent id="e" <', 1)
    found = validate_string(text, filename="bad.bpmn")
    # the broken tag is node 1, on line 6
    assert [(f.rule, f.file, f.line) for f in found] == [("invalid-bpmn", "bad.bpmn", 6)]


def test_unknown_af_element_is_invalid_annotation() -> None:
    text = model([START, ("userTask", "a", '<af:stepp posts="clerk"/>'), END], [("s", "a"), ("a", "e")])
    found = validate_string(text)
    assert [(f.rule, f.line) for f in found] == [("invalid-annotation", 6)]
