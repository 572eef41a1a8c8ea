"""``log check`` on logs and models other tools write: readers, the conformance-only model, optimal alignments.

Expected costs are worked out by hand from the models (each comment says how), never copied from the output.
"""

from __future__ import annotations

import gzip
import json
import random
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from approvalflow.cli.main import main
from approvalflow.errors import BpmnError
from approvalflow.supervision.alignment import Net, align, shortest_run
from approvalflow.supervision.conformance import check_log, check_trace
from approvalflow.supervision.eventlog import EventLogError, LogEvent, Trace, read_event_log, read_log
from approvalflow.supervision.procnet import ProcessNet, load_model

from .conftest import LICENSING

DATA = Path(__file__).parent / "data" / "logs"
MINED = DATA / "mined.bpmn"
SHANGHAI = ZoneInfo("Asia/Shanghai")


def _names(trace: list[str]) -> Trace:
    start = datetime(2026, 6, 1, 9, tzinfo=SHANGHAI)
    return Trace("c", [LogEvent(a, start + timedelta(hours=k)) for k, a in enumerate(trace)])


# -- the conformance-only model ---------------------------------------------------------------------------------
def test_a_mined_model_loads_though_the_engine_refuses_it() -> None:
    net = load_model(MINED)
    assert len(net.steps) == 8 and net.name_or_id == "id5c0f"
    # events name steps by name, normalised (case, spaces); the id works too
    assert net.step_of("Register   REQUEST") == "id02" and net.step_of("id02") == "id02"
    assert net.step_of("archive") is None


def test_an_ambiguous_name_lists_its_tasks(tmp_path: Path) -> None:
    text = MINED.read_text(encoding="utf-8").replace('name="reject request"', 'name="Pay compensation"')
    path = tmp_path / "twice.bpmn"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(BpmnError, match=r"name of 2 tasks \(id14, id15\)"):
        load_model(path).step_of("pay compensation")


@pytest.mark.parametrize(
    ("old", "new", "why"),
    [
        (
            '<bpmn:task id="id06" name="examine casually"><bpmn:incoming>f06</bpmn:incoming><bpmn:outgoing>f08'
            "</bpmn:outgoing></bpmn:task>",
            '<bpmn:complexGateway id="id06"><bpmn:incoming>f06</bpmn:incoming><bpmn:outgoing>f08'
            "</bpmn:outgoing></bpmn:complexGateway>",
            "complex gateway",
        ),
        (
            '<bpmn:task id="id06" name="examine casually">',
            '<bpmn:task id="id06" name="examine casually"><bpmn:multiInstanceLoopCharacteristics>'
            "<bpmn:loopCardinality>3</bpmn:loopCardinality></bpmn:multiInstanceLoopCharacteristics>",
            "multiInstanceLoopCharacteristics",
        ),
        ("<bpmn:incoming>f06</bpmn:incoming><bpmn:outgoing>f08", "<bpmn:outgoing>f08", None),
    ],
)
def test_what_cannot_be_modelled_exactly_is_refused_by_name(
    tmp_path: Path, old: str, new: str, why: str | None
) -> None:
    text = MINED.read_text(encoding="utf-8").replace(old, new, 1)
    if why is None:  # a task that no flow reaches: drop the flow into it
        text = text.replace('<bpmn:sequenceFlow id="f06" sourceRef="id05" targetRef="id06"/>', "")
        why = "no incoming sequence flow"
    path = tmp_path / "odd.bpmn"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(BpmnError, match=why) as info:
        load_model(path)
    assert "'id06'" in str(info.value) and str(path) in str(info.value)


def test_a_call_activity_is_flattened_with_the_process_it_calls() -> None:
    net = load_model(LICENSING)
    assert {"receive", "accept", "review", "decide", "deliver"} <= set(net.steps)
    assert any(s.startswith("hearing") or net.steps[s].node.process == "licensing_hearing" for s in net.steps)


# -- alignments -------------------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def mined() -> ProcessNet:
    return load_model(MINED)


def _cost(net: ProcessNet, names: list[str]) -> int | None:
    return check_trace(_names(names), net).cost


def test_costs_worked_out_by_hand(mined: ProcessNet) -> None:
    reg, cas, tho, chk, dec, rei, pay, rej = (
        "register request", "examine casually", "examine thoroughly", "check ticket", "decide",
        "reinitiate request", "pay compensation", "reject request",
    )  # fmt: skip
    assert _cost(mined, [reg, cas, chk, dec, pay]) == 0
    assert _cost(mined, [reg, chk, tho, dec, rej]) == 0  # the parallel branches in the other order
    # a loop passed twice: each round examines (either way) and checks the ticket again
    assert _cost(mined, [reg, tho, chk, dec, rei, chk, cas, dec, rei, cas, chk, dec, pay]) == 0
    assert _cost(mined, [reg, chk, dec, pay]) == 1  # no examination: one model move
    assert _cost(mined, [reg, dec, pay]) == 2  # neither examination nor check
    assert _cost(mined, [reg, cas, chk, dec, pay, pay]) == 1  # paid twice: one log move
    assert _cost(mined, [reg, cas, chk, dec, pay, "archive"]) == 1  # not a step: one log move
    assert _cost(mined, [reg, cas, chk]) == 2  # ends early: decide and a last step are due
    assert _cost(mined, []) == 5  # the shortest run: register, examine, check, decide, pay (or reject)
    assert shortest_run(Net(mined)) == 5


def test_fitness_is_pm4pys(mined: ProcessNet) -> None:
    # 1 - cost / (len(trace) + shortest run): 1 - 1 / (4 + 5)
    result = check_trace(_names(["register request", "check ticket", "decide", "pay compensation"]), mined)
    assert result.fitness == pytest.approx(1 - 1 / 9)
    assert [(d.kind, d.activity) for d in result.deviations] == [("skipped", "id06")] or [
        (d.kind, d.activity) for d in result.deviations
    ] == [("skipped", "id07")]


def test_deviations_an_auditor_reads(mined: ProcessNet) -> None:
    swapped = check_trace(
        _names(["register request", "decide", "examine casually", "check ticket", "pay compensation"]), mined
    )
    assert swapped.cost == 2 and [d.kind for d in swapped.deviations] == ["out-of-order"]
    early = check_trace(_names(["register request", "examine casually"]), mined)
    assert [d.kind for d in early.deviations] == ["early-end"] and early.completed is False
    assert early.deviations[0].expected[:2] in (("id09", "id11"),)


def _gateway_cycle(n: int) -> str:
    """A task, then ``n`` exclusive gateways in a cycle (each may leave to the next task or go round)."""
    gws = "".join(
        f'<bpmn:exclusiveGateway id="g{k}"/><bpmn:sequenceFlow id="c{k}" sourceRef="g{k}" targetRef="g{(k + 1) % n}"/>'
        for k in range(n)
    )
    return f"""<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" targetNamespace="t">
      <bpmn:process id="cycle" isExecutable="false">
        <bpmn:startEvent id="s"/><bpmn:task id="a" name="A"/><bpmn:task id="b" name="B"/><bpmn:endEvent id="e"/>
        {gws}
        <bpmn:sequenceFlow id="f1" sourceRef="s" targetRef="a"/><bpmn:sequenceFlow id="f2" sourceRef="a" targetRef="g0"/>
        <bpmn:sequenceFlow id="f3" sourceRef="g{n // 2}" targetRef="b"/><bpmn:sequenceFlow id="f4" sourceRef="b" targetRef="e"/>
      </bpmn:process></bpmn:definitions>"""


def test_a_cycle_of_fifty_gateways_is_decided_at_once() -> None:
    net = load_model(_gateway_cycle(50))
    result = check_trace(_names(["A", "B", "A", "B", "B"]), net)
    # A B is a run; the extra A and two B are log moves... or A B A B B: after B the run has ended: 3 log moves
    assert result.cost == 3 and result.conforms is False
    assert check_trace(_names(["A", "B"]), net).conforms is True
    assert check_trace(_names(["A"]), net).cost == 1  # ends before B: the trace never completes a run


def test_a_search_past_its_bound_is_undecided_never_a_verdict(mined: ProcessNet) -> None:
    trace = _names(["decide", "register request", "reject request", "check ticket"] * 3)
    (result,) = check_log([trace], mined, max_states=5)
    assert result.conforms is None and result.verdict == "undecided" and result.cost is None
    assert [d.kind for d in result.deviations] == ["undecided"]


def _walk(net: Net, rng: random.Random, limit: int = 30) -> list[str] | None:
    labels: list[str] = []
    marking = net.net.initial
    for _ in range(300):
        if not marking:
            return labels
        enabled = net.enabled(marking)
        if not enabled or len(labels) > limit:
            return None
        t = net.net.transitions[rng.choice(enabled)]
        labels += [t.label] if t.label else []
        marking = net.fire(t, marking)
    return None


MODELS = [MINED, *sorted((Path(__file__).parent.parent / "processes").glob("*/*.bpmn"))]


@pytest.mark.parametrize("path", MODELS, ids=lambda p: p.stem)
@settings(max_examples=15, deadline=None)
@given(seed=st.integers(0, 2**32 - 1))
def test_runs_of_the_model_cost_nothing_and_one_event_less_at_most_one(path: Path, seed: int) -> None:
    net = Net(load_model(path))
    rng = random.Random(seed)
    run = _walk(net, rng)
    if run is None:
        return
    found = align(net, run)
    assert found.cost == 0
    if run:
        k = rng.randrange(len(run))
        shorter = align(net, run[:k] + run[k + 1 :])
        # the removed step becomes one model move (cost 1), unless the shorter trace is itself a run (0)
        assert shorter.cost in (0, 1)


@pytest.mark.parametrize("path", MODELS, ids=lambda p: p.stem)
@settings(max_examples=10, deadline=None)
@given(
    seed=st.integers(0, 2**32 - 1), edits=st.lists(st.tuples(st.sampled_from("dis"), st.integers(0, 99)), max_size=3)
)
def test_the_pruned_search_is_optimal(path: Path, seed: int, edits: list[tuple[str, int]]) -> None:
    """The fast search (silent moves only towards the move they enable) finds the plain search's optimum; the
    cost is never negative and equals the number of moves off the model."""
    net = Net(load_model(path))
    rng = random.Random(seed)
    run = _walk(net, rng, limit=12)
    if run is None:
        return
    steps = sorted(net.by_label)
    for op, k in edits:
        if op == "d" and run:
            run.pop(k % len(run))
        elif op == "i":
            run.insert(k % (len(run) + 1), steps[k % len(steps)])
        elif op == "s" and len(run) > 1:
            j = k % (len(run) - 1)
            run[j], run[j + 1] = run[j + 1], run[j]
    fast, plain = align(net, run), align(net, run, prune=False, max_states=400_000)
    assert fast.cost == plain.cost
    assert fast.moves is not None and fast.cost is not None and fast.cost >= 0
    assert fast.cost == sum(m.kind in ("log", "model") for m in fast.moves)
    assert [m.step for m in fast.moves if m.kind in ("sync", "log")] == run  # every event, in order


# -- rules and data quality on the aligned path -----------------------------------------------------------------
def test_missing_resources_are_data_quality_not_deviations(mined: ProcessNet) -> None:
    trace = _names(["register request", "examine casually", "check ticket", "decide", "pay compensation"])
    trace.events[2] = LogEvent("check ticket", trace.events[2].end, resource=None)
    result = check_trace(trace, mined)
    assert result.conforms is True and result.deviations == []
    assert {q.kind for q in result.quality} == {"missing-resource"}
    assert len(result.quality) == 5  # no event names its resource


# -- reading what other tools write -----------------------------------------------------------------------------
XES = """<?xml version="1.0" encoding="UTF-8"?>
<log xes.version="1.0" xmlns="http://www.xes-standard.org/">
  <trace><string key="concept:name" value="1"/>
    <event><string key="concept:name" value="register request"/><string key="lifecycle:transition" value="start"/>
      <date key="time:timestamp" value="2010-12-30T11:00:00.000+01:00"/></event>
    <event><string key="concept:name" value="register request"/><string key="lifecycle:transition" value="complete"/>
      <string key="org:resource" value="Pete"/><date key="time:timestamp" value="2010-12-30T11:02:00.000+01:00"/></event>
    <event><string key="concept:name" value="check ticket"/><string key="lifecycle:transition" value="schedule"/>
      <date key="time:timestamp" value="2010-12-30T11:03:00"/></event>
    <event><string key="concept:name" value="check ticket"/>
      <date key="time:timestamp" value="2010-12-31T10:06:00"/></event>
  </trace>
</log>
"""


def test_xes_gz_lifecycle_and_naive_moments(tmp_path: Path) -> None:
    path = tmp_path / "log.xes.gz"
    path.write_bytes(gzip.compress(XES.encode()))
    log = read_event_log(path)
    (trace,) = log.traces
    assert [e.activity for e in trace.events] == ["register request", "check ticket"]
    assert trace.events[0].start == datetime(2010, 12, 30, 10, 0, tzinfo=ZoneInfo("UTC"))
    # without a zone: Asia/Shanghai (UTC+8), and said so
    assert trace.events[1].end.utcoffset() == timedelta(hours=8)
    assert log.naive == 2 and log.skipped == 1 and "Asia/Shanghai" in log.notes[0]
    other = read_event_log(path, timezone="Europe/Amsterdam").traces[0].events[1].end
    assert other.utcoffset() == timedelta(hours=1)


def test_a_gzip_bomb_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "bomb.xes.gz"
    path.write_bytes(gzip.compress(b"<log>" + b" " * 5_000_000 + b"</log>"))
    assert path.stat().st_size < 10_000
    with pytest.raises(EventLogError, match="decompresses to more than 1,000,000 bytes") as info:
        read_log(path, max_bytes=1_000_000)
    assert str(path) in str(info.value)


def test_a_damaged_gzip_names_the_file(tmp_path: Path) -> None:
    path = tmp_path / "bad.xes.gz"
    path.write_bytes(gzip.compress(XES.encode())[:-20])
    with pytest.raises(EventLogError, match=r"cut short|damaged"):
        read_log(path)


def test_an_unknown_zone_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "log.xes"
    path.write_text(XES, encoding="utf-8")
    with pytest.raises(EventLogError, match="unknown time zone"):
        read_log(path, timezone="Mars/Olympus")


PM4PY_CSV = """case:concept:name,concept:name,time:timestamp,org:resource
c1,register request,2010-12-30 11:02:00+01:00,Pete
c1,examine casually,2010-12-31 10:06:00+01:00,Sue
c1,check ticket,2011-01-05 15:12:00+01:00,Mike
c1,decide,2011-01-06 11:18:00+01:00,Sara
c1,pay compensation,2011-01-07 14:24:00+01:00,Ellen
c2,register request,2010-12-30 11:32:00+01:00,Mike
c2,check ticket,2010-12-30 12:12:00+01:00,Mike
c2,decide,2011-01-06 11:18:00+01:00,
"""


def test_pm4py_columns_are_recognised(tmp_path: Path) -> None:
    path = tmp_path / "log.csv"
    path.write_text(PM4PY_CSV, encoding="utf-8")
    traces = {t.case: t for t in read_log(path)}
    assert [e.resource for e in traces["c2"].events] == ["Mike", "Mike", None]


def test_a_mapping_names_other_columns(tmp_path: Path) -> None:
    path = tmp_path / "log.csv"
    path.write_text(
        PM4PY_CSV.replace("case:concept:name,concept:name,time:timestamp,org:resource", "Case ID,Task,Done,Who"),
        encoding="utf-8",
    )
    with pytest.raises(EventLogError, match="lacks the column"):
        read_log(path)
    mapping = {"case": "Case ID", "activity": "task", "end": "Done", "resource": "Who"}
    assert len(read_log(path, columns=mapping)) == 2
    with pytest.raises(EventLogError, match="no column 'When'"):
        read_log(path, columns={**mapping, "end": "When"})


def test_log_check_json_on_a_mined_model(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "log.csv"
    path.write_text(PM4PY_CSV.replace("+01:00", ""), encoding="utf-8")
    assert main(["log", "check", str(path), str(MINED), "--json"]) == 1
    out = json.loads(capsys.readouterr().out)
    assert (out["traces"], out["variants"], out["conforming"]) == (2, 2, 1)
    assert "8 moments without a time zone were read in Asia/Shanghai" in out["notes"][0]
    cases = {c["case"]: c for c in out["cases"]}
    assert cases["c1"]["conforms"] is True and cases["c1"]["cost"] == 0
    # c2: register, check, decide, then the log ends: an examination skipped, a last step due
    assert cases["c2"]["cost"] == 2 and {d["kind"] for d in cases["c2"]["deviations"]} == {"skipped", "early-end"}
    assert [q["kind"] for q in cases["c2"]["quality"]] == ["missing-resource"]


def test_log_check_csv_options_and_human_output(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "log.csv"
    path.write_text(
        PM4PY_CSV.replace("case:concept:name,concept:name,time:timestamp,org:resource", "Case,Task,Done,Who"),
        encoding="utf-8",
    )
    argv = ["log", "check", str(path), str(MINED), "--case", "Case", "--activity", "Task", "--timestamp", "Done"]
    assert main([*argv, "--resource", "Who", "--timezone", "Europe/Amsterdam"]) == 1
    text = capsys.readouterr().out
    assert "2 traces (2 variants), 1 conform" in text and "跳过环节" in text and "提前结束" in text


def test_a_model_past_the_size_bound_is_refused() -> None:
    many = "".join(
        f'<bpmn:task id="t{k}"/><bpmn:sequenceFlow id="f{k}" sourceRef="t{k}" targetRef="t{k + 1}"/>'
        for k in range(3000)
    )
    text = (
        '<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" targetNamespace="t">'
        f'<bpmn:process id="big"><bpmn:startEvent id="s"/>{many}<bpmn:task id="t3000"/></bpmn:process></bpmn:definitions>'
    )
    with pytest.raises(BpmnError, match="more than 5,000 flow nodes and sequence flows"):
        load_model(text)


def _lic(step: str, who: str, day: str) -> LogEvent:
    return LogEvent(step, datetime.fromisoformat(f"2026-{day}+08:00"), None, who, "market-bureau")


def test_time_limits_on_the_aligned_path_follow_chinas_calendar() -> None:
    """general_licensing: the case clock starts after 'accept' (Mon 28 Sep 2026); promised 15 and statutory 20
    working days. National Day (1-7 Oct) is off and Sat 10 Oct is worked, so whichever way the first day is
    counted, the promised deadline falls on 22 or 23 Oct and the statutory one on 29 or 30 Oct: delivering on
    Mon 26 Oct is late for the promise only. 'deliver' became ready on 30 Sep with 3 working days (8-9 Oct): late."""
    from approvalflow.org.organisation import load_organisation

    from .conftest import SAMPLE_ORG

    events = [
        _lic("receive", "wang", "09-28T09:30:00"),
        _lic("accept", "wang", "09-28T10:00:00"),
        _lic("review", "liu", "09-29T10:00:00"),
        _lic("decide", "li", "09-30T10:00:00"),
        _lic("deliver", "chen", "10-26T10:00:00"),
    ]
    org = load_organisation(SAMPLE_ORG)
    net = load_model(LICENSING)
    late = check_trace(Trace("late", events), net, org)
    assert late.conforms is True
    found = sorted((f.rule, f.step, f.actor) for f in late.findings)
    assert found == [("case-overdue", "deliver", "chen"), ("step-overdue", "deliver", "chen")]
    assert "promised" in next(f.message for f in late.findings if f.rule == "case-overdue")
    # the same case delivered on Fri 9 Oct: within every limit
    on_time = check_trace(Trace("on-time", [*events[:4], _lic("deliver", "chen", "10-09T10:00:00")]), net, org)
    assert on_time.findings == []
    # ended before delivery: not a complete run, so no case deadline is judged
    early = check_trace(Trace("early", events[:3]), net, org)
    assert [f.rule for f in early.findings] == [] and early.completed is False


def test_log_check_takes_a_mapping_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "log.csv"
    path.write_text(
        PM4PY_CSV.replace("case:concept:name,concept:name,time:timestamp,org:resource", "Case,Task,Done,Who"),
        encoding="utf-8",
    )
    mapping = tmp_path / "columns.yaml"
    mapping.write_text("case: Case\nactivity: Task\nend: Done\nresource: Who\n", encoding="utf-8")
    assert main(["log", "check", str(path), str(MINED), "--columns", str(mapping), "--json"]) == 1
    assert json.loads(capsys.readouterr().out)["conforming"] == 1
    mapping.write_text("case: [Case]\n", encoding="utf-8")
    assert main(["log", "check", str(path), str(MINED), "--columns", str(mapping)]) == 2
    assert "a column mapping is a mapping of fields to column names" in capsys.readouterr().err


def _inclusive(join: str = "inclusiveGateway") -> str:
    branches = "".join(
        f'<bpmn:task id="{x}" name="{x}"/><bpmn:sequenceFlow id="s{x}" sourceRef="split" targetRef="{x}"/>'
        f'<bpmn:sequenceFlow id="j{x}" sourceRef="{x}" targetRef="join"/>'
        for x in "ABC"
    )
    return f"""<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" targetNamespace="t">
      <bpmn:process id="or" isExecutable="false">
        <bpmn:startEvent id="s"/><bpmn:inclusiveGateway id="split"/><bpmn:{join} id="join"/>
        <bpmn:task id="D" name="D"/><bpmn:endEvent id="e"/>{branches}
        <bpmn:sequenceFlow id="f1" sourceRef="s" targetRef="split"/>
        <bpmn:sequenceFlow id="f2" sourceRef="join" targetRef="D"/><bpmn:sequenceFlow id="f3" sourceRef="D" targetRef="e"/>
      </bpmn:process></bpmn:definitions>"""


def test_an_inclusive_block_waits_for_the_branches_it_started() -> None:
    net = load_model(_inclusive())
    for fits in (["A", "D"], ["C", "A", "D"], ["B", "C", "A", "D"]):
        assert _cost(net, fits) == 0, fits
    assert _cost(net, ["D"]) == 1  # at least one branch: one model move
    assert _cost(net, ["A", "A", "D"]) == 1  # a branch runs once: one log move
    assert _cost(net, ["A", "D", "B"]) == 1  # B after the join: a log move (or B before D and D late: 2)


def test_an_inclusive_join_without_its_split_is_refused() -> None:
    text = _inclusive().replace('<bpmn:inclusiveGateway id="split"/>', '<bpmn:parallelGateway id="split"/>')
    with pytest.raises(BpmnError, match=r"inclusiveGateway 'join'.*closes the block of one inclusive split"):
        load_model(text)


def test_an_unknown_resource_is_data_quality_and_the_verdict_stands() -> None:
    from approvalflow.org.organisation import load_organisation

    from .conftest import SAMPLE_ORG

    events = [
        _lic("receive", "wang", "09-28T09:30:00"),
        _lic("accept", "nobody", "09-28T10:00:00"),
        _lic("review", "liu", "09-29T10:00:00"),
        _lic("decide", "li", "09-30T10:00:00"),
        _lic("deliver", "chen", "10-09T10:00:00"),
    ]
    result = check_trace(Trace("c", events), load_model(LICENSING), load_organisation(SAMPLE_ORG))
    assert result.conforms is True and result.deviations == [] and result.findings == []
    assert [(q.kind, q.index, q.activity) for q in result.quality] == [("unknown-resource", 1, "accept")]
