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
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field, replace

import duckdb
import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from cordon.detectors.actions import ACTION_TABLE, ActionConfig, build_actions
from cordon.detectors.base import Window, configure_duckdb, scalar
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


# Toolkit mode works on integers: accounts, posts and keys are numbered once, each pair of actions within the
# window is found once (same bucket with x.post < y.post, or the next bucket) and gives both directed rows
# (u1, u2, post of u1) with u1, u2 packed in one BIGINT; the weight of (u1, u2) is the number of distinct posts
# among its rows. One aggregation gives it exactly for every edge with at most two rows, or whose rows all
# name one post (count, min, max); the few others are counted again exactly on their accounts' actions only.
_TK_ACCOUNTS = """
CREATE OR REPLACE TEMP TABLE _tk_acc AS
SELECT account, (row_number() OVER () - 1)::INTEGER AS ai FROM (SELECT DISTINCT account FROM {actions} WHERE kind = $kind)
"""
_TK_NUMBER = """
CREATE OR REPLACE TEMP TABLE _tk_x AS
WITH x AS (SELECT account, post_id, key, ts FROM {actions} WHERE kind = $kind)
SELECT a.ai, p.pi, k.ki, x.ts, x.ts // $bucket AS b
FROM x JOIN _tk_acc a USING (account)
JOIN (SELECT post_id, (row_number() OVER ())::INTEGER AS pi FROM (SELECT DISTINCT post_id FROM x)) p USING (post_id)
JOIN (SELECT key, (row_number() OVER ())::INTEGER AS ki FROM (SELECT DISTINCT key FROM x)) k USING (key)
"""

_TK_ROWS = """
WITH m AS (
    SELECT unnest([(x.ai::BIGINT << 32) | y.ai, (y.ai::BIGINT << 32) | x.ai]) AS uu, unnest([x.pi, y.pi]) AS p
    FROM {x} x JOIN {x} AS y ON y.ki = x.ki AND y.b = x.b
    WHERE x.pi < y.pi AND abs(x.ts - y.ts) <= $w {loops}
    UNION ALL
    SELECT unnest([(x.ai::BIGINT << 32) | y.ai, (y.ai::BIGINT << 32) | x.ai]), unnest([x.pi, y.pi])
    FROM {x} x JOIN {x} AS y ON y.ki = x.ki AND y.b = x.b + 1
    WHERE abs(x.ts - y.ts) <= $w {loops}
)
"""

_TK_EDGES = """
SELECT (uu >> 32)::INTEGER AS u1, (uu & 4294967295)::INTEGER AS u2,
       (CASE WHEN n = 1 OR lo = hi THEN 1 WHEN n = 2 THEN 2 END)::BIGINT AS weight
FROM (SELECT uu, count(*) AS n, min(p) AS lo, max(p) AS hi FROM m GROUP BY uu)
"""  # weight NULL: three rows or more over two posts or more, counted again by _TK_EXACT

_TK_EXACT = """
SELECT u.i, count(DISTINCT m.p) AS weight FROM m JOIN _tk_open u ON m.uu = (u.u1::BIGINT << 32) | u.u2
GROUP BY u.i
"""

_TK_OPEN_ACTIONS = """
CREATE OR REPLACE TEMP TABLE _tk_xo AS
SELECT * FROM _tk_x WHERE ai IN (SELECT u1 FROM _tk_open UNION SELECT u2 FROM _tk_open)
"""


def _arrow(rel: duckdb.DuckDBPyRelation | None) -> pa.Table:
    if rel is None:  # pragma: no cover - a SELECT always gives a relation
        raise RuntimeError("toolkit_edges query returned no relation")
    return rel.to_arrow_table()


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
    drops `user_1 == user_2`, as the toolkit's graph output does by default. Rows come in no set order.
    """
    w = _window_us(window_s)
    loop_sql = "" if loops else "AND x.ai <> y.ai"
    con.execute(_TK_ACCOUNTS.format(actions=actions), {"kind": kind})
    con.execute(_TK_NUMBER.format(actions=actions), {"kind": kind, "bucket": max(w, 1)})
    names = _arrow(con.sql("SELECT account FROM _tk_acc ORDER BY ai")).column(0).combine_chunks()
    edges = _arrow(con.sql(_TK_ROWS.format(x="_tk_x", loops=loop_sql) + _TK_EDGES, params={"w": w}))
    weight = edges.column("weight").combine_chunks()
    open_rows = np.flatnonzero(weight.is_null().to_numpy(zero_copy_only=False))
    if len(open_rows):
        u1, u2 = (edges.column(c).take(pa.array(open_rows)) for c in ("u1", "u2"))
        con.register("_tk_open", pa.table({"i": open_rows, "u1": u1, "u2": u2}))
        con.execute(_TK_OPEN_ACTIONS)
        exact = _arrow(con.sql(_TK_ROWS.format(x="_tk_xo", loops=loop_sql) + _TK_EXACT, params={"w": w}))
        con.unregister("_tk_open")
        filled = weight.fill_null(0).to_numpy().copy()
        filled[exact.column("i").to_numpy()] = exact.column("weight").to_numpy()
        weight = pa.array(filled)
    for table in ("_tk_xo", "_tk_x", "_tk_acc"):
        con.execute(f"DROP TABLE IF EXISTS {table}")
    out = pa.table(
        {"user_1": names.take(edges.column("u1")), "user_2": names.take(edges.column("u2")), "weight": weight}
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
