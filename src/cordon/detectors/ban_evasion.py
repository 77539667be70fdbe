"""Ban evasion: new accounts scored against the registry of actioned (suspended, disabled) accounts.

Suspended accounts of a distribution network come back within days under a new name, and they bring what
their audience needs to find them again: the same avatar, the same invite links and wallets in the bio, a
similar handle and bio. Candidate pairs are found by blocking on those shared keys (never a cross product of
all new accounts with all suspended ones), then each pair is scored on the evidence it shares; the best
suspended account above the threshold is the one a new account replaces.

Reads `accounts`, `moderation`, `media_links` (avatars) and, when present, `account_entities`.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import duckdb

from cordon.model import EvidenceItem, Finding, Platform, Subject

NAME = "ban-evasion"


@dataclass(frozen=True, slots=True)
class EvasionConfig:
    max_gap_days: int = 45  # the new account is created within this many days after the action
    min_score: float = 0.5
    actions: tuple[str, ...] = ("suspend", "disable")


@dataclass(frozen=True, slots=True)
class EvasionPair:
    new_account_id: str
    old_account_id: str
    score: float
    gap_days: float
    shared_avatar: bool
    shared_entities: tuple[str, ...]
    handle_similarity: float
    bio_similarity: float


def _has_table(con: duckdb.DuckDBPyConnection, name: str) -> bool:
    found = con.execute(
        "SELECT count(*) FROM information_schema.tables WHERE table_name = ?", [name]
    ).fetchone()
    return bool(found and found[0])


_SQL = """
WITH actioned AS (
    SELECT m.account_id AS old_id, min(m.created_at) AS actioned_at
    FROM moderation m WHERE m.platform = $platform AND m.action IN (SELECT unnest($actions::VARCHAR[]))
    GROUP BY m.account_id
),
newish AS (
    SELECT a.id AS new_id, a.created_at, lower(a.handle) AS handle, coalesce(a.bio, '') || ' ' ||
           coalesce(a.fields_text, '') AS bio
    FROM accounts a
    WHERE a.platform = $platform AND a.created_at IS NOT NULL
      AND a.created_at >= (SELECT min(actioned_at) FROM actioned)
),
old AS (
    SELECT x.old_id, x.actioned_at, lower(a.handle) AS handle,
           coalesce(a.bio, '') || ' ' || coalesce(a.fields_text, '') AS bio
    FROM actioned x JOIN accounts a ON a.platform = $platform AND a.id = x.old_id
),
avatar AS (
    SELECT substr(ref_id, 8) AS account_id, sha256 FROM media_links
    WHERE platform = $platform AND starts_with(ref_id, 'avatar:')
),
ents AS ({entities}),
pairs_avatar AS (
    SELECT n.new_id, o.old_id FROM newish n
    JOIN avatar an ON an.account_id = n.new_id JOIN avatar ao ON ao.sha256 = an.sha256
    JOIN old o ON o.old_id = ao.account_id
),
pairs_entity AS (
    SELECT DISTINCT n.new_id, o.old_id FROM newish n
    JOIN ents en ON en.account_id = n.new_id JOIN ents eo ON eo.value = en.value
    JOIN old o ON o.old_id = eo.account_id
),
pairs_handle AS (
    SELECT n.new_id, o.old_id FROM newish n JOIN old o ON substr(n.handle, 1, 4) = substr(o.handle, 1, 4)
),
pairs AS (
    SELECT DISTINCT new_id, old_id FROM (
        SELECT * FROM pairs_avatar UNION ALL SELECT * FROM pairs_entity UNION ALL SELECT * FROM pairs_handle
    ) WHERE new_id <> old_id
),
scored AS (
    SELECT p.new_id, p.old_id,
           date_diff('second', o.actioned_at, n.created_at) / 86400.0 AS gap_days,
           EXISTS (SELECT 1 FROM avatar an JOIN avatar ao ON an.sha256 = ao.sha256
                   WHERE an.account_id = p.new_id AND ao.account_id = p.old_id) AS shared_avatar,
           (SELECT list(DISTINCT en.value ORDER BY en.value) FROM ents en JOIN ents eo ON en.value = eo.value
            WHERE en.account_id = p.new_id AND eo.account_id = p.old_id) AS shared_entities,
           jaro_winkler_similarity(n.handle, o.handle) AS handle_sim,
           CASE WHEN length(trim(n.bio)) = 0 OR length(trim(o.bio)) = 0 THEN 0.0 ELSE
             len(list_intersect(list_distinct(string_split_regex(lower(n.bio), '\\W+')),
                                list_distinct(string_split_regex(lower(o.bio), '\\W+'))))::DOUBLE
             / greatest(1, len(list_distinct(list_concat(string_split_regex(lower(n.bio), '\\W+'),
                                                          string_split_regex(lower(o.bio), '\\W+')))))
           END AS bio_sim
    FROM pairs p JOIN newish n USING (new_id) JOIN old o USING (old_id)
    WHERE n.created_at > o.actioned_at
      AND n.created_at <= o.actioned_at + to_days($max_gap_days::INTEGER)
)
SELECT new_id, old_id, gap_days, shared_avatar, coalesce(shared_entities, []) AS shared_entities,
       handle_sim, bio_sim
FROM scored
"""

_ENTITIES = (
    "SELECT account_id, value FROM account_entities WHERE platform = $platform "
    "AND kind NOT IN ('hashtag', 'price')"
)
_NO_ENTITIES = "SELECT ''::VARCHAR AS account_id, ''::VARCHAR AS value WHERE false"


def _score(shared_avatar: bool, n_entities: int, handle_sim: float, bio_sim: float) -> float:
    """Evidence adds up: an avatar or a shared wallet/invite is strong, a similar handle or bio is weak."""
    score = 0.45 * shared_avatar + min(0.5, 0.25 * n_entities)
    score += 0.2 * max(0.0, (handle_sim - 0.75) / 0.25) + 0.25 * bio_sim
    return round(min(1.0, score), 4)


def find_pairs(
    con: duckdb.DuckDBPyConnection, platform: Platform, config: EvasionConfig = EvasionConfig()
) -> tuple[EvasionPair, ...]:
    """For every new account, the actioned account it most likely replaces (if any scores high enough)."""
    sql = _SQL.replace("{entities}", _ENTITIES if _has_table(con, "account_entities") else _NO_ENTITIES)
    rows = con.execute(
        sql,
        {"platform": str(platform), "actions": list(config.actions), "max_gap_days": config.max_gap_days},
    ).fetchall()
    best: dict[str, EvasionPair] = {}
    for new_id, old_id, gap, avatar, shared, handle_sim, bio_sim in rows:
        pair = EvasionPair(
            new_account_id=new_id,
            old_account_id=old_id,
            score=_score(bool(avatar), len(shared), float(handle_sim), float(bio_sim)),
            gap_days=round(float(gap), 2),
            shared_avatar=bool(avatar),
            shared_entities=tuple(shared),
            handle_similarity=round(float(handle_sim), 3),
            bio_similarity=round(float(bio_sim), 3),
        )
        if pair.score < config.min_score:
            continue
        current = best.get(new_id)
        if current is None or (pair.score, -pair.gap_days) > (current.score, -current.gap_days):
            best[new_id] = pair
    return tuple(sorted(best.values(), key=lambda p: (p.new_account_id, p.old_account_id)))


def describe(pair: EvasionPair) -> str:
    """The evidence for one evasion pair, in words a reviewer can check."""
    facts = [f"created {pair.gap_days:.1f} days after the action on {pair.old_account_id}"]
    if pair.shared_avatar:
        facts.append("same avatar image")
    if pair.shared_entities:
        facts.append("shares " + ", ".join(pair.shared_entities[:5]))
    if pair.handle_similarity >= 0.8:
        facts.append(f"similar handle ({pair.handle_similarity:.2f})")
    if pair.bio_similarity >= 0.3:
        facts.append(f"similar bio ({pair.bio_similarity:.2f})")
    return "; ".join(facts)


def findings(pairs: tuple[EvasionPair, ...], platform: Platform) -> Iterator[Finding]:
    """One finding per evasion pair: the new account first, then the actioned account it replaces."""
    for pair in pairs:
        new = Subject("account", pair.new_account_id, platform)
        old = Subject("account", pair.old_account_id, platform)
        evidence = EvidenceItem("evasion", describe(pair), refs=(new, old), weight=pair.score)
        yield Finding(NAME, "evasion", (new, old), pair.score, (evidence,))


def detect(
    con: duckdb.DuckDBPyConnection, platform: Platform, config: EvasionConfig = EvasionConfig()
) -> Iterator[Finding]:
    return findings(find_pairs(con, platform, config), platform)
