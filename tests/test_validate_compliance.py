"""Compliance checks of validate: no-posts, no-time-limit, risk-coverage, time-budget, requires-not-dominating."""

from __future__ import annotations

import itertools
from fractions import Fraction

from approvalflow.validation import validate_string
from approvalflow.validation.compliance import convert

from .test_validate_support import Flow, Node, model, risk, step

START, END = ("startEvent", "s"), ("endEvent", "e")
LIMIT = '<af:timeLimit statutory="20" promised="10" extension="5" unit="workday" startsAfter="accept"/>'


def only(text: str, rule: str) -> list[tuple[str | None, int | None]]:
    return [(f.element, f.line) for f in validate_string(text) if f.rule == rule]


def chain(*limits: int | None, ext: str = LIMIT, extra: dict[int, str] | None = None) -> str:
    """s -> accept(1) -> t1 -> t2 ... -> e; task i (0-based among the t's) is node 2 + i, line 7 + i."""
    extra = extra or {}
    tasks = [("userTask", f"t{i}", step(limit=lim, extra=extra.get(i, ""))) for i, lim in enumerate(limits)]
    ids = ["s", "accept", *[t[1] for t in tasks], "e"]
    return model([START, ("userTask", "accept", step()), *tasks, END], list(itertools.pairwise(ids)), process_ext=ext)


def test_no_posts_for_user_task_without_posts_or_lane() -> None:
    # t0 (line 7) has af:step without posts: anyone could do it
    text = chain(2).replace('<af:step posts="clerk" timeLimit="2"/>', '<af:step timeLimit="2"/>')
    assert only(text, "no-posts") == [("t0", 7)]
    assert only(chain(2), "no-posts") == []


def test_no_time_limit_only_when_the_process_has_a_case_limit() -> None:
    assert only(chain(2, None), "no-time-limit") == [("t1", 8)]
    assert only(chain(2, None, ext=""), "no-time-limit") == []


def test_risk_coverage_for_domain_collective_and_extension_steps() -> None:
    nodes: list[Node] = [
        START,
        ("userTask", "decide", '<af:step posts="deputy" domain="approval" timeLimit="1"/>'),
        ("userTask", "meet", '<af:step posts="leader" timeLimit="1"/><af:collective/>'),
        ("userTask", "extend", '<af:step posts="leader" timeLimit="1"/><af:extension/>'),
        ("userTask", "covered", f'<af:step posts="deputy" domain="finance" timeLimit="1"/>{risk("1")}'),
        END,
    ]
    ids = [n[1] for n in nodes]
    text = model(nodes, list(itertools.pairwise(ids)))
    assert only(text, "risk-coverage") == [("decide", 6), ("meet", 7), ("extend", 8)]


def test_time_budget_within_and_over_the_promised_limit() -> None:
    # the clock starts after 'accept' (its own 1 day is not counted): 4 + 6 = 10 <= promised 10
    assert only(chain(4, 6), "time-budget") == []
    # 4 + 7 = 11 > promised 10 (statutory 20 is met): one finding on the process (line 3)
    found = [f for f in validate_string(chain(4, 7)) if f.rule == "time-budget"]
    assert [(f.element, f.line, f.severity) for f in found] == [("p", 3, "error")]
    assert "t0 4 + t1 7 = 11" in found[0].message and "promised limit of 10" in found[0].message
    # 12 + 9 = 21 > both limits: two findings
    assert len(only(chain(12, 9), "time-budget")) == 2


def test_time_budget_skips_steps_that_suspend_the_clock() -> None:
    # t1 suspends the clock (补正): 4 + 3 = 7 counted, t1's 30 days are not
    text = chain(4, 30, 3, extra={1: '<af:suspendsClock reason="补正"/>'})
    assert only(text, "time-budget") == []


def test_time_budget_takes_the_longest_branch_not_the_sum_of_branches() -> None:
    # after accept: XOR x -> a(6) | b(8) -> m -> c(2): longest path 8 + 2 = 10 <= 10; with b at 9: 11 > 10
    def branchy(b: int) -> str:
        nodes: list[Node] = [
            START,
            ("userTask", "accept", step()),
            ("exclusiveGateway", "x"),
            ("userTask", "a", step(limit=6)),
            ("userTask", "b", step(limit=b)),
            ("exclusiveGateway", "m"),
            ("userTask", "c", step(limit=2)),
            END,
        ]
        flows: list[Flow] = [
            ("s", "accept"),
            ("accept", "x"),
            ("x", "a", "default"),
            ("x", "b", "big == True"),
            ("a", "m"),
            ("b", "m"),
            ("m", "c"),
            ("c", "e"),
        ]
        return model(nodes, flows, process_ext=LIMIT)

    assert only(branchy(8), "time-budget") == []
    assert only(branchy(9), "time-budget") == [("p", 3)]


def test_time_budget_loop_counts_once() -> None:
    # a(5) -> x -> back to a, or on to b(5): the loop-free path is 5 + 5 = 10 <= 10
    nodes: list[Node] = [
        START,
        ("userTask", "accept", step()),
        ("userTask", "a", step(limit=5)),
        ("exclusiveGateway", "x"),
        ("userTask", "b", step(limit=5)),
        END,
    ]
    flows: list[Flow] = [
        ("s", "accept"),
        ("accept", "a"),
        ("a", "x"),
        ("x", "a", "again == True"),
        ("x", "b", "default"),
        ("b", "e"),
    ]
    assert only(model(nodes, flows, process_ext=LIMIT), "time-budget") == []


def test_time_budget_allows_the_extension_on_paths_through_the_extension_step() -> None:
    # accept -> x -> [extend(1, af:extension)] -> m -> d(13). Without the extension step: 13 > 10 -> finding.
    # Through it: 1 + 13 = 14 <= 10 + 5. Only the path without the extension step breaks the promised limit.
    nodes: list[Node] = [
        START,
        ("userTask", "accept", step()),
        ("exclusiveGateway", "x"),
        ("userTask", "extend", step(limit=1, extra="<af:extension/>" + risk("x"))),
        ("exclusiveGateway", "m"),
        ("userTask", "d", step(limit=13)),
        END,
    ]
    flows: list[Flow] = [
        ("s", "accept"),
        ("accept", "x"),
        ("x", "extend", "late == True"),
        ("x", "m", "default"),
        ("extend", "m"),
        ("m", "d"),
        ("d", "e"),
    ]
    found = [f for f in validate_string(model(nodes, flows, process_ext=LIMIT)) if f.rule == "time-budget"]
    assert len(found) == 1 and "d 13 = 13" in found[0].message


def test_unit_conversion() -> None:
    assert convert(16, "hour", "workday") == 2
    assert convert(48, "hour", "day") == 2
    assert convert(3, "day", "workday") == 3
    assert convert(1, "workday", "hour") == Fraction(8)


REQUIRES = '<af:requires steps="legal"/>'


def test_requires_not_dominating_on_an_exclusive_branch() -> None:
    # legal review sits on one branch of x; 'decide' (node 6, line 11) can be reached through 'skip'.
    nodes: list[Node] = [
        START,
        ("userTask", "draft", step()),
        ("exclusiveGateway", "x"),
        ("userTask", "legal", step()),
        ("userTask", "skip", step()),
        ("exclusiveGateway", "m"),
        ("userTask", "decide", step(extra=REQUIRES)),
        END,
    ]
    flows: list[Flow] = [
        ("s", "draft"),
        ("draft", "x"),
        ("x", "legal", "hard == True"),
        ("x", "skip", "default"),
        ("legal", "m"),
        ("skip", "m"),
        ("m", "decide"),
        ("decide", "e"),
    ]
    found = [f for f in validate_string(model(nodes, flows)) if f.rule == "requires-not-dominating"]
    assert [(f.element, f.line) for f in found] == [("decide", 11)]
    assert "skip" in found[0].message


def test_requires_in_a_parallel_branch_always_runs() -> None:
    # legal on one branch of a parallel split that joins before decide: every case passes legal. The plain
    # dominator tree says fork, not legal, dominates decide; the parallel join makes it hold anyway.
    nodes: list[Node] = [
        START,
        ("parallelGateway", "fork"),
        ("userTask", "legal", step()),
        ("userTask", "other", step()),
        ("parallelGateway", "join"),
        ("userTask", "decide", step(extra=REQUIRES)),
        END,
    ]
    flows: list[Flow] = [
        ("s", "fork"),
        ("fork", "legal"),
        ("fork", "other"),
        ("legal", "join"),
        ("other", "join"),
        ("join", "decide"),
        ("decide", "e"),
    ]
    assert only(model(nodes, flows), "requires-not-dominating") == []


def test_requires_on_the_only_path_passes() -> None:
    ids = ["s", "legal", "decide", "e"]
    nodes: list[Node] = [START, ("userTask", "legal", step()), ("userTask", "decide", step(extra=REQUIRES)), END]
    assert only(model(nodes, list(itertools.pairwise(ids))), "requires-not-dominating") == []
