"""Exporting a store as XES and CSV, reading logs back, and ``log check`` finding planted deviations."""

from __future__ import annotations

import csv
import json
from datetime import datetime
from pathlib import Path

import pytest
from lxml import etree

from approvalflow.bpmn.loader import ProcessDefinition
from approvalflow.cli.main import main
from approvalflow.store.cases import add_case
from approvalflow.store.factory import open_store
from approvalflow.supervision.conformance import check_log
from approvalflow.supervision.eventlog import EventLogError, LogEvent, Trace, export_log, read_log, write_csv
from approvalflow.testing.scenario import run_scenario

from .conftest import LICENSING, SAMPLE_ORG

DATA = Path(__file__).parent / "data" / "supervision"


@pytest.fixture
def db(tmp_path: Path) -> Path:
    path = tmp_path / "cases.db"
    store = open_store(path)
    for name in ("lic_done", "lic_decide_refused"):
        add_case(store, run_scenario(DATA / f"{name}.scenario.yaml").case)
    store.close()
    return path


def test_xes_is_ieee_1849_shaped(db: Path, tmp_path: Path) -> None:
    out = tmp_path / "log.xes"
    assert main(["log", "export", str(db), str(out)]) == 0
    root = etree.parse(str(out)).getroot()
    ns = {"x": "http://www.xes-standard.org/"}
    assert root.tag == "{http://www.xes-standard.org/}log" and root.get("xes.version") == "1849-2016"
    # every prefix used is declared, approvalflow's own (af:data) too
    assert {e.get("prefix") for e in root.findall("x:extension", ns)} == {"concept", "time", "org", "lifecycle", "af"}
    used = {a.get("key").split(":")[0] for a in root.iter() if a.get("key") and ":" in a.get("key")}
    assert used <= {e.get("prefix") for e in root.findall("x:extension", ns)}
    traces = {t.find("x:string[@key='concept:name']", ns).get("value"): t for t in root.findall("x:trace", ns)}
    assert sorted(traces) == ["lic-decide-refused", "lic-done"]
    done = traces["lic-done"].findall("x:event", ns)
    # 5 completed steps, each a schedule (when it became ready) and a complete event; never a start: when work
    # began is not recorded, and a start at the ready moment would count waiting as work (PM4Py's service time)
    assert len(done) == 10
    transitions = [e.find("x:string[@key='lifecycle:transition']", ns).get("value") for e in done]
    assert transitions == ["schedule", "complete"] * 5
    names = [e.find("x:string[@key='concept:name']", ns).get("value") for e in done[1::2]]
    assert names == ["receive", "accept", "review", "decide", "deliver"]
    last = {a.get("key"): a.get("value") for a in done[-1]}
    assert last["org:resource"] == "chen" and last["lifecycle:transition"] == "complete"
    assert last["time:timestamp"].startswith("2026-10-12T11:00:00.000+08:00")
    assert last["org:group"] == "market-bureau" and last["org:role"] == "clerk"


def test_csv_export_and_read_back(db: Path, tmp_path: Path) -> None:
    out = tmp_path / "log.csv"
    assert main(["log", "export", str(db), str(out)]) == 0
    rows = list(csv.DictReader(out.read_text(encoding="utf-8").splitlines()))
    assert list(rows[0])[:6] == ["case", "activity", "lifecycle", "scheduled", "start", "end"]
    assert {r["start"] for r in rows} == {""} and all(r["scheduled"] for r in rows)
    # refused decide by zhang is no activity: 5 + 3 completed steps.
    assert len(rows) == 8
    traces = {t.case: t for t in read_log(out)}
    assert [e.activity for e in traces["lic-decide-refused"].events] == ["receive", "accept", "review"]
    assert traces["lic-done"].events[0].data == {"materials_complete": True}


def test_the_open_steps_of_open_cases_are_exported_as_scheduled_only_when_asked(db: Path, tmp_path: Path) -> None:
    """lic-decide-refused is open: its 'decide' is ready (zhang was refused). With --open it is a schedule event (a
    schedule row in CSV) without a complete; reading the log back, it is no step done."""
    ns = {"x": "http://www.xes-standard.org/"}
    for flag, expected in (([], 0), (["--open"], 1)):
        out = tmp_path / f"log{len(flag)}.xes"
        assert main(["log", "export", str(db), str(out), *flag]) == 0
        root = etree.parse(str(out)).getroot()
        trace = next(t for t in root.findall("x:trace", ns)
                     if t.find("x:string[@key='concept:name']", ns).get("value") == "lic-decide-refused")  # fmt: skip
        events = [{a.get("key"): a.get("value") for a in e} for e in trace.findall("x:event", ns)]
        pending = [e for e in events if e["concept:name"] == "decide"]
        assert len(pending) == expected and all(e["lifecycle:transition"] == "schedule" for e in pending)
        completed = [e["concept:name"] for e in events if e["lifecycle:transition"] == "complete"]
        assert completed == ["receive", "accept", "review"]
    out = tmp_path / "open.csv"
    assert main(["log", "export", str(db), str(out), "--open"]) == 0
    rows = list(csv.DictReader(out.read_text(encoding="utf-8").splitlines()))
    assert [(r["activity"], r["lifecycle"], r["end"]) for r in rows if r["case"] == "lic-decide-refused"][-1] == (
        "decide",
        "schedule",
        "",
    )
    traces = {t.case: t for t in read_log(out)}
    assert [e.activity for e in traces["lic-decide-refused"].events] == ["receive", "accept", "review"]


def test_an_exported_log_conforms_to_its_own_process(db: Path, tmp_path: Path, licensing: ProcessDefinition) -> None:
    out = tmp_path / "log.xes"
    store = open_store(db)
    export_log(store, out)
    store.close()
    from approvalflow import load_organisation

    checks = {c.case: c for c in check_log(read_log(out), licensing, load_organisation(SAMPLE_ORG))}
    assert checks["lic-done"].conforms and checks["lic-done"].findings == []
    # The refused case stops after review: the log ends early; decide and then deliver (decide -> deliver -> end
    # in general_licensing.bpmn) are due.
    assert [(d.kind, d.expected) for d in checks["lic-decide-refused"].deviations] == [
        ("early-end", ("decide", "deliver"))
    ]
    assert checks["lic-decide-refused"].cost == 2 and checks["lic-decide-refused"].conforms is False


def _event(activity: str, actor: str, at: str, **data: object) -> LogEvent:

    return LogEvent(activity, datetime.fromisoformat(f"2026-{at}:00+08:00"), None, actor, "market-bureau", None, data)


def test_log_check_finds_planted_deviations(tmp_path: Path) -> None:
    ok = [_event("receive", "wang", "09-28T09:30", materials_complete=True), _event("accept", "wang", "09-28T10:00")]
    traces = [
        # skips review: decide straight after accept
        Trace(
            "skip",
            [*ok, _event("decide", "li", "09-29T10:00", approved=True), _event("deliver", "chen", "09-30T10:00")],
        ),
        # decide logged before review
        Trace(
            "order",
            [
                *ok,
                _event("decide", "li", "09-29T10:00", approved=True),
                _event("review", "liu", "09-29T09:00", needs_extension=False),
                _event("deliver", "chen", "09-30T10:00"),
            ],
        ),
        # ends after acceptance
        Trace("early", ok),
        # the acceptor reviews (separate-actors) and the principal decides (five-not-direct), decide late
        Trace(
            "rules",
            [
                *ok,
                _event("review", "zhou", "09-29T10:00", needs_extension=False),
                _event("decide", "zhang", "10-20T10:00", approved=True),
                _event("deliver", "chen", "10-20T11:00"),
            ],
        ),
    ]
    # zhou is both clerk and reviewer; make zhou the acceptor in the "rules" trace.
    traces[3].events[1] = _event("accept", "zhou", "09-28T10:00")
    path = tmp_path / "planted.csv"
    write_csv(traces, path)
    assert main(["log", "check", str(path), str(LICENSING), "--org", str(SAMPLE_ORG), "--json"]) == 1


def test_log_check_json_names_each_deviation(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    test_log_check_finds_planted_deviations(tmp_path)
    out = json.loads(capsys.readouterr().out)
    cases = {c["case"]: c for c in out["cases"]}
    assert out["traces"] == 4 and out["conforming"] == 1  # only "rules" follows the flow (but breaks rules)
    # review is skipped: a model move, placed before decide (event 2); one move off the model: cost 1
    assert [(d["kind"], d["activity"], d["event"]) for d in cases["skip"]["deviations"]] == [("skipped", "review", 2)]
    assert (cases["skip"]["cost"], cases["skip"]["conforms"], cases["skip"]["verdict"]) == (1, False, "deviates")
    # decide before review: one of the two is out of its place (a log move and a model move of it: cost 2)
    (order,) = cases["order"]["deviations"]
    assert order["kind"] == "out-of-order" and order["activity"] in ("review", "decide")
    assert cases["order"]["cost"] == 2
    assert cases["order"]["path"] == ["receive", "accept", "review", "decide", "deliver"]
    # ends after acceptance: review, decide and deliver are due (no shorter way to the end)
    assert [(d["kind"], d["expected"]) for d in cases["early"]["deviations"]] == [
        ("early-end", ["review", "decide", "deliver"])
    ]
    # fitness as PM4Py defines it: 1 - cost / (events + the shortest run's steps); the shortest run of
    # general_licensing is receive, accept, review, decide, deliver (5 steps)
    assert cases["early"]["fitness"] == pytest.approx(1 - 3 / (2 + 5))
    assert cases["rules"]["fitness"] == 1.0
    rules = sorted({(f["rule"], f["task"], f["actor"]) for f in cases["rules"]["findings"]})
    # review by zhou who accepted; decide by the principal zhang (not a deputy: unauthorized; 五不直接分管);
    # decide ready Sep 29 10:00 with 2 working days -> Sep 30; done Oct 20: step-overdue.
    assert rules == [
        ("five-not-direct", "decide", "zhang"),
        ("separate-actors", "review", "zhou"),
        ("step-overdue", "decide", "zhang"),
        ("unauthorized", "decide", "zhang"),
    ]
    assert cases["rules"]["conforms"] is True


def test_a_bad_log_names_the_row_and_column(tmp_path: Path) -> None:
    path = tmp_path / "bad.csv"
    path.write_text("case,activity,end\nc1,receive,2026-09-28T09:30:00+08:00\nc1,accept,yesterday\n", encoding="utf-8")
    with pytest.raises(EventLogError, match=r"bad.csv:3.*column 3 \(end\)"):
        read_log(path)


@pytest.mark.filterwarnings("ignore::UserWarning")  # PM4Py suggests optional accelerators on import
@pytest.mark.filterwarnings("ignore::DeprecationWarning")
def test_pm4py_reads_the_exported_xes(db: Path, tmp_path: Path) -> None:
    pm4py = pytest.importorskip("pm4py", reason="PM4Py is not installed (optional)")
    out = tmp_path / "log.xes"
    store = open_store(db)
    export_log(store, out)
    store.close()
    frame = pm4py.read_xes(str(out))
    assert len(frame) == 16  # (5 + 3 steps) x start and complete
    assert set(frame["case:concept:name"]) == {"lic-done", "lic-decide-refused"}
