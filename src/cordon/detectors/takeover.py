"""Takeover: an established account whose behaviour changes abruptly (a hacked account put to network use).

Networks borrow the reach of established accounts. The tell is a break in the account's own history: after
years of ordinary posts, it suddenly posts link-outs (invites, wallets, messenger handles) or matched media,
in other hashtags and at another rate. The change point is the first post that carries such a marker; the
account is reported when it was old at that time, had a real history before it, most of its posts from then
on carry a marker (an ordinary user who once shares an invite and goes on as before was not taken over), and
the hashtags before and after barely overlap.

Markers: `post_entities` of kinds telegram, discord, messenger, wallet (when the table is present) and posts
whose media matched a bank (`matches` table, when present). `accounts` restricts the check (e.g. to members
of a network case); without it every account is checked.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime

import duckdb

from cordon.detectors.base import has_table
from cordon.model import EvidenceItem, Finding, Platform, Subject

NAME = "takeover"


@dataclass(frozen=True, slots=True)
class TakeoverConfig:
    min_age_days: int = 90  # the account was at least this old at the change point
    min_prior_posts: int = 5
    min_prior_days: int = 14  # its history before the change spans at least this many days
    max_tag_overlap: float = 0.2  # Jaccard of hashtags before vs after
    min_marked_share: float = 0.5  # of the posts from the change point on, at least this share carry a marker
    marker_kinds: tuple[str, ...] = ("telegram", "discord", "messenger", "wallet")


@dataclass(frozen=True, slots=True)
class Takeover:
    account_id: str
    changed_at: datetime
    age_days: int
    posts_before: int
    posts_after: int
    marked_after: int  # posts from the change point on that carry a marker
    tag_overlap: float


_MARKED_BY_ENTITY = """
SELECT post_id FROM post_entities WHERE platform = $platform AND kind IN (SELECT unnest($kinds::VARCHAR[]))
"""
_MARKED_BY_MATCH = """
SELECT a.post_id FROM attachments a JOIN media_links l ON l.platform = a.platform AND l.ref_id = a.id
JOIN matches m ON m.sha256 = l.sha256 WHERE a.platform = $platform
"""

_SQL = """
WITH marked AS ({marked}),
scope AS ({scope}),
p AS (
    SELECT p.account_id, p.id, p.created_at, p.hashtags, p.id IN (SELECT post_id FROM marked) AS is_marked
    FROM posts p WHERE p.platform = $platform AND p.account_id IN (SELECT id FROM scope)
),
change AS (SELECT account_id, min(created_at) AS changed_at FROM p WHERE is_marked GROUP BY account_id),
sides AS (
    SELECT p.account_id, c.changed_at, p.created_at < c.changed_at AS before, p.created_at, p.hashtags,
           p.is_marked
    FROM p JOIN change c USING (account_id)
),
agg AS (
    SELECT account_id, any_value(changed_at) AS changed_at,
           count(*) FILTER (WHERE before) AS n_before, count(*) FILTER (WHERE NOT before) AS n_after,
           count(*) FILTER (WHERE NOT before AND is_marked) AS n_marked_after,
           min(created_at) FILTER (WHERE before) AS first_before,
           list_distinct(flatten(list(list_transform(hashtags, lambda t: lower(t))) FILTER (WHERE before))) AS tags_before,
           list_distinct(flatten(list(list_transform(hashtags, lambda t: lower(t))) FILTER (WHERE NOT before))) AS tags_after
    FROM sides GROUP BY account_id
)
SELECT g.account_id, g.changed_at, date_diff('day', a.created_at, g.changed_at) AS age_days,
       g.n_before, g.n_after, g.n_marked_after,
       CASE WHEN len(list_concat(g.tags_before, g.tags_after)) = 0 THEN 0.0 ELSE
         len(list_intersect(g.tags_before, g.tags_after))::DOUBLE
         / len(list_distinct(list_concat(g.tags_before, g.tags_after))) END AS overlap
FROM agg g JOIN accounts a ON a.platform = $platform AND a.id = g.account_id
WHERE g.n_before >= $min_prior_posts
  AND date_diff('day', g.first_before, g.changed_at) >= $min_prior_days
  AND date_diff('day', a.created_at, g.changed_at) >= $min_age_days
  AND g.n_marked_after >= $min_marked_share * g.n_after
ORDER BY g.account_id
"""


def find_takeovers(
    con: duckdb.DuckDBPyConnection,
    platform: Platform,
    accounts: Sequence[str] | None = None,
    config: TakeoverConfig = TakeoverConfig(),
) -> tuple[Takeover, ...]:
    marked = []
    if has_table(con, "post_entities"):
        marked.append(_MARKED_BY_ENTITY)
    if has_table(con, "matches"):
        marked.append(_MARKED_BY_MATCH)
    if not marked:
        return ()
    scope = (
        "SELECT unnest($accounts::VARCHAR[]) AS id"
        if accounts is not None
        else "SELECT id FROM accounts WHERE platform = $platform"
    )
    sql = _SQL.replace("{marked}", " UNION ".join(marked)).replace("{scope}", scope)
    params: dict[str, object] = {
        "platform": str(platform),
        "min_prior_posts": config.min_prior_posts,
        "min_prior_days": config.min_prior_days,
        "min_age_days": config.min_age_days,
        "min_marked_share": config.min_marked_share,
    }
    if "$kinds" in sql:
        params["kinds"] = list(config.marker_kinds)
    if accounts is not None:
        params["accounts"] = list(accounts)
    rows = con.execute(sql, params).fetchall()
    found = (
        Takeover(r[0], r[1], int(r[2]), int(r[3]), int(r[4]), int(r[5]), round(float(r[6]), 3)) for r in rows
    )
    return tuple(t for t in found if t.tag_overlap <= config.max_tag_overlap)


def detect(
    con: duckdb.DuckDBPyConnection,
    platform: Platform,
    accounts: Sequence[str] | None = None,
    config: TakeoverConfig = TakeoverConfig(),
) -> Iterator[Finding]:
    for t in find_takeovers(con, platform, accounts, config):
        subject = Subject("account", t.account_id, platform)
        detail = (
            f"{t.age_days}-day-old account; {t.posts_before} ordinary posts before "
            f"{t.changed_at:%Y-%m-%d %H:%M}, then {t.posts_after}, {t.marked_after} of them with link-outs or "
            f"matched media; "
            f"hashtag overlap before/after {t.tag_overlap:.2f}"
        )
        score = round(1.0 - t.tag_overlap, 4)
        yield Finding(
            NAME, "takeover", (subject,), score, (EvidenceItem("takeover", detail, weight=score),),
            window_start=t.changed_at,
        )  # fmt: skip
