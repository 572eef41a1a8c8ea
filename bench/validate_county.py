"""Benchmark: validate every process of a synthetic county (about 1,000 annotated BPMN files).

Run: ``.venv/bin/python bench/validate_county.py [--files N] [--seed S]``. Prints the number of files and
findings, the serial time with the per-file median, and the time of ``validate_paths`` with the worker
processes ``approvalflow validate`` uses by default (one per CPU). Both runs must give the same findings.
Goal: under 10 s for the thousand on the project machine (2 cores).
"""

from __future__ import annotations

import argparse
import random
import statistics
import tempfile
import time
from pathlib import Path

from approvalflow.validation import bpmn_files, default_jobs, validate_file, validate_paths
from approvalflow.validation.document import Workspace

HEAD = (
    '<?xml version="1.0" encoding="UTF-8"?>\n<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/'
    'MODEL" xmlns:af="urn:approvalflow:bpmn:1" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" '
    'id="defs" targetNamespace="urn:bench">\n'
)
POSTS = ["clerk", "reviewer", "deputy", "leader", "legal-reviewer"]


class Gen:
    """A random, mostly sound annotated process: a sequence of tasks, exclusive blocks and parallel blocks."""

    def __init__(self, rng: random.Random, index: int) -> None:
        self.rng, self.index, self.n = rng, index, 0
        self.nodes: list[str] = []
        self.flows: list[str] = []

    def task(self) -> str:
        self.n += 1
        ident = f"t{self.n}"
        post = self.rng.choice(POSTS)
        risk = ""
        if self.rng.random() < 0.4:
            risk = (
                f'<af:risk id="R-{self.index}-{self.n}" level="medium"><af:description>风险</af:description>'
                "<af:measure>措施</af:measure></af:risk>"
            )
        self.nodes.append(
            f'<bpmn:userTask id="{ident}" name="环节{self.n}"><bpmn:extensionElements><af:step '
            f'posts="{post}" timeLimit="{self.rng.randint(1, 2)}"/>{risk}</bpmn:extensionElements>'
            "</bpmn:userTask>"
        )
        return ident

    def flow(self, a: str, b: str, cond: str | None = None) -> str:
        fid = f"f{len(self.flows)}"
        body = f'<bpmn:conditionExpression xsi:type="bpmn:tFormalExpression">{cond}</bpmn:conditionExpression>'
        self.flows.append(
            f'<bpmn:sequenceFlow id="{fid}" sourceRef="{a}" targetRef="{b}">{body if cond else ""}</bpmn:sequenceFlow>'
        )
        return fid

    def block(self, entry: str) -> str:
        kind = self.rng.choice(["task", "task", "xor", "and"])
        if kind == "task":
            t = self.task()
            self.flow(entry, t)
            return t
        self.n += 1
        gw = "exclusiveGateway" if kind == "xor" else "parallelGateway"
        split, join = f"g{self.n}s", f"g{self.n}j"
        ends = []
        outs = []
        for i in range(self.rng.randint(2, 3)):
            t = self.task()
            outs.append(self.flow(split, t, None if kind == "and" or i == 0 else f"choice == {i}"))
            ends.append(t)
        default = f' default="{outs[0]}"' if kind == "xor" else ""
        self.nodes.append(f'<bpmn:{gw} id="{split}"{default}/>')
        self.nodes.append(f'<bpmn:{gw} id="{join}"/>')
        self.flow(entry, split)
        for t in ends:
            self.flow(t, join)
        return join

    def document(self) -> str:
        self.nodes.append('<bpmn:startEvent id="start"/>')
        last = "start"
        for _ in range(self.rng.randint(3, 7)):
            last = self.block(last)
        self.nodes.append('<bpmn:endEvent id="end"/>')
        self.flow(last, "end")
        ext = (
            f'<bpmn:extensionElements><af:power code="140000-XK-{self.index:04d}" name="事项{self.index}" '
            'category="licensing"/><af:timeLimit statutory="20" promised="15" unit="workday"/>'
            "</bpmn:extensionElements>"
        )
        body = "\n".join(["  " + x for x in [ext, *self.nodes, *self.flows]])
        process = f'<bpmn:process id="p{self.index}" isExecutable="true">'
        return f"{HEAD}{process}\n{body}\n</bpmn:process>\n</bpmn:definitions>\n"


def generate(folder: Path, files: int, seed: int) -> None:
    rng = random.Random(seed)
    for i in range(files):
        sub = folder / f"bureau{i % 25:02d}"
        sub.mkdir(exist_ok=True)
        (sub / f"power{i:04d}.bpmn").write_text(Gen(rng, i).document(), encoding="utf-8")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--files", type=int, default=1000)
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        generate(Path(tmp), args.files, args.seed)
        paths = bpmn_files([tmp])
        ws = Workspace()
        times: list[float] = []
        findings = 0
        start = time.perf_counter()
        for path in paths:
            t0 = time.perf_counter()
            findings += len(validate_file(path, workspace=ws))
            times.append(time.perf_counter() - t0)
        total = time.perf_counter() - start
        jobs = default_jobs()
        start = time.perf_counter()
        parallel = validate_paths([tmp], jobs=jobs)
        parallel_total = time.perf_counter() - start
    print(f"files: {len(paths)}  findings: {findings}")
    print(
        f"serial:   {total:.2f} s  median per file: {statistics.median(times) * 1000:.1f} ms  "
        f"max: {max(times) * 1000:.1f} ms"
    )
    verdict = "PASS" if parallel_total < 10.0 else "FAIL"
    same = "same findings" if len(parallel) == findings else f"DIFFERENT findings ({len(parallel)})"
    print(f"parallel: {parallel_total:.2f} s with {jobs} worker processes, {same}  [{verdict}: goal < 10 s]")


if __name__ == "__main__":
    main()
