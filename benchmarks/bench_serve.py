"""`make bench-serve`: the review service's queue and case pages under load, on the embedded store (SQLite state,
the DuckDB corpus of an analysed 1M-post simulated world), with a loopback load generator.

Goal (issue 5): >= 200 requests/s with p99 < 100 ms for the queue and case pages. Counted in page views: a view
is the page and the images it loads from the service, as a browser loads them (a case page's network graph is an
image of its own, revalidated with If-None-Match and answered 304 while unchanged), so a case page view is two
requests and is judged against the goal as one. Blurred media previews are not loaded (as before). Printed, not
asserted: the maximum rate comes from a closed loop (N connections, each starting the next view as soon as the
last is answered), the latencies from an open loop at the goal's rate (views started on a fixed schedule; each
latency counted from its scheduled start to its last answer, so queueing behind a slow answer is not hidden).

The world is simulated and analysed once and cached (an existing `make bench-detect` world of the same size and
seed is reused). The service runs as `cordon serve` in its own process(es); the load generator is this process:
N keep-alive HTTP/1.1 connections on asyncio streams, each starting the next view as soon as the last answer
is read (closed loop), logged in as a reviewer. Every scenario is run for --duration seconds after a warm-up.

Usage: .venv/bin/python benchmarks/bench_serve.py [--posts 1000000] [--duration 10] [--connections 16]
       [--workers 1 2] [--analysis DIR] [--only "case pages"]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import re
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import httpx
import numpy as np
from rich.console import Console
from rich.table import Table

CORDON = str(Path(sys.executable).with_name("cordon"))
GOAL_RPS, GOAL_P99_MS = 200.0, 100.0
PASSWORD = "bench passphrase 1"
console = Console(highlight=False, width=150)


@dataclass(frozen=True, slots=True)
class Run:
    scenario: str
    workers: int
    max_views: float  # closed loop: page views (a page and the images it loads from the service) per second
    max_requests: float  # closed loop: HTTP requests per second, the images' revalidations included
    views: int  # open loop at the goal's rate
    errors: int
    p50_ms: float  # a view: from its scheduled start to its last answer
    p99_ms: float


def analysis_dir(args: argparse.Namespace) -> Path:
    """cases.json + corpus.duckdb of the simulated world (cached)."""
    if args.analysis:
        return Path(str(args.analysis))
    out: Path = args.out / f"analysis-seed{args.seed}-{args.posts}"
    if (out / "cases.json").is_file() and (out / "corpus.duckdb").is_file():
        return out
    shared = Path("bench-out/detect/worlds") / f"seed{args.seed}-{args.posts}"
    world = (
        shared if (shared / "truth.json").is_file() else args.out / "worlds" / f"seed{args.seed}-{args.posts}"
    )
    if not (world / "truth.json").is_file():
        console.print(f"simulating {args.posts:,} posts into {world}")
        shutil.rmtree(world, ignore_errors=True)
        cmd = [CORDON, "simulate", str(world), "--seed", str(args.seed), "--posts", str(args.posts)]
        subprocess.run(cmd, check=True)
    console.print(f"analysing {world} into {out} (once)")
    shutil.rmtree(out, ignore_errors=True)
    subprocess.run(
        [CORDON, "analyze", str(world), "--bank", str(world / "bank.csv"), "--out", str(out)], check=True
    )
    return out


def prepare_state(analysis: Path, state: Path) -> tuple[str, list[str]]:
    """A fresh SQLite state store with the analysis imported and a reviewer; returns its URL and the case ids."""
    from cordon.app.service import Service, ServiceSettings  # noqa: PLC0415
    from cordon.respond.access import Role  # noqa: PLC0415

    for suffix in ("", "-wal", "-shm"):
        Path(f"{state}{suffix}").unlink(missing_ok=True)
    url = f"sqlite:///{state}"
    started = time.perf_counter()
    svc = Service(ServiceSettings(state_url=url))
    result = svc.import_cases_json(analysis / "cases.json", "bench")
    svc.access.add_user("bench", "bench", PASSWORD, [Role.REVIEWER])
    from cordon.respond.review import queue  # noqa: PLC0415

    ids = [item.id for item in queue(svc.store, limit=500).items]
    svc.close()
    console.print(f"imported {result.added} cases into {state} in {time.perf_counter() - started:.1f} s")
    return url, ids


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def start_server(url: str, corpus: Path, port: int, workers: int, log: Path) -> subprocess.Popen[bytes]:
    cmd = [CORDON, "serve", "--state", url, "--corpus", str(corpus), "--port", str(port), "--workers",
           str(workers), "--insecure-cookies"]  # fmt: skip
    proc = subprocess.Popen(cmd, stdout=log.open("wb"), stderr=subprocess.STDOUT, start_new_session=True)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"http://127.0.0.1:{port}/login", timeout=1).status_code == 200:
                return proc
        except httpx.HTTPError:
            time.sleep(0.2)
        if proc.poll() is not None:
            break
    stop_server(proc)
    raise SystemExit(f"the service did not start; see {log}")


def stop_server(proc: subprocess.Popen[bytes]) -> None:
    if proc.poll() is None:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)


async def _read_response(reader: asyncio.StreamReader) -> tuple[int, bytes]:
    """The status and the ETag (b"" when none) of one answer, its body read and dropped."""
    status = int((await reader.readline()).split(b" ", 2)[1])
    length, chunked, etag = 0, False, b""
    while (line := await reader.readline()) not in (b"\r\n", b""):
        name, _, value = line.partition(b":")
        if name.lower() == b"content-length":
            length = int(value)
        elif name.lower() == b"transfer-encoding" and b"chunked" in value.lower():
            chunked = True
        elif name.lower() == b"etag":
            etag = value.strip()
    if chunked:
        while (size := int((await reader.readline()).strip(), 16)) > 0:
            await reader.readexactly(size + 2)
        await reader.readline()
    else:
        await reader.readexactly(length)
    return status, etag


class Browser:
    """What a browser does for one view of a page: the page, then the images it loads from the service (here the
    case's network graph), each revalidated with the ETag it was last given (If-None-Match, answered 304) as a
    browser does for a `private, no-cache` resource. A view counts as done when its last answer is read."""

    def __init__(self, port: int, cookie: str) -> None:
        self.port, self.cookie = port, cookie
        self.etags: dict[str, bytes] = {}
        self.requests = 0

    async def view(
        self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, view: tuple[str, ...]
    ) -> list[int]:
        statuses = []
        for k, path in enumerate(view):
            cached = self.etags.get(path) if k > 0 else None
            condition = f"If-None-Match: {cached.decode()}\r\n" if cached else ""
            accept = "text/html,application/json" if k == 0 else "image/svg+xml,image/*;q=0.8"
            writer.write((f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1:{self.port}\r\nCookie: {self.cookie}\r\n"
                          f"Accept: {accept}\r\n{condition}\r\n").encode())  # fmt: skip
            await writer.drain()
            status, etag = await _read_response(reader)
            self.requests += 1
            if k > 0 and etag:
                self.etags[path] = etag
            statuses.append(status)
        return statuses


def _failed(statuses: list[int]) -> bool:
    return statuses[0] != 200 or any(s not in (200, 304) for s in statuses[1:])


async def _connection(browser: Browser, views: list[tuple[str, ...]], offset: int, stop_at: float,
                      latencies: list[float], errors: list[int]) -> None:  # fmt: skip
    reader, writer = await asyncio.open_connection("127.0.0.1", browser.port)
    i = offset
    try:
        while time.perf_counter() < stop_at:
            view = views[i % len(views)]
            i += 1
            started = time.perf_counter()
            statuses = await browser.view(reader, writer, view)
            latencies.append(time.perf_counter() - started)
            if _failed(statuses):
                errors.append(max(statuses))
    finally:
        writer.close()


async def _closed_loop(
    browser: Browser, views: list[tuple[str, ...]], connections: int, seconds: float
) -> tuple[int, int, int, float]:
    """Views done, requests made, failed views, seconds."""
    latencies: list[float] = []
    errors: list[int] = []
    before = browser.requests
    started = time.perf_counter()
    stop_at = started + seconds
    await asyncio.gather(
        *(_connection(browser, views, k, stop_at, latencies, errors) for k in range(connections))
    )
    return len(latencies), browser.requests - before, len(errors), time.perf_counter() - started


async def _open_loop(
    browser: Browser, views: list[tuple[str, ...]], rate: float, seconds: float, pool: int
) -> tuple[list[float], list[int]]:
    """Views started at a fixed rate whatever the answers do; each latency runs from its scheduled start to its
    last answer, so that a slow answer delays (and is charged to) the views queued behind it."""
    idle: asyncio.Queue[tuple[asyncio.StreamReader, asyncio.StreamWriter]] = asyncio.Queue()
    for _ in range(pool):
        idle.put_nowait(await asyncio.open_connection("127.0.0.1", browser.port))
    latencies: list[float] = []
    errors: list[int] = []

    async def one(view: tuple[str, ...], scheduled: float) -> None:
        reader, writer = await idle.get()
        statuses = await browser.view(reader, writer, view)
        latencies.append(time.perf_counter() - scheduled)
        if _failed(statuses):
            errors.append(max(statuses))
        idle.put_nowait((reader, writer))

    start = time.perf_counter() + 0.05
    tasks = []
    for i in range(int(rate * seconds)):
        scheduled = start + i / rate
        await asyncio.sleep(max(0.0, scheduled - time.perf_counter()))
        tasks.append(asyncio.create_task(one(views[i % len(views)], scheduled)))
    await asyncio.gather(*tasks)
    while not idle.empty():
        idle.get_nowait()[1].close()
    return latencies, errors


def measure(
    scenario: str, workers: int, browser: Browser, views: list[tuple[str, ...]], args: argparse.Namespace
) -> Run:
    asyncio.run(_closed_loop(browser, views, args.connections, min(2.0, args.duration)))  # warm-up
    done, requests, _, elapsed = asyncio.run(_closed_loop(browser, views, args.connections, args.duration))
    latencies, errors = asyncio.run(_open_loop(browser, views, args.rate, args.duration, pool=64))
    ms = np.asarray(latencies) * 1000
    return Run(scenario, workers, done / elapsed, requests / elapsed, len(latencies), len(errors),
               float(np.percentile(ms, 50)), float(np.percentile(ms, 99)))  # fmt: skip


def page_images(port: int, cookie: str, path: str) -> tuple[str, ...]:
    """The page and the images that it loads from the service itself (the network graph), as a browser would;
    blurred media previews are left out (they are not part of the goal)."""
    page = httpx.get(f"http://127.0.0.1:{port}{path}", headers={"Cookie": cookie}, timeout=120)
    page.raise_for_status()
    return (path, *dict.fromkeys(re.findall(r'<img[^>]* src="(/cases/[^"]+\.svg)"', page.text)))


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--posts", type=int, default=1_000_000)
    ap.add_argument("--seed", type=int, default=11)
    ap.add_argument("--duration", type=float, default=10.0, help="seconds per scenario")
    ap.add_argument("--connections", type=int, default=8, help="closed-loop connections (maximum rate)")
    ap.add_argument("--rate", type=float, default=GOAL_RPS, help="open-loop view rate for the latencies")
    ap.add_argument("--workers", type=int, nargs="+", default=[1, 2], help="server processes to try")
    ap.add_argument("--repeat", type=int, default=1, help="runs per scenario (the median is shown)")
    ap.add_argument("--analysis", help="an existing analysis directory (cases.json + corpus.duckdb)")
    ap.add_argument("--out", type=Path, default=Path("bench-out/serve"))
    ap.add_argument("--only", default="", help="run only the scenarios whose name contains this text")
    args = ap.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    analysis = analysis_dir(args)
    url, case_ids = prepare_state(analysis, (args.out / "state.db").resolve())
    top = case_ids[:20]
    runs: list[Run] = []
    for workers in args.workers:
        port = free_port()
        proc = start_server(url, analysis / "corpus.duckdb", port, workers, args.out / f"serve-{workers}.log")
        try:
            login = httpx.post(
                f"http://127.0.0.1:{port}/api/v1/session", json={"name": "bench", "password": PASSWORD}
            )
            login.raise_for_status()
            cookie = f"cordon_session={login.cookies['cordon_session']}"
            for c in top:  # first view of each case decodes its dossier and lays out its graph (per process)
                for _ in range(workers * 2):
                    httpx.get(f"http://127.0.0.1:{port}/cases/{c}", headers={"Cookie": cookie}, timeout=120)
            case_views = [page_images(port, cookie, f"/cases/{c}") for c in top]
            scenarios: dict[str, list[tuple[str, ...]]] = {
                "queue page (HTML)": [("/queue",)],
                "queue (JSON API)": [("/api/v1/queue",)],
                "case pages (HTML + graph image)": case_views,
                "cases (JSON API, 1000 ties)": [(f"/api/v1/cases/{c}",) for c in top],
                "mixed: queue + case pages": [("/queue",), *case_views],
            }
            for name, views in scenarios.items():
                if args.only not in name:
                    continue
                console.print(
                    f"{name}, {workers} worker(s), {args.connections} connections, {args.duration:.0f} s"
                )
                browser = Browser(port, cookie)  # its image cache starts empty, as a fresh browser's
                reps = [measure(name, workers, browser, views, args) for _ in range(args.repeat)]
                runs.append(
                    min(reps, key=lambda r: abs(r.p99_ms - statistics.median(x.p99_ms for x in reps)))
                )
        finally:
            stop_server(proc)
    meta = f"{len(case_ids)} cases from {analysis}"
    title = (f"review service ({meta}): maximum rate ({args.connections} connections, closed loop) and latency "
             f"at {args.rate:.0f} views/s (open loop); a view is a page and the images it loads from the service "
             f"(a case page's graph: If-None-Match, 304 when unchanged); goal >= {GOAL_RPS:.0f} views/s with "
             f"p99 < {GOAL_P99_MS:.0f} ms per view")  # fmt: skip
    table = Table(title=title)
    for col in ("scenario", "workers", "max views/s", "max req/s", f"views at {args.rate:.0f}/s", "errors",
                "p50 ms", "p99 ms", "goal met"):  # fmt: skip
        table.add_column(col, justify="left" if col == "scenario" else "right")
    for r in runs:
        met = r.max_views >= GOAL_RPS and r.p99_ms < GOAL_P99_MS and r.errors == 0
        table.add_row(r.scenario, str(r.workers), f"{r.max_views:,.0f}", f"{r.max_requests:,.0f}", f"{r.views:,}",
                      str(r.errors), f"{r.p50_ms:.1f}", f"{r.p99_ms:.1f}", "yes" if met else "no")  # fmt: skip
    console.print(table)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
