"""Small BPMN processes and YAML models written on the fly for the simulator's tests."""

from __future__ import annotations

import itertools
from pathlib import Path
from typing import Any

import yaml

HEAD = (
    '<?xml version="1.0" encoding="UTF-8"?>\n'
    '<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" xmlns:af="urn:approvalflow:bpmn:1" '
    'id="d" targetNamespace="urn:test">\n'
)


def bpmn(
    nodes: list[tuple[str, str]],
    flows: list[tuple[str, str, str]],
    *,
    posts: dict[str, str] | None = None,
    extra: dict[str, str] | None = None,
    process_ext: str = "",
) -> str:
    """A process: ``nodes`` (id, BPMN tag), ``flows`` (id, source, target); ``posts`` per task."""
    posts = posts or {}
    extra = extra or {}
    out: dict[str, list[str]] = {}
    inc: dict[str, list[str]] = {}
    for fid, s, t in flows:
        out.setdefault(s, []).append(fid)
        inc.setdefault(t, []).append(fid)
    lines = [HEAD, '  <bpmn:process id="p" name="test" isExecutable="true">']
    if process_ext:
        lines.append(f"    <bpmn:extensionElements>{process_ext}</bpmn:extensionElements>")
    for nid, tag in nodes:
        ext = ""
        if nid in posts or nid in extra:
            step = f'<af:step posts="{posts[nid]}"/>' if nid in posts else ""
            ext = f"<bpmn:extensionElements>{step}{extra.get(nid, '')}</bpmn:extensionElements>"
        body = "".join(f"<bpmn:incoming>{f}</bpmn:incoming>" for f in inc.get(nid, []))
        body += "".join(f"<bpmn:outgoing>{f}</bpmn:outgoing>" for f in out.get(nid, []))
        lines.append(f'    <bpmn:{tag} id="{nid}" name="{nid}">{ext}{body}</bpmn:{tag}>')
    for fid, s, t in flows:
        lines.append(f'    <bpmn:sequenceFlow id="{fid}" sourceRef="{s}" targetRef="{t}"/>')
    lines += ["  </bpmn:process>", "</bpmn:definitions>", ""]
    return "\n".join(lines)


def serial(tasks: list[str], post: str = "staff") -> str:
    """start -> tasks... -> end, every task done by ``post``."""
    ids = ["start", *tasks, "end"]
    nodes = [("start", "startEvent"), *[(t, "userTask") for t in tasks], ("end", "endEvent")]
    flows = [(f"f{i}", a, b) for i, (a, b) in enumerate(itertools.pairwise(ids))]
    return bpmn(nodes, flows, posts={t: post for t in tasks})


def write_model(tmp: Path, process: str, model: dict[str, Any], name: str = "model.yaml") -> Path:
    """Write ``process`` as p.bpmn and ``model`` (with ``process: p.bpmn``) as YAML; return the model's path."""
    (tmp / "p.bpmn").write_text(process, encoding="utf-8")
    path = tmp / name
    path.write_text(yaml.safe_dump({"process": "p.bpmn", **model}, allow_unicode=True), encoding="utf-8")
    return path


ALWAYS = {"days": "every-day", "hours": "24h"}
