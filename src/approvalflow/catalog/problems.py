"""What is wrong with a catalog: bad cells of a file that cannot be read (:class:`CatalogError`, every
:class:`CatalogProblem` at once), and the rules of ``catalog check`` (:data:`CATALOG`) with the findings they
make (:func:`catalog_finding`: the package's one :class:`~approvalflow.rules.findings.Finding`, located by
table, row, column header and power).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from ..errors import DefinitionError
from ..rules.findings import Finding
from ..rules.registry import Registry
from .columns import POWER_SHEET

__all__ = ["CATALOG", "CatalogError", "CatalogFinding", "CatalogProblem", "catalog_finding"]

#: The rules of ``catalog check`` and their severities (docs/catalog.md says what each means).
CATALOG: Registry[object] = Registry(
    "catalog",
    {
        "catalog-duplicate-code": "error",
        "catalog-no-flowchart": "warning",
        "catalog-flowchart-missing": "error",
        "catalog-flowchart-outside": "error",
        "catalog-flowchart-not-file": "error",
        "catalog-flowchart-invalid": "error",
        "catalog-limit-mismatch": "error",
        "catalog-limit-blank": "warning",
        "catalog-risk-unknown-power": "error",
        "catalog-risk-duplicate": "error",
        "catalog-risk-missing": "error",
        "catalog-risk-extra": "error",
        "catalog-risk-step": "error",
        "catalog-risk-mismatch": "error",
        "catalog-risk-text": "warning",
    },
)

#: A finding of ``catalog check`` (the former name of :class:`~approvalflow.rules.findings.Finding`).
CatalogFinding = Finding


def catalog_finding(
    rule: str, row: int | None, column: str | None, message: str, sheet: str = POWER_SHEET, power: str | None = None
) -> Finding:
    """A finding of ``catalog check`` in ``sheet`` (default 权力清单) at ``row`` and ``column`` (a header), with
    the severity :data:`CATALOG` fixes for ``rule`` (``KeyError`` for an unknown rule id)."""
    return CATALOG.finding(rule, message, sheet=sheet, row=row, column=column, power=power)


_MAX_LISTED = 50


@dataclass(frozen=True)
class CatalogProblem:
    """One bad cell: file, table (权力清单 / 廉政风险点), row, column header and, in sheets, column letter."""

    message: str
    file: str | None = None
    sheet: str | None = None
    row: int | None = None
    column: str | None = None
    letter: str | None = None
    row_kind: str = "row"  # "row" in sheets, "line" in YAML, "item" in JSON

    def where(self) -> str:
        """``权力清单 row 7, column H (法定办结时限)``."""
        parts = [self.sheet] if self.sheet else []
        if self.row is not None:
            parts.append(f"{self.row_kind} {self.row}")
        text = " ".join(parts)
        if self.column:
            col = f"column {self.letter} ({self.column})" if self.letter else f"column {self.column}"
            text = f"{text}, {col}" if text else col
        return text

    def __str__(self) -> str:
        where = self.where()
        return f"{where}: {self.message}" if where else self.message

    def to_json(self) -> dict[str, object]:
        return {
            "file": self.file,
            "sheet": self.sheet,
            "row": self.row,
            "column": self.column,
            "cell": f"{self.letter}{self.row}" if self.letter and self.row else None,
            "message": self.message,
        }


class CatalogError(DefinitionError):
    """A catalog file that cannot be read; ``problems`` lists every bad cell found."""

    def __init__(self, problems: Sequence[CatalogProblem], *, file: str | Path | None = None) -> None:
        self.problems = list(problems)
        first = self.problems[0] if self.problems else None
        lines = [str(p) for p in self.problems[:_MAX_LISTED]]
        if len(self.problems) > _MAX_LISTED:
            lines.append(f"... and {len(self.problems) - _MAX_LISTED} more")
        count = f"{len(self.problems)} problems: " if len(self.problems) > 1 else ""
        where = file if file is not None else (first.file if first is not None else None)
        super().__init__(count + "; ".join(lines), file=where)
        if first is not None:  # the first bad cell's place (each problem names its own in the message)
            self.line = first.row if first.row_kind == "line" else None
            self.row = first.row if first.row_kind != "line" else None
            self.column = first.letter or first.column
            self.element = first.column
