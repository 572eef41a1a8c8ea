"""Regenerate ``diagrams/`` from ``processes/``: both views of every process, one command.

    bash scripts/make_diagrams.sh
    python -m approvalflow.render.diagrams [--processes processes] [--out diagrams]

``processes/licensing/general_licensing.bpmn`` becomes ``diagrams/general_licensing.flow.svg``
(运行流程图) and ``diagrams/general_licensing.risk.svg`` (廉政风险防控图).  Every BPMN file gets
its pictures, processes that are only called from others (``licensing/hearing.bpmn``) included:
the caller draws the call activity collapsed, so the called procedure needs its own.  SVGs in
the output folder that no process produces any more are removed.  Output is deterministic, so a
test can regenerate into a temporary folder and compare byte for byte.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path

from ..errors import ApprovalflowError
from .errors import RenderError
from .output import bpmn_files, write_svgs

__all__ = ["main", "regenerate"]


def regenerate(processes: Path, out: Path) -> list[Path]:
    """Render both views of every ``.bpmn`` under ``processes`` into ``out``; returns the files written."""
    written: list[Path] = []
    files = bpmn_files([processes])
    stems: dict[str, Path] = {}
    for bpmn in files:
        if bpmn.stem in stems:
            raise RenderError(f"the same file name as {stems[bpmn.stem]}; diagrams/ is flat, rename one", file=bpmn)
        stems[bpmn.stem] = bpmn
    for bpmn in files:
        for view in ("flow", "risk"):
            written += write_svgs(bpmn, out, view)
    keep = {p.resolve() for p in written}
    for stale in sorted(out.rglob("*.svg")) if out.is_dir() else []:
        if stale.resolve() not in keep:
            stale.unlink()
    return written


def main(argv: Sequence[str] | None = None) -> int:
    """Command-line entry point; exit status 0, or 2 with one line on stderr."""
    parser = argparse.ArgumentParser(prog="python -m approvalflow.render.diagrams", description=__doc__)
    parser.add_argument("--processes", default="processes", help="folder of BPMN files (default: processes)")
    parser.add_argument("--out", default="diagrams", help="output folder (default: diagrams)")
    args = parser.parse_args(argv)
    try:
        written = regenerate(Path(args.processes), Path(args.out))
    except ApprovalflowError as exc:
        print(f"approvalflow: {exc}", file=sys.stderr)
        return 2
    print(f"{len(written)} SVG files in {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
