"""`make eval`: detection quality on simulated worlds of several seeds, sizes and parameters.

For each world: `cordon simulate` (cached under bench-out/worlds/), `cordon analyze` on the embedded store,
then cases.json scored against truth.json (`cordon.app.evaluation`). Worlds marked "varied" are simulated
with `--vary`: network size, swarm size, share of hacked accounts, evader delay and flood intensity drawn per
seed, so the figures also cover worlds the detectors were not tuned on. Per-world figures are printed with
the goals of issue 4; nothing is asserted. Exit code 1 when any world misses a goal (so CI-style runs notice).

Usage: .venv/bin/python benchmarks/eval_quality.py [--worlds SEED:POSTS[:vary] ...] [--out bench-out/eval]
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import time
from pathlib import Path

from rich.console import Console
from rich.table import Table

from cordon.app.analyze import analyze
from cordon.app.evaluation import Goals, Scores, score
from cordon.app.reporting import read_cases_json
from cordon.sim.truth import read_truth

DEFAULT_WORLDS = ["1:20000", "2:20000", "3:50000:vary", "4:50000:vary", "5:100000:vary", "6:200000"]
CORDON = str(Path(sys.executable).with_name("cordon"))


def world(seed: int, posts: int, vary: bool, root: Path) -> Path:
    """The simulated world's directory, generated once per (seed, posts, vary)."""
    path = root / f"seed{seed}-{posts}{'-vary' if vary else ''}"
    if not (path / "truth.json").is_file():
        shutil.rmtree(path, ignore_errors=True)
        cmd = [CORDON, "simulate", str(path), "--seed", str(seed), "--posts", str(posts)]
        subprocess.run([*cmd, "--vary"] if vary else cmd, check=True, stdout=subprocess.DEVNULL)
    return path


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--worlds", nargs="+", default=DEFAULT_WORLDS, help="SEED:POSTS or SEED:POSTS:vary")
    ap.add_argument("--out", type=Path, default=Path("bench-out/eval"))
    args = ap.parse_args()
    console = Console(width=240)
    goals = Goals()
    rows: list[tuple[str, Scores, float]] = []
    for spec in args.worlds:
        seed_s, posts_s, *rest = spec.split(":")
        seed, posts, vary = int(seed_s), int(posts_s), rest == ["vary"]
        name = f"seed {seed}, {posts:,} posts{', varied' if vary else ''}"
        with console.status(f"simulating {name}"):
            path = world(seed, posts, vary, args.out / "worlds")
        out = args.out / path.name
        shutil.rmtree(out, ignore_errors=True)
        started = time.perf_counter()
        with console.status(f"analysing {name}"):
            analyze(path, path / "bank.csv", out)
        elapsed = time.perf_counter() - started
        rows.append(
            (name, score(read_truth(path / "truth.json"), read_cases_json(out / "cases.json")), elapsed)
        )
    table = Table(title="detection quality per world (goals: recall and precision >= 0.95, no decoy, "
                  "evasions >= 0.90, all flooded tags and no burst tag, novel media >= 0.80)")  # fmt: skip
    for col in ("world", "net", "recall", "precision", "decoys in CS", "evasions linked", "flooded found",
                "innocent found", "burst tags", "novel queued", "CS cases", "s", "missed goals"):  # fmt: skip
        table.add_column(col, justify="left" if col in ("world", "missed goals") else "right")
    missed_any = False
    for name, s, elapsed in rows:
        missed = s.failures(goals)
        missed_any |= bool(missed)
        table.add_row(
            name, str(s.network_accounts), f"{s.network_recall:.3f}", f"{s.network_precision:.3f}",
            str(sum(s.decoys_flagged.values())), f"{s.evasion_linked:.3f} of {s.evasions}",
            f"{s.flooded_found:.2f} of {s.flooded_tags}", f"{s.innocent_found:.2f} of {s.innocent_tags}",
            str(s.burst_tags_flagged), f"{s.novel_queued:.2f} of {s.novel_media}",
            f"{s.child_safety_cases}/{s.cases}", f"{elapsed:.1f}", "; ".join(missed) or "none",
        )  # fmt: skip
    console.print(table)
    return 1 if missed_any else 0


if __name__ == "__main__":
    raise SystemExit(main())
