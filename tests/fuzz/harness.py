"""What the fuzz suite checks, how long it runs, and where the crashes it finds go.

A *crash* is any of:

- an exception out of a library call that is not an :class:`approvalflow.errors.ApprovalflowError`;
- a CLI run (``approvalflow.cli.main.main`` in-process) that raises, exits with a status other than 0, 1 or 2, or
  writes ``Traceback`` on stderr;
- an example that uses more than :data:`EXAMPLE_SECONDS` of CPU or :data:`EXAMPLE_WALL_SECONDS` of wall time
  (an unbounded run).

Profiles (environment variable ``AF_FUZZ_PROFILE``):

- ``default``: a handful of examples per test, so the whole fuzz suite adds at most ~20 s to the normal run;
- ``ci``: the larger run. Each ``test_fuzz_<kind>.py`` has a ``@pytest.mark.slow`` test that runs that file's
  fuzz tests under this profile in a subprocess bounded by :data:`CI_MEMORY_BYTES` of address space and
  :data:`CI_TIMEOUT_SECONDS` (CI runs slow tests).

Both profiles are derandomized (the same examples every run, so CI is reproducible) and keep no example
database. Exploring further by hand::

    AF_FUZZ_PROFILE=ci AF_FUZZ_EXAMPLES=5000 AF_FUZZ_SAVE=/tmp/found AF_FUZZ_EXPLORE=1 \\
        .venv/bin/python -m pytest -q -m 'not slow' tests/fuzz -p no:cacheprovider

``AF_FUZZ_EXAMPLES`` overrides the number of examples of every test; ``AF_FUZZ_SEED`` (an integer) replaces
derandomization by that seed, to look at other examples; ``AF_FUZZ_SAVE=DIR`` writes each crashing input to
``DIR/<kind>/`` (the smallest one of each signature is the one to keep); with ``AF_FUZZ_EXPLORE=1`` crashes are
saved and the run goes on instead of failing. A crash worth keeping is shrunk (``python -m tests.fuzz.minimize``)
into ``tests/fuzz/corpus/<kind>/`` and, while it is not fixed, listed in :data:`tests.fuzz.known.KNOWN`: the fuzz
tests tolerate exactly that exception escaping from that function (and count it in Hypothesis' statistics as
"known crash tolerated"); any other crash fails them.
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import os
import re
import resource
import signal
import subprocess
import sys
import traceback
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from types import FrameType, TracebackType
from typing import Any

from hypothesis import HealthCheck, event, seed, settings
from hypothesis.errors import InvalidArgument

from approvalflow.errors import ApprovalflowError

from .known import known_signature

__all__ = [
    "CI_MEMORY_BYTES",
    "CI_TIMEOUT_SECONDS",
    "CORPUS",
    "EXAMPLE_SECONDS",
    "EXAMPLE_WALL_SECONDS",
    "ROOT",
    "Crash",
    "check_cli",
    "check_library",
    "companions",
    "fuzz_settings",
    "replaying",
    "run_ci_profile",
]

ROOT = Path(__file__).resolve().parents[2]
CORPUS = Path(__file__).resolve().parent / "corpus"
SHARED = ROOT.parent / "shared" / "corpus"

PROFILE = os.environ.get("AF_FUZZ_PROFILE", "default")

#: CPU seconds one example may use (a library call or a CLI run, with the files it writes) before it counts as
#: an unbounded run. CPU time, not wall time, so that a loaded CI machine gives no false alarm; generous on
#: purpose: an honest example takes well under a second. Raise it with ``AF_FUZZ_EXAMPLE_SECONDS``.
EXAMPLE_SECONDS = float(os.environ.get("AF_FUZZ_EXAMPLE_SECONDS", "10"))

#: Wall-clock seconds one example may take: catches a run that waits without using the CPU (a FIFO, a lock).
#: Raise it with ``AF_FUZZ_EXAMPLE_WALL_SECONDS``.
EXAMPLE_WALL_SECONDS = float(os.environ.get("AF_FUZZ_EXAMPLE_WALL_SECONDS", "120"))

#: Address space of the subprocess that runs a file's fuzz tests under the ``ci`` profile (2 GiB): an input that
#: makes a reader allocate without bound fails there as a MemoryError instead of taking the machine down.
CI_MEMORY_BYTES = 2 * 1024**3

#: Wall-clock seconds the subprocess of one file's ``ci`` profile may take (raise it with
#: ``AF_FUZZ_CI_TIMEOUT``).
CI_TIMEOUT_SECONDS = float(os.environ.get("AF_FUZZ_CI_TIMEOUT", "600"))


class Crash(AssertionError):
    """An input made approvalflow crash: a foreign exception, a bad exit status, a traceback or no end."""


class ExampleTimeout(BaseException):
    """The example ran past its bound (a BaseException, so that no ``except Exception`` in the code swallows it)."""


def fuzz_settings(default: int, ci: int) -> Callable[[Any], Any]:
    """Hypothesis settings (and the seed) of a fuzz test: ``default`` examples normally, ``ci`` under the ci profile."""
    examples = int(os.environ.get("AF_FUZZ_EXAMPLES", ci if PROFILE == "ci" else default))
    fixed_seed = os.environ.get("AF_FUZZ_SEED")
    config = settings(
        max_examples=examples,
        deadline=None,  # bounded by EXAMPLE_SECONDS instead: a deadline is flaky on a loaded machine
        derandomize=fixed_seed is None,
        database=None,
        print_blob=False,
        suppress_health_check=list(HealthCheck),
    )

    def apply(test: Any) -> Any:
        test = config(test)
        return seed(int(fixed_seed))(test) if fixed_seed is not None else test

    return apply


# -- time bound ----------------------------------------------------------------------------------------------


@contextlib.contextmanager
def time_bound(seconds: float | None = None, wall_seconds: float | None = None) -> Iterator[None]:
    """Raise :class:`ExampleTimeout` in the main thread when the block uses more than ``seconds`` of CPU
    (default :data:`EXAMPLE_SECONDS`) or takes more than ``wall_seconds`` (default :data:`EXAMPLE_WALL_SECONDS`)."""
    cpu = EXAMPLE_SECONDS if seconds is None else seconds
    wall = EXAMPLE_WALL_SECONDS if wall_seconds is None else wall_seconds

    def on_cpu(signum: int, frame: FrameType | None) -> None:
        raise ExampleTimeout(f"still running after {cpu:g} s of CPU")

    def on_wall(signum: int, frame: FrameType | None) -> None:
        raise ExampleTimeout(f"still running after {wall:g} s")

    previous = signal.signal(signal.SIGPROF, on_cpu), signal.signal(signal.SIGALRM, on_wall)
    signal.setitimer(signal.ITIMER_PROF, cpu)
    signal.setitimer(signal.ITIMER_REAL, wall)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_PROF, 0)
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGPROF, previous[0])
        signal.signal(signal.SIGALRM, previous[1])


# -- crash signatures and the corpus -------------------------------------------------------------------------

_REPLAY = False


@contextlib.contextmanager
def replaying() -> Iterator[None]:
    """Within the block (the corpus replay) no crash is tolerated, known or not."""
    global _REPLAY
    saved, _REPLAY = _REPLAY, True
    try:
        yield
    finally:
        _REPLAY = saved


def _frames(tb: TracebackType | None) -> list[traceback.FrameSummary]:
    return list(traceback.extract_tb(tb)) if tb is not None else []


def signature(exc: BaseException) -> tuple[str, str, str]:
    """(exception class, the approvalflow function it escapes from, the innermost frame) of a crash; for an
    unbounded run, the function that ran on."""
    name = "Timeout" if isinstance(exc, ExampleTimeout) else type(exc).__name__
    frames = _frames(exc.__traceback__)
    ours = [f for f in frames if "/approvalflow/" in f.filename.replace(os.sep, "/") and "/tests/" not in f.filename]
    where = "-"
    if ours:
        # an unbounded run stops wherever the bound hits it: name the command or API call that ran on (the
        # outermost approvalflow frame below cli.main), not the innermost one, so that its signature is stable
        entry = [f for f in ours if not f.filename.replace(os.sep, "/").endswith("approvalflow/cli/main.py")] or ours
        f = entry[0] if isinstance(exc, ExampleTimeout) else ours[-1]
        where = "approvalflow/" + f.filename.replace(os.sep, "/").rsplit("/approvalflow/", 1)[1] + ":" + f.name
    inner = f"{Path(frames[-1].filename).name}:{frames[-1].lineno} {frames[-1].name}" if frames else "-"
    return name, where, inner


#: Files that belong to the input being checked (name suffix -> bytes), saved beside it: a CSV catalog's risk table.
_COMPANIONS: dict[str, bytes] = {}


@contextlib.contextmanager
def companions(files: dict[str, bytes]) -> Iterator[None]:
    """Within the block, a saved crashing input gets ``files`` beside it (``<stem><suffix>``)."""
    saved = dict(_COMPANIONS)
    _COMPANIONS.clear()
    _COMPANIONS.update(files)
    try:
        yield
    finally:
        _COMPANIONS.clear()
        _COMPANIONS.update(saved)


def _save(kind: str, ext: str, data: bytes, sig: tuple[str, str, str]) -> None:
    folder = os.environ.get("AF_FUZZ_SAVE")
    if not folder:
        return
    slug = re.sub(r"[^A-Za-z0-9]+", "-", f"{sig[0]}-{sig[1]}").strip("-")[:80]
    digest = hashlib.sha1(data + b"".join(_COMPANIONS.values())).hexdigest()[:8]
    target = Path(folder) / kind / f"{slug}-{len(data):08d}-{digest}.{ext}"
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_bytes(data)
    for suffix, body in _COMPANIONS.items():
        target.with_name(target.stem + suffix).write_bytes(body)
    with (Path(folder) / "crashes.txt").open("a", encoding="utf-8") as log:
        log.write(f"{kind}\t{sig[0]}\t{sig[1]}\t{sig[2]}\t{target.name}\n")


def _note(text: str) -> None:
    """Count ``text`` in Hypothesis' statistics (``--hypothesis-show-statistics``), when inside a fuzz test."""
    with contextlib.suppress(InvalidArgument):  # not inside a Hypothesis test (a plain test of the harness)
        event(text)


def _crash(kind: str, ext: str, data: bytes, exc: BaseException | None, message: str) -> None:
    """Record a crash; raise :class:`Crash` unless it is a known one (outside a replay) or we only explore."""
    sig = signature(exc) if exc is not None else ("BadExit", "approvalflow/cli/main.py:main", message[:60])
    if exc is not None and not _REPLAY and known_signature(sig[0], sig[1]) is not None:
        _note(f"known crash tolerated: {sig[0]} in {sig[1]}")
        return
    _save(kind, ext, data, sig)
    if os.environ.get("AF_FUZZ_EXPLORE") and not _REPLAY:
        return
    detail = f"{kind}: {sig[0]} escapes from {sig[1]} (innermost {sig[2]}): {message}"
    if exc is not None:
        raise Crash(detail) from exc
    raise Crash(detail)


def check_library(kind: str, ext: str, data: bytes, call: Callable[[], object]) -> None:
    """Run ``call`` on the input ``data``: only an ApprovalflowError may come out, and only within the bound."""
    try:
        with time_bound():
            call()
    except ApprovalflowError:
        return
    except (KeyboardInterrupt, Crash):
        raise
    except BaseException as exc:
        _crash(kind, ext, data, exc, f"{type(exc).__name__}: {str(exc)[:300]}")


def check_cli(kind: str, ext: str, data: bytes, argv: Sequence[str]) -> int:
    """Run the CLI in-process on ``argv``: exit 0, 1 or 2, no traceback on stderr, within the bound."""
    from approvalflow.cli.main import main

    out, err = io.StringIO(), io.StringIO()
    code: object = None
    try:
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err), time_bound():
            code = main(list(argv))
    except SystemExit as exc:  # argparse: usage errors
        code = exc.code
    except (KeyboardInterrupt, Crash):
        raise
    except BaseException as exc:
        _crash(kind, ext, data, exc, f"{type(exc).__name__}: {str(exc)[:300]}")
        return -1
    stderr = err.getvalue()
    if code not in (0, 1, 2):
        _crash(kind, ext, data, None, f"exit status {code!r}; stderr: {stderr[-300:]}")
    elif "Traceback" in stderr:
        _crash(kind, ext, data, None, f"a traceback on stderr: {stderr[-300:]}")
    return code if isinstance(code, int) else -1


# -- the ci profile in a bounded subprocess ------------------------------------------------------------------


def _limit_memory() -> None:  # pragma: no cover - runs in the child
    resource.setrlimit(resource.RLIMIT_AS, (CI_MEMORY_BYTES, CI_MEMORY_BYTES))


def run_ci_profile(test_file: str) -> str:
    """Run the fuzz tests of ``test_file`` under the ci profile in a subprocess limited to :data:`CI_MEMORY_BYTES`
    of address space and :data:`CI_TIMEOUT_SECONDS`; fail with its output unless they all pass. Returns pytest's
    output with Hypothesis' statistics (examples run, time)."""
    env = {
        **os.environ,
        "AF_FUZZ_PROFILE": "ci",
        # one thread per native library: thread arenas would spend the address space limit on nothing
        "OPENBLAS_NUM_THREADS": "1",
        "OMP_NUM_THREADS": "1",
        "MKL_NUM_THREADS": "1",
    }
    env.pop("AF_FUZZ_EXPLORE", None)
    command = [
        sys.executable,
        "-m",
        "pytest",
        "-q",
        "-p",
        "no:cacheprovider",
        "-m",
        "not slow",
        "--hypothesis-show-statistics",
        test_file,
    ]
    try:
        done = subprocess.run(
            command,
            cwd=ROOT,
            env=env,
            capture_output=True,
            text=True,
            timeout=CI_TIMEOUT_SECONDS,
            preexec_fn=_limit_memory,
            check=False,
        )
    except subprocess.TimeoutExpired as exc:
        raise Crash(f"{test_file}: the ci fuzz profile ran longer than {CI_TIMEOUT_SECONDS:g} s") from exc
    output = done.stdout + done.stderr
    if done.returncode != 0:
        raise Crash(f"{test_file}: the ci fuzz profile failed (exit {done.returncode}):\n{output[-6000:]}")
    stats = os.environ.get("AF_FUZZ_STATS")
    if stats:
        Path(stats).mkdir(parents=True, exist_ok=True)
        (Path(stats) / (Path(test_file).stem + ".txt")).write_text(output, encoding="utf-8")
    return output
