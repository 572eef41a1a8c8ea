"""Serialize a running case to JSON and restore it, trusting nothing in the document.

The document carries its own format name and version; an unknown version is refused. It holds the case's
state (our history, findings, deadlines bookkeeping and the engine's task states), the audit trail with its
head, and the digest of the process it ran on, so a case is never restored onto a different process.

What is *not* in it: the engine's process specification. SpiffWorkflow's own serialization embeds the whole
spec (about 16 KB a case) and, for documents that claim an older serializer version, runs migration code that
calls ``eval()`` on timer fields. Here the spec comes from the verified :class:`ProcessDefinition` the caller
passes (its digest must match), the saved task states are checked field by field against that spec before
SpiffWorkflow sees them (:func:`check_workflow_state`), and SpiffWorkflow's migration code is never reached.

The state binds to the trail: a trail entry carries ``state``, the SHA-256 of the canonical JSON of the state after
the action (:func:`state_digest`), when that state was observed before the next action (``null`` otherwise), and
saving a case observes it, so the last entry of a saved case binds the saved state. Restoring recomputes it from
the document; a state edited without its trail, or a trail from another state, is a :class:`CaseFormatError`.

The state itself (what it holds, its canonical JSON, its checks, setting a case from it) is
:mod:`approvalflow.engine.state`, below both this module and the case; its names are exported here too.
:func:`dump_case` writes one line of JSON with sorted keys, reusing the JSON of the engine tasks that did not
change since the last action.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from typing import Any

from .._spiff import SERIALIZER_VERSION, canonical_value
from ..bpmn.loader import ProcessDefinition
from ..errors import ApprovalflowError, CaseFormatError
from ..expressions import ExpressionEvaluator
from ..org.organisation import Organisation
from ..rules.checks import RULES, Rule
from ..time.calendar import ChinaCalendar, WorkingCalendar
from ..time.clock import Clock, SystemClock
from .case import _DEFAULT_EVALUATOR, DEFAULT_MAX_DEPTH, Case, Policy
from .state import (
    CASE_FORMAT,
    CASE_VERSION,
    MAX_TASKS,
    apply_state,
    canonical,
    case_state,
    check_workflow_state,
    state_digest,
)
from .trail import AuditTrail, TrailHead

__all__ = [
    "CASE_FORMAT", "CASE_VERSION", "MAX_CASE_BYTES", "MAX_TASKS", "apply_state", "canonical", "case_state",
    "check_workflow_state", "dump_case", "load_case", "state_digest",
]  # fmt: skip

MAX_CASE_BYTES = 64 * 1024 * 1024
"""Largest serialized case accepted (64 MiB)."""


def dump_case(case: Case) -> str:
    """The whole case as one line of JSON (state, audit trail and its head), keys sorted, no spaces.

    Saving observes the state: it is encoded (reusing the JSON of the engine tasks that did not change since it was
    last encoded) unless the case still holds it from an earlier observation, and the trail's last entry binds it.
    """
    kept, _digest = case._observe()
    head = case.trail.head
    trail = case.trail.canonical_json()
    tail = (
        ',"trail":',
        trail,
        f',"trail_head":{{"count":{canonical_value(head.count)},"hash":{canonical_value(head.hash)}}}',
    )
    if len(kept) > 1:  # our bookkeeping (up to the keys after "trail"), then the engine's part
        first: bytes = kept[0]
        return first.decode() + "".join(tail) + "".join(kept[1:])
    # keys of mixed types (only an engine's internal data could have them): the long way
    doc = {**json.loads(kept[0]), "trail": case.trail.entries, "trail_head": {"hash": head.hash, "count": head.count}}
    return json.dumps(doc, ensure_ascii=False, sort_keys=True)


def _need(doc: Mapping[str, Any], key: str, name: str) -> Any:
    if key not in doc:
        raise CaseFormatError(f"the serialized case has no '{key}'", file=name, element=key)
    return doc[key]


def _parse(text: str | bytes, name: str) -> dict[str, Any]:
    if len(text) > MAX_CASE_BYTES:
        raise CaseFormatError(f"the serialized case has {len(text):,} bytes; at most {MAX_CASE_BYTES:,}", file=name)
    try:
        doc = json.loads(text)
    except json.JSONDecodeError as exc:
        raise CaseFormatError(f"not JSON: {exc.msg}", file=name, line=exc.lineno) from exc
    except (RecursionError, UnicodeDecodeError, ValueError) as exc:
        raise CaseFormatError(f"not readable JSON: {type(exc).__name__}", file=name) from None
    if not isinstance(doc, dict) or doc.get("format") != CASE_FORMAT:
        raise CaseFormatError(f"not a serialized approvalflow case (format must be '{CASE_FORMAT}')", file=name)
    if doc.get("version") not in (1, 2, 3, CASE_VERSION):
        raise CaseFormatError(
            f"unknown case format version {_short_repr(doc.get('version'))}; this approvalflow reads versions 1, 2, "
            f"3 and {CASE_VERSION}",
            file=name,
        )
    return doc


def _short_repr(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 40 else text[:37] + "..."


def _legacy_workflow(doc: dict[str, Any], name: str) -> None:
    """A version-1 document embeds SpiffWorkflow's spec and serializer version: drop the spec, accept no migration."""
    wf = doc.get("workflow")
    if not isinstance(wf, dict):
        raise CaseFormatError("the serialized case has no engine state", file=name)
    version = wf.pop("serializer_version", None)
    if version != SERIALIZER_VERSION:
        raise CaseFormatError(
            f"the engine state was written by serializer version {str(version)[:20]!r}; only "
            f"{SERIALIZER_VERSION} is read (older states would need SpiffWorkflow's migration code, which is "
            "never run on saved cases)",
            file=name,
        )
    for key in ("spec", "subprocess_specs", "typename"):
        wf.pop(key, None)


def _check_trail(doc: Mapping[str, Any], trail: AuditTrail, name: str) -> None:
    head = _need(doc, "trail_head", name)
    if not isinstance(head, dict) or not isinstance(head.get("count"), int) or not isinstance(head.get("hash"), str):
        raise CaseFormatError("the trail head is not a mapping with 'hash' and 'count'", file=name)
    result = trail.verify(TrailHead(head["hash"], head["count"]))
    if not result.ok:
        raise CaseFormatError("the audit trail is broken: " + "; ".join(result.problems), file=name)
    entries = trail.entries
    bound = [e["state"] for e in entries if "state" in e]
    if doc.get("version") == 2 and (len(bound) != len(entries) or None in bound):
        raise CaseFormatError("the audit trail has entries that bind no case state", file=name)
    if doc.get("version") in (3, CASE_VERSION) and (len(bound) != len(entries) or not bound or bound[-1] is None):
        raise CaseFormatError(
            "the audit trail's last entry binds no case state (every entry has 'state', the last one not null)",
            file=name,
        )
    try:
        digest = state_digest(doc)
    except UnicodeEncodeError:
        raise CaseFormatError(
            "the saved state holds text that is not valid Unicode (a lone surrogate)", file=name
        ) from None
    if bound and bound[-1] != digest:
        raise CaseFormatError(
            "the saved case state does not match its audit trail (the state was changed without a trail entry)",
            file=name,
        )


def load_case(
    text: str | bytes,
    definition: ProcessDefinition,
    organisation: Organisation,
    *,
    clock: Clock | None = None,
    calendar: WorkingCalendar | None = None,
    evaluator: ExpressionEvaluator | None = None,
    rules: Mapping[str, Rule] | None = None,
    name: str = "<case>",
    trail_key: bytes | None = None,
) -> Case:
    """Restore a case serialized by :func:`dump_case` onto the same process definition.

    The calendar is configuration, not state: pass the same one the case ran with (default: China's). With
    ``trail_key``, every trail entry must carry a valid signature under that key. Anything that does not check
    out raises :class:`CaseFormatError` naming ``name``; nothing of the document is run.
    """
    doc = _parse(text, name)
    process = _need(doc, "process", name)
    if not isinstance(process, dict) or process.get("digest") != definition.digest:
        got = process.get("digest") if isinstance(process, dict) else None
        pid = process.get("id") if isinstance(process, dict) else None
        raise CaseFormatError(
            f"the case ran on process '{str(pid)[:80]}' with digest {str(got)[:12]}…, "
            f"not on this definition ('{definition.id}', {definition.digest[:12]}…)",
            file=name,
        )
    entries = _need(doc, "trail", name)
    if not isinstance(entries, list) or not all(isinstance(e, dict) for e in entries):
        raise CaseFormatError("the audit trail is not a list of entries", file=name)
    try:
        trail = AuditTrail.from_entries(entries, trail_key)
    except ValueError as exc:
        raise CaseFormatError(str(exc), file=name) from None
    _check_trail(doc, trail, name)
    if doc["version"] == 1:
        _legacy_workflow(doc, name)
    unit = organisation.units.get(str(_need(doc, "unit", name)))
    if unit is None:
        unit_id = str(doc["unit"])[:80]
        raise CaseFormatError(f"the case runs in unit '{unit_id}', which the organisation lacks", file=name)
    try:
        case = Case(
            definition,
            organisation,
            unit,
            case_id=str(_need(doc, "case", name)),
            clock=clock or SystemClock(),
            policy=Policy(doc.get("policy", "enforce")),
            evaluator=evaluator or _DEFAULT_EVALUATOR,
            rules=rules if rules is not None else RULES,
            max_depth=int(doc.get("max_depth", DEFAULT_MAX_DEPTH)),
            calendar=calendar if calendar is not None else ChinaCalendar(),
            yellow_days=int(doc.get("yellow_days", 1)),
        )
        apply_state(case, doc)
    except ApprovalflowError as exc:
        if isinstance(exc, CaseFormatError):
            raise
        raise CaseFormatError(f"the serialized case is damaged: {exc}", file=name) from exc
    except Exception as exc:  # any failure on a hostile document is a format error, never a traceback
        detail = f"{type(exc).__name__}: {str(exc)[:300]}"
        raise CaseFormatError(f"the serialized case is damaged: {detail}", file=name) from exc
    case.trail = trail
    if doc["version"] != 1:
        _keep_saved_state(case, doc)
    return case


def _keep_saved_state(case: Case, doc: Mapping[str, Any]) -> None:
    """Keep the state as the document holds it (the one its trail's last entry binds) until the next action.

    The restored engine may order some lists differently from the document (a task's ``deletions`` follow its
    parent's keys, which the document sorted), so its state encoded afresh need not be the document's bytes: saved
    again before any action, it would no longer match its trail. The next action encodes the live state afresh.
    """
    before = {k: v for k, v in doc.items() if k < "trail"}
    after = {k: v for k, v in doc.items() if k > "trail" and k != "trail_head"}
    if before and after:
        first = canonical(before)[:-1]
        rest = "," + canonical(after).decode()[1:]
        case._state_pieces = ((first, rest), hashlib.sha256(first + rest.encode()).hexdigest())
