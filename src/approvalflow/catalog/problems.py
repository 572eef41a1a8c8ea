"""Bad cells of a catalog file, all of them at once: :class:`CatalogError`."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from ..errors import DefinitionError

__all__ = ["CatalogError", "CatalogProblem"]

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
