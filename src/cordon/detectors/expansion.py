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
import pyarrow as pa

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


# weighted by the posts that carry them: a reply that also mentions its target is one interaction, not two
_INTERACTIONS = """
SELECT least(src_account_id, dst_account_id) AS a, greatest(src_account_id, dst_account_id) AS b,
       'interaction' AS layer, ln(1 + count(DISTINCT post_id)) AS weight,
       list(DISTINCT kind || ':' || post_id ORDER BY kind || ':' || post_id)[1:3] AS pivots
FROM edges WHERE platform = $platform AND kind IN (SELECT unnest($kinds::VARCHAR[]))
  AND src_account_id <> dst_account_id
GROUP BY ALL
"""

_REPLY_POSTS = """
SELECT least(p.account_id, t.account_id) AS a, greatest(p.account_id, t.account_id) AS b,
       'interaction' AS layer, ln(1 + count(*)) AS weight,
       list(DISTINCT pv ORDER BY pv)[1:3] AS pivots
FROM posts p JOIN posts t ON t.platform = p.platform AND t.id = coalesce(p.reply_to_post_id, p.reblog_of_post_id),
     LATERAL (SELECT CASE WHEN p.reply_to_post_id IS NOT NULL THEN 'reply:' ELSE 'reblog:' END || t.id AS pv)
WHERE p.platform = $platform AND p.account_id <> t.account_id
GROUP BY ALL
"""

_SHARED = """
WITH k AS ({keys}),
kk AS (SELECT DISTINCT account_id, key FROM k WHERE account_id IS NOT NULL),
kn AS (SELECT account_id, key, count(*) OVER (PARTITION BY key) AS n FROM kk),
f AS (SELECT * FROM kn WHERE n BETWEEN 2 AND $max_df)
SELECT x.account_id AS a, y.account_id AS b, '{layer}' AS layer, sum(2.0 / x.n) AS weight,
       list(DISTINCT x.key ORDER BY x.key)[1:3] AS pivots
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
    """Members of the network around `seeds`: PPR over the seeds' neighbourhood, cut relative to the seeds."""
    if not seeds or ties.num_rows == 0:
        return ()
    con = duckdb.connect()
    con.register("ties", ties)
    con.execute("CREATE TEMP TABLE seeds AS SELECT unnest($s::VARCHAR[]) AS id", {"s": list(seeds)})
    # the neighbourhood of the seeds, `hops` steps out, over ties strong enough to count
    con.execute(
        "CREATE TEMP TABLE g AS SELECT a, b, round(sum(weight), 9) AS w FROM ties GROUP BY a, b "
        "HAVING sum(weight) >= $m",
        {"m": config.min_edge_weight},
    )
    con.execute("CREATE TEMP TABLE near AS SELECT id FROM seeds")
    for _ in range(config.hops):
        con.execute(
            "INSERT INTO near SELECT DISTINCT x FROM (SELECT b AS x FROM g JOIN near ON g.a = near.id "
            "UNION SELECT a AS x FROM g JOIN near ON g.b = near.id) WHERE x NOT IN (SELECT id FROM near)"
        )
    full_strength = dict(
        con.execute(
            "SELECT x, round(sum(w), 9) FROM (SELECT a AS x, w FROM g UNION ALL SELECT b AS x, w FROM g) "
            "WHERE x IN (SELECT id FROM near) GROUP BY x ORDER BY x"
        ).fetchall()
    )
    sub = con.execute(
        "SELECT a, b, w FROM g WHERE a IN (SELECT id FROM near) AND b IN (SELECT id FROM near) ORDER BY a, b"
    ).fetchall()
    names = sorted({x for a, b, _ in sub for x in (a, b)} | set(seeds))
    index = {n: i for i, n in enumerate(names)}
    graph = ig.Graph(n=len(names), edges=[(index[a], index[b]) for a, b, _ in sub], directed=False)
    graph.es["weight"] = [w for _, _, w in sub]
    seed_idx = [index[s] for s in seeds]
    scores = graph.personalized_pagerank(
        damping=config.damping, reset_vertices=seed_idx, weights="weight" if sub else None
    )
    # normalise by the degree in the whole graph (not the cut-out neighbourhood, whose border nodes would look
    # weakly tied) so that hubs do not soak up the walk, then compare with the seeds' own level
    norm = [s / max(float(full_strength.get(n, 0.0)), 1.0) for s, n in zip(scores, names, strict=True)]
    seed_level = sorted(norm[i] for i in seed_idx)[len(seed_idx) // 2] or 1e-12
    seed_set = set(seeds)
    relative = {name: value / seed_level for name, value in zip(names, norm, strict=True)}
    candidates = {n for n, r in relative.items() if n in seed_set or r >= config.min_relative_score}
    # the ties of the candidates (members are among them, and only ties between candidates corroborate),
    # each candidate's strongest first; the rest of the neighbourhood's ties are never looked at
    con.execute("CREATE TEMP TABLE cand AS SELECT unnest($c::VARCHAR[]) AS id", {"c": sorted(candidates)})
    detail = con.execute(
        "SELECT a, b, layer, weight, pivots FROM ties WHERE a IN (SELECT id FROM near) "
        "AND b IN (SELECT id FROM near) AND (a IN (SELECT id FROM cand) OR b IN (SELECT id FROM cand)) "
        "ORDER BY weight DESC, a, b, layer, pivots"
    ).fetchall()
    con.close()
    ties_of: dict[str, list[Tie]] = defaultdict(list)
    for a, b, layer, weight, pivots in detail:
        tie = Tie(a, b, layer, round(float(weight), 4), tuple(pivots or ()))
        ties_of[a].append(tie)
        ties_of[b].append(tie)
    accepted = _corroborated(seed_set, candidates, ties_of, config)
    members = [
        Member(name, round(relative[name], 6), name in seed_set, tuple(ties_of[name][:5]))
        for name in accepted
    ]
    return tuple(sorted(members, key=lambda m: (-m.score, m.account_id)))


def _corroborated(
    seeds: set[str], candidates: set[str], ties_of: dict[str, list[Tie]], config: ExpansionConfig
) -> set[str]:
    """The candidates reachable from the seeds over corroborating ties.

    Replying to, reblogging or mentioning a network account once or twice is what its audience does too (fans
    of a hacked account reply to its old posts), so such interactions help the walk rank accounts but do not
    bring one in on their own: a member needs a co-action tie over two keys or more (two accounts posting the
    same popular domain or hashtag within a minute once is chance), a shared-entity, shared-media or evasion
    tie, or a repeated interaction (a swarm bot replying to post after post), to a seed or to a member that
    has one.
    Grown from the seeds outwards, so two outsiders cannot vouch for each other."""
    accepted = set(seeds)
    frontier = list(seeds)
    while frontier:
        name = frontier.pop()
        for tie in ties_of.get(name, ()):
            floor = (
                config.min_interaction_weight if tie.layer in _INTERACTION_LAYERS else config.min_edge_weight
            )
            if tie.weight < floor:  # a meme shared by fifteen accounts vouches for no one
                continue
            if tie.layer.startswith("co-") and len(tie.pivots) < 2:  # one coincidence is not a pattern
                continue
            other = tie.b if tie.a == name else tie.a
            if other in candidates and other not in accepted:
                accepted.add(other)
                frontier.append(other)
    return accepted


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
