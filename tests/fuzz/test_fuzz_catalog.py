"""Fuzz catalogs (权力清单): ``load_catalog``, ``check_catalog``, ``approvalflow catalog check`` and ``convert``.

Seeds: tests/data/catalog/sample.yaml (with its flowcharts/ folder copied beside each fuzzed file) and the same
catalog written by ``save_catalog`` as JSON, CSV (UTF-8 with BOM and GB18030, with the risk table beside it)
and XLSX. Variants: YAML/JSON tree edits and YAML attacks; CSV tables with formula cells, huge fields, bad
dates, extra, missing or ragged columns; XLSX cells rewritten through openpyxl; XLSX zip members corrupted,
dropped, duplicated, renamed or inflated; byte edits of every format.
"""

from __future__ import annotations

import functools
import io
import json
import shutil
import tempfile
from pathlib import Path
from typing import Any

import openpyxl
import pytest
import yaml
from hypothesis import given
from hypothesis import strategies as st

from approvalflow.catalog import check_catalog, load_catalog, save_catalog

from .harness import ROOT, check_cli, check_library, companions, fuzz_settings, run_ci_profile
from .mutate import (
    byte_mutation,
    csv_mutation,
    dump_json,
    dump_yaml,
    hostile_text,
    read_csv,
    tree_mutation,
    write_csv,
    yaml_text_mutation,
    zip_mutation,
)

KIND = "catalog"
SAMPLE = ROOT / "tests" / "data" / "catalog" / "sample.yaml"
FLOWCHARTS = SAMPLE.parent / "flowcharts"
RISK_SUFFIX = ".廉政风险点"


@functools.cache
def seeds() -> dict[str, bytes]:
    """The sample catalog in every format: ``yaml``, ``json``, ``csv`` (+ ``risk.csv``), ``gb.csv``
    (+ ``gb.risk.csv``), ``xlsx``."""
    out = {"yaml": SAMPLE.read_bytes()}
    catalog = load_catalog(SAMPLE)
    with tempfile.TemporaryDirectory(prefix="af-fuzz-seed-") as tmp:
        folder = Path(tmp)
        save_catalog(catalog, folder / "c.json")
        save_catalog(catalog, folder / "c.xlsx")
        save_catalog(catalog, folder / "c.csv")
        (folder / "gb").mkdir()
        save_catalog(catalog, folder / "gb" / "c.csv", encoding="gb18030")
        out["json"] = (folder / "c.json").read_bytes()
        out["xlsx"] = (folder / "c.xlsx").read_bytes()
        out["csv"] = (folder / "c.csv").read_bytes()
        out["risk.csv"] = (folder / f"c{RISK_SUFFIX}.csv").read_bytes()
        out["gb.csv"] = (folder / "gb" / "c.csv").read_bytes()
        out["gb.risk.csv"] = (folder / "gb" / f"c{RISK_SUFFIX}.csv").read_bytes()
    return out


def exercise(ext: str, data: bytes, risk: bytes | None = None, *, target: str = "json", encoding: str = "") -> None:
    """The library and the CLI on the catalog ``data`` (a ``.ext`` file; for CSV with the risk table ``risk``)."""
    with tempfile.TemporaryDirectory(prefix="af-fuzz-") as tmp:
        folder = Path(tmp)
        shutil.copytree(FLOWCHARTS, folder / "flowcharts")
        path = folder / f"fuzz.{ext}"
        path.write_bytes(data)
        if risk is not None:
            (folder / f"fuzz{RISK_SUFFIX}.{ext}").write_bytes(risk)

        def library() -> None:
            check_catalog(load_catalog(path))

        with companions({f"{RISK_SUFFIX}.{ext}": risk} if risk is not None else {}):
            check_library(KIND, ext, data, library)
            check_cli(KIND, ext, data, ["catalog", "check", str(path), "--json"])
            check_cli(KIND, ext, data, ["catalog", "check", str(path)])
            (folder / "out").mkdir()
            argv = ["catalog", "convert", str(path), str(folder / "out" / f"converted.{target}")]
            check_cli(KIND, ext, data, argv + (["--encoding", encoding] if encoding else []))


def replay(path: Path) -> None:
    """Replay one corpus file (a CSV's risk table, if any, is the sibling ``<name>.廉政风险点.csv``)."""
    risk = path.with_name(f"{path.stem}{RISK_SUFFIX}{path.suffix}")
    exercise(path.suffix.lstrip("."), path.read_bytes(), risk.read_bytes() if risk.exists() else None)


_TARGETS = st.sampled_from(["json", "yaml", "csv", "xlsx"])
_ENCODINGS = st.sampled_from(["", "utf-8", "gb18030", "gbk", "utf-8-sig"])


@fuzz_settings(default=10, ci=400)
@given(data=st.data())
def test_catalog_yaml_json_tree(data: st.DataObject) -> None:
    tree: Any = yaml.safe_load(seeds()["yaml"])
    mutated = data.draw(tree_mutation(tree, surrogates=True))
    if data.draw(st.booleans()):
        exercise("yaml", dump_yaml(mutated), target=data.draw(_TARGETS))
    else:
        exercise("json", dump_json(mutated), target=data.draw(_TARGETS))


@fuzz_settings(default=6, ci=100)
@given(data=st.data())
def test_catalog_yaml_text(data: st.DataObject) -> None:
    exercise("yaml", data.draw(yaml_text_mutation(seeds()["yaml"])), target=data.draw(_TARGETS))


@fuzz_settings(default=10, ci=300)
@given(data=st.data())
def test_catalog_csv(data: st.DataObject) -> None:
    gb = data.draw(st.booleans())
    source = "gb18030" if gb else "utf-8-sig"
    powers = read_csv(seeds()["gb.csv" if gb else "csv"], source)
    risks = read_csv(seeds()["gb.risk.csv" if gb else "risk.csv"], source)
    target = data.draw(st.sampled_from(["powers", "risks", "both"]))
    if target in ("powers", "both"):
        powers = data.draw(csv_mutation(powers))
    if target in ("risks", "both"):
        risks = data.draw(csv_mutation(risks))
    encoding = data.draw(st.sampled_from(["utf-8", "utf-8-sig", "gb18030"]))
    exercise(
        "csv",
        write_csv(powers, encoding),
        write_csv(risks, encoding),
        target=data.draw(_TARGETS),
        encoding=data.draw(_ENCODINGS),
    )


@fuzz_settings(default=8, ci=200)
@given(data=st.data())
def test_catalog_xlsx_cells(data: st.DataObject) -> None:
    book = openpyxl.load_workbook(io.BytesIO(seeds()["xlsx"]))
    for _ in range(data.draw(st.integers(1, 6))):
        sheet = book.worksheets[data.draw(st.integers(0, len(book.worksheets) - 1))]
        row = data.draw(st.integers(1, max(sheet.max_row, 1) + 2))
        column = data.draw(st.integers(1, max(sheet.max_column, 1) + 2))
        value = data.draw(
            st.one_of(
                hostile_text().map(lambda t: "".join(c for c in t if c in "\t\n\r" or ord(c) >= 0x20)),
                st.sampled_from([None, 0, -1, 10**9, 1e308, float("nan"), True]),
                st.datetimes().map(lambda d: d.replace(microsecond=0)),
            )
        )
        try:
            sheet.cell(row=row, column=column, value=value)
        except (ValueError, TypeError):  # a value openpyxl itself refuses to write
            continue
    if data.draw(st.booleans()) and len(book.worksheets) > 1:
        book.remove(book.worksheets[data.draw(st.integers(0, len(book.worksheets) - 1))])
    out = io.BytesIO()
    book.save(out)
    exercise("xlsx", out.getvalue(), target=data.draw(_TARGETS))


@fuzz_settings(default=6, ci=80)
@given(data=st.data())
def test_catalog_xlsx_zip(data: st.DataObject) -> None:
    exercise("xlsx", data.draw(zip_mutation(seeds()["xlsx"])), target=data.draw(_TARGETS))


@fuzz_settings(default=8, ci=200)
@given(data=st.data())
def test_catalog_bytes(data: st.DataObject) -> None:
    fmt = data.draw(st.sampled_from(["yaml", "json", "csv", "gb.csv", "xlsx"]))
    blob = data.draw(byte_mutation(seeds()[fmt]))
    risk = seeds()["gb.risk.csv" if fmt == "gb.csv" else "risk.csv"] if fmt.endswith("csv") else None
    exercise(fmt.rsplit(".", 1)[-1], blob, risk, target=data.draw(_TARGETS))


def test_json_seed_is_json() -> None:
    """The JSON seed really is the sample catalog (so the JSON variants start from a valid catalog)."""
    assert json.loads(seeds()["json"])["powers"][0]["code"] == "140521-XK-0001"


@pytest.mark.slow
def test_catalog_ci_profile() -> None:
    """The fuzz tests above under the ci profile, in a subprocess bounded in memory and time."""
    output = run_ci_profile(__file__)
    assert " passed" in output
