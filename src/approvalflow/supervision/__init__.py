"""Electronic supervision (电子监察): sweeps for yellow and red cards, anomalies, efficiency, event logs.

Layer 8: imports the store and everything below it. :func:`sweep_store` gives every :class:`AlertCard` of a
store at a moment; :func:`evaluate_efficiency` the efficiency figures (效能评估); :func:`export_log` and
:func:`read_log` write and read event logs (XES, CSV); :func:`check_log` checks one against a process.
Names are imported on first use. See ``docs/supervision.md``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from .._lazy import lazy_exports

if TYPE_CHECKING:  # pragma: no cover - for type checkers and IDEs
    from .conformance import Deviation, TraceCheck, check_log, check_trace
    from .efficiency import Evaluation, evaluate_efficiency
    from .eventlog import EventLogError, LogEvent, Trace, export_log, read_log, write_csv, write_xes
    from .sweep import AlertCard, Responsibility, SweepResult, sweep_store

__all__ = [
    "AlertCard", "Deviation", "Evaluation", "EventLogError", "LogEvent", "Responsibility", "SweepResult", "Trace",
    "TraceCheck", "check_log", "check_trace", "evaluate_efficiency", "export_log", "read_log", "sweep_store",
    "write_csv", "write_xes",
]  # fmt: skip

#: Each module and the names of ``__all__`` it defines, imported on first use (see :mod:`approvalflow._lazy`).
_LAZY: dict[str, str] = {
    ".sweep": "AlertCard Responsibility SweepResult sweep_store",
    ".efficiency": "Evaluation evaluate_efficiency",
    ".eventlog": "EventLogError LogEvent Trace export_log read_log write_csv write_xes",
    ".conformance": "Deviation TraceCheck check_log check_trace",
}

__getattr__, __dir__ = lazy_exports(__name__, _LAZY)
