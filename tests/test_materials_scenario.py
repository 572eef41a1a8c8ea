"""Opinions, materials, 加签 and 减签 from a scenario file (issue 17 item 7: everywhere the same).

One scenario drives the 专家评审 model with materials declared on 受理: the 一次告知 notice, the 补正, a completion
with an opinion and an attachment, 加签 (one allowed, one refused for recusal), 减签, the signatures, 决定.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from approvalflow.errors import ScenarioError
from approvalflow.testing.scenario import run_scenario

from .test_countersign import DATA, model

DIGEST = "cd" * 32
MATERIALS = (
    '<af:step posts="clerk"/><af:materials><af:material id="form" name="申请书"/>'
    '<af:material id="licence" name="营业执照"/></af:materials>'
)

SCENARIO = f"""process: review.bpmn
org: org.yaml
start: 2026-06-01T09:00:00+08:00
data: {{applicant: 宏达公司}}
steps:
  - {{action: notify-missing, task: receive, actor: clerk, at: 2026-06-01T10:00:00+08:00, comment: 请补正}}
  - action: supplement
    actor: 宏达公司
    at: 2026-06-02T10:00:00+08:00
    materials:
      - {{name: 申请书.pdf, media_type: application/pdf, size: 1000, sha256: {DIGEST}, material: form}}
  - action: supplement
    actor: 宏达公司
    at: 2026-06-03T10:00:00+08:00
    materials:
      - {{name: 执照.jpg, media_type: image/jpeg, size: 2000, sha256: {DIGEST}, material: licence}}
  - task: receive
    actor: clerk
    at: 2026-06-03T11:00:00+08:00
    opinion: 同意
    comment: 材料齐全
    attachments: [{{name: 受理通知书.pdf, media_type: application/pdf, size: 10, sha256: {DIGEST}}}]
  - {{action: add-signer, task: expert_review, actor: li, person: chief, reason: 增加组长, at: 2026-06-03T12:00:00+08:00}}
  - {{action: add-signer, task: expert_review, actor: li, person: qian, reason: 增加, at: 2026-06-03T12:00:00+08:00}}
  - {{action: remove-signer, task: expert_review, actor: li, person: sun, reason: 回避, at: 2026-06-03T13:00:00+08:00}}
  - {{task: expert_review, actor: li, at: 2026-06-04T09:00:00+08:00, opinion: 同意}}
  - {{task: expert_review, actor: zhao, at: 2026-06-04T09:00:00+08:00, comment: 可行}}
  - {{task: expert_review, actor: chief, at: 2026-06-04T09:00:00+08:00}}
  - {{task: decide, actor: deputy, at: 2026-06-05T09:00:00+08:00}}
"""


def write(tmp_path: Path, scenario: str) -> Path:
    (tmp_path / "review.bpmn").write_text(
        model('<af:countersign mode="all" signers="li zhao sun"/>').replace('<af:step posts="clerk"/>', MATERIALS, 1),
        "utf-8",
    )
    shutil.copy(DATA / "org.yaml", tmp_path / "org.yaml")
    path = tmp_path / "s.yaml"
    path.write_text(scenario, "utf-8")
    return path


def test_the_scenario_runs_every_operation(tmp_path: Path) -> None:
    result = run_scenario(write(tmp_path, SCENARIO))
    case = result.case
    assert result.to_json()["completed"] is True
    assert result.refused == [
        {"step": 5, "task": "expert_review", "actor": "li", "rules": ["recusal"], "action": "add-signer"}
    ]
    actions = [e["action"] for e in case.trail.entries if e["outcome"] != "refused"]
    assert actions == ["start", "notify-missing", "supplement", "supplement", "complete", "add-signer",
                       "remove-signer", "complete", "complete", "complete", "complete"]  # fmt: skip
    assert [f.rule for f in case.findings] == ["supplement-incomplete"]  # the first 补正 lacked the licence
    assert [(o.step, o.actor, o.kind, o.text) for o in case.opinions] == [
        ("receive", "clerk", "agree", "材料齐全"),
        ("expert_review", "li", "agree", None),
        ("expert_review", "zhao", "agree", "可行"),
        ("expert_review", "chief", "agree", None),
    ]
    assert case.data["expert_review_approvals"] == 3 and case.trail.verify().ok


def test_an_operation_without_its_keys_makes_the_scenario_invalid(tmp_path: Path) -> None:
    bad = SCENARIO.replace("person: chief, reason: 增加组长, ", "")
    with pytest.raises(ScenarioError, match="needs person, reason"):
        run_scenario(write(tmp_path, bad))
