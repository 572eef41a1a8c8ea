"""``approvalflow audit``: check an audit trail, and make the key that signs trails.

- ``audit verify TRAIL [--key FILE] [--head HASH] [--json]``: exit 0 when the chain is intact (and, with
  ``--key``, every entry's signature is right; with ``--head``, the anchored entry is still there), 1 when any
  entry was changed, removed, added, reordered or the trail rechained, 2 for a file that cannot be read.
- ``audit key FILE``: write a new random 32-byte key (hex) readable by its owner only; refuses to overwrite.
"""

from __future__ import annotations

import argparse
import json
import os
import secrets
import sys
from typing import Any

from ..engine.trail import read_key, read_trail, verify_trail

__all__ = ["register"]


def _cmd_verify(args: argparse.Namespace) -> int:
    try:
        entries = read_trail(args.trail)
        key = read_key(args.key) if args.key else None
    except (OSError, ValueError) as exc:
        print(f"approvalflow: cannot read the trail or key: {exc}", file=sys.stderr)
        return 2
    result = verify_trail(entries, key=key, anchor=args.head)
    signed = key is not None
    last = entries[-1].get("hash") if entries else None
    if args.json:
        out = {"ok": result.ok, "entries": len(entries), "head": last, "signed": signed,
               "problems": list(result.problems)}  # fmt: skip
        print(json.dumps(out, ensure_ascii=False))
    elif result.ok:
        checked = " and signatures" if signed else ""
        anchored = f", anchored entry {args.head[:12]}… present" if args.head else ""
        print(f"{args.trail}: intact ({len(entries)} entries, chain{checked} checked{anchored}); head {last}")
        if not signed:
            print("  without --key, a trail rewritten and rechained by someone who can write it also verifies")
    else:
        print(f"{args.trail}: BROKEN")
        for problem in result.problems:
            print(f"  {problem}")
    return 0 if result.ok else 1


def _cmd_key(args: argparse.Namespace) -> int:
    try:
        fd = os.open(args.file, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except OSError as exc:
        print(f"approvalflow: {args.file}: cannot create the key file ({exc.strerror})", file=sys.stderr)
        return 2
    with os.fdopen(fd, "w") as f:
        f.write(secrets.token_hex(32) + "\n")
    print(f"{args.file}: a new trail key (keep it secret, and keep a copy: without it signed trails cannot be checked)")
    return 0


def register(sub: Any) -> None:
    """Add the ``audit`` subcommand and its actions."""
    audit = sub.add_parser("audit", help="audit trails: verify, and make the key that signs them")
    audit_sub = audit.add_subparsers(dest="audit_command", required=True, metavar="ACTION")
    av = audit_sub.add_parser("verify", help="check that a trail's hash chain (and signatures) are intact")
    av.add_argument("trail", help="the JSON Lines trail")
    av.add_argument("--key", metavar="FILE", help="the host's trail key: check every entry's signature")
    av.add_argument("--head", metavar="HASH", help="a head hash exported earlier: the trail must still contain it")
    av.add_argument("--json", action="store_true")
    av.set_defaults(func=_cmd_verify)
    ak = audit_sub.add_parser("key", help="write a new random trail key to FILE (mode 0600)")
    ak.add_argument("file", metavar="FILE")
    ak.set_defaults(func=_cmd_key)
