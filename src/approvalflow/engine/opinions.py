"""Opinions and attachments of completions (审批意见, 附件): checked as hostile input, kept per step and instance.

Each completion (:meth:`approvalflow.engine.case.Case.complete`) may carry an opinion (``agree`` 同意, ``disagree``
不同意 or, on a step one person completes, ``return`` 退回) with a text, and attachments: a list of
``{name, media_type, size, sha256}`` (the bytes stay with the host; the digest binds them). The opinion and the
attachments ride on the trail's ``complete`` entry and are appended to :attr:`Case.opinions` as an
:class:`Opinion`: one per completion, never overwritten, so a step done twice (a loop, a new 会签 round) keeps both.
:meth:`Case.opinions_of` is what a platform's 意见 panel reads.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from ..errors import InvalidInputError
from ..rules.signing import AGREE, DISAGREE, OPINIONS

__all__ = [
    "KINDS",
    "MAX_ATTACHMENTS",
    "RETURN",
    "Attachment",
    "Opinion",
    "attachments_of",
    "opinion_kind",
    "opinion_text",
    "opinions_from_state",
]

RETURN = "return"
#: The words an opinion kind may be given in: those a multi-instance signature takes, and 退回.
KINDS = {**OPINIONS, "return": RETURN, "退回": RETURN}
MAX_ATTACHMENTS = 100
MAX_TEXT = 10_000
MAX_NAME = 255
MAX_SIZE = 2**53  # a size a JSON reader keeps exactly
_MEDIA_TYPE = re.compile(r"[A-Za-z0-9][A-Za-z0-9!#$&^_.+-]{0,126}/[A-Za-z0-9][A-Za-z0-9!#$&^_.+-]{0,126}")
_DIGEST = re.compile(r"[0-9a-f]{64}")
_ID = re.compile(r"[A-Za-z_\u4e00-\u9fff][\w.\-\u4e00-\u9fff]{0,99}")
_CONTROL = re.compile(r"[\x00-\x1f\x7f\ud800-\udfff]")
_FIELDS = ("name", "media_type", "size", "sha256")


@dataclass(frozen=True, slots=True)
class Attachment:
    """A file kept by the host: its name, media type (RFC 6838 ``type/subtype``), size in bytes and SHA-256.

    ``material`` is the id of the 申请材料 it supplies (``af:material/@id``), when it supplies one."""

    name: str
    media_type: str
    size: int
    sha256: str
    material: str | None = None

    def to_dict(self) -> dict[str, Any]:
        """The plain mapping kept in the trail and the saved case (``material`` only when set)."""
        out: dict[str, Any] = {"name": self.name, "media_type": self.media_type, "size": self.size,
                               "sha256": self.sha256}  # fmt: skip
        if self.material is not None:
            out["material"] = self.material
        return out


@dataclass(frozen=True, slots=True)
class Opinion:
    """One completion's opinion: the step, the instance (a multi-instance step's, else None), who gave it and when,
    its kind (``agree``, ``disagree``, ``return`` or None for a text without a verdict), its text and attachments."""

    step: str
    instance: int | None
    actor: str
    at: datetime
    kind: str | None
    text: str | None
    attachments: tuple[Attachment, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        """The plain mapping kept in the saved case."""
        files = [a.to_dict() for a in self.attachments]
        return {"step": self.step, "instance": self.instance, "actor": self.actor, "at": self.at.isoformat(),
                "kind": self.kind, "text": self.text, "attachments": files}  # fmt: skip


def opinion_kind(value: object, *, signed: bool = False) -> str | None:
    """The kind of an opinion given in English or Chinese (None stays None); :class:`InvalidInputError` otherwise.

    A signature of a multi-instance step (``signed``) is ``agree`` or ``disagree``: its round is decided by them.
    """
    if value is None:
        return None
    kind = KINDS.get(value.strip().lower()) if isinstance(value, str) else None
    allowed = (AGREE, DISAGREE) if signed else (AGREE, DISAGREE, RETURN)
    if kind not in allowed:
        words = ", ".join(w for w, k in KINDS.items() if k in allowed)
        raise InvalidInputError(f"the opinion {str(value)[:40]!r} is none of {words}")
    return kind


def opinion_text(value: object, what: str = "a comment") -> str | None:
    """A comment (the opinion's text): None, or a text of at most 10,000 characters without control characters
    other than line breaks and tabs."""
    if value is None:
        return None
    if not isinstance(value, str) or len(value) > MAX_TEXT:
        raise InvalidInputError(f"{what} is a text of at most {MAX_TEXT:,} characters")
    if _CONTROL.search(value.replace("\n", "").replace("\t", "").replace("\r", "")):
        raise InvalidInputError(f"{what} holds a control character")
    return value


def attachments_of(value: object, what: str = "attachments", *, material: bool = False) -> tuple[Attachment, ...]:
    """Check a list of attachments (mappings with ``name``, ``media_type``, ``size``, ``sha256`` and, with
    ``material``, the ``material`` id each supplies) as hostile input; :class:`InvalidInputError` names the item."""
    if value is None:
        return ()
    if not isinstance(value, Sequence) or isinstance(value, str | bytes):
        raise InvalidInputError(f"{what} must be a list of mappings, not {type(value).__name__}")
    if len(value) > MAX_ATTACHMENTS:
        raise InvalidInputError(f"{what}: {len(value)} items; at most {MAX_ATTACHMENTS}")
    return tuple(_attachment(item, f"{what}[{n}]", material) for n, item in enumerate(value))


def _attachment(item: object, where: str, material: bool) -> Attachment:
    if isinstance(item, Attachment):
        item = item.to_dict()
    if not isinstance(item, Mapping):
        raise InvalidInputError(f"{where} must be a mapping with {', '.join(_FIELDS)}, not {type(item).__name__}")
    keys = set(_FIELDS) | ({"material"} if material else set())
    unknown = sorted(str(k)[:40] for k in item if k not in keys)
    missing = [k for k in _FIELDS if k not in item] + (["material"] if material and "material" not in item else [])
    if unknown or missing:
        said = "; ".join(p for p in (f"unknown {', '.join(unknown)}" if unknown else "",
                                     f"missing {', '.join(missing)}" if missing else "") if p)  # fmt: skip
        raise InvalidInputError(f"{where}: {said} (an attachment has {', '.join(sorted(keys))})")
    name, media, size, digest = (item[k] for k in _FIELDS)
    if not isinstance(name, str) or not name.strip() or len(name) > MAX_NAME or _CONTROL.search(name):
        raise InvalidInputError(f"{where}: 'name' must be a file name of 1 to {MAX_NAME} characters, no control "
                                "characters")  # fmt: skip
    if not isinstance(media, str) or not _MEDIA_TYPE.fullmatch(media):
        raise InvalidInputError(f"{where}: 'media_type' {str(media)[:60]!r} is no media type (type/subtype, e.g. "
                                "application/pdf)")  # fmt: skip
    if type(size) is not int or not 0 <= size < MAX_SIZE:
        raise InvalidInputError(f"{where}: 'size' must be a whole number of bytes from 0, not {str(size)[:30]!r}")
    if not isinstance(digest, str) or not _DIGEST.fullmatch(digest):
        raise InvalidInputError(f"{where}: 'sha256' must be 64 lowercase hexadecimal digits (the SHA-256 of the "
                                "bytes the host keeps)")  # fmt: skip
    ident = item.get("material") if material else None
    if material and (not isinstance(ident, str) or not _ID.fullmatch(ident)):
        raise InvalidInputError(f"{where}: 'material' must be the id of a material (af:material/@id)")
    return Attachment(name, media.lower(), size, digest, ident)


def opinions_from_state(value: object, steps: Mapping[str, Any]) -> list[Opinion]:
    """The ``opinions`` of a saved case, checked (``ValueError`` naming the item): known steps, plain values."""
    if value is None:
        return []
    if not isinstance(value, list):
        raise ValueError("'opinions' is not a list")
    out = []
    for n, item in enumerate(value):
        where = f"opinions[{n}]"
        if not isinstance(item, dict) or set(item) != {"step", "instance", "actor", "at", "kind", "text",
                                                       "attachments"}:  # fmt: skip
            raise ValueError(f"{where}: not an opinion record")
        if item["step"] not in steps or not isinstance(item["actor"], str):
            raise ValueError(f"{where}: names a step the process does not have, or no actor")
        if item["instance"] is not None and (type(item["instance"]) is not int or item["instance"] < 0):
            raise ValueError(f"{where}: 'instance' is not an index")
        if item["kind"] not in (None, AGREE, DISAGREE, RETURN):
            raise ValueError(f"{where}: unknown opinion kind")
        try:
            text = opinion_text(item["text"], f"{where}.text")
            files = attachments_of(item["attachments"], f"{where}.attachments")
            at = datetime.fromisoformat(item["at"]) if isinstance(item["at"], str) else None
        except (InvalidInputError, ValueError) as exc:
            raise ValueError(f"{where}: {exc}") from None
        if at is None or at.tzinfo is None:
            raise ValueError(f"{where}: 'at' is not a moment with a time zone")
        out.append(Opinion(item["step"], item["instance"], item["actor"], at, item["kind"], text, files))
    return out
