"""The demonstrations run by ``approvalflow demo`` and ``approvalflow supervise demo``.

Top layer (beside :mod:`approvalflow.cli`): imports anything below.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from .._lazy import lazy_exports

if TYPE_CHECKING:  # pragma: no cover - for type checkers and IDEs
    from .licensing import run_demo
    from .supervision import SupervisionDemo, run_supervision_demo

__all__ = [
    "SupervisionDemo", "run_demo", "run_supervision_demo",
]  # fmt: skip

#: Each module and the names of ``__all__`` it defines, imported on first use (see :mod:`approvalflow._lazy`).
_LAZY: dict[str, str] = {
    ".licensing": "run_demo",
    ".supervision": "SupervisionDemo run_supervision_demo",
}

__getattr__, __dir__ = lazy_exports(__name__, _LAZY)
