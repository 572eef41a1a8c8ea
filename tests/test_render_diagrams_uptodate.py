"""diagrams/ holds both views of every process in processes/, exactly as `bash scripts/make_diagrams.sh` writes them."""

from __future__ import annotations

from pathlib import Path

import pytest

from approvalflow.render.diagrams import regenerate
from approvalflow.render.errors import RenderError

ROOT = Path(__file__).parent.parent
COMMAND = "bash scripts/make_diagrams.sh"


def differences(committed: Path, fresh: Path) -> list[str]:
    """What differs between the two folders of SVGs: missing, stale and changed files."""
    new = {p.relative_to(fresh).as_posix(): p.read_bytes() for p in fresh.rglob("*.svg")}
    old = {p.relative_to(committed).as_posix(): p.read_bytes() for p in committed.rglob("*.svg")}
    problems = [f"missing {name}" for name in sorted(new.keys() - old.keys())]
    problems += [f"stale {name}" for name in sorted(old.keys() - new.keys())]
    problems += [f"changed {name}" for name in sorted(new.keys() & old.keys()) if new[name] != old[name]]
    return problems


def test_diagrams_are_up_to_date(tmp_path: Path) -> None:
    committed = ROOT / "diagrams"
    regenerate(ROOT / "processes", tmp_path)
    problems = differences(committed, tmp_path) if committed.is_dir() else ["diagrams/ does not exist"]
    assert not problems, f"diagrams/ is out of date ({'; '.join(problems[:6])}): run `{COMMAND}`"


def test_differences_are_found(tmp_path: Path) -> None:
    old, new = tmp_path / "old", tmp_path / "new"
    old.mkdir()
    new.mkdir()
    (old / "a.flow.svg").write_text("<svg/>", encoding="utf-8")
    (old / "gone.flow.svg").write_text("<svg/>", encoding="utf-8")
    (new / "a.flow.svg").write_text("<svg></svg>", encoding="utf-8")
    (new / "b.flow.svg").write_text("<svg/>", encoding="utf-8")
    assert differences(old, new) == ["missing b.flow.svg", "stale gone.flow.svg", "changed a.flow.svg"]
    assert differences(new, new) == []


def test_regenerate_writes_both_views_and_removes_stale(tmp_path: Path) -> None:
    out = tmp_path / "out"
    out.mkdir()
    (out / "gone.flow.svg").write_text("<svg/>", encoding="utf-8")
    written = regenerate(ROOT / "processes" / "licensing", out)
    names = sorted(p.name for p in written)
    assert names == ["general_licensing.flow.svg", "general_licensing.risk.svg", "hearing.flow.svg", "hearing.risk.svg"]
    assert sorted(p.name for p in out.iterdir()) == names  # the stale SVG is gone
    again = tmp_path / "again"
    regenerate(ROOT / "processes" / "licensing", again)
    assert differences(out, again) == []  # byte-deterministic


def test_two_processes_with_one_name_are_an_error(tmp_path: Path) -> None:
    for folder in ("a", "b"):
        (tmp_path / folder).mkdir()
        (tmp_path / folder / "same.bpmn").write_bytes((ROOT / "processes" / "licensing" / "hearing.bpmn").read_bytes())
    with pytest.raises(RenderError, match="same file name"):
        regenerate(tmp_path, tmp_path / "out")
