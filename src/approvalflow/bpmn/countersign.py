"""Multi-instance steps as Chinese approval signs them (会签, 或签, 依次审批, 票签): reading and checking them at load.

A step with BPMN's ``multiInstanceLoopCharacteristics`` is signed by several people, one instance each. What BPMN
leaves open, ``af:countersign`` says: the rule that decides (``mode``, and ``pass`` for 票签) and who signs
(``signers``, ``signersFrom``, or ``loopCardinality`` instances open to any authorised person). Camunda's,
Flowable's and Activiti's ``collection`` and ``elementVariable`` map where they mean the same thing; everything the
engine cannot run as written is refused here, with its file, line and element.

:func:`approvalflow.bpmn.engine_copy.engine_tree` gives SpiffWorkflow a copy of the document where each such step
counts its instances through the engine's hook (:data:`approvalflow._spiff.COUNTERSIGN_SIGNERS`) and stops when the
declared rule has decided (:data:`approvalflow._spiff.COUNTERSIGN_DECIDED`), so a 或签's first approval cancels the
remaining instances. This module does not import SpiffWorkflow (the simulator reads annotations without it).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from fractions import Fraction

from lxml import etree

from ..errors import ExtensionError, NotExecutableError
from ..io.namespaces import AF_NS, BPMN_NS, bpmn, local
from .model import Countersign, CountersignMode, StepInfo
from .vendor import ENGINE_NAMESPACES

__all__ = ["MODES", "SIGNED_KINDS", "VENDOR_NS", "check_countersign_refs", "read_countersign"]

#: The decision rules ``af:countersign/@mode`` names.
MODES: tuple[CountersignMode, ...] = ("all", "any", "sequence", "ratio")
#: The step kinds a person completes: a multi-instance one of these is signed by several people.
SIGNED_KINDS = frozenset({"userTask", "manualTask", "task"})
#: Modellers' namespaces whose ``collection`` / ``elementVariable`` attributes are understood (by prefix; the
#: namespaces are :data:`approvalflow.bpmn.vendor.ENGINE_NAMESPACES`, the one list of other engines' namespaces).
VENDOR_NS = {name: ns for ns, name in ENGINE_NAMESPACES.items() if name in ("camunda", "flowable", "activiti")}
_NAME = re.compile(r"[A-Za-z\u4e00-\u9fff][\w\u4e00-\u9fff]*")
_COLLECTION = re.compile(r"\$\{\s*([^{}]*?)\s*\}|([^${}]*)")


def _fail(message: str, el: etree._Element, step: str, file: str | None) -> ExtensionError:
    return ExtensionError(message, file=file, line=el.sourceline, element=step)


def _vendor(loop: etree._Element, name: str) -> tuple[str, str] | None:
    """``(prefix:name, value)`` of a vendor attribute ``name`` on the loop characteristics, if any."""
    for prefix, ns in VENDOR_NS.items():
        value = loop.get(f"{{{ns}}}{name}")
        if value is not None:
            return f"{prefix}:{name}", value
    return None


def _plain_name(text: str, what: str, el: etree._Element, step: str, file: str | None) -> str:
    if not _NAME.fullmatch(text):
        raise _fail(
            f"{what} is {text[:60]!r}: only the plain name of a case-data key is understood here "
            "(e.g. experts or ${experts}), not an expression",
            el,
            step,
            file,
        )
    return text


def _collection(loop: etree._Element, step: str, file: str | None) -> tuple[str | None, str | None]:
    """``signersFrom`` and the element variable from ``camunda:collection`` / ``loopDataInputRef`` (or None)."""
    found = _vendor(loop, "collection")
    variable = _vendor(loop, "elementVariable")
    key: str | None = None
    if found is not None:
        match = _COLLECTION.fullmatch(found[1].strip())
        inner = (match.group(1) if match.group(1) is not None else match.group(2)) if match else found[1]
        key = _plain_name((inner or "").strip(), found[0], loop, step, file)
    ref = loop.find(bpmn("loopDataInputRef"))
    if ref is not None:
        if key is not None:
            what = found[0] if found else "a collection"
            raise _fail(f"{what} and bpmn:loopDataInputRef both name the signers; keep one", ref, step, file)
        key = _plain_name("".join(ref.itertext()).strip(), "bpmn:loopDataInputRef", ref, step, file)
        item = loop.find(bpmn("inputDataItem"))
        if item is not None and variable is None:
            variable = ("bpmn:inputDataItem", item.get("name") or item.get("id") or "")
    name = _plain_name(variable[1].strip(), variable[0], loop, step, file) if variable is not None else None
    return key, name


def _refuse_parts(loop: etree._Element, step: str, file: str | None) -> None:
    for tag, why in (
        ("completionCondition", "the decision is af:countersign's mode (all, any, sequence, ratio with pass)"),
        ("loopDataOutputRef", "each signer's opinion and data are kept in <step>_opinions"),
        ("outputDataItem", "each signer's opinion and data are kept in <step>_opinions"),
        ("complexBehaviorDefinition", "the decision is af:countersign's mode"),
    ):
        el = loop.find(bpmn(tag))
        if el is not None:
            raise NotExecutableError(
                f"bpmn:{tag} on the multi-instance step '{step}' is not run: {why}",
                file=file,
                line=el.sourceline,
                element=step,
            )
    for attr in ("behavior", "oneBehaviorEventRef", "noneBehaviorEventRef"):
        if loop.get(attr) not in (None, "All"):
            raise NotExecutableError(
                f"{attr}={loop.get(attr)!r} on the multi-instance step '{step}' is not run (events per instance)",
                file=file,
                line=loop.sourceline,
                element=step,
            )


def _mode(cs: etree._Element | None, sequential: bool, step: str, file: str | None) -> tuple[str, Fraction | None]:
    if cs is None:
        return "all", None
    mode = cs.get("mode", "all")
    share = cs.get("pass")
    if mode == "sequence" and not sequential:
        raise _fail('mode="sequence" (依次审批) needs isSequential="true" on bpmn:multiInstanceLoopCharacteristics',
                    cs, step, file)  # fmt: skip
    if mode == "ratio":
        if share is None:
            raise _fail('mode="ratio" (票签) needs pass, the share of signers that must approve (e.g. pass="2/3")',
                        cs, step, file)  # fmt: skip
        ratio = Fraction(share)
        if not 0 < ratio <= 1:
            raise _fail(f"pass={share!r} must be a share above 0 and at most 1 (e.g. 2/3)", cs, step, file)
        return mode, ratio
    if share is not None:
        raise _fail(f'pass is the share of 票签 (mode="ratio"); it means nothing with mode="{mode}"', cs, step, file)
    return mode, None


def _signers(cs: etree._Element | None, step: str, file: str | None) -> tuple[tuple[str, ...], str | None]:
    if cs is None:
        return (), None
    signers = tuple(cs.get("signers", "").split())
    source = cs.get("signersFrom")
    if signers and source is not None:
        raise _fail("af:countersign names signers and signersFrom; keep one", cs, step, file)
    twice = sorted({s for s in signers if signers.count(s) > 1})
    if twice:
        raise _fail(f"af:countersign names {', '.join(twice)} more than once: nobody signs twice", cs, step, file)
    if source is not None:
        source = _plain_name(source.strip(), "af:countersign/@signersFrom", cs, step, file)
    return signers, source


def read_countersign(el: etree._Element, step: str, file: str | None) -> Countersign | None:
    """The countersign of a step element, or None when it is not a signed multi-instance step.

    Raises :class:`ExtensionError` / :class:`NotExecutableError` for what cannot run as written.
    """
    loop = el.find(bpmn("multiInstanceLoopCharacteristics"))
    cs = el.find(f"{{{BPMN_NS}}}extensionElements/{{{AF_NS}}}countersign")
    if loop is None:
        if cs is not None:
            raise _fail(f"af:countersign on '{step}' needs bpmn:multiInstanceLoopCharacteristics on the step (one "
                        "instance per signer)", cs, step, file)  # fmt: skip
        return None
    if local(el) not in SIGNED_KINDS:
        if cs is not None:
            raise _fail(f"af:countersign on {local(el)} '{step}': only a user, manual or plain task is signed by "
                        "people", cs, step, file)  # fmt: skip
        return None
    _refuse_parts(loop, step, file)
    sequential = loop.get("isSequential") in ("true", "1")
    mode, ratio = _mode(cs, sequential, step, file)
    signers, source = _signers(cs, step, file)
    collection, variable = _collection(loop, step, file)
    cardinality_el = loop.find(bpmn("loopCardinality"))
    cardinality = "".join(cardinality_el.itertext()).strip() if cardinality_el is not None else None
    given = [what for what, value in (("af:countersign/@signers", signers), ("af:countersign/@signersFrom", source),
             ("a collection (camunda:collection or bpmn:loopDataInputRef)", collection),
             ("bpmn:loopCardinality", cardinality)) if value]  # fmt: skip
    if len(given) > 1:
        where = cs if cs is not None else loop
        raise _fail(f"the signers of '{step}' are given twice ({' and '.join(given)}); keep one", where, step, file)
    if not given:
        raise NotExecutableError(
            f"the multi-instance step '{step}' says neither who signs nor how many (no cardinality): give "
            "af:countersign signers or signersFrom, camunda:collection, or bpmn:loopCardinality",
            file=file,
            line=(cs if cs is not None else loop).sourceline,
            element=step,
        )
    return Countersign(
        mode=mode,  # type: ignore[arg-type]
        ratio=ratio,
        signers=signers,
        signers_from=source or collection,
        cardinality=cardinality,
        sequential=sequential,
        element_variable=variable,
        declared=cs is not None,
    )


def check_countersign_refs(steps: Mapping[str, StepInfo], file_of: Mapping[str, str | None]) -> None:
    """What the other step annotations cannot mean on a signed step, refused by name.

    ``af:once``, ``af:collective`` and ``af:suspendsClock`` (one suspension per instance) on it, ``af:sameActorAs``
    on it (several people sign) or naming it (which signer?). ``file_of`` maps a step id to its file.
    """
    for step in steps.values():
        line = step.node.line
        if step.countersign is not None:
            for flag, what in ((step.once, "af:once"), (step.collective is not None, "af:collective"),
                               (step.same_actor_as is not None, "af:sameActorAs"),
                               (step.suspends_clock is not None, "af:suspendsClock")):  # fmt: skip
                if flag:
                    raise ExtensionError(
                        f"{what} on the multi-instance step '{step.id}' cannot hold: several people sign it",
                        file=file_of.get(step.id),
                        line=line,
                        element=step.id,
                    )
        ref = steps.get(step.same_actor_as or "")
        if ref is not None and ref.countersign is not None:
            raise ExtensionError(
                f"af:sameActorAs on '{step.id}' names the multi-instance step '{ref.id}', which several people sign",
                file=file_of.get(step.id),
                line=line,
                element=step.id,
            )
