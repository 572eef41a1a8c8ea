"""The error rendering raises when a tool it needs fails (Graphviz missing or broken)."""

from __future__ import annotations

from ..errors import ApprovalflowError

__all__ = ["RenderError"]


class RenderError(ApprovalflowError):
    """Rendering could not complete: Graphviz is missing or failed, or an output could not be written."""
