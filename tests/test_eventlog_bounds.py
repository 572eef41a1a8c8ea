"""Event logs from other systems are read within bounds: one clear error naming the file and row or line.

Huge fields, huge integers, non-finite or deeply nested data, dates that are not dates or lie outside the range a
log may hold, too many events, a FIFO: each is an :class:`EventLogError` (and ``log check`` exits 2 with one line
on stderr), never a traceback, and nothing is read without a bound.
"""

from __future__ import annotations

import csv
import os
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from approvalflow.cli.main import main
from approvalflow.supervision.eventlog import MAX_LOG_BYTES, MAX_LOG_EVENTS, MAX_LOG_FIELD, EventLogError, read_log

from .conftest import LICENSING

GOOD = "c1,receive,2026-09-28T09:30:00+08:00"


def _log(tmp_path: Path, *rows: str, header: str = "case,activity,end,data") -> Path:
    path = tmp_path / "log.csv"
    path.write_text("\n".join([header, *rows]) + "\n", encoding="utf-8")
    return path


def _refused(path: Path, match: str, **bounds: int) -> EventLogError:
    with pytest.raises(EventLogError, match=match) as info:
        read_log(
            path,
            max_bytes=bounds.get("max_bytes", MAX_LOG_BYTES),
            max_events=bounds.get("max_events", MAX_LOG_EVENTS),
            max_field=bounds.get("max_field", MAX_LOG_FIELD),
        )
    assert str(info.value).startswith(str(path))
    return info.value


@pytest.mark.parametrize(
    ("moment", "why"),
    [
        ("yesterday", "is not an ISO 8601 moment"),
        ("9999-12-31T23:59:59+14:00", "outside the range a log may hold"),
        ("0001-01-01T00:00:00+14:00", "outside the range a log may hold"),
        ("1899-12-31T23:59:59+00:00", "outside the range a log may hold"),
        ("3000-01-01T00:00:00+00:00", "outside the range a log may hold"),
        ("2026-02-30T00:00:00+08:00", "is not an ISO 8601 moment"),
        ("2026-09-28T09:30:00+25:00", "is not an ISO 8601 moment"),
        ("9" * 5000, "is not an ISO 8601 moment"),
    ],
)
def test_bad_or_out_of_range_moments_name_row_and_column(tmp_path: Path, moment: str, why: str) -> None:
    error = _refused(_log(tmp_path, GOOD + ",", f"c1,accept,{moment},"), why)
    assert (error.line, error.element) == (3, "column 3 (end)")
    assert len(str(error)) < 500  # a huge cell is not echoed whole


def test_moments_inside_the_range_are_read(tmp_path: Path) -> None:
    (trace,) = read_log(_log(tmp_path, "c1,a,1900-01-01T00:00:00+00:00,", "c1,b,2999-12-31T23:59:59+00:00,"))
    assert [e.end.year for e in trace.events] == [1900, 2999]


@pytest.mark.parametrize(
    ("data", "why"),
    [
        ('{"n": ' + "9" * 33 + "}", "an integer of 33 digits, more than 32"),
        ('{"n": ' + "9" * 5000 + "}", "an integer of 5,000 digits"),
        ('{"n": -' + "9" * 40 + "}", "an integer of 40 digits"),
        ('{"n": 1e999}', "too large"),
        ('{"n": NaN}', "NaN is not a number JSON allows"),
        ('{"n": -Infinity}', "-Infinity is not a number JSON allows"),
        ("[" * 10_000 + "]" * 10_000, "nested too deeply"),
        ("[1, 2]", "not a JSON object"),
        ("{broken", "not a JSON object"),
    ],
)
def test_bad_data_names_row_and_column(tmp_path: Path, data: str, why: str) -> None:
    cell = '"' + data.replace('"', '""') + '"'
    error = _refused(_log(tmp_path, GOOD + ",", f"c1,accept,2026-09-28T10:00:00+08:00,{cell}"), why)
    assert (error.line, error.element) == (3, "column 4 (data)")


def test_integers_within_the_bound_are_kept(tmp_path: Path) -> None:
    cell = '"{""n"": ' + "9" * 32 + '}"'
    (trace,) = read_log(_log(tmp_path, f"c1,accept,2026-09-28T10:00:00+08:00,{cell}"))
    assert trace.events[0].data == {"n": int("9" * 32)}


def test_a_huge_field_is_refused_with_its_row(tmp_path: Path) -> None:
    before = csv.field_size_limit()
    error = _refused(_log(tmp_path, GOOD + ",", "c1," + "x" * 200_000 + ",2026-09-28T10:00:00+08:00,"), "field")
    assert error.line == 3 and "max_field" in str(error)
    error = _refused(
        _log(tmp_path, GOOD + ",", "c1," + "x" * 2_000 + ",2026-09-28T10:00:00+08:00,"), "2,000 char", max_field=1000
    )
    assert (error.line, error.element) == (3, "column 2")
    assert csv.field_size_limit() == before


def test_too_many_events_and_too_large_a_file(tmp_path: Path) -> None:
    path = _log(tmp_path, *[GOOD + ","] * 5)
    error = _refused(path, r"more than the limit of 4 rows.*max_events", max_events=3)
    assert error.line == 5
    _refused(path, r"larger than the limit of 50 bytes.*max_bytes", max_bytes=50)


def test_not_utf8_is_one_clear_error(tmp_path: Path) -> None:
    path = tmp_path / "log.csv"
    path.write_bytes("case,activity,end\nc1,受理,2026-09-28T09:30:00+08:00\n".encode("gb18030"))
    _refused(path, "not UTF-8")


def test_a_line_separator_inside_a_cell_is_not_a_row_break(tmp_path: Path) -> None:
    (trace,) = read_log(_log(tmp_path, "c1,re\u2028ceive,2026-09-28T09:30:00+08:00,"))
    assert trace.events[0].activity == "re\u2028ceive"


# -- XES --------------------------------------------------------------------------------------------------------
def _xes(tmp_path: Path, *events: str) -> Path:
    body = "".join(f"<event>{e}</event>" for e in events)
    path = tmp_path / "log.xes"
    path.write_text(
        f'<?xml version="1.0"?>\n<log xmlns="http://www.xes-standard.org/">\n<trace>'
        f'<string key="concept:name" value="c1"/>\n{body}\n</trace></log>\n',
        encoding="utf-8",
    )
    return path


def _event(name: str = "receive", at: str = "2026-09-28T09:30:00+08:00", extra: str = "") -> str:
    return f'<string key="concept:name" value="{name}"/><date key="time:timestamp" value="{at}"/>{extra}'


def test_xes_bad_moment_and_data_name_the_line(tmp_path: Path) -> None:
    error = _refused(_xes(tmp_path, _event(at="9999-12-31T23:59:59+14:00")), "outside the range")
    assert error.line == 4
    data = '<string key="af:data" value="{&quot;n&quot;: ' + "9" * 100 + '}"/>'
    assert _refused(_xes(tmp_path, _event(extra=data)), "an integer of 100 digits").line == 4


def test_xes_events_and_fields_are_bounded(tmp_path: Path) -> None:
    _refused(_xes(tmp_path, *[_event()] * 4), r"more than 3 events.*max_events", max_events=3)
    error = _refused(_xes(tmp_path, _event(name="x" * 5000)), r"concept:name holds 5,000 characters", max_field=1000)
    assert error.line == 4
    _refused(
        _xes(tmp_path, _event()), r"larger than the limit of 100 bytes.*read_log\(\.\.\., max_bytes=\)", max_bytes=100
    )
    # not well-formed: the XML layer's line, as an EventLogError
    with pytest.raises(EventLogError, match=r"log\.xes:4: not well-formed"):
        read_log(_xes(tmp_path, "<unclosed>"))


# -- FIFO and the command line ------------------------------------------------------------------------------------
@pytest.mark.parametrize("suffix", [".csv", ".xes"])
def test_a_fifo_is_refused_not_waited_on(tmp_path: Path, suffix: str) -> None:
    path = tmp_path / f"log{suffix}"
    os.mkfifo(path)
    errors: list[BaseException] = []

    def read() -> None:
        try:
            read_log(path)
        except Exception as exc:  # the test checks which
            errors.append(exc)

    worker = threading.Thread(target=read, daemon=True)
    worker.start()
    worker.join(10)
    assert not worker.is_alive(), "reading hung on a FIFO"
    assert errors and "regular file" in str(errors[0]), errors


def test_log_check_exits_2_with_one_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = _log(tmp_path, GOOD + ",", "c1,accept,9999-12-31T23:59:59+14:00,")
    assert main(["log", "check", str(path), str(LICENSING)]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "log.csv:3" in err and "outside the range" in err


def test_log_check_of_a_huge_log_is_bounded_in_memory(tmp_path: Path) -> None:
    """A 100 MB field: refused by the bound, in a subprocess under 1 GiB of address space."""
    path = tmp_path / "huge.csv"
    with path.open("w", encoding="utf-8") as out:
        out.write("case,activity,end\nc1,")
        out.write("x" * 100_000_000)
        out.write(",2026-09-28T09:30:00+08:00\n")
    code = (
        "import resource, runpy, sys\n"
        "resource.setrlimit(resource.RLIMIT_AS, (2**30, 2**30))\n"
        "sys.argv = ['approvalflow', *sys.argv[1:]]\n"
        "runpy.run_module('approvalflow', run_name='__main__')\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code, "log", "check", str(path), str(LICENSING)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 2, result.stderr[-2000:]
    assert "Traceback" not in result.stderr and "huge.csv:2" in result.stderr
