"""Draw docs/images/architecture.svg from the layer table of docs/architecture.md.

    python scripts/architecture_svg.py           # rewrite the picture
    python scripts/architecture_svg.py --check   # exit 1 when the picture is not current

The page's table is the source (``| N | `name/` · `other.py` | ... |``); tests/test_architecture.py holds the
table equal to the test's own, and tests/test_docs.py checks that the picture is current.
"""

from __future__ import annotations

import re
import sys
from html import escape
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PAGE = ROOT / "docs" / "architecture.md"
PICTURE = ROOT / "docs" / "images" / "architecture.svg"

ROW_HEIGHT = 34
BOX_HEIGHT = 24
CHAR_WIDTH = 8.4  # monospace, 14px
LEFT = 58
WIDTH = 760
GAP = 12
SPIFF_NOTE = "only module importing SpiffWorkflow"


def layers(page: str) -> dict[int, list[str]]:
    """Layer number -> the packages and modules of that row, in the page's order."""
    table: dict[int, list[str]] = {}
    for number, names in re.findall(r"^\|\s*(\d+)\s*\|([^|]*)\|", page, re.M):
        table.setdefault(int(number), []).extend(re.findall(r"`([^`]+)`", names))
    return table


def render(page: str) -> str:
    """The SVG text for the layer table of ``page``: one row per layer, the highest on top."""
    table = layers(page)
    height = ROW_HEIGHT * len(table) + 56
    out = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{WIDTH}" height="{height}" '
        f'viewBox="0 0 {WIDTH} {height}" font-family="DejaVu Sans Mono, Menlo, Consolas, monospace" font-size="14">',
        "<title>The layers of approvalflow: each imports only from the layers below it</title>",
        f'<rect width="{WIDTH}" height="{height}" fill="#ffffff"/>',
        f'<text x="{LEFT}" y="22" fill="#333333">src/approvalflow: imports go down only</text>',
    ]
    arrow_x = WIDTH - 24
    for row, number in enumerate(sorted(table, reverse=True)):
        y = 36 + row * ROW_HEIGHT
        shade = "#eef3fb" if row % 2 == 0 else "#f7f9fc"
        out.append(f'<rect x="8" y="{y}" width="{WIDTH - 48}" height="{ROW_HEIGHT}" fill="{shade}"/>')
        out.append(f'<text x="{LEFT - 14}" y="{y + 22}" text-anchor="end" fill="#555555">{number}</text>')
        x = float(LEFT)
        for name in table[number]:
            label = f"{name}  ({SPIFF_NOTE})" if name == "_spiff.py" else name
            width = len(label) * CHAR_WIDTH + 16
            out.append(
                f'<rect x="{x:.1f}" y="{y + 5}" width="{width:.1f}" height="{BOX_HEIGHT}" rx="4" '
                'fill="#ffffff" stroke="#3b6db3"/>'
            )
            out.append(f'<text x="{x + 8:.1f}" y="{y + 22}" fill="#1a1a1a">{escape(label)}</text>')
            x += width + GAP
    bottom = 36 + len(table) * ROW_HEIGHT
    out.append(f'<line x1="{arrow_x}" y1="44" x2="{arrow_x}" y2="{bottom - 10}" stroke="#3b6db3" stroke-width="2"/>')
    out.append(
        f'<polygon points="{arrow_x - 6},{bottom - 14} {arrow_x + 6},{bottom - 14} {arrow_x},{bottom - 2}" '
        'fill="#3b6db3"/>'
    )
    out.append(
        f'<text x="{LEFT}" y="{height - 8}" fill="#555555">each layer may import the layers below it; no cycles</text>'
    )
    out.append("</svg>")
    return "\n".join(out) + "\n"


def main(argv: list[str]) -> int:
    text = render(PAGE.read_text(encoding="utf-8"))
    if "--check" in argv:
        current = PICTURE.read_text(encoding="utf-8") if PICTURE.is_file() else ""
        if current != text:
            print(f"{PICTURE.relative_to(ROOT)} is not current: run python scripts/architecture_svg.py")
            return 1
        return 0
    PICTURE.parent.mkdir(parents=True, exist_ok=True)
    PICTURE.write_text(text, encoding="utf-8")
    print(f"wrote {PICTURE.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
