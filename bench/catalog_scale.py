"""Load and check a county-sized power list (权力清单) in every format, and say which formats meet the goal.

A county's list, as the 六权治本 reform produced them, ran to about 5,700 powers with about 94,000 risk points
(廉政风险点). The default catalog is that size (synthetic, deterministic by seed: see
``approvalflow.catalog.synthetic``). For each format the catalog is written, loaded and checked against its
flowcharts; the goal is one load + check in under 3 seconds of wall-clock time on this machine.

Run: ``.venv/bin/python bench/catalog_scale.py [--powers N] [--seed S] [--formats csv,gb18030,xlsx,json,yaml]
[--repeat R]``. ``--repeat`` loads and checks R times and reports the fastest (the machine may be shared). Both
wall-clock and CPU seconds are printed, with the load average, so that a slow run on a busy machine can be told
from a slow reader.
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from approvalflow.catalog import Catalog, check_catalog, load_catalog, save_catalog
from approvalflow.catalog.synthetic import synthetic_county

GOAL_SECONDS = 3.0
FORMATS = "csv,gb18030,xlsx,json,yaml"


def _timed(fn: Callable[[], Any]) -> tuple[float, float, Any]:
    wall, cpu = time.perf_counter(), time.process_time()
    result = fn()
    return time.perf_counter() - wall, time.process_time() - cpu, result


def _save(catalog: Catalog, folder: Path, fmt: str) -> Path:
    if fmt == "gb18030":
        path = folder / "county-gb18030.csv"
        save_catalog(catalog, path, encoding="gb18030")
    else:
        path = folder / f"county.{fmt}"
        save_catalog(catalog, path)
    return path


def _load_and_check(path: Path) -> tuple[Catalog, int]:
    catalog = load_catalog(path)
    return catalog, len(check_catalog(catalog).findings)


def _load() -> str:
    return " / ".join(f"{x:.2f}" for x in os.getloadavg())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--powers", type=int, default=5700, help="powers in the catalog (default 5700)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--formats", default=FORMATS, help=f"comma-separated (default {FORMATS})")
    parser.add_argument("--repeat", type=int, default=1, help="load and check this many times, keep the fastest")
    args = parser.parse_args()
    print(f"load average (1/5/15 min) at start: {_load()}; {os.cpu_count()} CPUs")
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        wall, _, catalog = _timed(lambda: synthetic_county(folder, seed=args.seed, powers=args.powers))
        print(
            f"catalog: {len(catalog.powers):,} powers, {len(catalog.risk_points):,} risk points "
            f"(generated in {wall:.1f} s)"
        )
        print(
            f"{'format':8} {'MB':>6} {'write s':>8} {'load+check s':>13} {'(cpu s)':>8} {'findings':>8}  "
            f"goal < {GOAL_SECONDS:.0f} s"
        )
        verdicts = []
        for fmt in args.formats.split(","):
            write, _, path = _timed(lambda f=fmt: _save(catalog, folder, f))
            parts = [path, path.with_name(f"{path.stem}.廉政风险点{path.suffix}")] if path.suffix == ".csv" else [path]
            size = sum(p.stat().st_size for p in parts if p.exists())
            best: tuple[float, float] | None = None
            findings = -1
            for _ in range(max(args.repeat, 1)):
                wall, cpu, (loaded, findings) = _timed(lambda p=path: _load_and_check(p))
                best = (wall, cpu) if best is None or wall < best[0] else best
            assert best is not None
            if loaded != catalog:
                raise SystemExit(f"{fmt}: the catalog read back is not the one written")
            verdict = "meets" if best[0] < GOAL_SECONDS else "misses"
            verdicts.append(f"{fmt} {verdict}")
            print(f"{fmt:8} {size / 1e6:6.1f} {write:8.2f} {best[0]:13.2f} {best[1]:8.2f} {findings:8d}  {verdict}")
    print(f"load average at end: {_load()}")
    print("goal (one load + check under 3 s): " + ", ".join(verdicts))


if __name__ == "__main__":
    main()
