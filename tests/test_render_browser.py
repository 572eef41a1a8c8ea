"""The SVGs in a real browser: headless Chromium measures every label with getBBox().

Each label must lie inside its limit (task labels inside the task, other labels inside
their label box, table cells inside their cell) and, in every process of processes/, no
two labels of different elements may overlap.  Screenshots of the licensing, penalty and
三重一大 processes go to a temporary folder, or to $AF_SCREENSHOTS (docs/images/render).
"""

from __future__ import annotations

import html as html_lib
import json
import os
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest

from approvalflow.render import View, render_views

pytestmark = pytest.mark.slow
ROOT = Path(__file__).parent.parent
CHROMIUM = shutil.which("chromium") or ("/usr/bin/chromium" if Path("/usr/bin/chromium").exists() else None)
MIWG = ["A.4.1", "B.2.0", "C.1.0", "C.4.0", "C.8.0"]
PROCESSES = sorted((ROOT / "processes").rglob("*.bpmn"))
SHOWN = [ROOT / "processes" / f for f in ("licensing/general_licensing.bpmn", "penalty/ordinary_penalty.bpmn",
                                         "decision/collective_decision.bpmn")]  # fmt: skip
VIEWS: tuple[View, ...] = ("flow", "risk")

SCRIPT = """
function box(t, global) {
  const b = t.getBBox();
  let pts = [[b.x, b.y], [b.x + b.width, b.y], [b.x, b.y + b.height], [b.x + b.width, b.y + b.height]];
  const m = global ? t.getCTM() : (t.transform.baseVal.numberOfItems ? t.transform.baseVal.consolidate().matrix : null);
  if (m) pts = pts.map(([x, y]) => [m.a * x + m.c * y + m.e, m.b * x + m.d * y + m.f]);
  const xs = pts.map(p => p[0]), ys = pts.map(p => p[1]);
  return [Math.min(...xs), Math.min(...ys), Math.max(...xs), Math.max(...ys)];
}
function check() {
  const out = {labels: 0, outside: [], overlaps: []};
  for (const svg of document.querySelectorAll('svg')) {
    const seen = [];
    for (const t of svg.querySelectorAll('text[data-limit]')) {
      const r = box(t), [lx, ly, lw, lh] = t.dataset.limit.split(' ').map(Number), tol = 1.0;
      const owner = t.dataset.labelFor;
      out.labels++;
      if (r[0] < lx - tol || r[1] < ly - tol || r[2] > lx + lw + tol || r[3] > ly + lh + tol)
        out.outside.push({svg: svg.id, owner, text: t.textContent, box: r, limit: [lx, ly, lw, lh]});
      if (svg.dataset.overlap === 'check') {
        const g = box(t, true);
        for (const [o, q] of seen) {
          const w = Math.min(g[2], q[2]) - Math.max(g[0], q[0]), h = Math.min(g[3], q[3]) - Math.max(g[1], q[1]);
          if (o !== owner && w > 1 && h > 1) out.overlaps.push({svg: svg.id, a: owner, b: o});
        }
        seen.push([owner, g]);
      }
    }
  }
  const pre = document.createElement('pre'); pre.id = 'result'; pre.textContent = JSON.stringify(out);
  document.body.appendChild(pre);
}
document.fonts.ready.then(check);
"""


def chromium(args: list[str], profile: Path) -> str:
    assert CHROMIUM is not None
    cmd = [CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
           "--disable-component-update", "--disable-sync", "--no-first-run", f"--user-data-dir={profile}",
           "--hide-scrollbars", "--force-device-scale-factor=1", *args]  # fmt: skip
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=180, check=False)
    return done.stdout


def page(svgs: list[tuple[str, str, bool]]) -> str:
    blocks = []
    for name, svg, overlap in svgs:
        body = re.sub(r"^<svg ", f'<svg id="{name}" data-overlap="{"check" if overlap else "skip"}" ', svg)
        blocks.append(f"<h3>{name}</h3>{body}")
    return (
        "<!doctype html><html><head><meta charset='utf-8'></head><body>"
        f"{''.join(blocks)}<script>{SCRIPT}</script></body></html>"
    )


def measure_in_browser(svgs: list[tuple[str, str, bool]], folder: Path) -> dict[str, Any]:
    html = folder / "page.html"
    html.write_text(page(svgs), encoding="utf-8")
    dom = chromium(["--virtual-time-budget=10000", "--dump-dom", html.as_uri()], folder / "profile")
    found = re.search(r'<pre id="result">(.*?)</pre>', dom, re.S)
    assert found, "the page script did not run"
    result: dict[str, Any] = json.loads(html_lib.unescape(found.group(1)))
    return result


def screenshot(svg: str, png: Path, folder: Path) -> None:
    """A PNG of one SVG at its own size (what docs/images/render/ shows)."""
    size = re.search(r'width="([\d.]+)" height="([\d.]+)"', svg)
    assert size
    width, height = (int(float(v)) + 1 for v in size.groups())
    html = folder / f"{png.stem}.html"
    html.write_text(f"<!doctype html><html><head><meta charset='utf-8'><style>body{{margin:0}}</style></head>"
                    f"<body>{svg}</body></html>", encoding="utf-8")  # fmt: skip
    chromium([f"--screenshot={png}", f"--window-size={width},{height}", html.as_uri()], folder / "profile")


@pytest.mark.skipif(CHROMIUM is None, reason="chromium is not installed (Debian package chromium)")
def test_labels_fit_in_the_browser(tmp_path: Path) -> None:
    svgs = [(f"{path.stem}-{view}", render_views(path, view)[0], True) for path in PROCESSES for view in VIEWS]
    for stem in MIWG:
        for i, svg in enumerate(render_views(ROOT / "tests" / "corpus" / "bpmn-miwg" / f"{stem}.bpmn")):
            svgs.append((f"{stem}-{i + 1}", svg, False))
    result = measure_in_browser(svgs, tmp_path)
    assert result["labels"] > 1000
    assert result["outside"] == [], json.dumps(result["outside"][:5], ensure_ascii=False)
    assert result["overlaps"] == [], json.dumps(result["overlaps"][:5], ensure_ascii=False)


@pytest.mark.skipif(CHROMIUM is None, reason="chromium is not installed (Debian package chromium)")
def test_screenshots(tmp_path: Path) -> None:
    """Screenshots of the flow and risk views; AF_SCREENSHOTS=docs/images/render keeps them for the docs."""
    keep = os.environ.get("AF_SCREENSHOTS")
    out = Path(keep) if keep else tmp_path
    out.mkdir(parents=True, exist_ok=True)
    for path in SHOWN:
        for view in VIEWS:
            png = out / f"{path.stem}.{view}.png"
            screenshot(render_views(path, view)[0], png, tmp_path)
            assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and png.stat().st_size > 20_000
