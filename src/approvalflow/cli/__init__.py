"""The ``approvalflow`` command line: one module per command; the entry point is :func:`approvalflow.cli.main.main`.

Top layer: imports anything below; nothing imports it. The package exports no names: ``main`` here would hide
the module :mod:`approvalflow.cli.main` (``approvalflow.cli.main`` must stay the module, which tests patch).
"""

from __future__ import annotations

__all__: list[str] = []
