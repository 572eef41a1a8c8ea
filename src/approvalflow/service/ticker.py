"""The timer loop of ``approvalflow serve --tick SECONDS``: fire every timer due, now and every SECONDS.

A :class:`Ticker` is a daemon thread of the serve process. Each round calls
:func:`~approvalflow.store.timers.fire_due` at the service clock's now, on the service's store, holding the
service's store lock around the index query and around each case only (requests interleave between cases). Over
PostgreSQL, several ``serve`` processes may tick at once: each due case is claimed with
``SELECT ... FOR UPDATE SKIP LOCKED`` by one of them, and the others skip it without an error. A case that cannot
be fired (damaged, its process not known) is logged and left as it is; a round that fails as a whole (the database
unreachable) is logged and the next round tries again. See docs/service.md, "Several workers and the timers".
"""

from __future__ import annotations

import logging
import threading

from ..errors import ApprovalflowError
from ..store.timers import FiredCase, fire_due
from .context import ServiceContext

__all__ = ["Ticker", "tick_once"]

LOG = logging.getLogger("approvalflow.service.ticker")


def tick_once(context: ServiceContext) -> list[FiredCase]:
    """One round: fire every timer due at ``context.clock.now()`` in the cases of ``context.store`` that this worker
    claims; what it fired (and the cases it could not fire, with ``error``)."""
    organisations = list({id(o): o for o in context.organisations.values()}.values())
    return fire_due(context.store, context.clock.now(), context.processes, organisations, lock=context.lock)


class Ticker(threading.Thread):
    """A daemon thread running :func:`tick_once` every ``seconds`` (the first round at once) until :meth:`stop`."""

    def __init__(self, context: ServiceContext, seconds: float) -> None:
        if not seconds > 0:
            raise ValueError(f"--tick: a number of seconds above 0, not {seconds}")
        super().__init__(name="approvalflow-ticker", daemon=True)
        self.context = context
        self.seconds = seconds
        self.rounds = 0
        self._stopping = threading.Event()

    def run(self) -> None:
        while not self._stopping.is_set():
            try:
                for result in tick_once(self.context):
                    if result.error is not None:
                        LOG.warning("case %s: timers not fired: %s", result.case, result.error)
                    elif result.fired:
                        LOG.info("case %s: fired %s", result.case, ", ".join(f.element for f in result.fired))
            except ApprovalflowError as exc:
                LOG.error("timer round failed (the next round tries again): %s", exc)
            except Exception:  # never let the loop die silently: the next round tries again
                LOG.exception("timer round failed (the next round tries again)")
            self.rounds += 1
            self._stopping.wait(self.seconds)

    def stop(self, timeout: float | None = 10) -> None:
        """Ask the loop to end after its current case and wait for it (at most ``timeout`` seconds)."""
        self._stopping.set()
        if self.is_alive():
            self.join(timeout)
