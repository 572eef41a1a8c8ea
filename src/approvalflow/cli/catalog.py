"""``approvalflow catalog``: check, convert and generate power lists (SPEC sections 7 and 9).

- ``catalog check FILE [--json] [--root DIR | --allow-outside]``: the catalog against its flowcharts; exit 1
  when a finding is an error. A ``流程图`` must stay inside the catalog's folder (or ``--root DIR``) unless
  ``--allow-outside``.
- ``catalog convert IN OUT [--encoding gb18030]``: between YAML, JSON, CSV and XLSX by extension.
- ``catalog init BPMN_OR_DIR... -o FILE``: a catalog skeleton and risk table from BPMN files.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

__all__ = ["register"]


def _cmd_check(args: argparse.Namespace) -> int:
    from ..catalog import CatalogError, check_catalog, load_catalog
    from ..catalog.columns import RISK_SHEET
    from ..catalog.formats.csv_format import risk_path

    try:
        catalog = load_catalog(args.file)
    except CatalogError as exc:
        if not args.json:
            raise
        problems = [p.to_json() for p in exc.problems]
        print(json.dumps({"error": str(exc), "problems": problems}, ensure_ascii=False))
        return 2
    report = check_catalog(catalog, root=args.root, allow_outside=args.allow_outside)
    if args.json:
        print(json.dumps(report.to_json(), ensure_ascii=False))
    else:
        risk_file = risk_path(Path(args.file)) if Path(args.file).suffix.lower() == ".csv" else args.file
        for f in report.findings:
            file = risk_file if f.sheet == RISK_SHEET else args.file  # CSV: the risk table is the sibling file
            print(f"{file}: {f.sheet} {catalog.row_kind} {f.row}, {f.column}: {f.severity} {f.rule}: {f.message}")
        errors = sum(f.severity == "error" for f in report.findings)
        print(
            f"{report.powers} powers, {report.risk_points} risk points: {errors} errors, "
            f"{len(report.findings) - errors} warnings"
        )
    return 1 if report.has_errors else 0


def _cmd_convert(args: argparse.Namespace) -> int:
    from ..catalog import load_catalog, save_catalog

    catalog = load_catalog(args.input)
    options: dict[str, Any] = {"encoding": args.encoding} if args.encoding else {}
    save_catalog(catalog, args.output, **options)
    print(f"{args.output}: {len(catalog.powers)} powers, {len(catalog.risk_points)} risk points")
    return 0


def _cmd_init(args: argparse.Namespace) -> int:
    from ..catalog import catalog_from_bpmn, save_catalog

    out = Path(args.output)
    catalog, skipped = catalog_from_bpmn(args.paths, relative_to=out.parent)
    for path, reason in skipped:
        print(f"approvalflow: skipped {path}: {reason}", file=sys.stderr)
    if not catalog.powers:
        print("approvalflow: error: no flowchart with an af:power", file=sys.stderr)
        return 2
    save_catalog(catalog, out)
    print(f"{out}: {len(catalog.powers)} powers, {len(catalog.risk_points)} risk points")
    return 0


def register(sub: Any) -> None:
    """Add ``catalog check``, ``catalog convert`` and ``catalog init``."""
    catalog = sub.add_parser("catalog", help="power lists (权力清单): check, convert, generate")
    actions = catalog.add_subparsers(dest="catalog_command", required=True, metavar="ACTION")
    check = actions.add_parser("check", help="check a catalog against its flowcharts")
    check.add_argument("file", help="the catalog (.yaml, .yml, .json, .csv, .xlsx)")
    check.add_argument("--json", action="store_true", help="print one JSON object")
    check.add_argument(
        "--root",
        metavar="DIR",
        help="the folder every 流程图 must stay inside (default: the catalog's folder)",
    )
    check.add_argument(
        "--allow-outside",
        action="store_true",
        help="open a 流程图 wherever it points (absolute, .., links out): only for a catalog you trust",
    )
    check.set_defaults(func=_cmd_check)
    convert = actions.add_parser("convert", help="convert a catalog between formats (by extension)")
    convert.add_argument("input", help="the catalog to read")
    convert.add_argument("output", help="the catalog to write")
    convert.add_argument("--encoding", choices=["utf-8-sig", "utf-8", "gb18030", "gbk"], help="CSV encoding")
    convert.set_defaults(func=_cmd_convert)
    init = actions.add_parser("init", help="a catalog skeleton and risk table from BPMN files")
    init.add_argument("paths", nargs="+", metavar="BPMN_OR_DIR", help="BPMN files or folders")
    init.add_argument("-o", "--output", required=True, metavar="FILE", help="the catalog to write")
    init.set_defaults(func=_cmd_init)
