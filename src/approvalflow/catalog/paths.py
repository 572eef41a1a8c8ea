"""Where a catalog's ``流程图`` may point: inside the catalog's folder, and only at regular files.

A catalog comes from another department. Its ``流程图`` cells are paths that ``catalog check`` and
:func:`~approvalflow.catalog.risk_table` open, so a hostile catalog could name ``/etc/passwd``,
``../../secret.bpmn``, a symbolic link out of the folder, or a FIFO that blocks the reader forever. A path is
therefore taken only when, resolved (``..`` and every symbolic link followed), it lies inside the *root*: the
catalog's folder by default, or the folder the caller names (``root=``, ``catalog check --root DIR``, e.g. a
process library the catalog sits beside); ``allow_outside=True`` (``--allow-outside``) lifts the rule for a
catalog the user trusts. Only a regular file is opened; anything else is refused before it is opened.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path

from ..errors import DefinitionError

__all__ = ["FlowchartPathError", "flowchart_path"]


class FlowchartPathError(DefinitionError, ValueError):
    """A ``流程图`` that is refused; ``rule`` is the ``catalog check`` rule id (also a ``ValueError``, as it was)."""

    def __init__(self, rule: str, message: str, *, file: str | Path | None = None) -> None:
        self.rule = rule
        super().__init__(message, file=file)


_HINT = "pass --allow-outside (allow_outside=True) for a catalog you trust, or --root DIR (root=) for a wider folder"


def flowchart_path(text: str, base: Path, *, root: Path | None = None, allow_outside: bool = False) -> Path:
    """The file a ``流程图`` cell names (relative to ``base``), or a :class:`FlowchartPathError`.

    Rules: ``catalog-flowchart-outside`` (absolute, or resolving outside ``root``, default ``base``),
    ``catalog-flowchart-missing`` (no such file), ``catalog-flowchart-not-file`` (a folder, FIFO, device ...).
    """
    raw = Path(text)
    try:
        path = raw if raw.is_absolute() else base / raw
        if not allow_outside:
            if raw.is_absolute():
                raise FlowchartPathError("catalog-flowchart-outside", f"{text} is an absolute path; {_HINT}")
            inside = (root if root is not None else base).resolve()
            resolved = path.resolve()
            if not resolved.is_relative_to(inside):
                msg = f"{text} resolves to {resolved}, outside {inside}; {_HINT}"
                raise FlowchartPathError("catalog-flowchart-outside", msg)
        mode = os.stat(path).st_mode
    except FlowchartPathError:
        raise
    except FileNotFoundError:
        msg = f"the flowchart {text} does not exist (looked for {path})"
        raise FlowchartPathError("catalog-flowchart-missing", msg) from None
    except (OSError, RuntimeError, ValueError) as exc:  # a loop of links, a name the system refuses
        raise FlowchartPathError("catalog-flowchart-missing", f"the flowchart {text} cannot be opened: {exc}") from None
    if not stat.S_ISREG(mode):
        msg = f"the flowchart {text} is not a regular file (a folder, FIFO or device): only regular files are read"
        raise FlowchartPathError("catalog-flowchart-not-file", msg)
    return path
