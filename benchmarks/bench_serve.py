"""`make bench-serve`: the review service's queue and case pages under load, on the embedded store (SQLite state,
the DuckDB corpus of an analysed 1M-post simulated world), with a loopback load generator.

Goal (issue 5): >= 200 requests/s with p99 < 100 ms for the queue and case pages. Printed, not asserted:
the maximum rate comes from a closed loop (N connections, each sending as soon as it is answered), the latencies
from an open loop at the goal's rate (requests sent on a fixed schedule; each latency counted from its scheduled
time, so queueing behind a slow answer is not hidden).

The world is simulated and analysed once and cached (an existing `make bench-detect` world of the same size and
seed is reused). The service runs as `cordon serve` in its own process(es); the load generator is this process:
N keep-alive HTTP/1.1 connections on asyncio streams, each sending the next request as soon as the last answer
is read (closed loop), logged in as a reviewer. Every scenario is run for --duration seconds after a warm-up.

Usage: .venv/bin/python benchmarks/bench_serve.py [--posts 1000000] [--duration 10] [--connections 16]
       [--workers 1 2] [--analysis DIR]
"""

from __future__ import annotations

import argparse
import asyncio
import os
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
    max_rps: float  # closed loop: as fast as the service answers
    requests: int  # open loop at the goal's rate
    errors: int
    p50_ms: float
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


async def _read_response(reader: asyncio.StreamReader) -> int:
    status = int((await reader.readline()).split(b" ", 2)[1])
    length, chunked = 0, False
    while (line := await reader.readline()) not in (b"\r\n", b""):
        name, _, value = line.partition(b":")
        if name.lower() == b"content-length":
            length = int(value)
        elif name.lower() == b"transfer-encoding" and b"chunked" in value.lower():
            chunked = True
    if chunked:
        while (size := int((await reader.readline()).strip(), 16)) > 0:
            await reader.readexactly(size + 2)
        await reader.readline()
    else:
        await reader.readexactly(length)
    return status


async def _connection(port: int, paths: list[str], cookie: str, offset: int, stop_at: float,
                      latencies: list[float], errors: list[int]) -> None:  # fmt: skip
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    i = offset
    try:
        while time.perf_counter() < stop_at:
            path = paths[i % len(paths)]
            i += 1
            request = (f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nCookie: {cookie}\r\n"
                       "Accept: text/html,application/json\r\n\r\n").encode()  # fmt: skip
            started = time.perf_counter()
            writer.write(request)
            await writer.drain()
            status = await _read_response(reader)
            latencies.append(time.perf_counter() - started)
            if status != 200:
                errors.append(status)
    finally:
        writer.close()


async def _closed_loop(
    port: int, paths: list[str], cookie: str, connections: int, seconds: float
) -> tuple[int, int, float]:
    latencies: list[float] = []
    errors: list[int] = []
    started = time.perf_counter()
    stop_at = started + seconds
    await asyncio.gather(
        *(_connection(port, paths, cookie, k, stop_at, latencies, errors) for k in range(connections))
    )
    return len(latencies), len(errors), time.perf_counter() - started


async def _open_loop(
    port: int, paths: list[str], cookie: str, rate: float, seconds: float, pool: int
) -> tuple[list[float], list[int]]:
    """Requests sent at a fixed rate whatever the answers do; each latency runs from its scheduled send time,
    so that a slow answer delays (and is charged to) the requests queued behind it."""
    idle: asyncio.Queue[tuple[asyncio.StreamReader, asyncio.StreamWriter]] = asyncio.Queue()
    for _ in range(pool):
        idle.put_nowait(await asyncio.open_connection("127.0.0.1", port))
    latencies: list[float] = []
    errors: list[int] = []

    async def one(path: str, scheduled: float) -> None:
        reader, writer = await idle.get()
        writer.write((f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nCookie: {cookie}\r\n"
                      "Accept: text/html,application/json\r\n\r\n").encode())  # fmt: skip
        await writer.drain()
        status = await _read_response(reader)
        latencies.append(time.perf_counter() - scheduled)
        if status != 200:
            errors.append(status)
        idle.put_nowait((reader, writer))

    start = time.perf_counter() + 0.05
    tasks = []
    for i in range(int(rate * seconds)):
        scheduled = start + i / rate
        await asyncio.sleep(max(0.0, scheduled - time.perf_counter()))
        tasks.append(asyncio.create_task(one(paths[i % len(paths)], scheduled)))
    await asyncio.gather(*tasks)
    while not idle.empty():
        idle.get_nowait()[1].close()
    return latencies, errors


def measure(
    scenario: str, workers: int, port: int, paths: list[str], cookie: str, args: argparse.Namespace
) -> Run:
    asyncio.run(_closed_loop(port, paths, cookie, args.connections, min(2.0, args.duration)))  # warm-up
    done, _, elapsed = asyncio.run(_closed_loop(port, paths, cookie, args.connections, args.duration))
    latencies, errors = asyncio.run(_open_loop(port, paths, cookie, args.rate, args.duration, pool=64))
    ms = np.asarray(latencies) * 1000
    return Run(scenario, workers, done / elapsed, len(latencies), len(errors), float(np.percentile(ms, 50)),
               float(np.percentile(ms, 99)))  # fmt: skip


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--posts", type=int, default=1_000_000)
    ap.add_argument("--seed", type=int, default=11)
    ap.add_argument("--duration", type=float, default=10.0, help="seconds per scenario")
    ap.add_argument("--connections", type=int, default=8, help="closed-loop connections (maximum rate)")
    ap.add_argument("--rate", type=float, default=GOAL_RPS, help="open-loop request rate for the latencies")
    ap.add_argument("--workers", type=int, nargs="+", default=[1, 2], help="server processes to try")
    ap.add_argument("--repeat", type=int, default=1, help="runs per scenario (the median is shown)")
    ap.add_argument("--analysis", help="an existing analysis directory (cases.json + corpus.duckdb)")
    ap.add_argument("--out", type=Path, default=Path("bench-out/serve"))
    args = ap.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    analysis = analysis_dir(args)
    url, case_ids = prepare_state(analysis, (args.out / "state.db").resolve())
    top = case_ids[:20]
    scenarios = {
        "queue page (HTML)": ["/queue"],
        "queue (JSON API)": ["/api/v1/queue"],
        "case pages (HTML)": [f"/cases/{c}" for c in top],
        "cases (JSON API, 1000 ties)": [f"/api/v1/cases/{c}" for c in top],
        "mixed: queue + case pages": ["/queue", *[f"/cases/{c}" for c in top]],
    }
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
            for name, paths in scenarios.items():
                console.print(
                    f"{name}, {workers} worker(s), {args.connections} connections, {args.duration:.0f} s"
                )
                reps = [measure(name, workers, port, paths, cookie, args) for _ in range(args.repeat)]
                runs.append(
                    min(reps, key=lambda r: abs(r.p99_ms - statistics.median(x.p99_ms for x in reps)))
                )
        finally:
            stop_server(proc)
    meta = f"{len(case_ids)} cases from {analysis}"
    title = (f"review service ({meta}): maximum rate ({args.connections} connections, closed loop) and latency "
             f"at {args.rate:.0f} req/s (open loop); goal >= {GOAL_RPS:.0f} req/s with p99 < {GOAL_P99_MS:.0f} ms")  # fmt: skip
    table = Table(title=title)
    for col in ("scenario", "workers", "max req/s", f"requests at {args.rate:.0f}/s", "errors", "p50 ms", "p99 ms",
                "goal met"):  # fmt: skip
        table.add_column(col, justify="left" if col == "scenario" else "right")
    for r in runs:
        met = r.max_rps >= GOAL_RPS and r.p99_ms < GOAL_P99_MS and r.errors == 0
        table.add_row(r.scenario, str(r.workers), f"{r.max_rps:,.0f}", f"{r.requests:,}", str(r.errors),
                      f"{r.p50_ms:.1f}", f"{r.p99_ms:.1f}", "yes" if met else "no")  # fmt: skip
    console.print(table)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
