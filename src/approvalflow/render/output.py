"""Where rendered SVGs go: one file per BPMN diagram and view, named ``<stem>[-N].<view>.svg``."""

from __future__ import annotations

import os
from pathlib import Path

from ..io.inputfiles import regular_files
from ..io.outputfiles import temp_beside
from . import View, render_views
from .errors import RenderError

__all__ = ["bpmn_files", "svg_names", "write_svgs"]


def bpmn_files(paths: list[str | os.PathLike[str]]) -> list[Path]:
    """The ``.bpmn`` files named, folders searched recursively, sorted within each folder.

    A folder yields only its regular files (a FIFO or device named ``*.bpmn`` is not a document); a path named
    directly is kept as it is, and reading it refuses anything but a regular file with a clear error.
    """
    found: list[Path] = []
    for item in paths:
        path = Path(item)
        found += regular_files(path, "*.bpmn") if path.is_dir() else [path]
    return found


def svg_names(stem: str, count: int, view: View) -> list[str]:
    """``name.flow.svg``, then ``name-2.flow.svg``, ... for a file with several diagrams."""
    return [f"{stem}.{view}.svg" if i == 0 else f"{stem}-{i + 1}.{view}.svg" for i in range(count)]


def write_text(path: Path, text: str) -> None:
    """Write ``text`` atomically (temporary file, then rename)."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = temp_beside(path)
        with os.fdopen(fd, "w", encoding="utf-8", newline="\n") as stream:
            stream.write(text)
        os.replace(tmp, path)
    except OSError as exc:
        raise RenderError(f"cannot write: {exc.strerror or exc}", file=path) from exc


def write_svgs(bpmn: Path, out: Path, view: View) -> list[Path]:
    """Render every diagram of ``bpmn`` in ``view`` into ``out``; returns the files written."""
    svgs = render_views(bpmn, view)
    written = []
    for name, svg in zip(svg_names(bpmn.stem, len(svgs), view), svgs, strict=True):
        write_text(out / name, svg)
        written.append(out / name)
    return written
