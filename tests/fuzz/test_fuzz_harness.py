"""The fuzz harness itself: what it counts as a crash, and what it lets through (so the fuzz tests can fail)."""

from __future__ import annotations

import time

import pytest

from approvalflow.errors import OrganisationError

from . import harness
from .harness import Crash, check_cli, check_library, replaying, signature


def _raise(exc: BaseException) -> None:
    raise exc


def test_an_approvalflow_error_is_not_a_crash() -> None:
    check_library("org", "yaml", b"x", lambda: _raise(OrganisationError("bad", file="f.yaml")))


@pytest.mark.parametrize(
    "exc", [KeyError("k"), TypeError("t"), RecursionError(), UnicodeEncodeError("utf-8", "\ud800", 0, 1, "x")]
)
def test_any_other_exception_is_a_crash(exc: BaseException) -> None:
    with pytest.raises(Crash, match=type(exc).__name__):
        check_library("org", "yaml", b"x", lambda: _raise(exc))


def test_a_run_past_the_bound_is_a_crash(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(harness, "EXAMPLE_SECONDS", 0.2)

    def spin() -> None:
        end = time.monotonic() + 5
        while time.monotonic() < end:
            pass

    started = time.monotonic()
    with pytest.raises(Crash, match="Timeout"):
        check_library("org", "yaml", b"x", spin)
    assert time.monotonic() - started < 4


def test_a_run_that_waits_past_the_wall_bound_is_a_crash(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(harness, "EXAMPLE_WALL_SECONDS", 0.2)
    started = time.monotonic()
    with pytest.raises(Crash, match="Timeout"):
        check_library("org", "yaml", b"x", lambda: time.sleep(5))
    assert time.monotonic() - started < 2


def test_the_cli_fails_on_bad_usage_with_status_2_not_a_crash() -> None:
    assert check_cli("org", "yaml", b"x", ["no-such-command"]) == 2


def test_a_cli_traceback_on_stderr_is_a_crash(monkeypatch: pytest.MonkeyPatch) -> None:
    import approvalflow.cli.main

    def noisy(argv: list[str]) -> int:
        import sys

        print("Traceback (most recent call last):", file=sys.stderr)
        return 2

    monkeypatch.setattr(approvalflow.cli.main, "main", noisy)
    with pytest.raises(Crash, match="traceback"):
        check_cli("org", "yaml", b"x", ["validate"])


def test_a_cli_exit_status_other_than_0_1_2_is_a_crash(monkeypatch: pytest.MonkeyPatch) -> None:
    import approvalflow.cli.main

    monkeypatch.setattr(approvalflow.cli.main, "main", lambda argv: 3)
    with pytest.raises(Crash, match="exit status 3"):
        check_cli("org", "yaml", b"x", ["validate"])


def test_the_signature_names_the_approvalflow_function_it_escapes_from() -> None:
    from approvalflow.engine.state import canonical

    try:
        canonical({"x": "\ud800"})
    except UnicodeEncodeError as exc:
        assert signature(exc)[:2] == ("UnicodeEncodeError", "approvalflow/engine/state.py:canonical")
    else:
        pytest.skip("canonical() accepts lone surrogates now")


def test_a_known_crash_is_tolerated_while_fuzzing_but_not_in_a_replay(monkeypatch: pytest.MonkeyPatch) -> None:
    from .known import KnownCrash

    known = KnownCrash("org/x.yaml", "KeyError", "-", "test")
    monkeypatch.setattr(harness, "known_signature", lambda e, w: known if (e, w) == ("KeyError", "-") else None)
    check_library("org", "yaml", b"x", lambda: _raise(KeyError("k")))  # tolerated
    with replaying(), pytest.raises(Crash):
        check_library("org", "yaml", b"x", lambda: _raise(KeyError("k")))


def test_the_ci_subprocess_is_bounded_in_memory() -> None:
    """The limit run_ci_profile puts on its subprocess holds: allocating past it fails there with MemoryError."""
    import subprocess
    import sys

    done = subprocess.run(
        [sys.executable, "-c", f"bytearray({harness.CI_MEMORY_BYTES + 2**28})"],
        capture_output=True,
        text=True,
        preexec_fn=harness._limit_memory,
        check=False,
        timeout=60,
    )
    assert done.returncode != 0
    assert "MemoryError" in done.stderr
