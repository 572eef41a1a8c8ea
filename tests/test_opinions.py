"""Opinions and attachments of completions (issue 17 item 6: 审批意见, 附件).

Done when: every completion may carry an opinion (同意 / 不同意 / 退回, with text) and attachments (name, media type,
size, SHA-256), kept per step and per instance in the trail and in ``case.opinions``, never overwritten (a step done
twice keeps both); hostile input is refused and changes nothing; saved cases keep them and refuse forged ones.
Uses the 专家评审 model of tests/data/countersign (受理 -> 会签 of li, zhao, sun -> 决定, or back to 受理).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from approvalflow import FakeClock, load_organisation, load_process, start_case
from approvalflow.bpmn.loader import ProcessDefinition
from approvalflow.engine import case_state
from approvalflow.engine.case import Case
from approvalflow.engine.opinions import Attachment, attachments_of
from approvalflow.engine.persistence import dump_case, load_case
from approvalflow.errors import CaseFormatError, InvalidInputError
from approvalflow.org.organisation import Organisation

DATA = Path(__file__).parent / "data" / "countersign"
START = "2026-06-01T09:00:00+08:00"  # a Monday
DIGEST = "0123456789abcdef" * 4  # 64 hex digits
PDF = {"name": "现场核查报告.pdf", "media_type": "application/pdf", "size": 20480, "sha256": DIGEST}


@pytest.fixture(scope="module")
def org() -> Organisation:
    return load_organisation(DATA / "org.yaml")


@pytest.fixture(scope="module")
def definition() -> ProcessDefinition:
    return load_process(DATA / "expert_review.bpmn")


def new_case(definition: ProcessDefinition, org: Organisation) -> Case:
    return start_case(definition, org, clock=FakeClock(START), data={"applicant": "宏达公司"})


def test_a_plain_step_carries_an_opinion_and_attachments(definition: ProcessDefinition, org: Organisation) -> None:
    case = new_case(definition, org)
    case.complete("receive", "clerk", opinion="同意", comment="材料齐全，予以受理", attachments=[PDF])
    entry = case.trail.entries[-1]
    assert entry["action"] == "complete" and entry["outcome"] == "completed"
    assert entry["opinion"] == {"kind": "agree", "text": "材料齐全，予以受理"}
    assert entry["attachments"] == [PDF]
    [kept] = case.opinions_of("receive")
    assert (kept.step, kept.instance, kept.actor, kept.kind, kept.text) == (
        "receive",
        None,
        "clerk",
        "agree",
        "材料齐全，予以受理",
    )
    assert kept.attachments == (Attachment("现场核查报告.pdf", "application/pdf", 20480, DIGEST),)
    assert case.trail.verify().ok


def test_a_completion_without_an_opinion_keeps_none(definition: ProcessDefinition, org: Organisation) -> None:
    case = new_case(definition, org)
    case.complete("receive", "clerk")
    assert case.opinions == [] and "opinion" not in case.trail.entries[-1]
    assert "attachments" not in case.trail.entries[-1]


def test_return_is_an_opinion_of_a_plain_step_but_no_signature(
    definition: ProcessDefinition, org: Organisation
) -> None:
    case = new_case(definition, org)
    case.complete("receive", "clerk", opinion="退回", comment="请补充营业执照")
    assert case.opinions[-1].kind == "return"
    before, count = case_state(case), case.trail.count
    with pytest.raises(InvalidInputError, match="退回"):
        case.complete("expert_review", "li", opinion="退回")
    assert case_state(case) == before and case.trail.count == count


def test_each_signature_of_a_round_and_each_round_keeps_its_opinion(
    definition: ProcessDefinition, org: Organisation
) -> None:
    """Round 1: li agrees, zhao disagrees (会签 rejects at the first 不同意: back to 受理); round 2: all agree.
    The case data shows the second round's opinions only; case.opinions keeps all five signatures and both 受理."""
    case = new_case(definition, org)
    case.complete("receive", "clerk", comment="第一次受理")
    case.complete("expert_review", "li", opinion="agree", comment="可行", attachments=[PDF])
    case.complete("expert_review", "zhao", opinion="不同意", comment="退回补正")
    assert [r.id for r in case.ready_steps()] == ["receive"]
    case.complete("receive", "clerk", comment="第二次受理")
    for expert in ("sun", "li", "zhao"):
        case.complete("expert_review", expert, opinion="同意")
    assert len(case.data["expert_review_opinions"]) == 3  # this round only
    signed = case.opinions_of("expert_review")
    assert [(o.actor, o.kind) for o in signed] == [
        ("li", "agree"), ("zhao", "disagree"), ("sun", "agree"), ("li", "agree"), ("zhao", "agree"),
    ]  # fmt: skip
    assert [o.instance for o in signed] == [0, 1, 2, 0, 1]  # li, zhao, sun are instances 0, 1, 2 of each round
    assert [o.text for o in case.opinions_of("receive")] == ["第一次受理", "第二次受理"]
    assert [o.step for o in case.opinions_of(actor="li")] == ["expert_review", "expert_review"]
    assert signed[0].attachments[0].sha256 == DIGEST


@pytest.mark.parametrize(
    ("attachments", "says"),
    [
        ("report.pdf", "list"),
        ([{"name": "a.pdf", "media_type": "application/pdf", "size": 1}], "missing sha256"),
        ([{**PDF, "extra": 1}], "unknown extra"),
        ([{**PDF, "name": ""}], "'name'"),
        ([{**PDF, "name": "x" * 256}], "'name'"),
        ([{**PDF, "name": "a\x00.pdf"}], "'name'"),
        ([{**PDF, "media_type": "pdf"}], "media type"),
        ([{**PDF, "media_type": "application/pdf; charset=x"}], "media type"),
        ([{**PDF, "size": -1}], "'size'"),
        ([{**PDF, "size": 1.5}], "'size'"),
        ([{**PDF, "size": True}], "'size'"),
        ([{**PDF, "size": "10"}], "'size'"),
        ([{**PDF, "sha256": "ABC"}], "sha256"),
        ([{**PDF, "sha256": DIGEST.upper()}], "sha256"),
        ([{**PDF, "sha256": DIGEST + "0"}], "sha256"),
        ([PDF] * 101, "at most 100"),
        (["a.pdf"], "mapping"),
    ],
)
def test_hostile_attachments_are_refused_and_change_nothing(
    definition: ProcessDefinition, org: Organisation, attachments: Any, says: str
) -> None:
    case = new_case(definition, org)
    before, count = case_state(case), case.trail.count
    with pytest.raises(InvalidInputError, match=says):
        case.complete("receive", "clerk", attachments=attachments)
    assert case_state(case) == before and case.trail.count == count and case.opinions == []


@pytest.mark.parametrize(
    "kwargs",
    [{"opinion": "maybe"}, {"opinion": 3}, {"comment": 3}, {"comment": "x" * 10_001}, {"comment": "a\x07b"}],
)
def test_hostile_opinions_are_refused(definition: ProcessDefinition, org: Organisation, kwargs: Any) -> None:
    case = new_case(definition, org)
    before = case_state(case)
    with pytest.raises(InvalidInputError):
        case.complete("receive", "clerk", **kwargs)
    assert case_state(case) == before


def test_a_signature_comment_is_checked_as_any_comment(definition: ProcessDefinition, org: Organisation) -> None:
    """A comment a saved case would refuse to read back is refused when given (control characters)."""
    case = new_case(definition, org)
    case.complete("receive", "clerk")
    before = case_state(case)
    with pytest.raises(InvalidInputError, match="control character"):
        case.complete("expert_review", "li", comment="同意\x1b[2J")
    assert case_state(case) == before
    case.complete("expert_review", "li", comment="同意。\n建议：加强监管\t(见附件)")
    assert load_case(dump_case(case), definition, org).opinions == case.opinions


def test_check_takes_the_same_arguments_and_changes_nothing(definition: ProcessDefinition, org: Organisation) -> None:
    case = new_case(definition, org)
    before, count = case_state(case), case.trail.count
    assert case.check("receive", "clerk", opinion="同意", comment="ok", attachments=[PDF]) == []
    with pytest.raises(InvalidInputError):
        case.check("receive", "clerk", attachments=[{**PDF, "size": -5}])
    assert case_state(case) == before and case.trail.count == count


def test_opinions_survive_saving_and_loading(definition: ProcessDefinition, org: Organisation) -> None:
    case = new_case(definition, org)
    case.complete("receive", "clerk", opinion="同意", comment="受理", attachments=[PDF])
    case.complete("expert_review", "li", comment="同意，建议加强监管")
    again = load_case(dump_case(case), definition, org, clock=FakeClock(START))
    assert again.opinions == case.opinions
    assert case_state(again) == case_state(case)
    again.complete("expert_review", "zhao", opinion="同意")
    assert [o.actor for o in again.opinions] == ["clerk", "li", "zhao"]


def test_a_case_saved_before_opinions_loads(definition: ProcessDefinition, org: Organisation) -> None:
    """A state without the 'opinions' key (every case saved before this version) loads with no opinions."""
    case = new_case(definition, org)
    case.complete("receive", "clerk")
    doc = json.loads(dump_case(case))
    assert "opinions" not in doc
    assert load_case(json.dumps(doc), definition, org).opinions == []


@pytest.mark.parametrize(
    "forge",
    [
        lambda o: o.update(step="nowhere"),
        lambda o: o.update(kind="maybe"),
        lambda o: o.update(at="2026-06-01T09:00:00"),
        lambda o: o.update(instance=-1),
        lambda o: o.update(extra=1),
        lambda o: o["attachments"][0].update(sha256="zz"),
        lambda o: o["attachments"][0].update(size=-1),
    ],
)
def test_a_forged_opinion_is_refused_on_load(definition: ProcessDefinition, org: Organisation, forge: Any) -> None:
    case = new_case(definition, org)
    case.complete("receive", "clerk", opinion="同意", attachments=[PDF])
    doc = json.loads(dump_case(case))
    forge(doc["opinions"][0])
    with pytest.raises(CaseFormatError):
        load_case(json.dumps(doc), definition, org)


def test_attachments_accept_the_dataclass_and_lower_the_media_type() -> None:
    [a] = attachments_of([Attachment("a.PDF", "Application/PDF", 0, DIGEST)])
    assert a.media_type == "application/pdf" and a.size == 0


_SIGNERS = ("li", "zhao", "sun")


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(st.tuples(st.sampled_from(["agree", "disagree", None]), st.booleans()), min_size=1, max_size=12))
def test_no_opinion_is_lost(
    definition: ProcessDefinition, org: Organisation, moves: list[tuple[str | None, bool]]
) -> None:
    """Random completions (with or without an opinion or attachments) of whatever is ready: every completion that
    carried one has exactly one record in case.opinions, in order, and the trail verifies."""
    case = new_case(definition, org)
    expected: list[tuple[str, str]] = []
    for kind, attach in moves:
        ready = case.ready_steps()
        if not ready:
            break
        step = ready[0]
        actor = step.assignee or {"receive": "clerk", "decide": "deputy"}[step.id]
        kwargs: dict[str, Any] = {"attachments": [PDF] if attach else None}
        if kind is not None and step.id == "expert_review":
            kwargs["opinion"] = kind
        case.complete(step.id, actor, **kwargs)
        if step.id == "expert_review" or attach:  # a signature always has an opinion (agree by default)
            expected.append((step.id, actor))
    assert [(o.step, o.actor) for o in case.opinions] == expected
    assert all(o.attachments == () or o.attachments[0].sha256 == DIGEST for o in case.opinions)
    assert case.trail.verify().ok
    assert set(_SIGNERS) >= {o.actor for o in case.opinions_of("expert_review")}
