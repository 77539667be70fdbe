"""Network expansion: from seed accounts (those with hash matches) to the network, by personalised PageRank.

The multiplex graph has one layer per kind of tie, each edge with the pivots that justify it:
- interaction: replies, reblogs, quotes and mentions between two accounts (a swarm bot replying to a poster);
- co-action: pairs from the co-action engine (same URL, hashtag, reply target, media... inside a time window),
  when the `coaction_pairs(a, b, kind, weight, pivots)` table is present;
- shared entity: the same rare invite, wallet, handle or domain in posts or bios (entities shared by many
  accounts carry no weight: a popular site connects no one);
- shared media: the same media bytes posted by both.
Only the neighbourhood of the seeds (`hops` steps) goes to igraph. A random walk that restarts at the seeds
ranks accounts by how tightly they are tied to them; the members are the accounts above a score relative to
the seeds' own, so that the cut does not depend on the size of the world. Not a global community partition.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator, Sequence
from dataclasses import dataclass

import duckdb
import igraph as ig
import numpy as np
import numpy.typing as npt
import pyarrow as pa
import pyarrow.compute as pc

from cordon.detectors.base import has_table
from cordon.model import EvidenceItem, Finding, Platform, Subject

NAME = "expansion"


@dataclass(frozen=True, slots=True)
class ExpansionConfig:
    damping: float = 0.85
    hops: int = 2
    max_entity_accounts: int = 50  # an entity shared by more accounts than this ties no one
    min_relative_score: float = 0.15  # member if its PPR score >= this x the median seed's score
    min_edge_weight: float = 0.5
    interaction_kinds: tuple[str, ...] = ("reply", "reblog", "quote", "mention")
    # an interaction tie alone brings an account in only when it is repeated: ln(1 + 3 interactions)
    min_interaction_weight: float = 1.386


@dataclass(frozen=True, slots=True)
class Tie:
    """One edge of the multiplex graph: accounts a < b, its layer, weight and the pivots that justify it."""

    a: str
    b: str
    layer: str
    weight: float
    pivots: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class Member:
    account_id: str
    score: float  # PPR score relative to the median seed's
    seed: bool
    ties: tuple[Tie, ...]  # its strongest ties to other members


# weighted by the posts that carry them: a reply that also mentions its target is one interaction, not two;
# the pivots are the three smallest distinct `kind:post` (min(x, 3): no list of all of them is sorted)
_INTERACTIONS = """
WITH e AS (
  SELECT DISTINCT least(src_account_id, dst_account_id) AS a, greatest(src_account_id, dst_account_id) AS b,
         post_id, kind || ':' || post_id AS pv
  FROM edges WHERE platform = $platform AND list_contains($kinds::VARCHAR[], kind)
    AND src_account_id <> dst_account_id
)
SELECT a, b, 'interaction' AS layer, ln(1 + count(DISTINCT post_id)) AS weight, min(pv, 3) AS pivots
FROM e GROUP BY a, b
"""

# each reply or reblog counts; the pivots are the three smallest distinct targets
_REPLY_POSTS = """
WITH r AS (
  SELECT least(p.account_id, t.account_id) AS a, greatest(p.account_id, t.account_id) AS b,
         CASE WHEN p.reply_to_post_id IS NOT NULL THEN 'reply:' ELSE 'reblog:' END || t.id AS pv, count(*) AS n
  FROM posts p JOIN posts t ON t.platform = p.platform AND t.id = coalesce(p.reply_to_post_id, p.reblog_of_post_id)
  WHERE p.platform = $platform AND p.account_id <> t.account_id
  GROUP BY ALL
)
SELECT a, b, 'interaction' AS layer, ln(1 + sum(n)) AS weight, min(pv, 3) AS pivots FROM r GROUP BY a, b
"""

# kk holds each (account, key) once, so a pair meets each key once: its pivots are its three smallest keys
_SHARED = """
WITH k AS ({keys}),
kk AS (SELECT DISTINCT account_id, key FROM k WHERE account_id IS NOT NULL),
kn AS (SELECT key, count(*) AS n FROM kk GROUP BY key HAVING count(*) BETWEEN 2 AND $max_df),
f AS (SELECT kk.account_id, kk.key, kn.n FROM kk JOIN kn USING (key))
SELECT x.account_id AS a, y.account_id AS b, '{layer}' AS layer, sum(2.0 / x.n) AS weight,
       min(x.key, 3) AS pivots
FROM f x JOIN f y ON x.key = y.key AND x.account_id < y.account_id
GROUP BY ALL
"""

_ENTITY_KEYS = """
SELECT account_id, kind || ':' || value AS key FROM post_entities
WHERE platform = $platform AND kind NOT IN ('hashtag', 'price')
UNION ALL
SELECT account_id, kind || ':' || value AS key FROM account_entities
WHERE platform = $platform AND kind NOT IN ('hashtag', 'price')
"""

_MEDIA_KEYS = """
SELECT a.account_id, 'media:' || l.sha256 AS key FROM attachments a
JOIN media_links l ON l.platform = a.platform AND l.ref_id = a.id
WHERE a.platform = $platform AND a.account_id IS NOT NULL
"""

_COACTION = """
SELECT least(a, b) AS a, greatest(a, b) AS b, 'co-' || kind AS layer, weight, pivots FROM coaction_pairs
WHERE platform = $platform
"""


_INTERACTION_LAYERS = frozenset({"interaction"})
_TIES_SHOWN = 5  # a member's strongest ties, kept as its evidence

TIE_SCHEMA = pa.schema(
    [("a", pa.string()), ("b", pa.string()), ("layer", pa.string()), ("weight", pa.float64()),
     ("pivots", pa.list_(pa.string()))]
)  # fmt: skip


def multiplex_ties(
    con: duckdb.DuckDBPyConnection, platform: Platform, config: ExpansionConfig = ExpansionConfig()
) -> pa.Table:
    """Every tie of the multiplex graph as an Arrow table (a, b, layer, weight, pivots)."""
    params: dict[str, object] = {"platform": str(platform), "kinds": list(config.interaction_kinds)}
    parts = [_INTERACTIONS, _REPLY_POSTS]
    if has_table(con, "post_entities") and has_table(con, "account_entities"):
        parts.append(_SHARED.replace("{keys}", _ENTITY_KEYS).replace("{layer}", "shared-entity"))
    parts.append(_SHARED.replace("{keys}", _MEDIA_KEYS).replace("{layer}", "shared-media"))
    if has_table(con, "coaction_pairs"):
        parts.append(_COACTION)
    tables = []
    for sql in parts:
        query_params = dict(params)
        if "$max_df" in sql:
            query_params["max_df"] = config.max_entity_accounts
        used = {k: v for k, v in query_params.items() if f"${k}" in sql}
        table = con.sql(sql, params=used).to_arrow_table()
        if table is not None:
            tables.append(table.cast(TIE_SCHEMA))
    return pa.concat_tables(tables) if tables else TIE_SCHEMA.empty_table()


def expand(
    ties: pa.Table, seeds: Sequence[str], config: ExpansionConfig = ExpansionConfig()
) -> tuple[Member, ...]:
    """Members of the network around `seeds`: PPR over the seeds' neighbourhood, cut relative to the seeds.

    Accounts are numbered once (in the order of their ids) and the graph work is done on the numbers, in
    NumPy, DuckDB and igraph; the weights are summed and rounded in DuckDB as they always were."""
    if ties["a"].null_count or ties["b"].null_count:  # a tie without two ends ties no one
        ties = ties.filter(pc.and_(pc.is_valid(ties["a"]), pc.is_valid(ties["b"])))
    if not seeds or ties.num_rows == 0:
        return ()
    ids, ends_a, ends_b, seed_codes = _codes(ties, seeds)
    con = duckdb.connect()
    try:
        con.register("t", pa.table({"a": ends_a, "b": ends_b, "weight": ties["weight"]}))
        # the ties strong enough to count, one edge per pair of accounts
        g = con.sql(
            "SELECT a, b, round(sum(weight), 9) AS w FROM t GROUP BY a, b HAVING sum(weight) >= $m",
            params={"m": config.min_edge_weight},
        ).to_arrow_table()
        ga, gb = (np.asarray(g[c].to_numpy(), dtype=np.int32) for c in ("a", "b"))
        # the neighbourhood of the seeds, `hops` steps out
        near = np.zeros(len(ids), dtype=bool)
        near[seed_codes] = True
        for _ in range(config.hops):
            touching = near[ga] | near[gb]
            near[ga[touching]] = True
            near[gb[touching]] = True
        con.register("g", g)
        con.register("near", pa.table({"x": np.flatnonzero(near)}))
        strength = con.sql(
            "SELECT x, round(sum(w), 9) AS s FROM (SELECT a AS x, w FROM g UNION ALL SELECT b AS x, w FROM g) "
            "WHERE x IN (SELECT x FROM near) GROUP BY x"
        ).to_arrow_table()
        full_strength = np.zeros(len(ids))
        full_strength[strength["x"].to_numpy()] = strength["s"].to_numpy()
        inside = near[ga] & near[gb]
        sa, sb, sw = ga[inside], gb[inside], np.asarray(g["w"].to_numpy())[inside]
        order = np.lexsort((sb, sa))
        sa, sb, sw = sa[order], sb[order], sw[order]
        vertices = np.union1d(np.union1d(sa, sb), seed_codes)  # sorted: in the order of the ids
        local_a, local_b = np.searchsorted(vertices, sa).tolist(), np.searchsorted(vertices, sb).tolist()
        graph = ig.Graph(n=len(vertices), edges=list(zip(local_a, local_b, strict=True)), directed=False)
        graph.es["weight"] = sw.tolist()
        seed_idx = np.searchsorted(vertices, seed_codes)
        scores = graph.personalized_pagerank(
            damping=config.damping, reset_vertices=seed_idx.tolist(), weights="weight" if len(sw) else None
        )
        # normalise by the degree in the whole graph (not the cut-out neighbourhood, whose border nodes would
        # look weakly tied) so that hubs do not soak up the walk, then compare with the seeds' own level
        norm = np.asarray(scores, dtype=np.float64) / np.maximum(full_strength[vertices], 1.0)
        seed_level = float(np.sort(norm[seed_idx])[len(seed_idx) // 2]) or 1e-12
        relative = np.full(len(ids), np.nan)
        relative[vertices] = norm / seed_level
        is_seed = np.zeros(len(ids), dtype=bool)
        is_seed[seed_codes] = True
        candidates = is_seed.copy()
        candidates[vertices] |= relative[vertices] >= config.min_relative_score
        accepted = _corroborated(ties, ends_a, ends_b, is_seed, candidates, config)
        # each member's strongest ties to the neighbourhood; the rest of its ties are never looked at
        keep = near[ends_a] & near[ends_b] & (accepted[ends_a] | accepted[ends_b])
        con.register(
            "d",
            ties.filter(pa.array(keep))
            .append_column("at_a", pa.array(accepted[ends_a[keep]]))
            .append_column("at_b", pa.array(accepted[ends_b[keep]])),
        )
        strongest = con.sql(
            "SELECT x, a, b, layer, weight, pivots FROM (SELECT *, row_number() OVER (PARTITION BY x "
            "ORDER BY weight DESC, a, b, layer, pivots) AS r FROM (SELECT a AS x, * FROM d WHERE at_a "
            "UNION ALL SELECT b AS x, * FROM d WHERE at_b)) WHERE r <= $n ORDER BY x, r",
            params={"n": _TIES_SHOWN},
        ).to_arrow_table()
    finally:
        con.close()
    columns = (strongest[c].to_pylist() for c in ("x", "a", "b", "layer", "weight", "pivots"))
    ties_of: dict[str, list[Tie]] = defaultdict(list)
    for x, a, b, layer, weight, pivots in zip(*columns, strict=True):
        ties_of[x].append(Tie(a, b, layer, round(float(weight), 4), tuple(pivots or ())))
    codes = np.flatnonzero(accepted)
    members = [
        Member(name, round(float(relative[code]), 6), bool(is_seed[code]), tuple(ties_of[name]))
        for code, name in zip(codes.tolist(), ids.take(pa.array(codes)).to_pylist(), strict=True)
    ]
    return tuple(sorted(members, key=lambda m: (-m.score, m.account_id)))


def _codes(
    ties: pa.Table, seeds: Sequence[str]
) -> tuple[pa.Array, npt.NDArray[np.int32], npt.NDArray[np.int32], npt.NDArray[np.int32]]:
    """The accounts of `ties` and `seeds` in the order of their ids, and the numbers (places in that order) of
    each tie's two ends and of each seed, in the order given."""
    seed_ids = pa.array(list(seeds), pa.string())
    ids = pc.unique(pa.chunked_array([*ties["a"].chunks, *ties["b"].chunks, seed_ids], pa.string()))
    ids = ids.take(pc.sort_indices(ids))

    def number(column: pa.Array | pa.ChunkedArray) -> npt.NDArray[np.int32]:
        return np.asarray(pc.index_in(column, value_set=ids).to_numpy(), dtype=np.int32)

    return ids, number(ties["a"]), number(ties["b"]), number(seed_ids)


def _corroborated(
    ties: pa.Table,
    ends_a: npt.NDArray[np.int32],
    ends_b: npt.NDArray[np.int32],
    seeds: npt.NDArray[np.bool_],
    candidates: npt.NDArray[np.bool_],
    config: ExpansionConfig,
) -> npt.NDArray[np.bool_]:
    """The candidates reachable from the seeds over corroborating ties (masks over the account numbers).

    Replying to, reblogging or mentioning a network account once or twice is what its audience does too (fans
    of a hacked account reply to its old posts), so such interactions help the walk rank accounts but do not
    bring one in on their own: a member needs a co-action tie over two keys or more (two accounts posting the
    same popular domain or hashtag within a minute once is chance), a shared-entity, shared-media or evasion
    tie, or a repeated interaction (a swarm bot replying to post after post), to a seed or to a member that
    has one.
    Grown from the seeds outwards, so two outsiders cannot vouch for each other: the members are the
    candidates in a seed's connected component of the graph of corroborating ties between candidates."""
    between = candidates[ends_a] & candidates[ends_b]
    inner = ties.filter(pa.array(between))
    layer = inner["layer"]
    interaction = pc.is_in(layer, value_set=pa.array(sorted(_INTERACTION_LAYERS), pa.string()))
    floor = np.where(
        np.asarray(interaction.to_numpy(zero_copy_only=False), dtype=bool),
        config.min_interaction_weight,
        config.min_edge_weight,
    )
    strong = _rounded_at_least(np.asarray(inner["weight"].to_numpy(), dtype=np.float64), floor)
    # one coincidence is not a pattern: a co-action over a single key does not corroborate
    keys = np.asarray(pc.fill_null(pc.list_value_length(inner["pivots"]), 0).to_numpy())
    co_action = np.asarray(pc.starts_with(layer, "co-").to_numpy(zero_copy_only=False), dtype=bool)
    ok = strong & ~(co_action & (keys < 2))
    graph = ig.Graph(
        n=len(seeds), edges=np.column_stack((ends_a[between][ok], ends_b[between][ok])), directed=False
    )
    component = np.asarray(graph.connected_components().membership)
    return np.isin(component, component[seeds]) & candidates


def _rounded_at_least(
    weight: npt.NDArray[np.float64], floor: npt.NDArray[np.float64]
) -> npt.NDArray[np.bool_]:
    """Whether each weight, rounded to 4 places as a tie shows it (Python's round), is not below its floor (a
    meme shared by fifteen accounts vouches for no one). Only the weights within 1e-4 of their floor, where
    the rounding can decide, are rounded one by one."""
    result = ~(weight < floor)
    close = np.flatnonzero(np.abs(weight - floor) <= 1e-4)
    result[close] = [not round(float(weight[i]), 4) < floor[i] for i in close.tolist()]
    return result


def member_findings(members: Sequence[Member], platform: Platform) -> Iterator[Finding]:
    """One finding per expanded member (not the seeds), with the ties that bring it into the network."""
    for member in members:
        if member.seed:
            continue
        evidence = []
        for tie in member.ties:
            other = tie.b if tie.a == member.account_id else tie.a
            evidence.append(
                EvidenceItem(
                    tie.layer,
                    f"tied to {other} by {', '.join(tie.pivots) or tie.layer}",
                    refs=(Subject("account", other, platform),),
                    weight=tie.weight,
                )
            )
        subject = Subject("account", member.account_id, platform)
        yield Finding(NAME, "member", (subject,), min(1.0, member.score), tuple(evidence))


def detect(
    con: duckdb.DuckDBPyConnection,
    platform: Platform,
    seeds: Sequence[str],
    config: ExpansionConfig = ExpansionConfig(),
) -> Iterator[Finding]:
    return member_findings(expand(multiplex_ties(con, platform, config), seeds, config), platform)
