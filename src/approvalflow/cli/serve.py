"""``approvalflow serve STORE`` (the HTTP API and the console) and ``approvalflow keys`` (their API keys).

``serve STORE --org FILE... [--host 127.0.0.1] [--port 8000] [--key-file FILE] [--tick SECONDS]`` serves the store
with uvicorn (one process; the OpenAPI document at ``/openapi.json``). Every unit of every organisation file is
served; a unit in two files is refused. ``--key-file`` is the host's secret key the store was opened with (trails
signed). ``--tick SECONDS`` (default off) fires every timer due, at once and every SECONDS, in a background thread
(:mod:`approvalflow.service.ticker`); several serve processes over one PostgreSQL fire each due case once.

``keys create STORE --role platform --unit U`` / ``--role supervisor`` / ``--role applicant --case ID`` prints a
new key ONCE (the store keeps its SHA-256 only); ``keys list STORE [--json]`` lists the keys (never the keys
themselves); ``keys revoke STORE KEY_ID`` revokes one. See docs/service.md.
"""

from __future__ import annotations

import argparse
import json
from typing import Any

from ..errors import InvalidInputError
from .supervise import add_key_option, key_of

__all__ = ["register"]


def _organisations(paths: list[str]) -> dict[str, Any]:
    from ..org.organisation import load_organisation

    by_unit: dict[str, Any] = {}
    for path in paths:
        org = load_organisation(path)
        for unit in org.units:
            if unit in by_unit:
                raise InvalidInputError(f"--org: unit {unit} is in two organisation files ({path})")
            by_unit[unit] = org
    return by_unit


def _threads(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        value = 0
    if not 1 <= value <= 256:
        raise argparse.ArgumentTypeError(f"a whole number of threads from 1 to 256, not {text[:20]!r}")
    return value


def _cmd_serve(args: argparse.Namespace) -> int:
    try:
        import uvicorn
    except ImportError:  # pragma: no cover - the 'serve' extra
        raise InvalidInputError("serve needs the 'serve' extra: pip install 'approvalflow[serve]'") from None
    from ..service.app import create_app
    from ..service.context import ServiceContext
    from ..service.ticker import Ticker
    from ..store.factory import open_store

    if args.tick is not None and not (0 < args.tick <= 86400):
        raise InvalidInputError(f"--tick: a number of seconds above 0 and at most 86400, not {args.tick}")
    organisations = _organisations(args.org)
    store = open_store(args.store, key=key_of(args))
    ticker = None
    try:
        context = ServiceContext(store, organisations, threads=args.threads)
        app = create_app(context, console=not args.no_console)
        if args.tick is not None:
            ticker = Ticker(context, args.tick)
            ticker.start()
        uvicorn.run(app, host=args.host, port=args.port, log_level=args.log_level,
                    access_log=args.log_level in ("info", "debug"))  # fmt: skip
    finally:
        if ticker is not None:
            ticker.stop()
        store.close()
    return 0


def _existing(url: str) -> Any:
    """The store, opened for writing; a local file that does not exist is an error (never a new store)."""
    from pathlib import Path

    from ..store.base import StoreError
    from ..store.factory import open_store

    local = url.removeprefix("sqlite:///")
    if "://" not in local and local != "memory:" and not Path(local).is_file():
        raise StoreError("no such case store (a SQLite file or a postgresql:// URL)", file=url)
    return open_store(url)


def _cmd_keys_create(args: argparse.Namespace) -> int:
    from ..store.keys import create_key

    store = _existing(args.store)
    try:
        record, key = create_key(store, args.role, unit=args.unit, case=args.case)
    finally:
        store.close()
    if args.json:
        print(json.dumps({**record.to_json(), "key": key}, ensure_ascii=False))
    else:
        scope = f" of unit {record.unit}" if record.unit else f" of case {record.case}" if record.case else ""
        print(f"key {record.key_id}: {record.role}{scope}; shown once, keep it now:")
        print(key)
    return 0


def _cmd_keys_list(args: argparse.Namespace) -> int:
    from ..store.keys import list_keys
    from ..store.reading import open_existing_store

    store = open_existing_store(args.store)
    try:
        found = list_keys(store)
    finally:
        store.close()
    if args.json:
        print(json.dumps([k.to_json() for k in found], ensure_ascii=False))
        return 0
    for k in found:
        scope = k.unit or k.case or "-"
        state = f"revoked {k.revoked_at}" if k.revoked_at else "active"
        print(f"{k.key_id}  {k.role:10}  {scope:30}  created {k.created_at}  {state}")
    return 0


def _cmd_keys_revoke(args: argparse.Namespace) -> int:
    from ..store.keys import revoke_key

    store = _existing(args.store)
    try:
        record = revoke_key(store, args.key_id)
    finally:
        store.close()
    print(f"key {record.key_id}: revoked {record.revoked_at}")
    return 0


def register(sub: Any) -> None:
    """Add ``serve`` and ``keys`` to the main parser's subcommands."""
    serve = sub.add_parser("serve", help="serve the HTTP API and the 电子监察 console over a case store")
    serve.add_argument("store", help="the case store: a SQLite file or a postgresql:// URL")
    serve.add_argument("--org", nargs="+", required=True, metavar="FILE", help="the organisation files of its units")
    serve.add_argument("--host", default="127.0.0.1", help="the address to listen on (default 127.0.0.1)")
    serve.add_argument("--port", type=int, default=8000, help="the port (default 8000)")
    serve.add_argument("--no-console", action="store_true", help="serve the API only")
    serve.add_argument("--log-level", default="info", choices=("critical", "error", "warning", "info", "debug"))
    serve.add_argument(
        "--tick",
        type=float,
        metavar="SECONDS",
        help="fire the timers due every SECONDS in the background (default: off; see docs/service.md)",
    )
    serve.add_argument(
        "--threads", type=_threads, default=1, metavar="N",
        help="requests doing store work at once, in worker threads (default 1: one at a time, in arrival order; "
        "the store is one connection)",
    )  # fmt: skip
    add_key_option(serve)
    serve.set_defaults(func=_cmd_serve)

    keys = sub.add_parser("keys", help="API keys of the HTTP service: create, list, revoke")
    keys_sub = keys.add_subparsers(dest="keys_command", required=True, metavar="ACTION")
    create = keys_sub.add_parser("create", help="make a key and print it once")
    create.add_argument("store")
    create.add_argument("--role", required=True, choices=("platform", "supervisor", "applicant"))
    create.add_argument("--unit", help="a platform key's unit")
    create.add_argument("--case", help="an applicant key's case (办件编号)")
    create.add_argument("--json", action="store_true", help="print one JSON object (with the key)")
    create.set_defaults(func=_cmd_keys_create)
    listing = keys_sub.add_parser("list", help="list the keys (never the keys themselves)")
    listing.add_argument("store")
    listing.add_argument("--json", action="store_true")
    listing.set_defaults(func=_cmd_keys_list)
    revoke = keys_sub.add_parser("revoke", help="revoke a key by its id")
    revoke.add_argument("store")
    revoke.add_argument("key_id", help="the key's id (16 hexadecimal digits, as 'keys list' shows)")
    revoke.set_defaults(func=_cmd_keys_revoke)
