"""Hashtag flooding and hijacking: the tags a network turns into aggregators, innocent ones included.

A count rule alone fails: at scale a flood drowns in a hot tag's normal traffic, and an organic burst (an
event) looks like a flood. So tags are judged against one cluster of accounts (a network found by the other
detectors): a tag is flooded by the cluster when many distinct accounts of the cluster post it, the tag is far
more frequent inside the cluster than outside (lift), and on the days the cluster uses it the cluster makes a
real share of the tag's traffic or lifts it above its own baseline. The output is the list of tags to remove
from search suggestions and trends, each with its evidence. Never a raw co-hashtag network.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass

import duckdb

from cordon.model import EvidenceItem, Finding, Platform, Subject

NAME = "hashtag-flood"


@dataclass(frozen=True, slots=True)
class FloodConfig:
    min_cluster_posts: int = 10
    min_cluster_authors: int = 3
    min_lift: float = 3.0  # share of cluster posts with the tag / share of all posts with the tag
    min_day_share: float = 0.2  # cluster posts / all posts of the tag, on days the cluster uses it
    min_burst: float = 2.0  # or: the tag's daily volume on cluster days / its median on other days
    min_author_share: float = 0.25  # or: this share of the cluster's posting accounts use it (author mass)


@dataclass(frozen=True, slots=True)
class FloodedTag:
    tag: str
    cluster_posts: int
    cluster_authors: int
    total_posts: int
    lift: float
    day_share: float
    burst: float  # inf when the tag had no traffic outside the cluster's days
    days: int
    author_share: float = 0.0  # cluster accounts using the tag / cluster accounts that post

    @property
    def hijacked(self) -> bool:
        """A tag with a life of its own beside the cluster's posts (an innocent tag, hijacked)."""
        return self.total_posts - self.cluster_posts >= 0.25 * self.cluster_posts


_SQL = """
WITH members AS (SELECT DISTINCT unnest($accounts::VARCHAR[]) AS id),
p AS (
    SELECT p.account_id, p.created_at::DATE AS day, p.account_id IN (SELECT id FROM members) AS in_c,
           p.hashtags
    FROM posts p WHERE p.platform = $platform AND p.reblog_of_post_id IS NULL
),
totals AS (
    SELECT count(*) AS n_all, count(*) FILTER (WHERE in_c) AS n_c,
           count(DISTINCT account_id) FILTER (WHERE in_c) AS authors_c
    FROM p
),
tag_day AS (
    SELECT tag, day, count(*) AS n, count(*) FILTER (WHERE in_c) AS n_c FROM (
        SELECT p.account_id, p.day, p.in_c, lower(u.tag) AS tag
        FROM p, unnest(p.hashtags) AS u(tag)
    ) GROUP BY ALL
),
per_tag AS (
    SELECT tag, sum(n) AS total, sum(n_c) AS total_c, count(*) FILTER (WHERE n_c > 0) AS days_c,
           sum(n) FILTER (WHERE n_c > 0) AS n_on_c_days,
           avg(n) FILTER (WHERE n_c > 0) AS level_c_days,
           median(n) FILTER (WHERE n_c = 0) AS baseline
    FROM tag_day GROUP BY tag HAVING sum(n_c) >= $min_posts
),
authors AS (
    SELECT lower(u.tag) AS tag, count(DISTINCT p.account_id) AS n_authors
    FROM p, unnest(p.hashtags) AS u(tag) WHERE p.in_c GROUP BY ALL
)
SELECT g.tag, g.total_c, a.n_authors, g.total,
       (g.total_c / (SELECT n_c FROM totals)) / (g.total / (SELECT n_all FROM totals)) AS lift,
       g.total_c / g.n_on_c_days AS day_share,
       CASE WHEN g.baseline IS NULL OR g.baseline = 0 THEN 'inf'::DOUBLE ELSE g.level_c_days / g.baseline END
         AS burst,
       g.days_c, a.n_authors / greatest(1, (SELECT authors_c FROM totals)) AS author_share
FROM per_tag g JOIN authors a USING (tag)
ORDER BY g.tag
"""


def find_flooded(
    con: duckdb.DuckDBPyConnection,
    platform: Platform,
    cluster: Sequence[str],
    config: FloodConfig = FloodConfig(),
) -> tuple[FloodedTag, ...]:
    """The tags that `cluster` (a network's accounts) floods, by the rules in the module docstring."""
    if not cluster:
        return ()
    rows = con.execute(
        _SQL,
        {"platform": str(platform), "accounts": list(cluster), "min_posts": config.min_cluster_posts},
    ).fetchall()
    tags = (
        FloodedTag(r[0], int(r[1]), int(r[2]), int(r[3]), round(float(r[4]), 3), round(float(r[5]), 3),
                   float(r[6]), int(r[7]), round(float(r[8]), 3))
        for r in rows
    )  # fmt: skip
    return tuple(
        t
        for t in tags
        if t.cluster_authors >= config.min_cluster_authors
        and t.lift >= config.min_lift
        and (
            t.day_share >= config.min_day_share
            or t.burst >= config.min_burst
            or t.author_share >= config.min_author_share
        )
    )


def describe(t: FloodedTag) -> str:
    """The evidence for one flooded tag, in words a reviewer can check."""
    burst = "no traffic before" if t.burst == float("inf") else f"{t.burst:.1f}x its baseline"
    return (
        f"#{t.tag}: {t.cluster_posts} of its {t.total_posts} posts by {t.cluster_authors} accounts of the "
        f"network ({t.author_share:.0%} of its posting accounts) over {t.days} days; lift {t.lift:.1f}; "
        f"{t.day_share:.0%} of its traffic on those days; "
        f"{burst}" + ("; an established tag, hijacked" if t.hijacked else "")
    )


def score(t: FloodedTag) -> float:
    return round(min(1.0, t.day_share + 0.1 * min(t.lift, 5.0)), 4)


def detect(
    con: duckdb.DuckDBPyConnection,
    platform: Platform,
    cluster: Sequence[str],
    config: FloodConfig = FloodConfig(),
) -> Iterator[Finding]:
    """One finding per flooded tag: remove it from search suggestions and trends."""
    for t in find_flooded(con, platform, cluster, config):
        evidence = EvidenceItem("hashtag-flood", describe(t), weight=score(t))
        subject = Subject("hashtag", t.tag, platform)
        yield Finding(NAME, "hijacked" if t.hijacked else "flooded", (subject,), score(t), (evidence,))
