"""The simulation model: a compiled process with arrivals, durations, staff and branch probabilities.

A :class:`SimulationModel` is plain frozen data, picklable, so that it can be
sent to worker processes (or to a Dask or Ray cluster). It comes from the
project's YAML model (:mod:`approvalflow.simulation.yaml_model`) or from a
Prosimos simulation-parameter JSON (:mod:`approvalflow.simulation.prosimos`);
:func:`approvalflow.simulation.load_simulation_model` reads either.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from approvalflow.errors import ApprovalflowError, DefinitionError

from .calendars import DayRule, Hours
from .compile import ProcessGraph
from .distributions import Distribution

__all__ = ["Arrivals", "Pool", "SimulationError", "SimulationModel", "SimulationModelError", "StepSpec"]


class SimulationError(ApprovalflowError):
    """A simulation that cannot go on (e.g. a loop whose exit has probability 0, or no arrivals at all)."""


class SimulationModelError(DefinitionError):
    """A simulation model (YAML or Prosimos JSON) that cannot be used; names file, line or JSON path, and key."""


@dataclass(frozen=True)
class StepSpec:
    """How one step (task) is simulated: its duration, who does it, and a wait after it."""

    duration: Distribution
    pool: str | None = None  # None: no staff needed; the duration passes in wall-clock time
    after: Distribution | None = None  # wall-clock time after completion before the flow goes on
    approve: float = 1.0  # a signed multi-instance step: each signer's probability of 同意
    signers: int | None = None  # a signed step: its number of signers (instances), when the BPMN does not fix it


@dataclass(frozen=True)
class Pool:
    """A pool of interchangeable staff: the holders of a post, or a Prosimos resource."""

    name: str
    count: int
    hours: Hours | None = None  # None: around the clock, every day


@dataclass(frozen=True)
class Arrivals:
    """How cases arrive.

    Either a Poisson process whose rate varies by weekday and hour
    (``per_hour[weekday][hour]`` cases per hour; zero on days off unless
    ``on_days_off``), or, when ``interarrival`` is set, gaps drawn from that
    distribution and moved into the ``calendar`` hours (Prosimos semantics).
    """

    per_hour: tuple[tuple[float, ...], ...] = ((0.0,) * 24,) * 7
    on_days_off: bool = False
    interarrival: Distribution | None = None
    calendar: Hours | None = None


@dataclass(frozen=True)
class SimulationModel:
    """Everything a simulation run needs."""

    name: str
    source: str
    graph: ProcessGraph
    steps: dict[str, StepSpec]  # node key -> spec
    pools: tuple[Pool, ...]
    arrivals: Arrivals
    branches: dict[str, dict[str, float]]  # gateway key -> flow id -> probability
    start: date
    days: DayRule | None = None  # None: no working-day calendar (e.g. a Prosimos model)
    start_offset: float = 0.0  # seconds after midnight of ``start`` at which the first case may arrive
    seed: int | None = None
    cases: int | None = None  # default number of cases
    yellow_days: int = 1

    @property
    def has_limits(self) -> bool:
        """True when the process has a promised or statutory case limit."""
        tl = self.graph.time_limit
        return tl is not None and (tl.promised is not None or tl.statutory is not None)
