"""Screenshots of the 电子监察 console for docs/images/console/ (one command, from the project's root):

    PYTHONPATH=src .venv/bin/python scripts/console_screenshots.py [OUT_DIR]

It fills a SQLite store in a temporary folder with a county's worth of general-licensing cases (three units, started
from August to October 2026, some done on time, some late, some stuck, some with refused attempts), deploys the
process in the store's registry, serves the console on a free loopback port (uvicorn, in a thread, the caller a
supervisor), and takes each page in headless Chromium (Debian's /usr/bin/chromium, driven by Playwright) at
1920×1080 (a wall screen) and 1366×768 (a laptop). The console's clock is fixed at 2026-10-22 09:00 (Beijing time).
"""

from __future__ import annotations

import random
import shutil
import socket
import sys
import tempfile
import threading
import time
from datetime import datetime, timedelta
from pathlib import Path

import uvicorn
from fastapi import FastAPI

from approvalflow import FakeClock, start_case
from approvalflow.bpmn.model import Category
from approvalflow.catalog.model import Catalog, PowerRow
from approvalflow.errors import StepRefused
from approvalflow.org.organisation import Organisation, load_organisation
from approvalflow.service import console
from approvalflow.service.auth import Principal, current_principal
from approvalflow.service.context import ServiceContext
from approvalflow.store.cases import add_case, complete_step
from approvalflow.store.registry import deploy, stored_definition
from approvalflow.store.sqlite import SqliteStore

ROOT = Path(__file__).resolve().parents[1]
LICENSING = ROOT / "processes" / "licensing" / "general_licensing.bpmn"
MARKET = ROOT / "tests" / "data" / "market_bureau.yaml"
AT = "2026-10-22T09:00:00+08:00"
UNITS = {"market-bureau": "县市场监督管理局", "water-bureau": "县水务局", "housing-bureau": "县住房和城乡建设局"}
APPLICANTS = [
    "某餐饮有限公司",
    "某建材有限公司",
    "某水务工程公司",
    "某物业管理有限公司",
    "某食品店",
    "某药房",
    "某置业公司",
]
SIZES = {"wide": (1920, 1080), "laptop": (1366, 768)}
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"


def organisations(tmp: Path) -> dict[str, Organisation]:
    """The market bureau's organisation file, once per unit with the unit renamed."""
    text = MARKET.read_text(encoding="utf-8")
    out = {}
    for unit, name in UNITS.items():
        path = tmp / f"{unit}.yaml"
        path.write_text(text.replace("market-bureau", unit).replace("县市场监督管理局", name), encoding="utf-8")
        out[unit] = load_organisation(path)
    return out


def fill(store: SqliteStore, orgs: dict[str, Organisation], count: int = 60) -> None:
    """``count`` cases, deterministic (seeded): receive, accept, review, decide, deliver at varying paces, started
    from Aug 3 on, about three every four days (more cases start on the same days when ``count`` is larger)."""
    deploy(store, [LICENSING], at="2026-07-01T09:00:00+08:00")
    definition = stored_definition(store, "general_licensing")
    rng = random.Random(19)
    start = datetime.fromisoformat("2026-08-03T09:00:00+08:00")
    end = datetime.fromisoformat(AT)
    for n in range(count):
        unit = list(UNITS)[n % 3]
        day = (n * 60 // count) * 4 // 3  # in office hours, every day or so
        at = start + timedelta(days=day, hours=rng.randint(0, 6))
        clock = FakeClock(at)
        data = {"applicant": rng.choice(APPLICANTS)}
        case = start_case(definition, orgs[unit], unit=unit, clock=clock, case_id=f"XK-2026-{n + 1:04d}", data=data)
        stored = add_case(store, case)
        plan = [
            ("receive", "wang", 0.5 / 24, {"materials_complete": True}),
            ("accept", "wang", rng.choice([1 / 24, 2 / 24, 1.0]), {}),
            ("review", "liu", rng.choice([4, 7, 9, 12, 16, 40]), {"needs_extension": False}),
            ("decide", rng.choice(["li", "li", "li", "zhang"]), rng.choice([1, 2, 3, 6]), {"approved": True}),
            ("deliver", "chen", rng.choice([1, 2, 5]), {}),
        ]
        for task, actor, days, step_data in plan:
            at = at + timedelta(days=days)
            if at >= end:
                break
            clock.to(at)
            try:
                complete_step(store, stored, task, actor, data=step_data)
            except StepRefused:  # zhang (the principal) may not decide: a refused attempt, then li decides
                at += timedelta(hours=3)
                if at >= end:
                    break
                clock.to(at)
                complete_step(store, stored, task, "li", data=step_data)


def catalog() -> Catalog:
    row = PowerRow(
        code="140500-XK-0001",
        name="一般行政许可",
        category=Category.LICENSING,
        responsibilities="1.受理阶段责任：公示应当提交的材料，一次性告知补正材料；2.审查阶段责任：对申请材料进行审查；"
        "3.决定阶段责任：作出准予或不予许可的决定；4.送达阶段责任：制发证件并送达",
        accountability="对符合法定条件的申请不予受理的；不在法定期限内作出准予行政许可决定的；"
        "未依法说明不受理申请或者不予行政许可的理由的",
    )
    return Catalog(powers=[row])


def serve(app: FastAPI) -> tuple[uvicorn.Server, threading.Thread, str]:
    """Start the app on a free loopback port in a thread; the server, the thread and the base URL."""
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning"))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        if time.monotonic() > deadline:
            raise RuntimeError("uvicorn did not start within 30 s")
        time.sleep(0.05)
    return server, thread, f"http://127.0.0.1:{port}"


def main(out: Path) -> int:
    from playwright.sync_api import sync_playwright

    out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as name:
        tmp = Path(name)
        orgs = organisations(tmp)
        store = SqliteStore(tmp / "cases.db")
        fill(store, orgs)
        app = FastAPI()
        app.state.context = ServiceContext(store, orgs, FakeClock(AT), catalog=catalog())
        app.include_router(console.router)
        app.dependency_overrides[current_principal] = lambda: Principal("screenshots", "supervisor")
        server, thread, base = serve(app)
        refused = next(
            (i for i in store.ids("open") if any(a.kind == "refused" for a in store.get(i).anomalies)), "XK-2026-0001"
        )
        pages = {
            "wall": "/console/",
            "case": f"/console/cases/{refused}",
            "efficiency": "/console/efficiency",
            "search": "/console/search?q=某建材",
        }
        try:
            with sync_playwright() as p:
                browser = p.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
                for size, (width, height) in SIZES.items():
                    page = browser.new_page(viewport={"width": width, "height": height})
                    for key, path in pages.items():
                        page.goto(base + path)
                        page.wait_for_load_state("networkidle")
                        page.screenshot(path=str(out / f"{key}-{size}.png"))
                        print(out / f"{key}-{size}.png")
                    page.close()
                browser.close()
        finally:
            server.should_exit = True
            thread.join(timeout=10)
            store.close()
    return 0


if __name__ == "__main__":
    sys.exit(main(Path(sys.argv[1]) if len(sys.argv) > 1 else ROOT / "docs" / "images" / "console"))
