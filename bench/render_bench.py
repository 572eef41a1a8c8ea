"""Median time to render one process: `.venv/bin/python bench/render_bench.py [RUNS]`.

Renders processes/licensing/general_licensing.bpmn (15 flow nodes) and
processes/penalty/ordinary_penalty.bpmn (17) in both views, from the DI the files carry
and with Graphviz layout (a temporary copy without DI).  Each figure is the median wall
time of one `render_views` call (parse, layout, extract, SVG); the first call, which
loads the font metrics, is not counted.  Goal: under 100 ms from DI for a 15-node process.
"""

from __future__ import annotations

import re
import statistics
import sys
import tempfile
import time
from pathlib import Path

from approvalflow.render import View, render_views

ROOT = Path(__file__).parent.parent
SOURCES = [
    ROOT / "processes" / "licensing" / "general_licensing.bpmn",
    ROOT / "processes" / "penalty" / "ordinary_penalty.bpmn",
]
_DI = re.compile(r"[ \t]*<bpmndi:BPMNDiagram\b.*?</bpmndi:BPMNDiagram>\s*", re.S)


def median_ms(path: Path, view: View, runs: int) -> float:
    render_views(path, view)  # warm-up: font metrics
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        render_views(path, view)
        times.append(time.perf_counter() - start)
    return statistics.median(times) * 1000


def main() -> None:
    runs = int(sys.argv[1]) if len(sys.argv) > 1 else 30
    with tempfile.TemporaryDirectory() as tmp:
        for source in SOURCES:
            bare = Path(tmp) / source.name
            bare.write_text(_DI.sub("", source.read_text(encoding="utf-8")), encoding="utf-8")
            text = bare.read_text("utf-8")
            nodes = len(re.findall(r"<bpmn:(?:\w+Task|task|callActivity|\w+Event|\w+Gateway)\b", text))
            for label, path in (("from DI", source), ("Graphviz layout", bare)):
                for view in ("flow", "risk"):
                    ms = median_ms(path, view, runs)  # type: ignore[arg-type]
                    print(f"{source.name:26} {nodes:2} nodes  {view:4}  {label:16} median {ms:6.1f} ms ({runs} runs)")


if __name__ == "__main__":
    main()
