"""Monte Carlo simulation of processes (``approvalflow simulate``): capacity studies before a change.

A model says how cases arrive, how long each step takes, how many staff each
post has and when they work (China's working days and office hours), and how
often each branch is taken; the simulator runs thousands of cases through the
process compiled for speed and reports cycle times, waiting versus
processing, utilisation and queues per post, on-time shares against the
promised and statutory limits (承诺时限, 法定时限) and yellow and red cards
(黄牌, 红牌). See docs/simulation.md.

::

    from approvalflow.simulation import load_simulation_model, simulate

    model = load_simulation_model("examples/simulation/general_licensing.yaml")
    result = simulate(model, cases=5000, seed=1)
    print(result.to_dict()["cycle_time_working_days"])

Models are the project's YAML (:mod:`.yaml_model`) or a Prosimos
simulation-parameter JSON (:mod:`.prosimos`), told apart by content. Nothing
here imports SpiffWorkflow or pydantic, so the command starts fast.
"""

from __future__ import annotations

from pathlib import Path

from .distributions import Distribution
from .model import Arrivals, Pool, SimulationError, SimulationModel, SimulationModelError, StepSpec
from .results import SimulationResult
from .runner import simulate

__all__ = [
    "Arrivals",
    "Distribution",
    "Pool",
    "SimulationError",
    "SimulationModel",
    "SimulationModelError",
    "SimulationResult",
    "StepSpec",
    "load_simulation_model",
    "simulate",
]

MAX_MODEL_BYTES = 64 * 2**20
"""Largest simulation model file read (YAML or Prosimos JSON); only regular files are read."""


def load_simulation_model(path: str | Path, *, bpmn: str | Path | None = None) -> SimulationModel:
    """Read a simulation model: the project's YAML, or a Prosimos JSON (with ``bpmn`` or the folder's only BPMN).

    Errors are :class:`SimulationModelError` (a :class:`~approvalflow.errors.DefinitionError`)
    naming the file, the line or JSON path, and the key.
    """
    from ..io.inputfiles import read_regular_file

    file = Path(path)
    raw = read_regular_file(file, max_bytes=MAX_MODEL_BYTES, error=SimulationModelError, hint="MAX_MODEL_BYTES")
    try:
        head = raw.decode("utf-8-sig")[:4096].lstrip()
    except UnicodeDecodeError as exc:
        raise SimulationModelError(f"cannot read the model: {exc}", file=str(file)) from exc
    if head.startswith("<"):
        raise SimulationModelError(
            "this is an XML file (a BPMN process?), not a simulation model: give a YAML model whose `process` names "
            "the BPMN, or a Prosimos simulation-parameter JSON (see docs/simulation.md)",
            file=str(file),
            line=1,
        )
    if head.startswith("{"):
        from .prosimos import is_prosimos, load_prosimos, parse_json

        data = parse_json(raw, file)
        if not is_prosimos(data):
            raise SimulationModelError(
                "a JSON model must be a Prosimos simulation-parameter file "
                "(with resource_profiles and task_resource_distribution)",
                file=str(file),
            )
        return load_prosimos(file, data, bpmn=bpmn)
    from .yaml_model import load_yaml_model

    return load_yaml_model(file, bpmn=bpmn)


# The name before issue 15, kept so that code written against it keeps working.
load_model = load_simulation_model
