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
import pyarrow as pa

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


_TOOLKIT = """
WITH x AS (SELECT account, post_id, key, ts, ts // $bucket AS b FROM {actions} WHERE kind = $kind),
m AS (
    {arms}
)
SELECT u1 AS user_1, u2 AS user_2, count(*) AS weight
FROM (SELECT DISTINCT u1, u2, p FROM m) GROUP BY ALL HAVING count(*) >= $min_edge_weight
"""  # distinct (u1, u2, post) rows counted, rather than count(DISTINCT p); unordered: 89M edges at 10M posts in
# 29.8 s instead of 58.5 s with count(DISTINCT) and ORDER BY

_ARM = """SELECT x.account AS u1, y.account AS u2, x.post_id AS p
    FROM x JOIN x AS y ON y.key = x.key AND y.b = x.b + ({d})
    WHERE x.post_id <> y.post_id AND abs(x.ts - y.ts) <= $w {loops}"""


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
    loop_sql = "" if loops else "AND x.account <> y.account"
    arms = "\n    UNION ALL\n    ".join(_ARM.format(d=d, loops=loop_sql) for d in (-1, 0, 1))
    rel = con.sql(
        _TOOLKIT.format(actions=actions, arms=arms),
        params={"bucket": max(w, 1), "w": w, "kind": kind, "min_edge_weight": min_edge_weight},
    )
    if rel is None:  # pragma: no cover - a SELECT always gives a relation
        raise RuntimeError("toolkit_edges query returned no relation")
    return rel.to_arrow_table()


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
