"""The rules of a signed multi-instance step (会签, 或签, 依次审批, 票签): who may sign and how the opinions decide.

``not-signer`` and ``signed-twice`` are run-time rule ids (declared in :data:`approvalflow.rules.checks.RUNTIME`),
but they are the engine's own checks (made before the registered rules run) and refuse a signature under either
policy: one person never signs two instances of one round, and a step with named signers is signed by them only.
:func:`decide` is the one place that applies a step's declared rule to the opinions given.
"""

from __future__ import annotations

from fractions import Fraction

from ..bpmn.model import Countersign

__all__ = ["AGREE", "DISAGREE", "OPINIONS", "decide", "needed", "opinion_of"]

AGREE = "agree"
DISAGREE = "disagree"
#: The words an opinion may be given in, and what each means (同意 / 不同意).
OPINIONS = {
    "agree": AGREE,
    "同意": AGREE,
    "disagree": DISAGREE,
    "不同意": DISAGREE,
}


def opinion_of(value: object) -> str | None:
    """``agree`` or ``disagree`` for an opinion in English or Chinese (surrounding spaces ignored), else None."""
    if not isinstance(value, str):
        return None
    return OPINIONS.get(value.strip().lower())


def needed(rule: Countersign, total: int) -> int:
    """How many approvals pass a round of ``total`` instances under ``rule``."""
    if rule.mode == "any":
        return 1
    if rule.mode == "ratio":
        share = rule.ratio if rule.ratio is not None else Fraction(1)
        return max(1, -(-share.numerator * total // share.denominator))  # ceil(share * total), at least one
    return total  # all, sequence


def decide(rule: Countersign, total: int, approvals: int, rejections: int) -> bool | None:
    """True (passed), False (rejected) or None (not decided yet) for a round of ``total`` instances.

    会签 and 依次审批 pass when every instance approves and reject at the first 不同意; 或签 passes at the first
    approval and rejects when every instance rejected; 票签 passes once the approvals reach ``ratio`` of the
    instances and rejects once they can no longer reach it.
    """
    need = needed(rule, total)
    if approvals >= need:
        return True
    if approvals + (total - approvals - rejections) < need:
        return False
    return None
