"""The risk view (廉政风险防控图): the flowchart with every risk point marked, graded and explained.

Each node is tinted by its highest risk level (高 red, 中 orange, 低 yellow) and carries
numbered badges; beside the drawing stand a legend with the count per level and a table
of the risk points (编号, 环节, 风险点, 等级, 防控措施, 责任岗位) in reading order.
"""

from __future__ import annotations

from xml.sax.saxutils import escape, quoteattr

from ..bpmn.model import RiskLevel, RiskPoint
from .extract import BADGE_R
from .labels import PlacedText
from .model import Bounds, Diagram, RiskBadge, Shape
from .names import post_title
from .notation import INK, fmt
from .svg import MUTED, document, draw, text_svg, with_header
from .text import block_height, measure, wrap

__all__ = ["LEVEL_COLOURS", "render_risk", "risk_style"]

# level -> (strong colour for badges and outlines, light tint for fills)
LEVEL_COLOURS = {
    RiskLevel.HIGH: ("#c62828", "#fde4e2"),
    RiskLevel.MEDIUM: ("#e07b00", "#ffefd9"),
    RiskLevel.LOW: ("#c9a100", "#fff8d1"),
}
_LEVEL_NAMES = {RiskLevel.HIGH: "高", RiskLevel.MEDIUM: "中", RiskLevel.LOW: "低"}
COLUMNS = (("编号", 92.0), ("环节", 96.0), ("风险点", 200.0), ("等级", 44.0), ("防控措施", 236.0), ("责任岗位", 96.0))
CELL_SIZE = 11.0
CELL_PAD = 6.0
GAP = 48.0


def risk_style(shape: Shape) -> tuple[str, str]:
    """Fill and stroke of a shape in the risk view."""
    level = shape.highest_risk
    if level is None or shape.kind in {"participant", "lane"}:
        return "#fff", INK
    strong, tint = LEVEL_COLOURS[level]
    return tint, strong


def _badge(badge: RiskBadge) -> str:
    strong = LEVEL_COLOURS[badge.risk.level][0]
    cx, cy = badge.center
    return (
        f'<g class="af-risk-badge" data-risk-id={quoteattr(badge.risk.id)} data-badge-for={quoteattr(badge.owner)}>'
        f'<circle cx="{fmt(cx)}" cy="{fmt(cy)}" r="{fmt(BADGE_R)}" fill="{strong}" stroke="#fff" stroke-width="1.5"/>'
        f'<text x="{fmt(cx)}" y="{fmt(cy + 3.8)}" font-size="10.5" font-weight="bold" text-anchor="middle" '
        f'fill="#fff">{badge.number}</text></g>'
    )


def _cell(text: str, owner: str, x: float, y: float, width: float, color: str = INK) -> tuple[PlacedText, float]:
    lines = tuple(line for part in text.split("\n") for line in wrap(part, width - 2 * CELL_PAD, CELL_SIZE))
    w = max((measure(line, CELL_SIZE) for line in lines), default=0.0)
    h = block_height(len(lines), CELL_SIZE)
    box = Bounds(x + CELL_PAD, y + CELL_PAD, w, h)
    return PlacedText(owner, lines, CELL_SIZE, box, Bounds(x, y, width, h + 2 * CELL_PAD), anchor="start"), h


def _row(values: list[str], risk: RiskPoint, x: float, y: float) -> tuple[list[str], float]:
    cells = []
    cx = x
    for (name, width), value in zip(COLUMNS, values, strict=True):
        offset = 2 * BADGE_R + 4 if name == "编号" else 0.0
        placed, height = _cell(value, f"{risk.id}:{name}", cx + offset, y, width - offset)
        cells.append((placed, height))
        cx += width
    height = max(h for _, h in cells) + 2 * CELL_PAD
    strong, tint = LEVEL_COLOURS[risk.level]
    total = sum(w for _, w in COLUMNS)
    parts = [f'<g class="af-risk-row" data-risk-id={quoteattr(risk.id)}>',
             f'<rect x="{fmt(x)}" y="{fmt(y)}" width="{fmt(total)}" height="{fmt(height)}" fill="#fff" '
             'stroke="#d5dbe3" stroke-width="1"/>']  # fmt: skip
    level_x = x + sum(w for n, w in COLUMNS[:3])
    parts.append(f'<rect x="{fmt(level_x)}" y="{fmt(y)}" width="{fmt(COLUMNS[3][1])}" height="{fmt(height)}" '
                 f'fill="{tint}" stroke="#d5dbe3" stroke-width="1"/>')  # fmt: skip
    parts.append(f'<circle cx="{fmt(x + CELL_PAD + BADGE_R)}" cy="{fmt(y + CELL_PAD + 8)}" r="{fmt(BADGE_R)}" '
                 f'fill="{strong}"/>')  # fmt: skip
    parts += [text_svg(p, strong if p.owner.endswith(":等级") else INK) for p, _ in cells if p.lines]
    parts.append("</g>")
    return parts, height


def _legend_text(owner: str, text: str, x: float, top: float) -> PlacedText:
    width = measure(text, 12.0)
    box = Bounds(x, top - 2.5, width, block_height(1, 12.0))
    return PlacedText(owner, (text,), 12.0, box, Bounds(x, top - 4, width + 1, 22), anchor="start")


def _legend(diagram: Diagram, x: float, y: float) -> tuple[list[str], float]:
    counts = {level: sum(1 for r in diagram.risks if r.level == level) for level in LEVEL_COLOURS}
    title = PlacedText("risk-title", ("廉政风险点",), 15.0, Bounds(x, y, measure("廉政风险点", 15.0, True),
                       block_height(1, 15.0)), Bounds(x, y, 400, 30), anchor="start", role="title")  # fmt: skip
    parts = [text_svg(title, INK, "bold")]
    cx, top = x, y + 30
    for level, (strong, tint) in LEVEL_COLOURS.items():
        label = f"{_LEVEL_NAMES[level]}风险 {counts[level]} 个"
        parts.append(f'<rect x="{fmt(cx)}" y="{fmt(top)}" width="22" height="14" rx="3" fill="{tint}" '
                     f'stroke="{strong}" stroke-width="1.5"/>')  # fmt: skip
        parts.append(text_svg(_legend_text(f"legend:{level.value}", label, cx + 28, top), MUTED))
        cx += 28 + measure(label, 12.0) + 24
    total = f"共 {len(diagram.risks)} 个风险点"
    parts.append(text_svg(_legend_text("legend:total", total, cx, top), INK))
    return ['<g class="af-risk-legend">', *parts, "</g>"], 60.0


def _values(diagram: Diagram, risk: RiskPoint, names: dict[str, str]) -> list[str]:
    step = names.get(risk.node or "", risk.node or "")
    # the responsible post by its title, as the flowchart's step labels show posts (step_posts are titled already)
    own = "、".join(post_title(p, diagram.post_names) for p in (risk.post or "").split())
    post = own or diagram.step_posts.get(risk.node or "", "")
    measures = "\n".join(f"· {m}" for m in risk.measures)
    return [risk.id, step, risk.description, _LEVEL_NAMES[risk.level], measures, post]


def risk_table(diagram: Diagram, x: float, y: float) -> tuple[list[str], Bounds]:
    """Legend, counts and the table of risk points with its top-left corner at (x, y)."""
    parts, top = _legend(diagram, x, y)
    top += y
    total = sum(w for _, w in COLUMNS)
    names = {s.id: s.name or s.id for s in diagram.shapes} | {e.id: e.name or e.id for e in diagram.edges}
    parts.append(f'<rect x="{fmt(x)}" y="{fmt(top)}" width="{fmt(total)}" height="28" fill="#2f3e50"/>')
    cx = x
    for name, width in COLUMNS:
        parts.append(f'<text x="{fmt(cx + CELL_PAD)}" y="{fmt(top + 18.5)}" font-size="12" font-weight="bold" '
                     f'fill="#fff">{escape(name)}</text>')  # fmt: skip
        cx += width
    top += 28
    for number, risk in enumerate(diagram.risks, start=1):
        row, height = _row(_values(diagram, risk, names), risk, x, top)
        row.insert(-1, f'<text x="{fmt(x + CELL_PAD + BADGE_R)}" y="{fmt(top + CELL_PAD + 11.8)}" font-size="10.5" '
                       f'font-weight="bold" text-anchor="middle" fill="#fff">{number}</text>')  # fmt: skip
        parts += row
        top += height
    if not diagram.risks:
        parts.append(f'<text x="{fmt(x + CELL_PAD)}" y="{fmt(top + 20)}" font-size="12" fill="{MUTED}">'
                     "本流程未标注廉政风险点</text>")  # fmt: skip
        top += 30
    return ['<g class="af-risk-table">', *parts, "</g>"], Bounds(x, y, total, top - y)


def render_risk(diagram: Diagram) -> str:
    """The risk view (廉政风险防控图) of one diagram as a standalone SVG document."""
    drawing = draw(diagram, risk_style)
    drawing.parts += ['<g class="af-risk-badges">', *(_badge(b) for b in diagram.badges), "</g>"]
    drawing.extent = drawing.extent.union(Bounds(drawing.extent.x, drawing.extent.y - BADGE_R, 1, 1))
    table, box = risk_table(diagram, drawing.extent.right + GAP, drawing.extent.y)
    drawing.parts += table
    drawing.extent = drawing.extent.union(box)
    parts, full = with_header(diagram, drawing)
    title = diagram.header.title if diagram.header else diagram.name
    return document(parts, full, f"{title} 廉政风险防控图")
