"""Reply swarms: many distinct, young, repeat co-repliers arriving within minutes of a post.

A network pushes each post to the top by having dozens of bot accounts reply within seconds to minutes. An
organic swarm (fans answering a popular account) is as fast and as large, but its repliers are old accounts that
rarely meet again under another post. So a swarm is scored on three things together: its size inside the
window, the share of repliers that are young at the time of the reply, and the share of repliers that also
reply inside other swarms (repeat co-repliers). One SQL pass over the posts table; no per-row Python.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import duckdb

from cordon.model import EvidenceItem, Finding, Platform, Subject

NAME = "reply-swarm"


@dataclass(frozen=True, slots=True)
class SwarmConfig:
    window_s: int = 900  # replies counted if they arrive within this many seconds of the post
    min_repliers: int = 12  # distinct accounts inside the window
    young_days: int = 45  # an account this young at the time of its reply counts as young
    min_score: float = 0.5  # minimum of (young share, repeat share) blend to report


_SQL = """
WITH r AS (
    SELECT p.account_id AS replier, p.reply_to_post_id AS target, t.account_id AS author,
           t.created_at AS target_ts, p.created_at AS ts,
           coalesce(date_diff('day', a.created_at, p.created_at) < $young_days, false) AS young
    FROM posts p
    JOIN posts t ON t.platform = p.platform AND t.id = p.reply_to_post_id
    LEFT JOIN accounts a ON a.platform = p.platform AND a.id = p.account_id
    WHERE p.platform = $platform AND p.reply_to_post_id IS NOT NULL AND p.account_id <> t.account_id
      AND p.created_at >= t.created_at
      AND p.created_at <= t.created_at + to_seconds($window_s::BIGINT)
),
cand AS (
    SELECT target FROM r GROUP BY target HAVING count(DISTINCT replier) >= $min_repliers
),
rc AS (SELECT r.* FROM r JOIN cand USING (target)),
repeaters AS (
    SELECT replier, count(DISTINCT target) AS n_targets FROM rc GROUP BY replier
)
SELECT rc.target, any_value(rc.author) AS author, any_value(rc.target_ts) AS target_ts,
       count(DISTINCT rc.replier) AS n_repliers,
       avg(rc.young::INT) AS young_share,
       avg((rp.n_targets >= 2)::INT) AS repeat_share,
       median(epoch(rc.ts) - epoch(rc.target_ts)) AS median_delay_s,
       list(DISTINCT rc.replier ORDER BY rc.replier) AS repliers
FROM rc JOIN repeaters rp USING (replier)
GROUP BY rc.target
ORDER BY rc.target
"""


@dataclass(frozen=True, slots=True)
class Swarm:
    post_id: str
    author_id: str
    n_repliers: int
    young_share: float
    repeat_share: float
    median_delay_s: float
    repliers: tuple[str, ...]

    @property
    def score(self) -> float:
        """High only when the repliers are both young and repeat co-repliers (an organic swarm is neither)."""
        return round(0.5 * self.young_share + 0.5 * self.repeat_share, 4)


def find_swarms(
    con: duckdb.DuckDBPyConnection, platform: Platform, config: SwarmConfig = SwarmConfig()
) -> tuple[Swarm, ...]:
    """Every post with at least `min_repliers` distinct repliers inside the window, scored."""
    rows = con.execute(
        _SQL,
        {
            "platform": str(platform),
            "window_s": config.window_s,
            "min_repliers": config.min_repliers,
            "young_days": config.young_days,
        },
    ).fetchall()
    return tuple(
        Swarm(
            post_id=r[0],
            author_id=r[1],
            n_repliers=int(r[3]),
            young_share=float(r[4]),
            repeat_share=float(r[5]),
            median_delay_s=float(r[6]),
            repliers=tuple(r[7]),
        )
        for r in rows
    )


def detect(
    con: duckdb.DuckDBPyConnection, platform: Platform, config: SwarmConfig = SwarmConfig()
) -> Iterator[Finding]:
    """One finding per coordinated swarm: the post, its author and every replier, with the evidence."""
    for swarm in find_swarms(con, platform, config):
        if swarm.score < config.min_score:
            continue
        post = Subject("post", swarm.post_id, platform)
        evidence = EvidenceItem(
            "reply-swarm",
            f"{swarm.n_repliers} distinct accounts replied within {config.window_s // 60} min "
            f"(median {swarm.median_delay_s:.0f} s); {swarm.young_share:.0%} younger than "
            f"{config.young_days} days; {swarm.repeat_share:.0%} also reply in other swarms",
            refs=(post,),
            weight=swarm.score,
        )
        subjects = (
            post,
            Subject("account", swarm.author_id, platform),
            *(Subject("account", a, platform) for a in swarm.repliers),
        )
        yield Finding(NAME, "swarm", subjects, swarm.score, (evidence,))
