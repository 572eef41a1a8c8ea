"""Electronic supervision (电子监察): sweeps for yellow and red cards, anomalies, efficiency, event logs.

Layer 8: imports the store and everything below it. :func:`sweep_store` gives every :class:`AlertCard` of a
store at a moment; :func:`evaluate_efficiency` the efficiency figures (效能评估); :func:`export_log` and
:func:`read_log` write and read event logs (XES, ``.xes.gz``, CSV); :func:`check_log` checks one against a
process (:func:`load_model` reads a BPMN for conformance, executable or not; :func:`align` aligns a trace).
Names are imported on first use. See ``docs/supervision.md``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from .._lazy import lazy_exports

if TYPE_CHECKING:  # pragma: no cover - for type checkers and IDEs
    from .alignment import Alignment, Move, align
    from .conformance import Deviation, TraceCheck, check_log, check_trace
    from .efficiency import Evaluation, evaluate_efficiency
    from .eventlog import (
        EventLog,
        EventLogError,
        LogEvent,
        Trace,
        export_log,
        read_event_log,
        read_log,
        write_csv,
        write_xes,
    )  # fmt: skip
    from .procnet import ProcessNet, load_model
    from .sweep import AlertCard, Responsibility, SweepResult, sweep_store

__all__ = [
    "AlertCard", "Alignment", "Deviation", "Evaluation", "EventLog", "EventLogError", "LogEvent", "Move",
    "ProcessNet", "Responsibility", "SweepResult", "Trace", "TraceCheck", "align", "check_log", "check_trace",
    "evaluate_efficiency", "export_log", "load_model", "read_event_log", "read_log", "sweep_store", "write_csv",
    "write_xes",
]  # fmt: skip

#: Each module and the names of ``__all__`` it defines, imported on first use (see :mod:`approvalflow._lazy`).
_LAZY: dict[str, str] = {
    ".sweep": "AlertCard Responsibility SweepResult sweep_store",
    ".efficiency": "Evaluation evaluate_efficiency",
    ".eventlog": "EventLog EventLogError LogEvent Trace export_log read_event_log read_log write_csv write_xes",
    ".conformance": "Deviation TraceCheck check_log check_trace",
    ".procnet": "ProcessNet load_model",
    ".alignment": "Alignment Move align",
}

__getattr__, __dir__ = lazy_exports(__name__, _LAZY)
