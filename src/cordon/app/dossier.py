"""A case with everything a reviewer or a report needs around it, gathered from the corpus and signals.

The dossier is what `cases.json` and `report.html` are written from: the case (members with roles and
evidence), the hashtags to suppress, the entities the network shares, the evasion pairs, the media queued for
review as possible new material, the ties of its network graph, and its timeline.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date

import duckdb

from cordon.detectors.base import has_table
from cordon.model import Case, CaseLabel, Platform


@dataclass(frozen=True, slots=True)
class SuppressTag:
    tag: str
    hijacked: bool  # an established (innocent) tag taken over, rather than one the network made
    cluster_posts: int
    total_posts: int
    evidence: str


@dataclass(frozen=True, slots=True)
class SharedEntity:
    kind: str
    value: str
    accounts: int  # members that carry it (in posts or bios)
    posts: int


@dataclass(frozen=True, slots=True)
class EvasionLink:
    new_account_id: str
    replaces_account_id: str
    score: float
    evidence: str


@dataclass(frozen=True, slots=True)
class QueuedMedia:
    """Media posted inside a child-safety network that matches no bank: possible new material, for review."""

    sha256: str
    priority: float
    posts: int
    accounts: int
    first_seen: str


@dataclass(frozen=True, slots=True)
class GraphTie:
    a: str
    b: str
    layer: str
    weight: float


@dataclass(frozen=True, slots=True)
class DayCount:
    day: date
    posts: int
    accounts_created: int


@dataclass(frozen=True, slots=True)
class Dossier:
    case: Case
    suppress_tags: tuple[SuppressTag, ...]
    entities: tuple[SharedEntity, ...]
    evasion: tuple[EvasionLink, ...]
    media_queue: tuple[QueuedMedia, ...]
    ties: tuple[GraphTie, ...]
    timeline: tuple[DayCount, ...]


def shared_entities(
    con: duckdb.DuckDBPyConnection, platform: Platform, members: Sequence[str], limit: int = 50
) -> tuple[SharedEntity, ...]:
    """Entities (not hashtags or prices) carried by at least two members, most widely shared first."""
    if not has_table(con, "post_entities") or not members:
        return ()
    rows = con.execute(
        """
        WITH m AS (SELECT unnest($m::VARCHAR[]) AS id),
        e AS (
            SELECT account_id, kind, value, post_id FROM post_entities
            WHERE platform = $p AND account_id IN (SELECT id FROM m) AND kind NOT IN ('hashtag', 'price')
            UNION ALL
            SELECT account_id, kind, value, NULL FROM account_entities
            WHERE platform = $p AND account_id IN (SELECT id FROM m) AND kind NOT IN ('hashtag', 'price')
        )
        SELECT kind, value, count(DISTINCT account_id) AS n_acc, count(DISTINCT post_id) AS n_posts FROM e
        GROUP BY ALL HAVING count(DISTINCT account_id) >= 2
        ORDER BY n_acc DESC, n_posts DESC, kind, value LIMIT $limit
        """,
        {"m": list(members), "p": str(platform), "limit": limit},
    ).fetchall()
    return tuple(SharedEntity(str(k), str(v), int(a), int(n)) for k, v, a, n in rows)


def media_queue(
    con: duckdb.DuckDBPyConnection, platform: Platform, members: Sequence[str], limit: int = 500
) -> tuple[QueuedMedia, ...]:
    """Media posted by members that matched no bank, by priority: spread across members and posts, recency."""
    if not members:
        return ()
    has_matches = has_table(con, "matches")
    unmatched = "AND l.sha256 NOT IN (SELECT sha256 FROM matches)" if has_matches else ""
    rows = con.execute(
        f"""
        WITH m AS (SELECT unnest($m::VARCHAR[]) AS id),
        x AS (
            SELECT l.sha256, p.id AS post_id, p.account_id, p.created_at
            FROM attachments a JOIN media_links l ON l.platform = a.platform AND l.ref_id = a.id
            JOIN posts p ON p.platform = a.platform AND p.id = a.post_id
            WHERE a.platform = $p AND p.account_id IN (SELECT id FROM m) {unmatched}
        )
        SELECT sha256, count(DISTINCT post_id) AS n_posts, count(DISTINCT account_id) AS n_acc,
               min(created_at) AS first_seen, max(created_at) AS last_seen
        FROM x GROUP BY sha256
        """,
        {"m": list(members), "p": str(platform)},
    ).fetchall()
    if not rows:
        return ()
    newest = max(r[4] for r in rows)
    queued = []
    for sha, n_posts, n_acc, first, last in rows:
        age_days = max(0.0, (newest - last).total_seconds() / 86400)
        priority = round(n_acc * 2.0 + n_posts + 5.0 / (1.0 + age_days), 3)
        queued.append(QueuedMedia(str(sha), priority, int(n_posts), int(n_acc), first.isoformat()))
    queued.sort(key=lambda q: (-q.priority, q.sha256))
    return tuple(queued[:limit])


def timeline(
    con: duckdb.DuckDBPyConnection, platform: Platform, members: Sequence[str]
) -> tuple[DayCount, ...]:
    """Posts per day and accounts created per day, by the case's members."""
    rows = con.execute(
        """
        WITH m AS (SELECT unnest($m::VARCHAR[]) AS id),
        posts_d AS (SELECT created_at::DATE AS day, count(*) AS n FROM posts
                    WHERE platform = $p AND account_id IN (SELECT id FROM m) GROUP BY ALL),
        acc_d AS (SELECT created_at::DATE AS day, count(*) AS n FROM accounts
                  WHERE platform = $p AND id IN (SELECT id FROM m) AND created_at IS NOT NULL GROUP BY ALL)
        SELECT coalesce(p.day, a.day) AS day, coalesce(p.n, 0), coalesce(a.n, 0)
        FROM posts_d p FULL OUTER JOIN acc_d a ON p.day = a.day ORDER BY day
        """,
        {"m": list(members), "p": str(platform)},
    ).fetchall()
    return tuple(DayCount(d, int(p), int(a)) for d, p, a in rows)


def is_child_safety(case: Case) -> bool:
    return case.label is CaseLabel.CHILD_SAFETY
