"""The error rendering raises when a tool it needs fails (Graphviz missing or broken) or an output is not written."""

from __future__ import annotations

from ..errors import ApprovalflowError

__all__ = ["RenderError"]


class RenderError(ApprovalflowError):
    """Rendering could not complete: Graphviz is missing or failed, or an output could not be written.

    ``file`` names the BPMN file being drawn or the output that could not be written (see :mod:`approvalflow.errors`).
    """
