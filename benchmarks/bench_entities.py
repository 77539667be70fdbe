"""Benchmark: entity extraction throughput (texts/s) on synthetic posts, median of several runs.

    python benchmarks/bench_entities.py                       # 1M posts, batches of 50k, median of 3 runs
    python benchmarks/bench_entities.py --posts 200000 --runs 1

The posts are a benign synthetic mix: mostly plain sentences, some with links (with tracking parameters),
Telegram/Discord invites, valid wallet addresses, prices, phone numbers, e-mail addresses and hashtags
(some spelt with look-alike letters). Printed side by side with a baseline that runs the same candidate
regexes over every row one by one (no RE2 row trigger, no validation): the cost a naive per-row loop pays
just to find candidates. Nothing is asserted.
"""

from __future__ import annotations

import argparse
import hashlib
import random
import statistics
import time

import pyarrow as pa
from rich.console import Console
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from cordon.signals.entities import clear_caches, extract_entities
from cordon.signals.entities.patterns import GROUPS

B58 = "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz"
WORDS = (  # noqa: SIM905 - a word list reads better as prose
    "the a of and to in is it that for on with as was at by this be from or have an they which you one "
    "had not but what all were when we there can are your more if will about out many then them these so "
    "some her would make like him into time has look two write go see number way could people than first "
    "water"
).split()


def _base58check(version: int, payload: bytes) -> str:
    body = bytes([version]) + payload
    raw = body + hashlib.sha256(hashlib.sha256(body).digest()).digest()[:4]
    num, out = int.from_bytes(raw, "big"), ""
    while num:
        num, rem = divmod(num, 58)
        out = B58[rem] + out
    return "1" * (len(raw) - len(raw.lstrip(b"\0"))) + out


def make_posts(n: int, seed: int = 1) -> list[str]:
    """n synthetic posts; about 30% carry at least one entity."""
    rng = random.Random(seed)
    wallets = [_base58check(rng.choice([0, 5, 0x30]), rng.randbytes(20)) for _ in range(500)]
    wallets += ["0x" + rng.randbytes(20).hex() for _ in range(200)]
    hosts = [f"site{i}.example.{rng.choice(['com', 'org', 'co.uk', 'net'])}" for i in range(2000)]
    posts = []
    for i in range(n):
        words = " ".join(rng.choices(WORDS, k=rng.randint(6, 24))).capitalize() + "."
        r = rng.random()
        if r < 0.10:
            words += f" https://{rng.choice(hosts)}/p/{i % 9973}?utm_source=x&id={i % 97}"
        elif r < 0.14:
            words += f" join t.me/+inv{i % 5003}" if i % 2 else f" discord.gg/c{i % 4001}"
        elif r < 0.17:
            words += f" pay {rng.choice(wallets)}"
        elif r < 0.20:
            words += f" only ${rng.randint(5, 500)} or {rng.randint(1, 9)}0 EUR, mail u{i % 311}@example.org"
        elif r < 0.22:
            words += f" call +44 20 {rng.randint(1000, 9999)} {rng.randint(1000, 9999)}"
        elif r < 0.30:
            words += f" #{rng.choice(WORDS)}{i % 50} #t\u0430g{i % 7}"
        posts.append(words)
    return posts


def baseline_per_row(texts: list[str]) -> int:
    """Candidates only, per row, every row: what a plain loop costs before any validation."""
    patterns = [g.candidates for g in GROUPS]
    return sum(1 for t in texts for p in patterns for _ in p.finditer(t))


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--posts", type=int, default=1_000_000)
    parser.add_argument("--batch", type=int, default=50_000)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    console = Console()
    with console.status(f"generating {args.posts:,} synthetic posts"):
        posts = make_posts(args.posts)
        batches = [pa.array(posts[i : i + args.batch], pa.string()) for i in range(0, len(posts), args.batch)]
        lists = [posts[i : i + args.batch] for i in range(0, len(posts), args.batch)]

    ours: list[float] = []
    base: list[float] = []
    kinds: dict[str, int] = {}
    with Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        TextColumn("{task.completed}/{task.total}"),
        TimeElapsedColumn(),
    ) as progress:
        task = progress.add_task("runs", total=args.runs * 2 * len(batches))
        for _ in range(args.runs):
            kinds = {}
            clear_caches()  # every run starts cold; repeats inside the run (hot tags, shared links) still hit
            t0 = time.perf_counter()
            for batch in batches:
                cols = extract_entities(batch)
                for k in cols.kind.to_pylist():
                    kinds[k] = kinds.get(k, 0) + 1
                progress.advance(task)
            ours.append(time.perf_counter() - t0)
            t0 = time.perf_counter()
            for chunk in lists:
                baseline_per_row(chunk)
                progress.advance(task)
            base.append(time.perf_counter() - t0)

    table = Table(
        title=f"entity extraction, {args.posts:,} posts, batches of {args.batch:,} (median of {args.runs})"
    )
    table.add_column("method")
    table.add_column("seconds", justify="right")
    table.add_column("texts/s", justify="right")
    for name, times in [
        ("cordon extract_entities (RE2 triggers + batch passes + validation)", ours),
        ("baseline: same regexes per row, every row, no validation", base),
    ]:
        med = statistics.median(times)
        table.add_row(name, f"{med:.2f}", f"{args.posts / med:,.0f}")
    console.print(table)
    console.print(
        f"speed-up vs baseline: {statistics.median(base) / statistics.median(ours):.2f}x; entities per kind: "
        + ", ".join(f"{k}={v:,}" for k, v in sorted(kinds.items()))
    )


if __name__ == "__main__":
    main()
