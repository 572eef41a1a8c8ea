"""Replaying signed multi-instance steps (会签, 或签, 依次审批, 票签) of simulated traces on the engine.

A trace of the simulator records each signature (``signatures``: per step, ``[instance, opinion]`` in the order
signed) and each signed step's number of signers (``signers``). Replay (:mod:`approvalflow.simulation.replay`)
signs each instance as the simulation did: the trace's instance, with its opinion, by its named signer or else by
a person whom the engine lets do the step and who has not signed another instance of the round. Signers taken from
case data (``signersFrom``) are given at the case's start: the first ``signers`` people (by id) the engine lets do
the step; a ``loopCardinality`` that is a plain name gets the number. Before the signature that decides, the
replay predicts the outcome keys the engine will set (:func:`outcome`, with the engine's own
:func:`~approvalflow.rules.signing.decide`) and checks the gateways after the step take the trace's flows on them.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from ..bpmn.loader import ProcessDefinition
from ..errors import InvalidTypeError
from ..org.organisation import Organisation
from ..rules.checks import keeps_off
from ..rules.signing import AGREE, DISAGREE, decide, opinion_of
from .signing import SIGNED_KEYS, bpmn_signers

if TYPE_CHECKING:
    from ..engine.case import Case

__all__ = ["outcome", "read_signatures", "signed_keys", "signer_data"]

_NAME = re.compile(r"[A-Za-z_\u4e00-\u9fff][\w\u4e00-\u9fff]*")


def read_signatures(
    signatures: object, signers: object
) -> tuple[dict[str, tuple[tuple[int, str], ...]], dict[str, int]]:
    """A trace's ``signatures`` and ``signers``, checked (``InvalidTypeError`` for anything else)."""
    got: dict[str, tuple[tuple[int, str], ...]] = {}
    for step, items in dict(signatures or {}).items():  # type: ignore[call-overload]
        rows = []
        for item in items if isinstance(items, list | tuple) else [None]:
            opinion = opinion_of(item[1]) if isinstance(item, list | tuple) and len(item) == 2 else None
            if opinion is None or type(item[0]) is not int or item[0] < 0:  # type: ignore[index]
                raise InvalidTypeError(f"a signature of '{step}' is [instance, opinion (agree or disagree)]")
            rows.append((int(item[0]), opinion))  # type: ignore[index]
        got[str(step)] = tuple(rows)
    counts: dict[str, int] = {}
    for step, n in dict(signers or {}).items():  # type: ignore[call-overload]
        if type(n) is not int or n < 1:
            raise InvalidTypeError(f"the number of signers of '{step}' is a whole number from 1, not {n!r}")
        counts[str(step)] = n
    return got, counts


def signed_keys(definition: ProcessDefinition) -> list[str]:
    """The case-data keys the engine sets after the signatures of the signed steps (never steered by replay)."""
    return [f"{s}_{k}" for s, info in definition.steps.items() if info.countersign for k in SIGNED_KEYS]


def signer_data(
    definition: ProcessDefinition, organisation: Organisation, unit: str | None, signers: Mapping[str, int]
) -> dict[str, Any]:
    """Case data at the start for the signed steps whose signers come from case data: ``signers[step]`` people
    the engine lets do the step (by id) under ``signersFrom``, the number under a ``loopCardinality`` name."""
    units = organisation.units
    where = units.get(unit) if unit is not None else next(iter(units.values())) if len(units) == 1 else None
    data: dict[str, Any] = {}
    for step, info in definition.steps.items():
        rule, count = info.countersign, signers.get(step)
        if rule is None or count is None or bpmn_signers(rule) is not None:
            continue
        if rule.signers_from is not None and where is not None:
            people = sorted(p.id for p in organisation.people.values() if not keeps_off(info, p, where, organisation))
            data[rule.signers_from] = people[:count]
        elif rule.cardinality is not None and _NAME.fullmatch(rule.cardinality.strip()):
            data[rule.cardinality.strip()] = count
    return data


def outcome(case: Case, step: str, opinion: str, total: int | None) -> dict[str, object] | None:
    """The outcome keys the engine sets when this signature decides the round, or None when it does not."""
    rule = case.definition.steps[step].countersign
    assert rule is not None
    count = total or bpmn_signers(rule)
    if count is None:
        return None
    approvals = int(case.data.get(f"{step}_approvals") or 0) + (opinion == AGREE)
    rejections = int(case.data.get(f"{step}_rejections") or 0) + (opinion == DISAGREE)
    passed = decide(rule, count, approvals, rejections)
    if passed is None:
        return None
    return dict(zip((f"{step}_{k}" for k in SIGNED_KEYS), (passed, approvals, rejections), strict=True))
