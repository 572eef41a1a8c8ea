"""Running a simulation: chunks, seeds, replications and executors (scale-out).

A run of ``cases`` cases is ``replications`` independent replications; a
replication of more than :data:`SEGMENT` cases is split into segments of at
most that many cases, each simulated from an empty system. The chunks depend
only on ``cases`` and ``replications``, never on ``jobs`` or the executor, and
each chunk's seed is derived from the run's seed and the chunk's place
(SHA-256 of ``"seed:replication:segment"``), so a given seed gives the same
result however the chunks are spread over processes or machines.

Chunks go to any :class:`concurrent.futures.Executor`: a process pool with
``jobs > 1``, or one the caller passes (a Dask ``Client().get_executor()``, a
Ray or MPI pool executor); results are merged in chunk order.
"""

from __future__ import annotations

import hashlib
import random
import time
from collections.abc import Callable
from typing import TYPE_CHECKING

from ..errors import InvalidInputError
from .kernel import ChunkStats, run_chunk
from .model import SimulationModel
from .results import SimulationResult, merge

if TYPE_CHECKING:
    from concurrent.futures import Executor

__all__ = ["SEGMENT", "chunk_plan", "chunk_seed", "simulate"]

SEGMENT = 100_000  # cases simulated from one empty system at most
Progress = Callable[[int, int], None]


def chunk_seed(seed: int, replication: int, segment: int) -> int:
    """The seed of one chunk: independent streams from one run seed."""
    digest = hashlib.sha256(f"{seed}:{replication}:{segment}".encode()).digest()
    return int.from_bytes(digest[:8], "big")


def chunk_plan(cases: int, replications: int) -> list[tuple[int, int, int]]:
    """The chunks of a run: (replication, segment, cases) in merge order."""
    plan = []
    for r in range(replications):
        left, s = cases, 0
        while left > 0:
            n = min(SEGMENT, left)
            plan.append((r, s, n))
            left -= n
            s += 1
    return plan


def _run(args: tuple[SimulationModel, int, int, int]) -> ChunkStats:
    model, n, seed, keep = args
    return run_chunk(model, n, seed, keep)


def simulate(
    model: SimulationModel,
    *,
    cases: int,
    seed: int | None = None,
    replications: int = 1,
    executor: Executor | None = None,
    jobs: int = 1,
    progress: Progress | None = None,
    keep_traces: int = 0,
) -> SimulationResult:
    """Simulate ``cases`` cases of ``model`` in each of ``replications`` replications.

    ``seed`` (default: the model's, else fresh entropy) makes the run
    reproducible, whatever ``jobs`` or ``executor``. Chunks run in ``executor``
    if given, else in a process pool of ``jobs`` workers when ``jobs > 1``, else
    here. ``progress(done, total)`` is called as cases are simulated.
    ``keep_traces=K`` keeps the first K cases' paths in ``result.traces``.
    """
    if cases < 1 or replications < 1:
        raise InvalidInputError("cases and replications must be at least 1")
    began = time.perf_counter()
    used = seed if seed is not None else model.seed
    base = used if used is not None else random.SystemRandom().getrandbits(63)
    plan = chunk_plan(cases, replications)
    total = cases * replications
    work = [(model, n, chunk_seed(base, r, s), keep_traces if (r, s) == (0, 0) else 0) for r, s, n in plan]
    chunks: list[ChunkStats]
    if executor is None and jobs <= 1:
        chunks, done = [], 0
        for m, n, sd, keep in work:
            tick = (lambda k, d=done: progress(d + k, total)) if progress is not None else None
            chunks.append(run_chunk(m, n, sd, keep, tick))
            done += n
            if progress is not None:
                progress(done, total)
    else:
        chunks = _spread(work, executor, jobs, progress, total)
    result = merge(model, chunks, seed=used, replications=replications, wall=time.perf_counter() - began)
    result.traces = sorted(result.traces, key=lambda t: int(t["case"]))[:keep_traces]
    return result


def _spread(
    work: list[tuple[SimulationModel, int, int, int]],
    executor: Executor | None,
    jobs: int,
    progress: Progress | None,
    total: int,
) -> list[ChunkStats]:
    own = executor is None
    if executor is None:
        from concurrent.futures import ProcessPoolExecutor

        executor = ProcessPoolExecutor(max_workers=min(jobs, len(work)))
    try:
        futures = [executor.submit(_run, w) for w in work]
        chunks, done = [], 0
        for f, w in zip(futures, work, strict=True):
            chunks.append(f.result())
            done += w[1]
            if progress is not None:
                progress(done, total)
        return chunks
    finally:
        if own:
            executor.shutdown()
