"""`make bench-detect`: full `cordon analyze` of simulated worlds at 1M and 10M posts, then co-link beside
coordination-network-toolkit (benchmarks/bench_colink.py) in the same run.

Goals (issue 4): 1M posts in <= 60 s and 10M in <= 15 min on this 2-core machine, peak memory <= 8 GB; co-link
>= 20x faster than the toolkit on the same data and window with the same answer.

Each analysis runs in its own process (a fresh corpus file: ingest, media hashing, bank matching, entities,
co-action, detectors, cases, cases.json and report.html), so its peak RSS is its own. Worlds are simulated once
and cached under bench-out/worlds/. Figures are medians when --repeat > 1; nothing is asserted. Every run, with
all its steps, is printed and appended to OUT/results.jsonl.

Usage: .venv/bin/python benchmarks/bench_detect.py [--posts 1000000 10000000] [--repeat 1] [--skip-colink]
"""

from __future__ import annotations

import argparse
import json
import resource
import shutil
import statistics
import subprocess
import sys
import time
from dataclasses import asdict, dataclass
from pathlib import Path

from rich.console import Console
from rich.table import Table

HERE = Path(__file__).resolve().parent
CORDON = str(Path(sys.executable).with_name("cordon"))
GOALS_S = {1_000_000: 60.0, 10_000_000: 900.0}
GOAL_RSS_GB = 8.0


def simulate(posts: int, root: Path, seed: int) -> Path:
    path = root / f"seed{seed}-{posts}"
    if not (path / "truth.json").is_file():
        shutil.rmtree(path, ignore_errors=True)
        cmd = [CORDON, "simulate", str(path), "--seed", str(seed), "--posts", str(posts)]
        subprocess.run(cmd, check=True)
    return path


@dataclass(frozen=True, slots=True)
class Run:
    """One analysis, as the child process reports it."""

    elapsed_s: float
    peak_gb: float
    cases: int
    child_safety: int
    posts: int
    steps: dict[str, float]  # step name -> seconds, in the order they ran


def run_one(world: Path, out: Path) -> Run:
    """Analyse in a child process (this script with --role analyze); its JSON line on stdout is the result."""
    shutil.rmtree(out, ignore_errors=True)
    cmd = [sys.executable, __file__, "--role", "analyze", "--world", str(world), "--out", str(out)]
    done = subprocess.run(cmd, check=False, capture_output=True, text=True)
    if done.returncode != 0:  # the child's own error, not only its exit status
        sys.stderr.write(done.stderr[-20_000:])
        raise SystemExit(f"analysing {world} failed with exit status {done.returncode} (its stderr is above)")
    return Run(**json.loads(done.stdout.strip().splitlines()[-1]))


def child(world: Path, out: Path) -> None:
    from cordon.app.analyze import analyze  # noqa: PLC0415 - the child process imports cordon itself

    started = time.perf_counter()
    result = analyze(world, world / "bank.csv", out)
    elapsed = time.perf_counter() - started
    peak_kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    print(
        json.dumps(
            {
                "elapsed_s": elapsed,
                "peak_gb": peak_kb / 1024**2,
                "cases": len(result.dossiers),
                "child_safety": result.child_safety_cases,
                "posts": result.ingest.posts_read,
                "steps": dict(result.timings),
            }
        )
    )


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--posts", type=int, nargs="+", default=[1_000_000, 10_000_000])
    ap.add_argument("--repeat", type=int, default=1)
    ap.add_argument("--seed", type=int, default=11)
    ap.add_argument("--out", type=Path, default=Path("bench-out/detect"))
    ap.add_argument("--skip-colink", action="store_true")
    ap.add_argument("--role", choices=["analyze"], help=argparse.SUPPRESS)
    ap.add_argument("--world", type=Path, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.role == "analyze":
        child(args.world, args.out)
        return 0
    console = Console(width=200)
    table = Table(title="full analysis (cordon analyze, fresh corpus, one process)")
    for col in ("posts", "median s", "goal s", "peak RSS GB", "cases", "child-safety", "slowest steps"):
        table.add_column(col, justify="left" if col == "slowest steps" else "right")
    for posts in args.posts:
        console.print(f"simulating {posts:,} posts (cached after the first run)")
        world = simulate(posts, args.out / "worlds", args.seed)
        runs: list[Run] = []
        for i in range(args.repeat):
            console.print(f"analysing {posts:,} posts, run {i + 1}/{args.repeat}")
            runs.append(run_one(world, args.out / f"run-{posts}"))
        with (args.out / "results.jsonl").open("a") as log:  # every run, with all its steps, for the record
            for r in runs:
                log.write(
                    json.dumps({"world_posts": posts, "at": time.strftime("%Y-%m-%dT%H:%M:%S"), **asdict(r)})
                )
                log.write("\n")
        for i, r in enumerate(runs, 1):
            shown = ", ".join(f"{k} {v:.1f}" for k, v in r.steps.items() if v >= 0.5)
            console.print(f"run {i}: {r.elapsed_s:.1f} s; steps (s): {shown}")
        elapsed = statistics.median(r.elapsed_s for r in runs)
        last = runs[-1]
        slow = sorted(last.steps.items(), key=lambda kv: -kv[1])[:4]
        table.add_row(
            f"{posts:,}", f"{elapsed:.1f}", f"{GOALS_S.get(posts, float('nan')):.0f}",
            f"{max(r.peak_gb for r in runs):.2f} (goal {GOAL_RSS_GB:.0f})",
            str(last.cases), str(last.child_safety),
            ", ".join(f"{k} {v:.1f}s" for k, v in slow),
        )  # fmt: skip
        console.print(table)
    if not args.skip_colink:
        console.print("co-link beside coordination-network-toolkit (benchmarks/bench_colink.py)")
        sizes = [str(p) for p in args.posts]
        subprocess.run([sys.executable, str(HERE / "bench_colink.py"), "--sizes", *sizes], check=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
