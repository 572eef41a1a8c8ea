"""Papercuts a new user met (issue 15, item 9): each one a small, checked promise."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from approvalflow import FakeClock, start_case
from approvalflow.store.cases import add_case
from approvalflow.store.memory import MemoryStore
from approvalflow.supervision.sweep import sweep

from .conftest import LICENSING


def test_repr_of_a_process_definition_is_one_short_line(licensing):
    text = repr(licensing)
    assert len(text) < 200 and "\n" not in text
    assert "general_licensing" in text and f"steps={len(licensing.steps)}" in text


def test_sweep_takes_a_moment_as_text_like_case_alerts(licensing, org):
    store = MemoryStore()
    case = start_case(licensing, org, clock=FakeClock("2026-09-28T09:00:00+08:00"), data={"applicant": "x"})
    case.complete("receive", "wang", data={"materials_complete": True})
    case.complete("accept", "wang")
    add_case(store, case)
    # accepted 09-28: 10 working days (the promised limit) end 10-16, so 11-02 is past it: red
    by_text = sweep(store, "2026-11-02T09:00:00+08:00")
    assert by_text.cards and {c.level for c in by_text.cards} >= {"red"}
    with pytest.raises(ValueError, match="timezone"):
        sweep(store, "2026-11-02T09:00:00")


def test_rendered_svgs_are_readable_by_others_as_open_would_make_them(tmp_path: Path):
    from approvalflow.render.output import write_svgs

    old = os.umask(0o022)
    try:
        written = write_svgs(LICENSING, tmp_path, "flow")
    finally:
        os.umask(old)
    assert written
    for path in written:
        assert stat.S_IMODE(path.stat().st_mode) == 0o644, path
