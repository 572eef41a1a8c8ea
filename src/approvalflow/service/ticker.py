"""The timer loop of ``approvalflow serve --tick SECONDS``: fire every timer due, now and every SECONDS.

A :class:`Ticker` is a daemon thread of the serve process. Each round calls
:func:`~approvalflow.store.timers.fire_due` at the service clock's now, on the service's store, holding the
service's store lock around the index query and around each case only (requests interleave between cases). Over
PostgreSQL, several ``serve`` processes may tick at once: each due case is claimed with
``SELECT ... FOR UPDATE SKIP LOCKED`` by one of them, and the others skip it without an error. A case that cannot
be fired (damaged, its process not known) is logged and left as it is; a round that fails as a whole (the database
unreachable) is logged and the next round tries again. When the database connection was lost (a server restart,
``pg_terminate_backend``), the round ends with :class:`~approvalflow.store.base.StoreUnavailable`, logged; the store
reconnects at the next round, which comes after a backoff (0.5 s after the first failed round, doubling up to 30 s,
never sooner than the tick): the loop goes on, the serve process is not affected. See docs/service.md, "Several
workers and the timers".
"""

from __future__ import annotations

import logging
import threading

from ..errors import ApprovalflowError
from ..store.base import StoreUnavailable
from ..store.timers import FiredCase, fire_due
from .context import ServiceContext

__all__ = ["BACKOFF", "Ticker", "tick_once"]

#: The pause after the first failed round and the longest pause (seconds): it doubles with each failed round.
BACKOFF = (0.5, 30.0)

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
        self.failures = 0  # rounds failed in a row, as of the last round
        self._stopping = threading.Event()

    def run(self) -> None:
        failed = 0  # rounds failed in a row
        while not self._stopping.is_set():
            try:
                results = tick_once(self.context)
                if failed:
                    LOG.warning("timer rounds go on after %d failed round(s)", failed)
                failed = 0
                for result in results:
                    if result.error is not None:
                        LOG.warning("case %s: timers not fired: %s", result.case, result.error)
                    elif result.fired:
                        LOG.info("case %s: fired %s", result.case, ", ".join(f.element for f in result.fired))
            except StoreUnavailable as exc:
                failed += 1
                LOG.error("timer round failed: the case store cannot be reached (%s); reconnecting at the next "
                          "round, in %.1f s", exc, self.pause(failed))  # fmt: skip
            except ApprovalflowError as exc:
                failed += 1
                LOG.error("timer round failed (the next round tries again): %s", exc)
            except Exception:  # never let the loop die silently: the next round tries again
                failed += 1
                LOG.exception("timer round failed (the next round tries again)")
            self.rounds += 1
            self.failures = failed
            self._stopping.wait(self.pause(failed))

    def pause(self, failed: int) -> float:
        """Seconds to wait before the next round after ``failed`` failed rounds in a row: the tick, or after a
        failure the backoff (:data:`BACKOFF`) when it is longer."""
        if not failed:
            return self.seconds
        first, most = BACKOFF
        return float(max(self.seconds, min(most, first * 2 ** min(failed - 1, 16))))

    def stop(self, timeout: float | None = 10) -> None:
        """Ask the loop to end after its current case and wait for it (at most ``timeout`` seconds)."""
        self._stopping.set()
        if self.is_alive():
            self.join(timeout)
