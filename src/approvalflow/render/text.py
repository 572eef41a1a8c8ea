"""Text measurement and wrapping with a real CJK font (Noto Sans CJK SC through fontTools).

Labels must fit their shapes in the reader's browser, so widths come from the advance
widths of Noto Sans CJK SC, the first font of the SVG's font stack (:data:`FONT_STACK`).
The font is loaded lazily, once per process, and only its ``cmap`` and ``hmtx`` tables
are read.  When no Noto Sans CJK file is installed, widths fall back to a conservative
estimate (CJK characters one em, other characters 0.62 em) so that rendering still works;
``APPROVALFLOW_CJK_FONT`` may name another ``.ttc``/``.otf``/``.ttf`` file.

Chinese wraps between any two characters (except before closing and after opening
punctuation, 避头尾); Latin wraps between words.
"""

from __future__ import annotations

import os
import re
import unicodedata
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

__all__ = [
    "ASCENT", "DESCENT", "FONT_STACK", "LINE_HEIGHT", "TextBlock", "block_height", "fit_text", "font_source",
    "measure", "wrap",
]  # fmt: skip

FONT_STACK = (
    '"Noto Sans CJK SC","Source Han Sans SC","PingFang SC","Microsoft YaHei",'
    '"Hiragino Sans GB","WenQuanYi Micro Hei",sans-serif'
)
LINE_HEIGHT = 1.3  # line pitch in ems
ASCENT, DESCENT = 1.16, 0.288  # hhea ascent and descent of Noto Sans CJK in ems: what browsers use for getBBox
_FONT_DIRS = ("/usr/share/fonts/opentype/noto", "/usr/share/fonts/noto-cjk", "/usr/share/fonts/google-noto-cjk")
_FONT_FILES = ("NotoSansCJK-Regular.ttc", "NotoSansCJKsc-Regular.otf", "NotoSansSC-Regular.otf")
_BOLD_FACTOR = 1.04  # bold Noto Sans CJK is at most this much wider than regular
_NO_LINE_START = set("，。、；：？！）》」』】〕…,.;:?!)]}%·")
_NO_LINE_END = set("（《「『【〔([{")
_WIDE = "\u1100-\u11ff\u2e80-\u9fff\uac00-\ud7af\uf900-\ufaff\ufe30-\ufe4f\uff00-\uffef"  # CJK, Hangul, full width
_TOKEN = re.compile(  # a number with its unit, a word of any alphabetic script (klären), spaces, one character
    rf"\d+(?:个工作日|个月|小时|日|天|年|条|款|项|人|次)|(?:(?![{_WIDE}])[\w\-./:@%+#&'\"])+|\s+|.", re.S
)


@dataclass(frozen=True)
class TextBlock:
    """Lines of text set at one font size; ``width`` and ``height`` are the measured extent."""

    lines: tuple[str, ...]
    size: float
    width: float
    height: float


def font_source() -> str:
    """The font file used for measurement, or ``"estimate"`` when none is installed."""
    path = _font_path()
    return str(path) if path else "estimate"


def _font_path() -> Path | None:
    override = os.environ.get("APPROVALFLOW_CJK_FONT")
    if override and Path(override).is_file():
        return Path(override)
    for folder in _FONT_DIRS:
        for name in _FONT_FILES:
            if (Path(folder) / name).is_file():
                return Path(folder) / name
    return None


@lru_cache(maxsize=1)
def _metrics() -> tuple[dict[int, int], float] | None:
    """Map code point -> advance width in font units, and the units per em."""
    path = _font_path()
    if path is None:
        return None
    try:
        from fontTools.ttLib import TTCollection, TTFont

        with open(path, "rb") as stream:
            if path.suffix.lower() == ".ttc":
                fonts = TTCollection(stream, lazy=True).fonts
                font = next((f for f in fonts if f["name"].getDebugName(4) == "Noto Sans CJK SC"), fonts[0])
            else:
                font = TTFont(stream, lazy=True)
            cmap = font.getBestCmap()
            hmtx = font["hmtx"].metrics
            widths = {cp: hmtx[glyph][0] for cp, glyph in cmap.items() if glyph in hmtx}
            return widths, float(font["head"].unitsPerEm)
    except Exception:  # a broken font file must not stop rendering: fall back to the estimate
        return None


@lru_cache(maxsize=8192)
def _char_em(char: str) -> float:
    """Advance width of one character in ems."""
    metrics = _metrics()
    if metrics is not None:
        widths, upem = metrics
        advance = widths.get(ord(char))
        if advance is not None:
            return advance / upem
    return 1.0 if unicodedata.east_asian_width(char) in "WF" else 0.62


@lru_cache(maxsize=16384)
def measure(text: str, size: float, bold: bool = False) -> float:
    """Width of ``text`` in px at font size ``size`` px."""
    width = sum(_char_em(c) for c in text) * size
    return width * _BOLD_FACTOR if bold else width


def _tokens(text: str) -> list[str]:
    """Break opportunities: each CJK character, each Latin word, each run of spaces."""
    return _TOKEN.findall(text)


def _split_long(token: str, max_width: float, size: float, bold: bool) -> list[str]:
    parts, current = [], ""
    for char in token:
        if current and measure(current + char, size, bold) > max_width:
            parts.append(current)
            current = ""
        current += char
    return [*parts, current] if current else parts


def wrap(text: str, max_width: float, size: float, bold: bool = False) -> list[str]:
    """Wrap ``text`` (explicit newlines kept) into lines no wider than ``max_width`` where possible.

    避头尾: a closing mark never starts a line and an opening mark never ends one; the
    character before such a mark moves down with it rather than widen the line.
    """
    lines: list[str] = []
    for paragraph in text.split("\n"):
        line: list[str] = []
        for token in _tokens(paragraph.strip()):
            if not "".join(line).strip() or measure("".join([*line, token]).rstrip(), size, bold) <= max_width:
                line.append(token)
                joined = "".join(line).strip()
                if measure(joined, size, bold) > max_width:  # one word longer than a line
                    *full, rest = _split_long(joined, max_width, size, bold)
                    lines.extend(full)
                    line = [rest]
                continue
            carry: list[str] = []
            if token[0] in _NO_LINE_START and len(line) > 1:
                carry.append(line.pop())
            while len(line) > 1 and line[-1] and line[-1][-1] in _NO_LINE_END:
                carry.insert(0, line.pop())
            lines.append("".join(line).strip())
            line = [] if token.isspace() and not carry else [*carry, token]
        if "".join(line).strip():
            lines.append("".join(line).strip())
    return [line for line in lines if line]


def _ellipsize(line: str, max_width: float, size: float, bold: bool) -> str:
    while line and measure(line + "…", size, bold) > max_width:
        line = line[:-1]
    return line + "…"


def block_height(lines: int, size: float) -> float:
    """Height in px of ``lines`` lines at ``size`` px, as a browser's text box measures it."""
    return 0.0 if lines == 0 else size * ((lines - 1) * LINE_HEIGHT + ASCENT + DESCENT)


def fit_text(
    text: str, max_width: float, max_height: float, size: float, min_size: float | None = None, bold: bool = False
) -> TextBlock:
    """Wrap ``text`` into the box, shrinking the font down to ``min_size`` and, last, cutting with an ellipsis."""
    min_size = size * 0.75 if min_size is None else min_size
    current = size
    while True:
        lines = wrap(text, max_width, current, bold)
        fits = block_height(len(lines), current) <= max_height + 0.01
        widest = max((measure(line, current, bold) for line in lines), default=0.0)
        if (fits and widest <= max_width + 0.01) or current <= min_size:
            break
        current = max(min_size, round(current - 0.5, 1))
    spare = max_height + 0.01 - current * (ASCENT + DESCENT)
    keep = max(1, 1 + int(spare // (current * LINE_HEIGHT)))
    if len(lines) > keep or any(measure(line, current, bold) > max_width for line in lines):
        lines = lines[:keep]
        lines = [
            ln if measure(ln, current, bold) <= max_width else _ellipsize(ln, max_width, current, bold) for ln in lines
        ]
        if len(lines) == keep and len(wrap(text, max_width, current, bold)) > keep:
            lines[-1] = _ellipsize(lines[-1], max_width, current, bold) if not lines[-1].endswith("…") else lines[-1]
    widest = max((measure(line, current, bold) for line in lines), default=0.0)
    return TextBlock(tuple(lines), current, widest, block_height(len(lines), current))
