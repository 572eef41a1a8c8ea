"""Benchmark: N concurrent clients completing steps over HTTP (``approvalflow serve``), SQLite and PostgreSQL.

    PYTHONPATH=src .venv/bin/python bench/service_load.py [--clients 100] [--cases 300] [--seconds 60]
        [--think SECONDS] [--postgres URL] [--folder DIR] [--json FILE] [--client raw|httpx] [--threads N]

For each backend (SQLite; PostgreSQL when ``--postgres URL`` or APPROVALFLOW_TEST_POSTGRES names a server, else
said skipped): makes a platform key, starts ``approvalflow serve`` (uvicorn on 127.0.0.1, a free port, ``--tick
5``), deploys the permit process of the tests (受理 ``accept`` by a clerk, 审查 ``review`` by a reviewer, 决定
``decide`` by a leader), starts ``--cases`` cases over HTTP, then runs ``--clients`` concurrent clients (asyncio,
one keep-alive HTTP/1.1 connection each), each completing the three steps of its own cases in turn (a closed loop:
a client sends its next request when the last one is answered). The clients speak HTTP/1.1 themselves on asyncio
streams (:class:`Http11`, about 0.1 ms of CPU a request): httpx's asyncio client took 7 to 11 ms of CPU a request
at 100 connections, on the same 2 cores as the server, and bounded what was measured (``--client httpx`` measures
with it again). Reports completions/s, the p50/p99 latency of a completion, the serve processes' CPU time per
completion (from ``/proc``), and whether the goal (p99 under 100 ms at 100 clients) is met. A ``409 conflict``
answer is retried (counted); any other error is reported and stops that case.

The peer, in the same run: the same completions in-process through the library (``load_case_from`` and
``store.cases.act``, one thread, no HTTP) on a store of the same kind; the ratio is printed.

Over PostgreSQL it also runs two ``serve`` processes on two ports over the one database, the clients split
between them, and checks that no completion is lost: at the end every case's path (read back over HTTP) equals
the steps its client saw completed. Bounded: ``--seconds`` caps each load phase (a client stops starting
completions then), every wait for a server is at most 60 s. Case ids carry the run's moment, so a PostgreSQL
database is never cleared; exits 1 when a completion was lost or a request failed with an error other than a
conflict.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))
sys.path.insert(0, str(ROOT))

import httpx  # noqa: E402
from tests.registry_support import permit  # noqa: E402

from approvalflow import load_organisation  # noqa: E402
from approvalflow.bpmn.loader import load_process_string  # noqa: E402
from approvalflow.engine.case import start_case  # noqa: E402
from approvalflow.store.cases import act, add_case, load_case_from  # noqa: E402
from approvalflow.store.factory import open_store  # noqa: E402
from approvalflow.store.keys import create_key  # noqa: E402

ORG = ROOT / "tests" / "data" / "market_bureau.yaml"
UNIT = "market-bureau"
STEPS = (("accept", "wang"), ("review", "liu"), ("decide", "li"))
GOAL_MS = 100.0
GOAL_CLIENTS = 100
WAIT = 60.0


@dataclass
class Load:
    """What one load phase measured."""

    name: str
    clients: int
    cases: int
    seconds: float = 0.0
    latencies: list[float] = field(default_factory=list)  # seconds, of each successful completion
    conflicts: int = 0
    errors: list[str] = field(default_factory=list)
    done: dict[str, list[str]] = field(default_factory=dict)  # case -> the steps its client saw completed
    lost: list[str] = field(default_factory=list)
    server_cpu: float | None = None  # seconds of CPU the serve processes used in the phase

    @property
    def completions(self) -> int:
        return sum(len(s) for s in self.done.values())

    def to_json(self) -> dict[str, Any]:
        return {
            "name": self.name, "clients": self.clients, "cases": self.cases, "completions": self.completions,
            "seconds": round(self.seconds, 3), "per_second": round(self.rate(), 1),
            "p50_ms": round(pct(self.latencies, 50) * 1000, 2), "p99_ms": round(pct(self.latencies, 99) * 1000, 2),
            "conflicts": self.conflicts, "errors": self.errors[:20], "lost": self.lost[:20],
            "server_cpu_ms": round(self.server_cpu / self.completions * 1000, 2)
            if self.server_cpu is not None and self.completions else None,
        }  # fmt: skip

    def rate(self) -> float:
        return self.completions / self.seconds if self.seconds else 0.0


def pct(values: list[float], p: float) -> float:
    """The nearest-rank ``p``-th percentile (0 for no values)."""
    if not values:
        return 0.0
    ordered = sorted(values)
    rank = max(1, -(-len(ordered) * p // 100))  # ceil(n * p / 100), at least 1
    return ordered[int(rank) - 1]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


#: The process id of each serve process started, by its base URL (for its CPU time).
PIDS: dict[str, int] = {}
THREADS: list[str] = []  # ["--threads", "N"] when given


def cpu_seconds(pid: int) -> float | None:
    """The CPU time (user + system) process ``pid`` used so far, from /proc (None where there is no /proc)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return None
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


@contextmanager
def serving(store: str, folder: Path, name: str) -> Iterator[str]:
    """``approvalflow serve STORE`` on a free loopback port; its base URL while the block runs."""
    port = free_port()
    env = {**os.environ, "PYTHONPATH": str(ROOT / "src")}
    command = [sys.executable, "-m", "approvalflow", "serve", store, "--org", str(ORG), "--port", str(port),
               "--log-level", "warning", "--no-console", "--tick", "5", *THREADS]  # fmt: skip
    log = folder / f"{name}.log"
    with log.open("wb") as out:
        server = subprocess.Popen(command, env=env, stdout=out, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + WAIT
        while True:
            try:
                if httpx.get(f"{base}/openapi.json", timeout=2).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if server.poll() is not None or time.monotonic() > deadline:
                raise SystemExit(f"serve did not start ({name}):\n" + log.read_text(errors="replace")[-2000:])
            time.sleep(0.2)
        PIDS[base] = server.pid
        yield base
    finally:
        server.terminate()
        try:
            server.wait(timeout=15)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()


def make_key(url: str) -> str:
    store = open_store(url)
    try:
        return create_key(store, "platform", unit=UNIT)[1]
    finally:
        store.close()


def prepare(base: str, key: str, ids: list[str]) -> None:
    """Deploy the permit process and start the cases over HTTP (8 at a time)."""
    headers = {"Authorization": f"Bearer {key}"}
    with httpx.Client(base_url=base, headers=headers, timeout=60) as http:
        answer = http.post("/api/v1/processes?name=permit.bpmn", content=permit().encode(),
                           headers={"Content-Type": "application/xml"})  # fmt: skip
        if answer.status_code != 201:
            raise SystemExit(f"deploy failed: {answer.status_code} {answer.text[:300]}")

    async def start_all() -> None:
        gate = asyncio.Semaphore(8)
        async with httpx.AsyncClient(base_url=base, headers=headers, timeout=60) as http:

            async def start(case_id: str) -> None:
                async with gate:
                    made = await http.post("/api/v1/cases", json={"process": "permit", "case_id": case_id})
                    if made.status_code != 201:
                        raise SystemExit(f"start {case_id} failed: {made.status_code} {made.text[:300]}")

            await asyncio.gather(*(start(c) for c in ids))

    asyncio.run(start_all())


class Http11:
    """One keep-alive HTTP/1.1 connection on asyncio streams: POST a JSON body, read the status and the body
    (``Content-Length`` or chunked). Opened again once when the server closed it between requests."""

    def __init__(self, base: str, key: str) -> None:
        host, _, port = base.removeprefix("http://").partition(":")
        self.host, self.port, self.key = host, int(port), key
        self.reader: asyncio.StreamReader | None = None
        self.writer: asyncio.StreamWriter | None = None

    async def post(self, path: str, body: dict[str, Any]) -> tuple[int, bytes]:
        data = json.dumps(body).encode()
        head = (f"POST {path} HTTP/1.1\r\nHost: {self.host}:{self.port}\r\nAuthorization: Bearer {self.key}\r\n"
                f"Content-Type: application/json\r\nContent-Length: {len(data)}\r\n\r\n").encode()  # fmt: skip
        for attempt in (1, 2):
            if self.writer is None:
                self.reader, self.writer = await asyncio.open_connection(self.host, self.port)
            assert self.reader is not None
            try:
                self.writer.write(head + data)
                return await self._answer(self.reader)
            except (ConnectionError, asyncio.IncompleteReadError):
                await self.close()
                if attempt == 2:
                    raise
        raise AssertionError("unreachable")

    @staticmethod
    async def _answer(reader: asyncio.StreamReader) -> tuple[int, bytes]:
        lines = (await reader.readuntil(b"\r\n\r\n")).split(b"\r\n")
        status = int(lines[0].split()[1])
        headers = {k.strip().lower(): v.strip() for k, _, v in (x.partition(b":") for x in lines[1:] if x)}
        if b"content-length" in headers:
            return status, await reader.readexactly(int(headers[b"content-length"]))
        chunks = []
        while True:  # chunked
            size = int((await reader.readuntil(b"\r\n")).split(b";")[0], 16)
            chunk = await reader.readexactly(size + 2)
            if not size:
                return status, b"".join(chunks)
            chunks.append(chunk[:-2])

    async def close(self) -> None:
        if self.writer is not None:
            self.writer.close()
            self.reader = self.writer = None


async def _client(post: Any, cases: list[str], stop_at: float, load: Load, think: float) -> None:
    """One client: ``post(path, body)`` answers (status, body bytes)."""
    pause = random.Random(cases[0] if cases else "")  # the same pauses in every run
    if think:  # people do not all press the button at the same moment: staggered starts
        await asyncio.sleep(pause.uniform(0, 2 * think))
    for case_id in cases:
        done = load.done.setdefault(case_id, [])
        for step, actor in STEPS:
            if time.monotonic() > stop_at:
                return
            ok = False
            for _ in range(5):
                began = time.perf_counter()
                try:
                    status, body = await post(f"/api/v1/cases/{case_id}/steps/{step}/complete", {"actor": actor})
                except (OSError, asyncio.IncompleteReadError, httpx.HTTPError) as exc:
                    load.errors.append(f"{case_id} {step}: {type(exc).__name__}: {exc}")
                    break
                took = time.perf_counter() - began
                if status == 200:
                    load.latencies.append(took)
                    done.append(step)
                    ok = True
                    break
                if status == 409 and json.loads(body).get("type", "").endswith("/conflict"):
                    load.conflicts += 1  # the case kept changing under the server's own retries: retry
                    continue
                load.errors.append(f"{case_id} {step}: {status} {body[:200].decode(errors='replace')}")
                break
            if not ok:
                break
            if think:  # a person before the next step: ``think`` seconds on average
                await asyncio.sleep(pause.uniform(0, 2 * think))


def run_load(
    bases: list[str],
    key: str,
    ids: list[str],
    clients: int,
    seconds: float,
    name: str,
    think: float = 0.0,
    client: str = "raw",
) -> Load:
    """``clients`` concurrent clients, client k on server k % len(bases), owning cases k, k + clients, ...; each a
    connection of its own (``raw``: :class:`Http11`; ``httpx``: a shared ``httpx.AsyncClient`` per server)."""
    load = Load(name, clients, len(ids))

    async def main() -> None:
        limits = httpx.Limits(max_connections=clients, max_keepalive_connections=clients)
        pools = [
            httpx.AsyncClient(base_url=b, headers={"Authorization": f"Bearer {key}"}, timeout=120, limits=limits)
            for b in bases
        ]
        raw = [Http11(bases[k % len(bases)], key) for k in range(clients)]

        def poster(k: int) -> Any:
            if client == "raw":
                return raw[k].post
            pool = pools[k % len(pools)]

            async def post(path: str, body: dict[str, Any]) -> tuple[int, bytes]:
                answer = await pool.post(path, json=body)
                return answer.status_code, answer.content

            return post

        try:
            before = [cpu_seconds(PIDS[b]) if b in PIDS else None for b in bases]
            stop_at = time.monotonic() + seconds
            began = time.perf_counter()
            await asyncio.gather(*(_client(poster(k), ids[k::clients], stop_at, load, think) for k in range(clients)))
            load.seconds = time.perf_counter() - began
            after = [cpu_seconds(PIDS[b]) if b in PIDS else None for b in bases]
            if None not in before and None not in after:
                load.server_cpu = sum(a - b for a, b in zip(after, before, strict=True))  # type: ignore[operator]
        finally:
            for p in pools:
                await p.aclose()
            for r in raw:
                await r.close()

    asyncio.run(main())
    check_paths(bases[0], key, load)
    return load


def check_paths(base: str, key: str, load: Load) -> None:
    """Every case's path, read back, must be the steps its client saw completed, in order."""
    with httpx.Client(base_url=base, headers={"Authorization": f"Bearer {key}"}, timeout=60) as http:
        for case_id, steps in load.done.items():
            answer = http.get(f"/api/v1/cases/{case_id}")
            path = answer.json().get("path") if answer.status_code == 200 else None
            if path != steps:
                load.lost.append(f"{case_id}: stored path {path}, the client completed {steps}")


def peer(url: str, ids: list[str], completions: int) -> Load:
    """The same completions in-process through the library (``act``), one at a time, no HTTP."""
    load = Load("library in-process", 1, len(ids))
    process = load_process_string(permit())
    org = load_organisation(ORG)
    store = open_store(url)
    try:
        for case_id in ids:
            add_case(store, start_case(process, org, case_id=case_id))
        began = time.perf_counter()
        for case_id in ids:
            for step, actor in STEPS:
                if load.completions >= completions:
                    break
                t0 = time.perf_counter()
                stored = load_case_from(store, case_id, process, org)
                act(store, stored, lambda case, s=step, a=actor: case.complete(s, a))  # type: ignore[misc]
                load.latencies.append(time.perf_counter() - t0)
                load.done.setdefault(case_id, []).append(step)
        load.seconds = time.perf_counter() - began
    finally:
        store.close()
    return load


def line(load: Load) -> str:
    lost = f", {len(load.lost)} LOST" if load.lost else ", none lost"
    errors = f", {len(load.errors)} errors" if load.errors else ""
    return (
        f"  {load.name}: {load.completions:,} completions by {load.clients} clients in {load.seconds:.1f} s = "
        f"{load.rate():,.1f}/s; p50 {pct(load.latencies, 50) * 1000:.1f} ms, p99 {pct(load.latencies, 99) * 1000:.1f}"
        f" ms; {load.conflicts} conflicts retried{errors}{lost if load.clients > 1 else ''}"
        + (f"; server CPU {load.server_cpu / load.completions * 1000:.2f} ms a completion"
           if load.server_cpu is not None and load.completions else "")
    )  # fmt: skip


def goal(load: Load, think: float) -> str:
    p99 = pct(load.latencies, 99) * 1000
    if load.clients != GOAL_CLIENTS:
        return f"  goal (p99 < {GOAL_MS:.0f} ms at {GOAL_CLIENTS} clients): not measured at {load.clients} clients"
    verdict = "met" if p99 < GOAL_MS else f"NOT met ({p99 / GOAL_MS:.1f}x the goal)"
    pacing = f"each pausing {think:g} s on average between steps" if think else "at full speed (no pause)"
    return f"  goal (p99 < {GOAL_MS:.0f} ms at {GOAL_CLIENTS} clients, {pacing}): {verdict}"


def backend(kind: str, url: str, peer_url: str, args: argparse.Namespace, folder: Path, run: str) -> list[Load]:
    print(f"{kind}:")
    key = make_key(url)
    ids = [f"{run}-{kind}-{n:05d}" for n in range(args.cases)]
    loads = []
    with serving(url, folder, f"{kind}-serve") as base:
        prepare(base, key, ids)
        loads.append(run_load([base], key, ids, args.clients, args.seconds, "HTTP, one serve process", args.think,
                              args.client))  # fmt: skip
    print(line(loads[-1]))
    print(goal(loads[-1], args.think))
    library = peer(peer_url, [f"{run}-{kind}-peer-{n:05d}" for n in range(args.cases)], loads[-1].completions)
    print(line(library))
    http = loads[-1]
    if http.rate() and library.rate():
        print(
            f"  peer ratio: the library in-process does {library.rate() / http.rate():.1f}x the completions/s of "
            f"HTTP; a completion's p50 over HTTP is {pct(http.latencies, 50) / pct(library.latencies, 50):.1f}x "
            "the library's"
        )
    loads.append(library)
    if kind == "postgresql":
        ids2 = [f"{run}-{kind}-two-{n:05d}" for n in range(args.cases)]
        with serving(url, folder, "pg-serve-a") as a, serving(url, folder, "pg-serve-b") as b:
            prepare(a, key, ids2)
            two = run_load([a, b], key, ids2, args.clients, args.seconds, "HTTP, two serve processes", args.think,
                           args.client)  # fmt: skip
        loads.append(two)
        print(line(two))
        print(goal(two, args.think))
    return loads


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clients", type=int, default=100)
    parser.add_argument("--cases", type=int, default=300)
    parser.add_argument("--seconds", type=float, default=60.0, help="at most this long per load phase")
    parser.add_argument(
        "--think",
        type=float,
        default=0.0,
        help="a client's mean pause after each completion, seconds (default 0: a closed loop at full speed)",
    )
    parser.add_argument("--postgres", help="a PostgreSQL URL (default: APPROVALFLOW_TEST_POSTGRES)")
    parser.add_argument(
        "--client", choices=("raw", "httpx"), default="raw",
        help="the clients' HTTP: raw (HTTP/1.1 on asyncio streams, default) or httpx (what earlier runs used)",
    )  # fmt: skip
    parser.add_argument("--threads", type=int, help="serve --threads N (default: serve's own default)")
    parser.add_argument("--folder", type=Path, help="where the SQLite stores and server logs go (default: temp)")
    parser.add_argument("--json", type=Path, help="also write the figures as JSON to this file")
    args = parser.parse_args()
    if not (0 < args.clients <= 1000 and 0 < args.cases <= 100_000 and 0 < args.seconds <= 3600):
        parser.error("--clients 1..1000, --cases 1..100000, --seconds up to 3600")
    if not 0 <= args.think <= 60:
        parser.error("--think: 0 to 60 seconds")
    if args.threads is not None:
        THREADS[:] = ["--threads", str(args.threads)]
    pg = args.postgres or os.environ.get("APPROVALFLOW_TEST_POSTGRES")
    run = time.strftime("load%Y%m%dT%H%M%S", time.gmtime())
    print(f"{args.clients} clients, {args.cases} cases of 3 steps, at most {args.seconds:g} s a phase, think time "
          f"{args.think:g} s; {args.client} clients; "
          f"{os.cpu_count()} cores, load average {os.getloadavg()[0]:.1f}")  # fmt: skip
    results: dict[str, list[dict[str, Any]]] = {}
    with tempfile.TemporaryDirectory() as tmp:
        folder = args.folder or Path(tmp)
        folder.mkdir(parents=True, exist_ok=True)
        db, peer_db = folder / f"{run}.db", folder / f"{run}-peer.db"
        results["sqlite"] = [x.to_json() for x in backend("sqlite", str(db), str(peer_db), args, folder, run)]
        if pg:
            results["postgresql"] = [x.to_json() for x in backend("postgresql", pg, pg, args, folder, run)]
        else:
            print("postgresql: skipped (no --postgres URL and APPROVALFLOW_TEST_POSTGRES is not set)")
    if args.json:
        args.json.write_text(json.dumps(results, ensure_ascii=False, indent=1), encoding="utf-8")
    bad = [r for loads in results.values() for r in loads if r["lost"] or r["errors"]]
    return 1 if bad else 0


if __name__ == "__main__":
    raise SystemExit(main())
