"""From signals to cases: run the detectors on the corpus, grow networks from anchors, group, label, and
gather each case's dossier. The detectors stay pure; this module decides their order and feeds one's output
to the next (anchors -> swarms, evasion -> expansion -> takeover, flooding per network)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field, replace

import duckdb
import pyarrow as pa
import pyarrow.compute as pc

from cordon.app.dossier import (
    Dossier,
    EvasionLink,
    GraphTie,
    SuppressTag,
    media_queue,
    shared_entities,
    timeline,
)
from cordon.cases.build import Anchor, build_cases
from cordon.detectors import (
    account_waves,
    actions,
    ban_evasion,
    coaction,
    expansion,
    hashtag_flood,
    reply_swarm,
    takeover,
)
from cordon.model import BankCategory, Case, CaseLabel, Finding, Platform


@dataclass(frozen=True, slots=True)
class NetworkConfig:
    swarm: reply_swarm.SwarmConfig = field(default_factory=reply_swarm.SwarmConfig)
    evasion: ban_evasion.EvasionConfig = field(default_factory=ban_evasion.EvasionConfig)
    waves: account_waves.WaveConfig = field(default_factory=account_waves.WaveConfig)
    expansion: expansion.ExpansionConfig = field(default_factory=expansion.ExpansionConfig)
    takeover: takeover.TakeoverConfig = field(default_factory=takeover.TakeoverConfig)
    flood: hashtag_flood.FloodConfig = field(default_factory=hashtag_flood.FloodConfig)
    actions: actions.ActionConfig = field(default_factory=actions.ActionConfig)
    coaction: coaction.CoactionConfig = field(default_factory=coaction.CoactionConfig)


def coaction_pairs(con: duckdb.DuckDBPyConnection, platform: Platform, config: NetworkConfig) -> int:
    """Build the action table of `platform` and the weighted co-action pairs (temp table `coaction_pairs`)
    that network expansion reads as one layer per key kind. Returns the number of pairs."""
    actions.build_actions(con, replace(config.actions, platform=str(platform)))
    return coaction.coaction_pairs(con, config.coaction)


def anchors(con: duckdb.DuckDBPyConnection, platform: Platform) -> tuple[Anchor, ...]:
    """Every post whose media matched a bank entry (safelisted entries never anchor)."""
    rows = con.execute(
        """
        SELECT DISTINCT a.account_id, a.post_id, m.sha256, m.bank, m.entry_id, m.distance, m.category
        FROM matches m JOIN media_links l ON l.sha256 = m.sha256
        JOIN attachments a ON a.platform = l.platform AND a.id = l.ref_id
        WHERE a.platform = $p AND m.category <> 'safelist' AND a.account_id IS NOT NULL
        ORDER BY a.account_id, a.post_id, m.bank, m.entry_id
        """,
        {"p": str(platform)},
    ).fetchall()
    return tuple(
        Anchor(platform, r[0], r[1], r[2], r[3], r[4], int(r[5]), r[6] == BankCategory.CHILD_SAFETY)
        for r in rows
    )


def _evasion_ties(pairs: tuple[ban_evasion.EvasionPair, ...]) -> pa.Table:
    return pa.table(
        {
            "a": [min(p.new_account_id, p.old_account_id) for p in pairs],
            "b": [max(p.new_account_id, p.old_account_id) for p in pairs],
            "layer": ["evasion"] * len(pairs),
            "weight": [4.0 * p.score for p in pairs],
            "pivots": [[f"evades:{p.old_account_id}"] for p in pairs],
        },
        schema=expansion.TIE_SCHEMA,
    )


def find_cases(
    con: duckdb.DuckDBPyConnection,
    platform: Platform,
    config: NetworkConfig = NetworkConfig(),
    step: Callable[[str], None] = lambda _: None,
) -> tuple[Dossier, ...]:
    """Run every detector and return the cases, child-safety first, each with its dossier."""
    step("anchors")
    found_anchors = anchors(con, platform)
    seeds = sorted({a.account_id for a in found_anchors if a.child_safety})
    step("reply swarms")
    findings: list[Finding] = list(reply_swarm.detect(con, platform, config.swarm))
    step("ban evasion")
    pairs = ban_evasion.find_pairs(con, platform, config.evasion)
    findings += ban_evasion.findings(pairs, platform)
    step("account waves")
    findings += account_waves.detect(con, platform, config.waves)
    step("network expansion")
    ties = pa.concat_tables([expansion.multiplex_ties(con, platform, config.expansion), _evasion_ties(pairs)])
    findings += expansion.member_findings(expansion.expand(ties, seeds, config.expansion), platform)
    step("cases")
    cases = build_cases(platform, found_anchors, findings)
    step("takeover, flooding and dossiers")
    pair_of = {p.new_account_id: p for p in pairs}
    return tuple(_dossier(con, platform, case, ties, pair_of, config) for case in cases)


def _dossier(
    con: duckdb.DuckDBPyConnection,
    platform: Platform,
    case: Case,
    ties: pa.Table,
    pair_of: dict[str, ban_evasion.EvasionPair],
    config: NetworkConfig,
) -> Dossier:
    accounts = [m.account_id for m in case.members]
    in_case = pa.array(accounts, pa.string())
    hijacked = {t.account_id for t in takeover.find_takeovers(con, platform, accounts, config.takeover)}
    if hijacked:
        case = replace(
            case,
            members=tuple(
                replace(m, role="hijacked") if m.account_id in hijacked and m.role != "poster" else m
                for m in case.members
            ),
        )
    child_safety = case.label is CaseLabel.CHILD_SAFETY
    tags = hashtag_flood.find_flooded(con, platform, accounts, config.flood) if child_safety else ()
    inside = pc.and_(pc.is_in(ties["a"], value_set=in_case), pc.is_in(ties["b"], value_set=in_case))
    members = set(accounts)
    return Dossier(
        case=case,
        suppress_tags=tuple(
            SuppressTag(t.tag, t.hijacked, t.cluster_posts, t.total_posts, hashtag_flood.describe(t))
            for t in tags
        ),
        entities=shared_entities(con, platform, accounts),
        evasion=tuple(
            EvasionLink(p.new_account_id, p.old_account_id, p.score, ban_evasion.describe(p))
            for a in accounts
            if (p := pair_of.get(a)) is not None and p.old_account_id in members
        ),
        media_queue=media_queue(con, platform, accounts) if child_safety else (),
        ties=_graph_ties(ties.filter(inside)),
        timeline=timeline(con, platform, accounts),
    )


def _graph_ties(ties: pa.Table) -> tuple[GraphTie, ...]:
    """The ties of a case, weights rounded to 6 places, strongest first, then by a, b and layer (deterministic:
    the same corpus, the same file). Sorted in Arrow: a large case has hundreds of thousands of ties."""
    rounded = pa.array([round(float(w), 6) for w in ties["weight"].to_pylist()], pa.float64())
    table = ties.select(["a", "b", "layer"]).append_column("weight", rounded)
    order = pc.sort_indices(
        table,
        sort_keys=[("weight", "descending"), ("a", "ascending"), ("b", "ascending"), ("layer", "ascending")],
    )
    table = table.take(order)
    columns = (table[c].to_pylist() for c in ("a", "b", "layer", "weight"))
    return tuple(GraphTie(a, b, layer, weight) for a, b, layer, weight in zip(*columns, strict=True))
