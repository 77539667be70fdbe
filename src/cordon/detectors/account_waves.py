"""Account-creation waves: bursts of new accounts with patterned names or shared avatars.

Amplifier bots are created in batches. A batch shows as an hour in which far more accounts were created than
usual, and whose accounts look alike: the same handle shape (letters and digits in the same places, e.g.
`abcd1234`), or the same avatar bytes. The baseline is the median hourly creation count over the hours that
saw any; a wave is an hour at `burst_factor` times that or more, reported with its dominant handle shape.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime

import duckdb

from cordon.model import EvidenceItem, Finding, Platform, Subject

NAME = "account-wave"


@dataclass(frozen=True, slots=True)
class WaveConfig:
    bucket_s: int = 3600
    min_accounts: int = 8
    burst_factor: float = 5.0
    min_pattern_share: float = 0.5  # share of the wave with the dominant handle shape or a shared avatar


@dataclass(frozen=True, slots=True)
class Wave:
    start: datetime
    n_accounts: int
    baseline: float
    shape: str  # the dominant handle shape, letters as 'a' and digits as '0'
    shape_share: float
    avatar_share: float
    members: tuple[str, ...]  # accounts of the wave that carry the pattern (shape or shared avatar)

    @property
    def score(self) -> float:
        burst = min(1.0, self.n_accounts / max(1.0, self.baseline * 10))
        return round(max(self.shape_share, self.avatar_share) * (0.5 + 0.5 * burst), 4)


_SQL = """
WITH acc AS (
    SELECT a.id, a.created_at, time_bucket(to_seconds($bucket_s::BIGINT), a.created_at) AS bucket,
           regexp_replace(regexp_replace(lower(a.handle), '[0-9]', '0', 'g'), '[a-z]', 'a', 'g') AS shape
    FROM accounts a WHERE a.platform = $platform AND a.created_at IS NOT NULL
),
per_bucket AS (SELECT bucket, count(*) AS n FROM acc GROUP BY bucket),
baseline AS (SELECT greatest(1.0, median(n)) AS b FROM per_bucket),
bursts AS (
    SELECT bucket, n FROM per_bucket, baseline
    WHERE n >= $min_accounts AND n >= $burst_factor * baseline.b
),
avatar AS (
    SELECT substr(ref_id, 8) AS id, sha256 FROM media_links
    WHERE platform = $platform AND starts_with(ref_id, 'avatar:')
),
members AS (
    SELECT acc.*, av.sha256 AS avatar FROM acc JOIN bursts USING (bucket) LEFT JOIN avatar av USING (id)
),
shape_top AS (
    -- the most common shape; of equally common ones the first in order (arg_max would pick any of them)
    SELECT bucket, first(shape ORDER BY c DESC, shape) AS shape, max(c) AS c FROM (
        SELECT bucket, shape, count(*) AS c FROM members GROUP BY ALL
    ) GROUP BY bucket
),
avatar_dup AS (
    SELECT bucket, avatar FROM members WHERE avatar IS NOT NULL GROUP BY ALL HAVING count(*) >= 2
)
SELECT m.bucket, b.n, (SELECT b FROM baseline), s.shape, s.c / b.n AS shape_share,
       avg((d.avatar IS NOT NULL)::INT) AS avatar_share,
       list(m.id ORDER BY m.id) FILTER (WHERE m.shape = s.shape OR d.avatar IS NOT NULL) AS members
FROM members m JOIN bursts b USING (bucket) JOIN shape_top s USING (bucket)
LEFT JOIN avatar_dup d ON d.bucket = m.bucket AND d.avatar = m.avatar
GROUP BY m.bucket, b.n, s.shape, s.c
ORDER BY m.bucket
"""


def find_waves(
    con: duckdb.DuckDBPyConnection, platform: Platform, config: WaveConfig = WaveConfig()
) -> tuple[Wave, ...]:
    rows = con.execute(
        _SQL,
        {
            "platform": str(platform),
            "bucket_s": config.bucket_s,
            "min_accounts": config.min_accounts,
            "burst_factor": config.burst_factor,
        },
    ).fetchall()
    return tuple(
        Wave(
            start=r[0],
            n_accounts=int(r[1]),
            baseline=float(r[2]),
            shape=str(r[3]),
            shape_share=round(float(r[4]), 4),
            avatar_share=round(float(r[5]), 4),
            members=tuple(r[6] or ()),
        )
        for r in rows
    )


def detect(
    con: duckdb.DuckDBPyConnection, platform: Platform, config: WaveConfig = WaveConfig()
) -> Iterator[Finding]:
    """One finding per wave whose accounts share a handle shape or avatars."""
    for wave in find_waves(con, platform, config):
        if max(wave.shape_share, wave.avatar_share) < config.min_pattern_share:
            continue
        detail = (
            f"{wave.n_accounts} accounts created in the hour from {wave.start:%Y-%m-%d %H:%M} "
            f"(baseline {wave.baseline:.1f}/h); {wave.shape_share:.0%} with handle shape '{wave.shape}', "
            f"{wave.avatar_share:.0%} sharing an avatar"
        )
        subjects = tuple(Subject("account", a, platform) for a in wave.members)
        evidence = EvidenceItem("creation-wave", detail, weight=wave.score)
        yield Finding(NAME, "wave", subjects, wave.score, (evidence,), window_start=wave.start)
