"""Co-link at 1M and 10M posts: cordon's co-action engine beside coordination-network-toolkit, same data.

Synthetic posts (NumPy, written to Parquet through DuckDB): accounts post at uniform times over 30 days; 40% of
posts carry one or two links drawn Zipf-distributed from a pool (a few very hot links, a long tail); the rest
are link-less. On top, coordinated groups of 10 accounts each post a fresh link within 30 s, 20 times.

Each tool runs in its own process (so peak RSS is its own) on the same Parquet file and window:
- cordon: Parquet -> DuckDB `posts`, action table (kind url), toolkit-compatible directed co-link edges
  (accounts dictionary-encoded, as `coaction.toolkit_edges` returns them; written to Parquet for the check);
  then, separately timed, cordon's own IDF-weighted pairs (hot links capped);
- toolkit: its `preprocess_data` loader (each post's real URL list, so no '' URL: see tests/integration/
  test_qut_oracle.py) into SQLite, then `compute_co_link_network` with 2 workers; killed after a time cap.
The answer is checked: the toolkit's edges without self-loops must equal cordon's edge for edge (weights too).
Figures are medians when `--repeat` > 1. Nothing is asserted: figures are printed side by side.

Usage: .venv/bin/python benchmarks/bench_colink.py [--sizes 1000000 10000000] [--window 60]
       [--toolkit-max 10000000] [--toolkit-cap-min 40]

The toolkit takes 7-15 minutes at 10M posts here: `--toolkit-max 1000000` leaves it out there.
"""

from __future__ import annotations

import argparse
import json
import resource
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import duckdb
import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
from rich.console import Console
from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn
from rich.table import Table

T0_US = 1_714_521_600_000_000  # 2024-05-01 UTC
DAYS = 30


def generate(n_posts: int, path: Path, seed: int = 1) -> None:
    """Write `n_posts` synthetic posts to Parquet: Zipf links, link-less posts and coordinated groups."""
    rng = np.random.default_rng(seed)
    n_accounts = max(n_posts // 10, 100)
    groups, group_size, bursts = 200, 10, 20
    n_coord = groups * group_size * bursts
    n_bg = n_posts - n_coord
    account = rng.integers(0, n_accounts, n_bg)
    ts = rng.integers(0, DAYS * 86_400, n_bg)
    pool = max(n_posts // 5, 1000)
    has_link = rng.random(n_bg) < 0.4
    link1 = np.where(has_link, (rng.zipf(1.3, n_bg) - 1) % pool, -1)
    link2 = np.where(has_link & (rng.random(n_bg) < 0.25), (rng.zipf(1.3, n_bg) - 1) % pool, -1)
    g = np.repeat(np.arange(groups), group_size * bursts)
    member = np.tile(np.repeat(np.arange(group_size), bursts), groups)
    burst = np.tile(np.arange(bursts), groups * group_size)
    c_account = n_accounts + g * group_size + member
    c_ts = (g * 7_919 + burst * 86_400 // 2) % (DAYS * 86_400) + rng.integers(0, 30, n_coord)
    c_link = pool + g * bursts + burst
    table = pa.table(
        {
            "account": np.concatenate([account, c_account]),
            "ts": np.concatenate([ts, c_ts]),
            "link1": np.concatenate([link1, c_link]),
            "link2": np.concatenate([link2, np.full(n_coord, -1)]),
        }
    )
    with duckdb.connect() as con:
        con.register("gen", table)
        con.execute(
            f"""COPY (
            SELECT 'mastodon' AS platform, 'p' || row_number() OVER () AS id, 'a' || account AS account_id,
                   make_timestamptz({T0_US}::BIGINT + ts * 1000000) AS created_at, '' AS text,
                   list_filter(['https://l' || link1 || '.example/p', 'https://l' || link2 || '.example/p'],
                               lambda u: u NOT LIKE '%l-1.%') AS urls,
                   '' AS card_url, NULL::VARCHAR AS reply_to_post_id, NULL::VARCHAR AS reblog_of_post_id,
                   []::VARCHAR[] AS hashtags, []::VARCHAR[] AS media_ids
            FROM gen) TO '{path}' (FORMAT parquet)"""
        )


def _peak_rss_mb() -> float:
    own = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    kids = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    return max(own, kids) / 1024


def run_cordon(data: Path, out: Path, window: int) -> dict[str, float]:
    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))
    from cordon.detectors import actions, coaction  # noqa: PLC0415 - the child process imports cordon
    from cordon.detectors.base import configure_duckdb  # noqa: PLC0415

    con = duckdb.connect()
    configure_duckdb(con, "4GB", 2)
    t = time.perf_counter()
    con.execute(f"CREATE TABLE posts AS SELECT * FROM read_parquet('{data}')")
    load = time.perf_counter() - t
    t = time.perf_counter()
    actions.build_actions(con, actions.ActionConfig(kinds=(actions.URL,)))
    edges = coaction.toolkit_edges(con, actions.URL, window)
    compat = time.perf_counter() - t
    pq.write_table(edges, out)
    t = time.perf_counter()
    n_pairs = coaction.coaction_pairs(con, coaction.CoactionConfig(window_s=window, kinds=(actions.URL,)))
    idf = time.perf_counter() - t
    return {"load_s": load, "colink_s": compat, "idf_pairs_s": idf, "edges": edges.num_rows,
            "idf_pairs": n_pairs, "rss_mb": _peak_rss_mb()}  # fmt: skip


def run_toolkit(data: Path, db: Path, window: int) -> dict[str, float]:
    from coordination_network_toolkit import compute_networks, preprocess  # noqa: PLC0415

    t = time.perf_counter()
    pf = pq.ParquetFile(data)

    def rows():  # type: ignore[no-untyped-def]
        for batch in pf.iter_batches(batch_size=100_000, columns=["id", "account_id", "created_at", "urls"]):
            ids, accs = batch.column(0).to_pylist(), batch.column(1).to_pylist()
            secs = (
                batch.column(2).cast(pa.timestamp("us", tz="UTC")).cast(pa.int64()).to_numpy() / 1e6
            ).tolist()
            for mid, uid, ts, urls in zip(ids, accs, secs, batch.column(3).to_pylist(), strict=True):
                yield (mid, uid, uid, None, None, "", ts, urls)

    preprocess.preprocess_data(str(db), rows())
    load = time.perf_counter() - t
    t = time.perf_counter()
    compute_networks.compute_co_link_network(str(db), window, n_threads=2, min_edge_weight=1)
    return {"load_s": load, "colink_s": time.perf_counter() - t, "rss_mb": _peak_rss_mb()}


def _child(role: str, data: Path, out: Path, window: int, cap_s: float | None) -> dict[str, float] | None:
    cmd = [
        sys.executable,
        __file__,
        "--role",
        role,
        "--data",
        str(data),
        "--out",
        str(out),
        "--window",
        str(window),
    ]
    try:
        done = subprocess.run(cmd, capture_output=True, text=True, timeout=cap_s, check=True)
    except subprocess.TimeoutExpired:
        return None
    result: dict[str, float] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def _same_edges(cordon_edges: Path, toolkit_db: Path) -> tuple[bool, int, int]:
    """Compare the two edge sets in DuckDB; the toolkit's SQLite rows are streamed in in batches (89M edges
    at 10M posts: a Python list of them took 23 GB and the machine killed this benchmark)."""
    con = duckdb.connect()
    con.execute(f"CREATE TABLE c AS SELECT * FROM read_parquet('{cordon_edges}')")
    con.execute("CREATE TABLE tk (user_1 VARCHAR, user_2 VARCHAR, weight BIGINT)")
    n_t = 0
    with sqlite3.connect(toolkit_db) as lite:
        cur = lite.execute("SELECT user_1, user_2, weight FROM co_link_network WHERE user_1 != user_2")
        while rows := cur.fetchmany(1_000_000):
            n_t += len(rows)
            batch = pa.table({k: [r[i] for r in rows] for i, k in enumerate(("user_1", "user_2", "weight"))})
            con.register("tk_batch", batch)
            con.execute("INSERT INTO tk SELECT * FROM tk_batch")
            con.unregister("tk_batch")
    diff = con.execute(
        "SELECT (SELECT count(*) FROM (SELECT * FROM c EXCEPT SELECT * FROM tk)) "
        "+ (SELECT count(*) FROM (SELECT * FROM tk EXCEPT SELECT * FROM c))"
    ).fetchall()[0][0]
    n_c = con.execute("SELECT count(*) FROM c").fetchall()[0][0]
    return diff == 0, int(n_c), n_t


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", type=int, nargs="+", default=[1_000_000, 10_000_000])
    ap.add_argument("--window", type=int, default=60)
    ap.add_argument("--toolkit-max", type=int, default=10_000_000, help="run the toolkit up to this size")
    ap.add_argument("--toolkit-cap-min", type=float, default=40.0)
    ap.add_argument("--repeat", type=int, default=1)
    ap.add_argument("--role", choices=["cordon", "toolkit"], help=argparse.SUPPRESS)
    ap.add_argument("--data", type=Path, help=argparse.SUPPRESS)
    ap.add_argument("--out", type=Path, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.role == "cordon":
        print(json.dumps(run_cordon(args.data, args.out, args.window)))
        return
    if args.role == "toolkit":
        print(json.dumps(run_toolkit(args.data, args.out, args.window)))
        return

    console = Console(width=150)
    table = Table(title=f"co-link, window {args.window} s (2 threads each; medians of {args.repeat})")
    for col in ("posts", "tool", "load s", "co-link s", "total s", "peak RSS MB", "edges", "same answer"):
        table.add_column(col, justify="right")
    with (
        tempfile.TemporaryDirectory() as tmp,
        Progress(
            SpinnerColumn(), TextColumn("{task.description}"), TimeElapsedColumn(), console=console
        ) as progress,
    ):
        for n in args.sizes:
            data = Path(tmp) / f"posts_{n}.parquet"
            task = progress.add_task(f"{n:,} posts: generating", total=None)
            generate(n, data)
            runs: dict[str, list[dict[str, float]]] = {"cordon": [], "toolkit": []}
            for i in range(args.repeat):
                progress.update(task, description=f"{n:,} posts: cordon (run {i + 1})")
                got = _child("cordon", data, Path(tmp) / f"cordon_{n}.parquet", args.window, None)
                assert got is not None
                runs["cordon"].append(got)
                console.print(f"{n:,} posts, cordon run {i + 1}: {json.dumps(got)}")
            tk_done = False
            if n <= args.toolkit_max:
                for i in range(args.repeat):
                    progress.update(task, description=f"{n:,} posts: toolkit (run {i + 1})")
                    db = Path(tmp) / f"toolkit_{n}_{i}.db"
                    got = _child("toolkit", data, db, args.window, args.toolkit_cap_min * 60)
                    if got is None:
                        break
                    runs["toolkit"].append(got)
                    console.print(f"{n:,} posts, toolkit run {i + 1}: {json.dumps(got)}")
                    tk_done = True
            same = "-"
            if tk_done:
                ok, n_c, n_t = _same_edges(Path(tmp) / f"cordon_{n}.parquet", Path(tmp) / f"toolkit_{n}_0.db")
                same = f"{'yes' if ok else 'NO'} ({n_c:,} vs {n_t:,})"
            med = {t: {k: statistics.median(r[k] for r in rs) for k in rs[0]} for t, rs in runs.items() if rs}
            c = med["cordon"]
            table.add_row(f"{n:,}", "cordon", f"{c['load_s']:.1f}", f"{c['colink_s']:.1f}",
                          f"{c['load_s'] + c['colink_s']:.1f}", f"{c['rss_mb']:.0f}", f"{int(c['edges']):,}", same)  # fmt: skip
            table.add_row(
                "", "cordon IDF pairs", "", f"{c['idf_pairs_s']:.1f}", "", "", f"{int(c['idf_pairs']):,}", ""
            )
            if "toolkit" in med:
                k = med["toolkit"]
                table.add_row("", "toolkit", f"{k['load_s']:.1f}", f"{k['colink_s']:.1f}",
                              f"{k['load_s'] + k['colink_s']:.1f}", f"{k['rss_mb']:.0f}", "", same)  # fmt: skip
                ratio = (k["load_s"] + k["colink_s"]) / (c["load_s"] + c["colink_s"])
                table.add_row("", "ratio toolkit/cordon", f"{k['load_s'] / c['load_s']:.0f}x",
                              f"{k['colink_s'] / c['colink_s']:.0f}x", f"{ratio:.0f}x", "", "", "")  # fmt: skip
            elif n <= args.toolkit_max:
                table.add_row(
                    "", "toolkit", "", f"did not finish in {args.toolkit_cap_min:g} min", "", "", "", ""
                )
            else:
                table.add_row("", "toolkit", "", "not run at this size (--toolkit-max)", "", "", "", "")
            progress.remove_task(task)
    console.print(table)


if __name__ == "__main__":
    main()
