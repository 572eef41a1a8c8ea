"""Replay every input the fuzzers found crashing (tests/fuzz/corpus/<kind>/): a fixed crash stays fixed.

Each file is replayed through the same readers and CLI commands its fuzz test uses, with no crash tolerated.
A crash not fixed yet is listed in :data:`tests.fuzz.known.KNOWN`; its replay is ``xfail(strict=True)``, so it
fails the suite the moment the crash is fixed (then remove the entry).
"""

from __future__ import annotations

import importlib
from pathlib import Path

import pytest

from .harness import CORPUS, Crash, replaying, signature
from .known import KNOWN, known_for_corpus, known_signature

KINDS = ("bpmn", "org", "scenario", "catalog", "eventlog", "case", "store")
#: Files beside a corpus input that are part of it, not inputs of their own (a CSV catalog's risk table).
COMPANION = ".廉政风险点."


def _inputs() -> list[Path]:
    return sorted(
        p
        for p in CORPUS.glob("*/*")
        if p.is_file() and not p.name.startswith(".") and p.suffix != ".md" and COMPANION not in p.name
    )


def _params() -> list[object]:
    params: list[object] = []
    for path in _inputs():
        rel = path.relative_to(CORPUS).as_posix()
        known = known_for_corpus(rel)
        marks: list[pytest.MarkDecorator] = []
        if known:
            reason = f"{known.exception} in {known.where}: {known.reason}"
            marks.append(pytest.mark.xfail(strict=True, raises=AssertionError, reason=reason))
            if known.exception == "Timeout":  # it runs to the bound: EXAMPLE_SECONDS of CPU per command
                marks.append(pytest.mark.slow)
        params.append(pytest.param(path, id=rel, marks=marks))
    return params


@pytest.mark.parametrize("path", _params())
def test_corpus_input_is_refused_cleanly(path: Path) -> None:
    kind = path.parent.name
    module = importlib.import_module(f"tests.fuzz.test_fuzz_{kind}")
    known = known_for_corpus(path.relative_to(CORPUS).as_posix())
    try:
        with replaying():
            module.replay(path)
    except Crash as crash:
        if known is not None and crash.__cause__ is not None:
            got = signature(crash.__cause__)[:2]
            if known_signature(*got) is not known:  # not the crash the xfail stands for: a plain failure
                pytest.fail(f"{path.name}: expected {known.exception} from {known.where}, got {got}: {crash}")
        raise


def test_corpus_folders_are_known_kinds() -> None:
    """Every corpus folder is a kind with a fuzz module (a misplaced file would otherwise never be replayed)."""
    folders = {p.name for p in CORPUS.iterdir() if p.is_dir()}
    assert folders <= set(KINDS), folders - set(KINDS)
    for kind in folders:
        assert hasattr(importlib.import_module(f"tests.fuzz.test_fuzz_{kind}"), "replay")


def test_every_known_crash_has_its_corpus_file() -> None:
    """Each known crash names a corpus file that exists (else its xfail would silently never run)."""
    missing = [k.corpus for k in KNOWN if not (CORPUS / k.corpus).is_file()]
    assert not missing, missing
    assert len({k.corpus for k in KNOWN}) == len(KNOWN), "a corpus file listed twice"
