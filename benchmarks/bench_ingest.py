"""Benchmark: statuses/s ingesting a Mastodon export into DuckDB, and peak memory (goal: >= 50,000/s, one core).

    python benchmarks/bench_ingest.py                  # 100k and 1M statuses, median of 3 runs each
    python benchmarks/bench_ingest.py --sizes 100000 --runs 1 --profile

Exports are generated once and cached under bench-out/ (with `cordon simulate` when it is available, else with
the Mastodon connector's export writer). Every run ingests into a fresh DuckDB file in a child process pinned
to one CPU, so that its peak RSS (ru_maxrss) is its own. Statuses/s are given by wall clock and by the
child's CPU time (on a shared machine the wall clock also counts other processes' turns on the CPU); DuckDB's
memory by tag is read from duckdb_memory() when ingest ends, before the closing checkpoint.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import statistics
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import cast

from cordon.connectors.mastodon.writer import MastodonExportWriter
from cordon.model import Account, Edge, EdgeKind, MediaKind, MediaRef, Platform, Post

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "bench-out"
CHILD = """
import json, os, resource, sys, time
from pathlib import Path
os.sched_setaffinity(0, {min(os.sched_getaffinity(0))})
from cordon.app.ingest import MediaMode, ingest
from cordon.corpus import DuckDBCorpus
export, db, media, profile = Path(sys.argv[1]), Path(sys.argv[2]), MediaMode(sys.argv[3]), sys.argv[4]
store = DuckDBCorpus(db, threads=1, memory_limit=os.environ.get("BENCH_DUCKDB_MEMORY", "1GB"))
page_mb = os.sysconf("SC_PAGE_SIZE") / 2**20
trace = []  # (statuses read, resident MB) after each batch
def on_batch(p):
    with open("/proc/self/statm") as f:
        trace.append((p.posts_read, int(f.read().split()[1]) * page_mb))
def run():
    return ingest(export, store, media=media, batch_size=10_000, on_batch=on_batch)
cpu = time.process_time()
if profile:
    import cProfile, pstats
    prof = cProfile.Profile()
    report = prof.runcall(run)
    pstats.Stats(prof, stream=sys.stderr).sort_stats("cumulative").print_stats(40)
    pstats.Stats(prof, stream=sys.stderr).sort_stats("tottime").print_stats(30)
else:
    report = run()
cpu = time.process_time() - cpu
duck = dict(store.connection.execute(
    "SELECT tag, memory_usage_bytes / 2**20 FROM duckdb_memory() WHERE memory_usage_bytes > 0").fetchall())
closing = time.perf_counter()
store.close()  # DuckDB's last checkpoint: not in the statuses/s figure, reported beside it
close_s = time.perf_counter() - closing
peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
print(json.dumps({"posts": report.posts_read, "elapsed": report.elapsed_s, "peak_mb": peak_mb,
                  "quarantined": report.quarantined, "close_s": close_s, "cpu_s": cpu,
                  "art_mb": duck.get("ART_INDEX", 0.0), "duckdb_mb": sum(duck.values()),
                  "trace": trace[:: max(1, len(trace) // 400)] + trace[-1:]}))
"""


def _writer_export(target: Path, statuses: int, seed: int = 7) -> None:
    """A benign synthetic export: accounts, posts with tags, mentions, replies, reblogs, media refs, follows."""
    rng = random.Random(seed)
    n_accounts = max(100, statuses // 20)
    start = datetime(2024, 1, 1, tzinfo=UTC)
    accounts = [
        Account(
            platform=Platform.MASTODON,
            id=str(10_000_000 + i),
            handle=f"user{i}",
            acct=f"user{i}@sim.example",
            display_name=f"User {i}",
            bio=f"I like tagx{i % 50} and gardening",
            created_at=start - timedelta(days=rng.randint(1, 900)),
            avatar_url=f"https://sim.example/system/avatars/{i}.png",
            followers_count=rng.randint(0, 500),
            following_count=rng.randint(0, 500),
            statuses_count=rng.randint(0, 5000),
        )
        for i in range(n_accounts)
    ]

    def posts() -> Iterator[Post]:
        original = ""
        for n in range(statuses):
            author = accounts[int(rng.paretovariate(1.2)) % n_accounts].id
            post_id = str(100_000_000_000 + n)
            created = start + timedelta(seconds=n * 3)
            if original and rng.random() < 0.1:
                yield Post(Platform.MASTODON, post_id, author, created, reblog_of_post_id=original)
                continue
            original = post_id
            tags = tuple(f"tagx{int(rng.paretovariate(1.0)) % 500}" for _ in range(rng.randint(0, 3)))
            mentioned = tuple(accounts[rng.randrange(n_accounts)].id for _ in range(rng.random() < 0.3))
            media = (
                (
                    MediaRef(
                        Platform.MASTODON,
                        f"m{n}",
                        MediaKind.IMAGE,
                        url=f"https://sim.example/system/media/{n}.png",
                    ),
                )
                if rng.random() < 0.2
                else ()
            )
            reply = str(100_000_000_000 + n - 1) if n and rng.random() < 0.25 else None
            yield Post(
                Platform.MASTODON,
                post_id,
                author,
                created,
                text=f"status {n} about {' '.join('#' + t for t in tags)} see https://link{n % 97}.example/p",
                lang="en",
                hashtags=tags,
                mention_account_ids=mentioned,
                urls=(f"https://link{n % 97}.example/p",),
                reply_to_post_id=reply,
                reply_to_account_id=author if reply else None,
                media=media,
            )

    with MastodonExportWriter(target) as writer:
        writer.write_accounts(accounts)
        writer.write_posts(posts())
        writer.write_follows(
            Edge(Platform.MASTODON, EdgeKind.FOLLOW, accounts[rng.randrange(n_accounts)].id, a.id)
            for a in accounts
            for _ in range(3)
        )


def _simulate_available() -> bool:
    probe = subprocess.run(
        [sys.executable, "-m", "cordon.cli.main", "simulate", "--help"], check=False, capture_output=True
    )
    return probe.returncode == 0 and b"scale" in probe.stdout


def _count_lines(path: Path) -> int:
    with path.open("rb") as f:
        return sum(chunk.count(b"\n") for chunk in iter(lambda: f.read(1 << 20), b""))


def _simulate(target: Path, scale: float) -> None:
    cmd = [sys.executable, "-c", "from cordon.cli.main import main; main()", "simulate", str(target)]
    subprocess.run([*cmd, "--seed", "7", "--scale", f"{scale:g}"], check=True)


def export_for(statuses: int, generator: str) -> Path:
    """The cached export with about `statuses` statuses (generated the first time)."""
    target = OUT / f"export-{generator}-{statuses}"
    if (target / ".complete").exists():
        return target
    shutil.rmtree(target, ignore_errors=True)
    started = time.perf_counter()
    if generator == "simulate":
        probe = OUT / "simulate-probe"
        shutil.rmtree(probe, ignore_errors=True)
        _simulate(probe, 0.01)
        per_unit = _count_lines(probe / "statuses.jsonl") / 0.01
        shutil.rmtree(probe)
        _simulate(target, statuses / per_unit)
    else:
        _writer_export(target, statuses)
    (target / ".complete").write_text(f"{_count_lines(target / 'statuses.jsonl')}\n")
    print(f"generated {target} with {generator} in {time.perf_counter() - started:.0f} s", file=sys.stderr)
    return target


def run_once(export: Path, media: str, profile: bool, duckdb_memory: str) -> dict[str, float]:
    db = OUT / "bench.duckdb"
    db.unlink(missing_ok=True)
    shutil.rmtree(OUT / "blobs", ignore_errors=True)
    env = {**os.environ, "PYTHONPATH": str(ROOT / "src"), "BENCH_DUCKDB_MEMORY": duckdb_memory}
    done = subprocess.run(
        [sys.executable, "-c", CHILD, str(export), str(db), media, "1" if profile else ""],
        capture_output=True,
        text=True,
        env=env,
        check=False,
    )
    if done.returncode != 0:
        sys.exit(f"ingest failed:\n{done.stderr[-4000:]}")
    if profile:
        print(done.stderr, file=sys.stderr)
    result: dict[str, float] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--sizes", default="100000,1000000,2000000", help="statuses per export, comma-separated"
    )
    parser.add_argument("--runs", type=int, default=3, help="runs per size (the median is reported)")
    parser.add_argument("--media", default="skip", choices=["skip", "reference", "keep"])
    parser.add_argument("--generator", default="auto", choices=["auto", "simulate", "writer"])
    parser.add_argument("--profile", action="store_true", help="cProfile one run per size (slower)")
    parser.add_argument(
        "--duckdb-memory",
        default=os.environ.get("BENCH_DUCKDB_MEMORY", "1GB"),
        help="DuckDB's memory_limit in the child (docs/corpus.md gives figures for 1GB and 256MB)",
    )
    args = parser.parse_args()
    OUT.mkdir(exist_ok=True)
    generator = args.generator
    if generator == "auto":
        generator = "simulate" if _simulate_available() else "writer"
    print(
        f"cordon ingest benchmark: generator={generator}, media={args.media}, one CPU, DuckDB threads=1, "
        f"memory_limit={args.duckdb_memory}"
    )
    print(
        f"{'statuses':>10} {'runs':>5} {'median s':>9} {'statuses/s':>11} {'/CPU s':>8} {'peak RSS MB':>12} "
        f"{'ART MB':>7} {'DuckDB MB':>10} {'close s':>8}"
    )
    traces: dict[int, list[tuple[float, float]]] = {}
    for size in (int(s) for s in args.sizes.split(",")):
        export = export_for(size, generator)
        results = [
            run_once(export, args.media, args.profile and i == 0, args.duckdb_memory)
            for i in range(args.runs)
        ]
        elapsed = statistics.median(r["elapsed"] for r in results)
        posts = results[0]["posts"]
        peak = max(r["peak_mb"] for r in results)
        close = statistics.median(r["close_s"] for r in results)
        cpu = statistics.median(r["cpu_s"] for r in results)
        art = max(r["art_mb"] for r in results)
        duck = max(r["duckdb_mb"] for r in results)
        print(
            f"{posts:>10,.0f} {len(results):>5} {elapsed:>9.2f} {posts / elapsed:>11,.0f} {posts / cpu:>8,.0f} "
            f"{peak:>12,.0f} {art:>7,.1f} {duck:>10,.1f} {close:>8.2f}"
        )
        traces[size] = [(float(a), float(b)) for a, b in cast(list[list[float]], results[-1]["trace"])]
    print("goal: >= 50,000 statuses/s on one core; peak RSS should not grow with the input size")
    print("resident memory during ingest (last run of each size), MB at each quarter of the input:")
    for size, trace in traces.items():
        print(
            f"{size:>10,}  " + "  ".join(f"{q}%: {_rss_at(trace, q / 100):,.0f}" for q in (25, 50, 75, 100))
        )
    plot = OUT / "ingest-memory.html"
    plot.write_text(_memory_plot(traces, args.duckdb_memory))
    print(f"plot: {plot}")


def _rss_at(trace: list[tuple[float, float]], share: float) -> float:
    """The largest resident size seen up to `share` of the statuses read."""
    last = trace[-1][0] * share
    return max(rss for posts, rss in trace if posts <= last) if trace else 0.0


def _memory_plot(traces: dict[int, list[tuple[float, float]]], limit: str) -> str:
    """A self-contained HTML page: resident MB against statuses read, one line per export size."""
    width, height, pad = 720, 360, 50
    max_x = max((t[-1][0] for t in traces.values() if t), default=1.0) or 1.0
    max_y = max((rss for t in traces.values() for _, rss in t), default=1.0) * 1.1
    colours = ["#1b6ca8", "#d1495b", "#2e933c", "#edae49", "#6a4c93"]
    lines = []
    for n, (size, trace) in enumerate(traces.items()):
        points = " ".join(
            f"{pad + x / max_x * (width - 2 * pad):.1f},{height - pad - y / max_y * (height - 2 * pad):.1f}"
            for x, y in trace
        )
        colour = colours[n % len(colours)]
        lines.append(f'<polyline fill="none" stroke="{colour}" stroke-width="2" points="{points}"/>')
        lines.append(
            f'<text x="{width - pad + 4}" y="{pad + 16 * n}" fill="{colour}" font-size="12">{size:,}</text>'
        )
    ticks = "".join(
        f'<text x="{pad - 6}" y="{height - pad - f * (height - 2 * pad) + 4:.0f}" font-size="11" '
        f'text-anchor="end">{max_y * f:,.0f}</text>'
        for f in (0, 0.25, 0.5, 0.75, 1)
    ) + "".join(
        f'<text x="{pad + f * (width - 2 * pad):.0f}" y="{height - pad + 16}" font-size="11" '
        f'text-anchor="middle">{max_x * f:,.0f}</text>'
        for f in (0, 0.25, 0.5, 0.75, 1)
    )
    axes = (
        f'<line x1="{pad}" y1="{height - pad}" x2="{width - pad}" y2="{height - pad}" stroke="#333"/>'
        f'<line x1="{pad}" y1="{pad}" x2="{pad}" y2="{height - pad}" stroke="#333"/>'
    )
    return (
        "<!doctype html><meta charset='utf-8'><title>cordon ingest memory</title>"
        f"<h1>Resident memory during ingest (DuckDB memory_limit {limit})</h1>"
        "<p>x: statuses read; y: resident MB after each batch; one line per export size.</p>"
        f'<svg width="{width + 80}" height="{height}" font-family="sans-serif">{axes}{ticks}{"".join(lines)}</svg>'
    )


if __name__ == "__main__":
    main()
