"""Write output files atomically, with the mode a newly created file gets.

Outputs (rendered SVGs, audit trails, exported event logs) are written to a temporary file beside their place and
renamed onto it, so that a reader never sees half a file and a failed write leaves the old one. ``mkstemp``
creates that file with mode 0600, which a web server publishing the SVGs cannot read; :func:`temp_beside` gives
it the mode ``open()`` would have (0666 less the process's umask) instead.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

__all__ = ["temp_beside"]


def _umask() -> int:
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def temp_beside(target: Path, suffix: str = ".tmp") -> tuple[int, str]:
    """A new temporary file in ``target``'s folder, opened: ``(descriptor, path)``; mode as ``open()`` makes it."""
    fd, name = tempfile.mkstemp(prefix=f".{target.name}.", suffix=suffix, dir=target.parent)
    try:
        os.fchmod(fd, 0o666 & ~_umask())
    except BaseException:
        os.close(fd)
        os.unlink(name)
        raise
    return fd, name
