"""``approvalflow exchange export STORE [CASE...] [--all] --org FILE... [--process PATH...] [-o FILE] [--english]
[--xml] [--template T] [--code CODE] [--key-file FILE]``: the 办件 exchange records of stored cases (docs/exchange.md).

The store is opened read-only. One CASE prints (or writes to ``-o FILE``) one JSON object; several, or ``--all`` (every
case that has ended: completed, withdrawn or terminated), a JSON list. ``--english`` gives the English keys,
``--xml`` XML (``<办件>``, or ``<办件列表>`` around several). The 办件编号 is the case data's ``case_number``, else made
by ``--template`` (default ``{code}{date:%Y%m%d}{seq:06d}``) from the power code (or ``--code``), the day the case
started and its sequence in the store. Exit 0; 2 on bad input or a case that cannot be exported (named; nothing
is written).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path
from typing import Any

from ..errors import InvalidInputError
from ..io.outputfiles import temp_beside
from ..store.base import StoreError
from .store import _organisations, _processes
from .supervise import add_key_option, key_of

__all__ = ["register"]

_ENDED = ("completed", "withdrawn", "terminated")


def _cmd_export(args: argparse.Namespace) -> int:
    from ..exchange.numbering import check_template
    from ..exchange.stored import export_stored
    from ..store.reading import open_existing_store

    template = check_template(args.template)
    if not args.cases and not args.all:
        raise InvalidInputError("name the cases to export, or give --all")
    if args.cases and args.all:
        raise InvalidInputError("give the cases or --all, not both")
    processes, orgs = _processes(args.process), _organisations(args.org)  # before the store is touched
    store = open_existing_store(args.store, key=key_of(args))
    try:
        ids = args.cases or [i for status in _ENDED for i in store.ids(status)]  # type: ignore[arg-type]
        records = export_stored(store, sorted(ids) if args.all else ids, processes, orgs, template=template,
                                code=args.code)  # fmt: skip
    finally:
        store.close()
    if args.xml:
        parts = [r.to_xml() for r in records]
        if len(parts) == 1:
            text = parts[0] + "\n"
        else:
            body = "".join(p.split("?>", 1)[1] for p in parts)
            text = f"<?xml version='1.0' encoding='utf-8'?>\n<办件列表>{body}</办件列表>\n"
    else:
        docs = [r.to_json(english=args.english) for r in records]
        text = json.dumps(docs[0] if len(docs) == 1 and not args.all else docs, ensure_ascii=False, indent=1) + "\n"
    if args.output is None:
        sys.stdout.write(text)
        return 0
    target = Path(args.output)
    if target.is_dir() or not target.parent.is_dir():
        raise StoreError("-o: not a file in an existing folder; nothing was written", file=args.output)
    try:
        fd, name = temp_beside(target, ".part")
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(text)
        os.replace(name, target)
    except OSError as exc:
        raise StoreError(f"-o: cannot write ({exc.strerror or exc}); nothing was written", file=args.output) from None
    print(f"{args.output}: {len(records)} cases exported", file=sys.stderr)
    return 0


def register(sub: Any) -> None:
    """Add ``exchange`` (``exchange export``) to the main parser's subcommands."""
    cmd = sub.add_parser("exchange", help="办件 exchange records of stored cases (政务服务 data exchange)")
    actions = cmd.add_subparsers(dest="exchange_command", required=True, metavar="ACTION")
    export = actions.add_parser("export", help="export cases as 办件 records (JSON, or XML)")
    export.add_argument("store", help="the case store: a SQLite file or a postgresql:// URL (opened read-only)")
    export.add_argument("cases", nargs="*", metavar="CASE", help="case ids (or --all)")
    export.add_argument(
        "--all", action="store_true", help="every case that has ended (completed, withdrawn, terminated)"
    )
    export.add_argument("--org", metavar="FILE", nargs="+", required=True, help="organisation files")
    export.add_argument(
        "--process",
        metavar="PATH",
        nargs="+",
        default=[],
        help="the BPMN files (or folders) the cases ran on (default: those deployed in the store)",
    )
    export.add_argument("-o", "--output", metavar="FILE", help="write to FILE (default: standard output)")
    export.add_argument("--english", action="store_true", help="English keys instead of the Chinese field names")
    export.add_argument("--xml", action="store_true", help="XML instead of JSON")
    export.add_argument(
        "--template",
        default="{code}{date:%Y%m%d}{seq:06d}",
        metavar="T",
        help="the 办件编号 template (fields {code}, {date:...}, {seq:...})",
    )
    export.add_argument("--code", metavar="CODE", help="the 实施编码 (default: the process's power code)")
    add_key_option(export)
    export.set_defaults(func=_cmd_export)
