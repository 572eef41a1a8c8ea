"""Signed multi-instance steps (会签, 或签, 依次审批, 票签) in the simulator, as the engine signs them.

A signed step (BPMN ``multiInstanceLoopCharacteristics`` on a user, manual or plain task, with or without
``af:countersign``; :mod:`approvalflow.bpmn.countersign`) is compiled into a ``sign`` node. The kernel
(:mod:`approvalflow.simulation.kernel`) runs it as ``N`` pieces of work for the step's pool, one per signer:

* **parallel** (``isSequential`` false): every instance joins the pool's queue when the step is reached, in index
  order; **sequential** (依次审批, or any mode with ``isSequential="true"``): instance ``i + 1`` joins the queue
  when instance ``i`` is signed;
* each signer agrees (同意) with the model's probability ``approve`` (``steps.<id>.approve``, default 1), else
  disagrees (不同意);
* the declared rule decides (:func:`approvalflow.rules.signing.decide`, the engine's own function), taking the
  signatures in the order they are given (by completion moment, ties by index). When it decides with instances
  still open (或签's first approval, 会签's first 不同意, 票签 once the share is reached or out of reach), those are
  cancelled at that moment: an instance not yet started is never worked on (it waited until then) and its signer is
  not taken from the pool; an instance in progress stops, its worked time (working time from its start to the
  decision) counts as busy time of the pool and as processing time, and its signer is free from the decision on.

The number of signers is the BPMN's: the names in ``af:countersign/@signers``, or a ``loopCardinality`` that is a
whole number. Signers from case data (``signersFrom``, ``camunda:collection``) and a ``loopCardinality``
expression need the model's ``steps.<id>.signers``; without it the model is refused, naming the step.

After the step, the case data the engine sets (``<step>_passed``, ``<step>_approvals``, ``<step>_rejections``)
is simulated too: an exclusive gateway whose conditions read only these keys of signed steps of its process
(e.g. ``expert_review_passed == True``) is a ``follow`` node, which takes the flow its conditions choose on the
simulated values (it has no ``branches`` probabilities); a gateway that reads them beside other case data is
refused by name, since the simulator draws other data's branches by probability.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from ..bpmn.annotations import ProcessInfo
from ..bpmn.countersign import check_countersign_refs
from ..bpmn.model import Countersign, FlowInfo
from ..bpmn.steering import flows_taken, gateway_reads
from ..errors import BpmnError
from ..rules.signing import decide

__all__ = ["SIGNED_KEYS", "bpmn_signers", "decision", "follow_flow", "gateway_kind", "refuse_signed"]

SIGNED_KEYS = ("passed", "approvals", "rejections")
"""The case-data keys ``<step>_<key>`` the engine sets after each signature, which the simulator simulates."""


def gateway_kind(
    info: ProcessInfo, gateway: str, flows: Sequence[FlowInfo], file: str
) -> tuple[str, tuple[FlowInfo, ...]]:
    """An exclusive gateway's node kind and the flows a ``follow`` node evaluates: ``pass`` for one flow out,
    ``follow`` for a split whose conditions read only signed steps' outcome keys, else ``xor``."""
    if len(flows) <= 1:
        return "pass", ()
    kind = _split_kind(info, gateway, flows, file)
    return kind, tuple(flows) if kind == "follow" else ()


def _split_kind(info: ProcessInfo, gateway: str, flows: Sequence[FlowInfo], file: str) -> str:
    signed = {f"{s}_{k}" for s, st in info.steps.items() if st.countersign is not None for k in SIGNED_KEYS}
    if not signed:
        return "xor"
    try:
        names, _constants = gateway_reads(flows)
    except SyntaxError:
        return "xor"  # the loader refuses such a condition; the simulator draws the branch as before
    read = [n for n in names if n in signed]
    if not read:
        return "xor"
    others = [n for n in names if n not in signed]
    if others:
        node = info.nodes[gateway]
        raise BpmnError(
            f"exclusiveGateway '{gateway}' reads {', '.join(read)} (set by a signed multi-instance step) and "
            f"{', '.join(others)}: the simulator follows the signing decision only for a gateway whose conditions "
            "read nothing else (other case data is drawn by probability); not supported by the simulator",
            file=file, line=node.line, element=gateway,
        )  # fmt: skip
    return "follow"


def bpmn_signers(rule: Countersign) -> int | None:
    """The number of signers the BPMN fixes (named signers, or a whole-number ``loopCardinality``), else None."""
    if rule.signers:
        return len(rule.signers)
    text = (rule.cardinality or "").strip()
    if text.isdigit() and int(text) >= 1:
        return int(text)
    return None


def decision(rule: Countersign, total: int, opinions: Sequence[bool]) -> tuple[int, bool] | None:
    """How many of the ``opinions`` (True: 同意), taken in order, it takes for the rule to decide, and the
    decision; None when it has not decided after all of them."""
    approvals = rejections = 0
    for i, agree in enumerate(opinions):
        approvals += agree
        rejections += not agree
        passed = decide(rule, total, approvals, rejections)
        if passed is not None:
            return i + 1, passed
    return None


def follow_flow(flows: Sequence[FlowInfo], values: Mapping[str, object]) -> str | None:
    """The one flow a ``follow`` gateway takes on the simulated outcome ``values``, or None (none, or several)."""
    taken = flows_taken(flows, values)
    return taken[0] if taken is not None and len(taken) == 1 else None


def refuse_signed(info: ProcessInfo, step: str, file: str) -> None:
    """What a signed step may not carry in the simulator (or the engine), refused by name."""
    check_countersign_refs({step: info.steps[step]}, {step: file})
    if info.steps[step].min_duration is not None:
        raise BpmnError(
            f"af:minDuration on the multi-instance step '{step}' is not supported by the simulator (it would hold "
            "each signature open)",
            file=file, line=info.nodes[step].line, element=step,
        )  # fmt: skip
