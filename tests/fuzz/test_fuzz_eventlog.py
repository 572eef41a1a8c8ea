"""Fuzz event logs (XES, CSV): ``read_log`` and ``approvalflow log check LOG BPMN --json``.

Seeds: the logs ``approvalflow log export`` writes from a store of scenario runs (see :mod:`tests.fuzz.seeds`).
Variants: XML tree edits of the XES (events dropped, duplicated, moved; hostile keys, values, timestamps), CSV
tables with hostile cells, extra or missing columns, byte edits, and small logs written from scratch.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from approvalflow.supervision.eventlog import read_log

from .harness import check_cli, check_library, fuzz_settings, run_ci_profile
from .mutate import byte_mutation, csv_mutation, hostile_text, read_csv, write_csv, xml_attack, xml_mutation
from .seeds import LICENSING, seed_logs

KIND = "eventlog"


def exercise(ext: str, data: bytes) -> None:
    """The library and the CLI on the event log ``data`` (a ``.ext`` file)."""
    with tempfile.TemporaryDirectory(prefix="af-fuzz-") as tmp:
        path = Path(tmp) / f"fuzz.{ext}"
        path.write_bytes(data)
        check_library(KIND, ext, data, lambda: read_log(path))
        check_cli(KIND, ext, data, ["log", "check", str(path), str(LICENSING), "--json"])


def replay(path: Path) -> None:
    """Replay one corpus file."""
    exercise(path.suffix.lstrip("."), path.read_bytes())


@fuzz_settings(default=12, ci=300)
@given(data=st.data())
def test_eventlog_xes_structure(data: st.DataObject) -> None:
    exercise("xes", data.draw(xml_mutation(seed_logs()["xes"])))


@fuzz_settings(default=5, ci=150)
@given(data=st.data())
def test_eventlog_xes_attacks(data: st.DataObject) -> None:
    exercise("xes", data.draw(xml_attack(seed_logs()["xes"])))


@fuzz_settings(default=12, ci=300)
@given(data=st.data())
def test_eventlog_csv_table(data: st.DataObject) -> None:
    rows = read_csv(seed_logs()["csv"])
    exercise("csv", write_csv(data.draw(csv_mutation(rows)), data.draw(st.sampled_from(["utf-8", "gb18030"]))))


@fuzz_settings(default=10, ci=500)
@given(data=st.data())
def test_eventlog_bytes(data: st.DataObject) -> None:
    ext = data.draw(st.sampled_from(["xes", "csv"]))
    exercise(ext, data.draw(byte_mutation(seed_logs()[ext])))


_ACTIVITIES = st.sampled_from(["receive", "accept", "review", "extend", "decide", "deliver", "hearing", "nowhere"])
_MOMENTS = st.one_of(
    st.datetimes(timezones=st.timezones()).map(lambda d: d.isoformat()),
    st.sampled_from(["2026-09-28T09:00:00+08:00", "2026-09-28T09:00:00", ""]),
    hostile_text(),
)


@fuzz_settings(default=10, ci=500)
@given(
    events=st.lists(
        st.tuples(
            st.sampled_from(["c1", "c2", ""]) | hostile_text(),
            _ACTIVITIES | hostile_text(),
            _MOMENTS,
            _MOMENTS,
            st.sampled_from(["wang", "liu", "li", "zhang", "chen", ""]) | hostile_text(),
            st.sampled_from(["market-bureau", ""]),
            st.sampled_from(["clerk", ""]),
            st.sampled_from(["", "{}", '{"approved": true}', "[1]", "{", '{"a": NaN}', '"\\ud800"']) | hostile_text(),
        ),
        max_size=12,
    )
)
def test_eventlog_csv_generated(events: list[tuple[str, ...]]) -> None:
    header = ["case", "activity", "start", "end", "resource", "unit", "role", "data"]
    exercise("csv", write_csv([header, *[list(e) for e in events]]))


@pytest.mark.slow
def test_eventlog_ci_profile() -> None:
    """The fuzz tests above under the ci profile, in a subprocess bounded in memory and time."""
    output = run_ci_profile(__file__)
    assert " passed" in output
