"""The co-action engine: which accounts did the same thing within W seconds of each other, weighted by rarity.

Input is the action table of `actions.py`; every coordination type (co-link, co-reblog, co-reply, co-hashtag,
same text, near-same text, same image, shared entity) is the same computation over a different `kind`.

The join. Two actions can only be within W of each other if their time buckets `ts // W` are equal or
adjacent, so the self-join is an equi-join on `(platform, kind, key, bucket)` against the same bucket and the
next one, followed by the exact test `|Δt| <= W` (inclusive, like the QUT toolkit's `between`). A band join on
`|Δt| <= W` alone would compare every pair of actions on a key, which is quadratic on a busy key.

The weight. A pair of accounts scores the sum, over the distinct keys they shared in time, of the key's IDF
`ln(N_accounts / n_accounts_with_key)`: a link only two accounts ever posted is strong evidence, a trending
hashtag is none. Keys used by more than `max_key_accounts` accounts (or a `max_key_share` of all accounts) are
dropped before the join: they connect no one and would otherwise dominate its cost.

Toolkit compatibility mode (`toolkit_edges`) gives coordination-network-toolkit's edge semantics instead, so
that it serves as an oracle: directed edges, weight = number of distinct posts of `user_1` that have a
co-action by `user_2` within the window, kept when weight >= min_edge_weight. It differs on purpose in two
ways: empty keys never exist (see actions.py) and a post never pairs with itself, so a self-loop means an
account acted twice on the same key within the window (the toolkit counts every post as its own co-action).
Its output is every directed edge (89M at 10M posts), so it is computed apart from the engine, in NumPy: per
key, actions sorted by time and each one's window end found by binary search, which like the buckets touches
only the pairs that are within the window (see the comment above `toolkit_edges`).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field, replace

import duckdb
import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from cordon.detectors.actions import ACTION_TABLE, ActionConfig, build_actions
from cordon.detectors.base import Window, arrow, configure_duckdb, scalar
from cordon.model import EvidenceItem, Finding, Subject

NAME = "co-action"
PAIRS_TABLE = "coaction_pairs"
_US = 1_000_000


@dataclass(frozen=True, slots=True)
class CoactionConfig:
    """Window, hot-key caps and output thresholds of the co-action engine."""

    window_s: float = 60.0
    kinds: tuple[str, ...] | None = None  # None: every kind present in the action table
    max_key_accounts: int = 1_000  # a key shared by more accounts than this is not evidence of anything
    max_key_share: float = 0.05  # ... nor one shared by more than this share of all accounts,
    key_cap_floor: int = 20  # ... but the share cap never falls below this (a small corpus has few accounts)
    min_pair_weight: float = 0.0  # pairs below this IDF weight are not kept in the pairs table
    min_finding_weight: float = 8.0  # a finding needs this much IDF weight summed over kinds
    min_finding_keys: int = 2  # ... and this many distinct shared keys (one coincidence is not a pattern)
    n_pivots: int = 5  # rarest shared keys kept per pair as its evidence
    memory_limit: str = "4GB"
    threads: int = 2

    def __post_init__(self) -> None:
        # expansion reads how many keys a pair shares from its pivots: one pivot must mean one key
        if self.n_pivots < 2:
            raise ValueError(f"CoactionConfig.n_pivots must be at least 2, got {self.n_pivots}")


def _kinds_filter(kinds: tuple[str, ...] | None) -> str:
    if kinds is None:
        return "true"
    quoted = ", ".join("'" + k.replace("'", "''") + "'" for k in kinds)
    return f"kind IN ({quoted})" if kinds else "false"


def _window_us(window_s: float) -> int:
    if window_s < 0:
        raise ValueError("window_s must be >= 0")
    return round(window_s * _US)


_KEYS = """
CREATE OR REPLACE TEMP TABLE _ca_keys AS
SELECT platform, kind, key, count(DISTINCT account) AS n_acc
FROM {actions} WHERE {kinds}
GROUP BY ALL
HAVING count(DISTINCT account) >= 2 AND count(DISTINCT account) <= $cap
"""

_PAIRS = """
CREATE OR REPLACE TEMP TABLE {out} AS
WITH x AS (
    SELECT a.platform, a.kind, a.key, a.account, a.ts, a.ts // $bucket AS b
    FROM {actions} a SEMI JOIN _ca_keys k USING (platform, kind, key)
),
hits AS (
    SELECT x.platform, x.kind, x.key, least(x.account, y.account) AS a, greatest(x.account, y.account) AS b
    FROM x JOIN x AS y ON y.platform = x.platform AND y.kind = x.kind AND y.key = x.key AND y.b = x.b
    WHERE x.account < y.account AND abs(x.ts - y.ts) <= $w
    UNION ALL
    SELECT x.platform, x.kind, x.key, least(x.account, y.account), greatest(x.account, y.account)
    FROM x JOIN x AS y ON y.platform = x.platform AND y.kind = x.kind AND y.key = x.key AND y.b = x.b + 1
    WHERE x.account <> y.account AND abs(x.ts - y.ts) <= $w
),
shared AS (SELECT DISTINCT platform, kind, key, a, b FROM hits)
SELECT s.platform, s.a, s.b, s.kind,
       sum(ln($n_accounts / k.n_acc)) AS weight,
       count(*) AS n_keys,
       list(s.key ORDER BY k.n_acc, s.key)[1:$n_pivots] AS pivots
FROM shared s JOIN _ca_keys k USING (platform, kind, key)
GROUP BY ALL
HAVING sum(ln($n_accounts / k.n_acc)) >= $min_weight
"""


def coaction_pairs(
    con: duckdb.DuckDBPyConnection,
    config: CoactionConfig = CoactionConfig(),
    actions: str = ACTION_TABLE,
    out: str = PAIRS_TABLE,
) -> int:
    """Create the temp table `out(platform, a, b, kind, weight, n_keys, pivots)`, a < b; return its row count.

    One row per account pair and key kind, with the IDF weight of the keys they shared within the window and
    the rarest of those keys (the pivots that justify the pair).
    """
    configure_duckdb(con, config.memory_limit, config.threads)
    kinds = _kinds_filter(config.kinds)
    n_accounts = scalar(con, f"SELECT count(DISTINCT account) FROM {actions} WHERE {kinds}")
    cap = min(config.max_key_accounts, max(config.key_cap_floor, int(config.max_key_share * n_accounts)))
    con.execute(_KEYS.format(actions=actions, kinds=kinds), {"cap": cap})
    w = _window_us(config.window_s)
    con.execute(
        _PAIRS.format(actions=actions, out=out),
        {
            "bucket": max(w, 1),
            "w": w,
            "n_accounts": float(max(n_accounts, 1)),
            "n_pivots": config.n_pivots,
            "min_weight": config.min_pair_weight,
        },
    )
    con.execute("DROP TABLE IF EXISTS _ca_keys")
    return scalar(con, f"SELECT count(*) FROM {out}")


# Toolkit mode works on integers, in NumPy: accounts and keys are numbered once and the key's actions sorted
# by time; every pair of actions on one key within the window is found by one searchsorted over the sorted
# times (the keys laid out one after another on one time line, each more than a window past the last, so a
# window never reaches into the next key) and given as the packed account pair lo << 32 | hi. The pairs are
# sorted once: an account pair met by one pair of actions has weight 1 both ways, which is nearly all of them;
# only the few met more than once are looked up again and counted exactly (distinct posts on each side).
_TK_ACCOUNTS = """
CREATE OR REPLACE TEMP TABLE _tk_acc AS
SELECT account, (row_number() OVER () - 1)::INTEGER AS ai
FROM (SELECT DISTINCT account FROM {actions} WHERE kind = $kind)
"""
_TK_SORTED = """
SELECT a.ai, k.ki, x.ts, x.post_id
FROM {actions} x JOIN _tk_acc a USING (account)
JOIN (SELECT key, (row_number() OVER ())::INTEGER AS ki FROM (SELECT DISTINCT key FROM {actions} WHERE kind = $kind)) k
  USING (key)
WHERE x.kind = $kind
ORDER BY k.ki, x.ts
"""
_TK_MET_AGAIN = "SELECT uu, i, j FROM _tk_pairs SEMI JOIN _tk_again USING (uu)"
_LINE_LIMIT = 2.0**61  # a time line longer than this is cut into pieces so that it stays within int64


def _window_pairs(ts: np.ndarray, first: np.ndarray, w: int) -> tuple[np.ndarray, np.ndarray]:
    """Every pair of rows `(i, j)`, i < j, of one key with `ts[j] - ts[i] <= w`; rows sorted by key, then ts;
    `first` marks the first row of each key."""
    n = len(ts)
    starts = np.flatnonzero(first)
    lengths = np.diff(np.append(starts, n))
    extent = ts[starts + lengths - 1] - ts[starts] + (w + 1)  # a key's span on the line, and a window's gap
    piece = (np.cumsum(extent.astype(np.float64)) // _LINE_LIMIT).astype(np.int64)
    end = np.empty(n, dtype=np.int64)
    for p in np.unique(piece):  # one piece, unless the keys together span more than 2**61 microseconds
        keys = np.flatnonzero(piece == p)
        lo, hi = starts[keys[0]], starts[keys[-1]] + lengths[keys[-1]]
        offset = np.cumsum(extent[keys]) - extent[keys]
        line = ts[lo:hi] - np.repeat(ts[starts[keys]] - offset, lengths[keys])
        end[lo:hi] = lo + np.searchsorted(line, line + w, side="right")
    count = end - np.arange(n) - 1
    i = np.repeat(np.arange(n), count)
    first_pair = np.cumsum(count) - count
    j = np.arange(len(i)) - np.repeat(first_pair - np.arange(n) - 1, count)
    return i, j


def _distinct_per_group(groups: np.ndarray, codes: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The sorted distinct `groups` and, for each, how many distinct `codes` its rows carry."""
    order = np.lexsort((codes, groups))
    g, c = groups[order], codes[order]
    new = np.ones(len(g), dtype=bool)
    new[1:] = (g[1:] != g[:-1]) | (c[1:] != c[:-1])
    g = g[new]
    head = np.ones(len(g), dtype=bool)
    head[1:] = g[1:] != g[:-1]
    at = np.flatnonzero(head)
    return g[at], np.diff(np.append(at, len(g)))


def _met_again(
    con: duckdb.DuckDBPyConnection,
    uu: np.ndarray,
    i: np.ndarray,
    j: np.ndarray,
    again: np.ndarray,
    ai: np.ndarray,
    post_id: pa.ChunkedArray,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Directed edges `(u1, u2, weight)` of the account pairs in `again`, weight counted exactly: the number
    of distinct posts of u1 among the action pairs `(i, j)` that met them (a loop: of both sides)."""
    if not len(again):
        empty = np.empty(0, dtype=np.int32)
        return empty, empty, np.empty(0, dtype=np.int64)
    con.register("_tk_pairs", pa.table({"uu": uu, "i": i, "j": j}))
    con.register("_tk_again", pa.table({"uu": again}))
    rows = arrow(con, _TK_MET_AGAIN)
    con.unregister("_tk_pairs")
    con.unregister("_tk_again")
    mu, mi, mj = (rows.column(c).to_numpy() for c in ("uu", "i", "j"))
    lo_first = ai[mi] <= ai[mj]
    side_lo, side_hi = np.where(lo_first, mi, mj), np.where(lo_first, mj, mi)
    posts = post_id.take(pa.array(np.concatenate([side_lo, side_hi]))).combine_chunks()
    codes = pc.dictionary_encode(posts).indices.to_numpy()
    pairs, w_lo = _distinct_per_group(mu, codes[: len(mu)])
    _, w_hi = _distinct_per_group(mu, codes[len(mu) :])
    lo, hi = (pairs >> 32).astype(np.int32), (pairs & 0xFFFFFFFF).astype(np.int32)
    loop = lo == hi
    if loop.any():  # one account on both sides: its distinct posts over both
        w_lo = np.where(loop, _distinct_per_group(np.concatenate([mu, mu]), codes)[1], w_lo)
    return (
        np.concatenate([lo, hi[~loop]]),
        np.concatenate([hi, lo[~loop]]),
        np.concatenate([w_lo, w_hi[~loop]]).astype(np.int64),
    )


def toolkit_edges(
    con: duckdb.DuckDBPyConnection,
    kind: str,
    window_s: float,
    min_edge_weight: int = 1,
    *,
    loops: bool = False,
    actions: str = ACTION_TABLE,
) -> pa.Table:
    """Directed edges `(user_1, user_2, weight)` with coordination-network-toolkit's semantics (see module doc).

    `kind` "url" is the toolkit's co_link, "reblog" its co_retweet, "reply" its co_reply. `loops=False`
    drops `user_1 == user_2`, as the toolkit's graph output does by default. Rows come in no set order;
    `user_1` and `user_2` are dictionary-encoded over the account names.
    """
    w = _window_us(window_s)
    con.execute(_TK_ACCOUNTS.format(actions=actions), {"kind": kind})
    names = arrow(con, "SELECT account FROM _tk_acc ORDER BY ai").column(0).combine_chunks()
    rows = arrow(con, _TK_SORTED.format(actions=actions), {"kind": kind})
    con.execute("DROP TABLE _tk_acc")
    ai = rows.column("ai").to_numpy()
    ki = rows.column("ki").to_numpy()
    first = np.ones(len(ki), dtype=bool)
    np.not_equal(ki[1:], ki[:-1], out=first[1:])
    i, j = _window_pairs(rows.column("ts").to_numpy(), first, w)
    a, b = ai[i], ai[j]
    uu = np.minimum(a, b).astype(np.int64)
    uu <<= 32
    uu |= np.maximum(a, b)
    if not loops:
        uu[a == b] = -1  # sorts first and is cut off below
    del a, b
    met = np.sort(uu)
    met = met[np.searchsorted(met, 0) :]
    n = len(met)
    new = np.ones(n + 1, dtype=bool)
    np.not_equal(met[1:], met[:-1], out=new[1:n])
    once = met[new[:-1] & new[1:]]  # pairs met by one pair of actions
    again = met[:-1][~new[1:n] & new[:-2]]  # pairs met more than once, one entry each
    del met, new
    if loops:  # a loop is one account's two posts: weight 2, never 1
        loop = (once >> 32) == (once & 0xFFFFFFFF)
        again = np.union1d(again, once[loop])
        once = once[~loop]
    # the pairs met more than once: their rows again, and the distinct posts on each side
    tail_1, tail_2, tail_w = _met_again(con, uu, i, j, again, ai, rows.column("post_id"))
    del uu, i, j
    k = len(once)
    u1 = np.empty(2 * k + len(tail_1), dtype=np.int32)
    u2 = np.empty_like(u1)
    np.right_shift(once, 32, out=u1[:k], casting="unsafe")
    np.bitwise_and(once, 0xFFFFFFFF, out=u1[k : 2 * k], casting="unsafe")
    del once
    u2[:k], u2[k : 2 * k] = u1[k : 2 * k], u1[:k]
    u1[2 * k :], u2[2 * k :] = tail_1, tail_2
    weight = np.ones(len(u1), dtype=np.int64)
    weight[2 * k :] = tail_w
    out = pa.table(
        {
            "user_1": pa.DictionaryArray.from_arrays(pa.array(u1), names),
            "user_2": pa.DictionaryArray.from_arrays(pa.array(u2), names),
            "weight": pa.array(weight),
        }
    )
    return (
        out if min_edge_weight <= 1 else out.filter(pc.greater_equal(out.column("weight"), min_edge_weight))
    )


@dataclass(frozen=True, slots=True)
class DetectConfig:
    """`detect`'s config: how the action table is built and how the engine runs."""

    actions: ActionConfig = field(default_factory=ActionConfig)
    coaction: CoactionConfig = field(default_factory=CoactionConfig)


_FINDINGS = """
SELECT a, b, sum(weight) AS weight, sum(n_keys) AS n_keys,
       list(struct_pack(kind := kind, weight := weight, n_keys := n_keys, pivots := pivots)
            ORDER BY weight DESC, kind) AS per_kind
FROM {pairs} WHERE platform = $platform
GROUP BY a, b
HAVING sum(weight) >= $min_weight AND sum(n_keys) >= $min_keys
ORDER BY weight DESC, a, b
"""


def detect(
    con: duckdb.DuckDBPyConnection, window: Window, config: DetectConfig = DetectConfig()
) -> Iterator[Finding]:
    """One finding per account pair whose co-actions in the window weigh enough, with the pivots as evidence.

    Leaves the `coaction_pairs` temp table on the connection for the network steps that read it.
    """
    action_config = replace(config.actions, platform=str(window.platform), start=window.start, end=window.end)
    build_actions(con, action_config)
    coaction_pairs(con, config.coaction)
    rows = con.execute(
        _FINDINGS.format(pairs=PAIRS_TABLE),
        {
            "platform": str(window.platform),
            "min_weight": config.coaction.min_finding_weight,
            "min_keys": config.coaction.min_finding_keys,
        },
    ).fetchall()
    window_s = config.coaction.window_s
    for a, b, weight, _n_keys, per_kind in rows:
        subjects = (Subject("account", a, window.platform), Subject("account", b, window.platform))
        evidence = tuple(
            EvidenceItem(
                f"co-{k['kind']}",
                f"{k['n_keys']} {k['kind']} key(s) shared within {window_s:g} s; rarest: "
                + ", ".join(k["pivots"]),
                refs=subjects,
                weight=round(float(k["weight"]), 4),
            )
            for k in per_kind
        )
        yield Finding(
            NAME,
            "pair",
            subjects,
            round(float(weight), 4),
            evidence,
            window_start=window.start,
            window_end=window.end,
        )
