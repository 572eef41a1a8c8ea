"""The 电子监察 console in a real browser: headless Chromium (Debian's package) driven by Playwright.

The console is served by uvicorn on a free loopback port in a thread, over a SQLite store filled by
tests/console_support.py (whose docstring derives the cards). Each page loads; the case page colours the right
elements, found by ``data-element-id``, as the browser computes them; and the wall shows new cards without a reload
when time moves on, and drops a card when its step is completed (the page polls ``/console/live`` every second).
"""

from __future__ import annotations

import shutil
import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from approvalflow.service.context import ServiceContext
from approvalflow.store.cases import complete_step, load_case_from
from approvalflow.store.factory import open_store
from approvalflow.time.clock import FakeClock

from .console_support import LATER, make_app, make_context

pytestmark = pytest.mark.slow
CHROMIUM = shutil.which("chromium") or ("/usr/bin/chromium" if Path("/usr/bin/chromium").exists() else None)
uvicorn = pytest.importorskip("uvicorn", reason="uvicorn is not installed (pip install approvalflow[serve])")
sync_api = pytest.importorskip("playwright.sync_api", reason="playwright (Python) is not installed")
if CHROMIUM is None:
    pytest.skip("Chromium is not installed (apt-get install chromium)", allow_module_level=True)


@dataclass
class Served:
    base: str
    context: ServiceContext
    path: Path


@pytest.fixture
def served(tmp_path: Path) -> Iterator[Served]:
    store = open_store(tmp_path / "cases.db")
    context = make_context(store, tmp_path)
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(make_app(context), log_level="warning"))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        assert time.monotonic() < deadline, "uvicorn did not start within 30 s"
        time.sleep(0.05)
    try:
        yield Served(f"http://127.0.0.1:{port}", context, tmp_path / "cases.db")
    finally:
        server.should_exit = True
        thread.join(timeout=10)
        sock.close()
        store.close()


@pytest.fixture
def page(served: Served) -> Iterator[Any]:
    with sync_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        tab = browser.new_page(viewport={"width": 1920, "height": 1080})
        try:
            yield tab
        finally:
            browser.close()


def fill_of(page: Any, element_id: str) -> tuple[str | None, str]:
    """The element's ``data-state`` and the fill the browser paints its outline (first shape) with."""
    state, fill = page.eval_on_selector(
        f'[data-element-id="{element_id}"]',
        "g => [g.getAttribute('data-state'),"
        " getComputedStyle(g.querySelector('rect,circle,ellipse,polygon,path')).fill]",
    )
    return state, fill


def test_every_page_loads(served: Served, page: Any) -> None:
    for path, text in (
        ("/console/", "红牌"),
        ("/console/cases/lic-decide-refused", "办理痕迹"),
        ("/console/efficiency", "效能评估"),
        ("/console/search?q=某建材", "lic-decide-refused"),
    ):
        answer = page.goto(served.base + path)
        assert answer is not None and answer.status == 200, path
        assert text in page.content(), path
    assert page.locator("#hits tbody tr").count() == 1  # the search page found the one case of 某建材有限公司


def test_the_case_page_colours_the_right_elements(served: Served, page: Any) -> None:
    page.goto(served.base + "/console/cases/lic-decide-refused")
    # completed: the green of STATE_STYLE (#d9f2df); decide is red (#fcd4d4): due Oct 14, open on Oct 15
    for step in ("receive", "accept", "review"):
        assert fill_of(page, step) == ("completed", "rgb(217, 242, 223)"), step
    assert fill_of(page, "decide") == ("overdue", "rgb(252, 212, 212)")
    classes = page.eval_on_selector('[data-element-id="decide"]', "g => g.getAttribute('class')").split()
    assert "af-state-refused" in classes and "af-state-current" in classes
    assert fill_of(page, "deliver") == (None, "rgb(255, 255, 255)")  # not reached: white as drawn
    # the trail lists the refused attempt beside the chart
    assert page.locator('#trail tr[data-outcome="refused"][data-step="decide"]').count() == 1
    efficiency = page.goto(served.base + "/console/efficiency")
    assert efficiency is not None and efficiency.status == 200
    assert page.locator('svg[data-chart="unit-rates"] rect[data-group="market-bureau"]').count() == 3


def test_cards_appear_and_go_without_a_reload(served: Served, page: Any) -> None:
    page.goto(served.base + "/console/?every=1")
    cards = page.locator("article.card")
    assert cards.count() == 3  # the three red steps on Oct 15
    page.evaluate("window.__notReloaded = true")
    assert isinstance(served.context.clock, FakeClock)
    served.context.clock.to(LATER)  # Oct 22: the promised deadline (Oct 23) of both open market cases turns yellow
    page.wait_for_function("document.querySelectorAll('article.card').length === 5", timeout=15_000)
    assert page.locator('article.card[data-level="yellow"]').count() == 2
    # liu completes the review of lic-review-open (through another connection to the same SQLite file)
    writer = open_store(served.path)
    try:
        market = served.context.organisations["market-bureau"]
        stored = load_case_from(writer, "lic-review-open", served.context.processes[0], market)
        complete_step(writer, stored, "review", "liu", data={"needs_extension": False}, at=LATER)
    finally:
        writer.close()
    page.wait_for_function("document.querySelectorAll('article.card').length === 4", timeout=15_000)
    assert page.locator('article.card[data-case="lic-review-open"][data-task="review"]').count() == 0
    assert page.evaluate("window.__notReloaded") is True  # the same document all along
