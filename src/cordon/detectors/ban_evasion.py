"""Ban evasion: new accounts scored against the registry of actioned (suspended, disabled) accounts.

Suspended accounts of a distribution network come back within days under a new name, and they bring what
their audience needs to find them again: the same avatar, the same invite links and wallets in the bio, a
similar handle and bio. Candidate pairs are found by blocking on those shared keys (never a cross product of
all new accounts with all suspended ones), then each pair is scored on the evidence it shares; the best
suspended account above the threshold is the one a new account replaces.

Reads `accounts`, `moderation`, `media_links` (avatars) and, when present, `account_entities` and
`post_entities` (rare entities only) and `coaction_pairs` (co-action neighbours).
"""

from __future__ import annotations

import heapq
import math
from collections.abc import Iterator
from dataclasses import dataclass, replace

import duckdb

from cordon.detectors.base import has_table
from cordon.model import EvidenceItem, Finding, Platform, Subject

NAME = "ban-evasion"


@dataclass(frozen=True, slots=True)
class EvasionConfig:
    max_gap_days: int = 45  # the new account is created within this many days after the action
    min_score: float = 0.5
    actions: tuple[str, ...] = ("suspend", "disable")
    max_entity_accounts: int = (
        10  # an entity carried by more accounts than this does not say which one returns
    )
    min_shared_neighbours: int = 3  # co-action neighbours two accounts must share to be compared on them
    common_avatar_accounts: int = (
        50  # an avatar carried by more accounts (a default, a stock image) says nothing
    )
    common_profile_link_accounts: int = 50  # a link-out in more profiles than this is not compared on


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
    neighbour_similarity: float = 0.0  # Jaccard of their co-action neighbours
    # the avatar's actioned carriers, actioned before the new account appeared; of them, those not replaced
    # by another account when this pair was linked (0: no shared avatar)
    avatar_actioned: int = 0
    avatar_suspects: int = 0
    profile_links: int = 0  # link-outs both profiles advertise (counted from two on)


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
avatar_n AS (SELECT sha256, count(*) AS n FROM avatar GROUP BY sha256),
ents AS ({entities}),
-- candidate pairs, blocked on shared keys (with what each key says about the pair)
avatar_old AS (
    SELECT n.new_id, o.old_id, c.n AS avatar_accounts FROM newish n
    JOIN avatar an ON an.account_id = n.new_id JOIN avatar ao ON ao.sha256 = an.sha256
    JOIN avatar_n c ON c.sha256 = an.sha256 JOIN old o ON o.old_id = ao.account_id
    WHERE c.n <= $common_avatar  -- a default or stock avatar is no evidence: no pair is blocked on it
      AND n.created_at > o.actioned_at AND n.created_at <= o.actioned_at + to_days($max_gap_days::INTEGER)
),
-- with the actioned carriers of the same avatar that the new account could replace (actioned before it was
-- created): a wave's avatar names one of them, the one that returned when there is one
pairs_avatar AS (
    SELECT p.new_id, p.old_id, min(p.avatar_accounts) AS avatar_accounts,
           list(DISTINCT r.old_id ORDER BY r.old_id) AS avatar_rivals
    FROM avatar_old p JOIN avatar_old r ON r.new_id = p.new_id
    GROUP BY ALL
),
pairs_entity AS (
    SELECT n.new_id, o.old_id, list(DISTINCT en.value ORDER BY en.value) AS shared_entities FROM newish n
    JOIN ents en ON en.account_id = n.new_id JOIN ents eo ON eo.value = en.value
    JOIN old o ON o.old_id = eo.account_id
    GROUP BY ALL
),
pairs_handle AS (
    SELECT n.new_id, o.old_id FROM newish n JOIN old o ON substr(n.handle, 1, 4) = substr(o.handle, 1, 4)
),
-- the same link-outs in both profiles (bio, fields): one network-wide invite says "a member of the network",
-- the same two or more say which member (a link-out is counted once, though it yields a URL and an invite)
prof AS ({profile_links}),
pairs_profile AS (
    SELECT n.new_id, o.old_id, count(DISTINCT pn.raw) AS profile_links FROM newish n
    JOIN prof pn ON pn.account_id = n.new_id JOIN prof po ON po.value = pn.value
    JOIN old o ON o.old_id = po.account_id
    GROUP BY ALL HAVING count(DISTINCT pn.raw) >= 2
),
nb AS ({neighbours}),
nb_size AS (SELECT account_id, count(*) AS n FROM nb GROUP BY account_id),
pairs_neighbour AS (
    SELECT n.new_id, o.old_id, count(*) AS shared_nb FROM newish n
    JOIN nb bn ON bn.account_id = n.new_id JOIN nb bo ON bo.other = bn.other
    JOIN old o ON o.old_id = bo.account_id
    GROUP BY ALL HAVING count(*) >= $min_nb
),
pairs AS (
    SELECT DISTINCT new_id, old_id FROM (
        SELECT new_id, old_id FROM pairs_avatar UNION ALL SELECT new_id, old_id FROM pairs_entity
        UNION ALL SELECT * FROM pairs_handle UNION ALL SELECT new_id, old_id FROM pairs_neighbour
        UNION ALL SELECT new_id, old_id FROM pairs_profile
    ) WHERE new_id <> old_id
),
-- each candidate pair with its two times, and only then the time window: a barrier (MATERIALIZED) so that the
-- window is not made a join condition of every new account with every actioned one (at 10M posts the planner
-- did that: 61.7M pairs spilled to disk, 80 s, to keep 0.6M)
pairs_timed AS MATERIALIZED (
    SELECT p.new_id, p.old_id, n.created_at, o.actioned_at
    FROM pairs p JOIN newish n USING (new_id) JOIN old o USING (old_id)
),
pairs_in_window AS (
    SELECT new_id, old_id FROM pairs_timed
    WHERE created_at > actioned_at AND created_at <= actioned_at + to_days($max_gap_days::INTEGER)
),
scored AS (
    SELECT p.new_id, p.old_id,
           date_diff('second', o.actioned_at, n.created_at) / 86400.0 AS gap_days,
           pa.avatar_accounts, pa.avatar_rivals, pe.shared_entities, pp.profile_links,
           jaro_winkler_similarity(n.handle, o.handle) AS handle_sim,
           length(o.handle) >= 5 AND starts_with(n.handle, o.handle) AS handle_extends,
           length(n.handle) - length(o.handle) AS suffix_len,
           CASE WHEN length(trim(n.bio)) = 0 OR length(trim(o.bio)) = 0 THEN 0.0 ELSE
             len(list_intersect(list_distinct(string_split_regex(lower(n.bio), '\\W+')),
                                list_distinct(string_split_regex(lower(o.bio), '\\W+'))))::DOUBLE
             / greatest(1, len(list_distinct(list_concat(string_split_regex(lower(n.bio), '\\W+'),
                                                          string_split_regex(lower(o.bio), '\\W+')))))
           END AS bio_sim,
           coalesce(pn.shared_nb / (sn.n + so.n - pn.shared_nb)::DOUBLE, 0.0) AS nb_sim
    FROM pairs_in_window p JOIN newish n USING (new_id) JOIN old o USING (old_id)
    LEFT JOIN pairs_avatar pa USING (new_id, old_id) LEFT JOIN pairs_entity pe USING (new_id, old_id)
    LEFT JOIN pairs_neighbour pn USING (new_id, old_id) LEFT JOIN pairs_profile pp USING (new_id, old_id)
    LEFT JOIN nb_size sn ON sn.account_id = p.new_id LEFT JOIN nb_size so ON so.account_id = p.old_id
)
SELECT new_id, old_id, gap_days, avatar_accounts, coalesce(avatar_rivals, []) AS avatar_rivals,
       coalesce(shared_entities, []) AS shared_entities, coalesce(profile_links, 0) AS profile_links,
       handle_sim, handle_extends, suffix_len, bio_sim, nb_sim
FROM scored
"""

# identifying entities: in bios and posts, carried by few accounts (a network-wide invite names no one)
_ENTITIES = """
WITH e AS (
    SELECT account_id, kind || ':' || value AS value FROM account_entities
    WHERE platform = $platform AND kind NOT IN ('hashtag', 'price', 'domain')
    UNION
    SELECT account_id, kind || ':' || value FROM post_entities
    WHERE platform = $platform AND kind NOT IN ('hashtag', 'price', 'domain')
)
SELECT account_id, value FROM e
WHERE value IN (SELECT value FROM e GROUP BY value HAVING count(DISTINCT account_id) <= $max_ent)
"""
_NO_ENTITIES = "SELECT ''::VARCHAR AS account_id, ''::VARCHAR AS value WHERE false"
# link-outs of profiles, each carried by few enough profiles to block on (a link in every bio blocks nothing)
_PROFILE_LINKS = """
WITH p AS (
    SELECT account_id, kind || ':' || value AS value, coalesce(raw, value) AS raw FROM account_entities
    WHERE platform = $platform AND kind NOT IN ('hashtag', 'price', 'domain')
)
SELECT account_id, value, raw FROM p
WHERE value IN (SELECT value FROM p GROUP BY value HAVING count(DISTINCT account_id) <= $common_link)
"""
_NO_PROFILE_LINKS = "SELECT ''::VARCHAR AS account_id, ''::VARCHAR AS value, ''::VARCHAR AS raw WHERE false"
# co-action neighbours (both directions of each pair), when the co-action engine has run
_NEIGHBOURS = """
SELECT a AS account_id, b AS other FROM coaction_pairs WHERE platform = $platform
UNION SELECT b, a FROM coaction_pairs WHERE platform = $platform
"""
_NO_NEIGHBOURS = "SELECT ''::VARCHAR AS account_id, ''::VARCHAR AS other WHERE false"


@dataclass(frozen=True, slots=True)
class _Shared:
    """What one candidate pair shares, as read from the store."""

    avatar_accounts: int | None  # accounts carrying the shared avatar (None: no shared avatar)
    avatar_suspects: int  # actioned carriers of it that the new account could still replace
    n_entities: int
    handle_sim: float
    handle_extends: bool
    suffix_len: int  # characters the new handle adds to the old one, when it extends it
    bio_sim: float
    nb_sim: float
    gap_days: float


@dataclass(frozen=True, slots=True)
class _Candidate:
    """A candidate pair as read from the store: what it shares, and which actioned accounts carry the same
    avatar and were actioned before the new account appeared (`rivals`, the old account among them)."""

    new_id: str
    old_id: str
    shared: _Shared
    entities: tuple[str, ...]
    rivals: tuple[str, ...]
    profile_links: int

    def score(self, replaced: set[str]) -> tuple[float, int]:
        """The pair's score once the accounts in `replaced` are known to be replaced by others (a wave's avatar
        then names one of fewer suspects), and the number of suspects it was scored with."""
        suspects = sum(r not in replaced for r in self.rivals)
        return _score(replace(self.shared, avatar_suspects=suspects)), suspects


def _avatar_score(avatar_accounts: int | None, avatar_suspects: int) -> float:
    """The same avatar: strong when few accounts carry it; a wave's shared avatar says which account
    returned when only one of its actioned carriers could have (actioned before the new account appeared, and
    not replaced by another account). (A default or stock avatar, carried by more than
    `common_avatar_accounts`, says nothing: the query shares no such avatar, so it comes as None.)"""
    if avatar_accounts is None:
        return 0.0
    if avatar_accounts <= 3 or avatar_suspects <= 1:
        return 0.45
    return 0.2 + 0.25 / avatar_suspects


def _score(shared: _Shared) -> float:
    """Evidence adds up. Strong: the same avatar when few accounts carry it (or when it names one suspect),
    a shared rare wallet or invite, the old handle with a suffix (a short one, such as "_2" or "x", most of
    all). Weaker: a similar handle or bio, acting with the same accounts as before (by overlap), and coming
    back soon."""
    avatar = _avatar_score(shared.avatar_accounts, shared.avatar_suspects)
    if shared.handle_extends:
        handle = 0.6 if shared.suffix_len <= 3 else 0.4
    else:
        handle = 0.2 * max(0.0, (shared.handle_sim - 0.75) / 0.25)
    score = avatar + min(0.5, 0.25 * shared.n_entities) + handle + 0.25 * shared.bio_sim + 0.6 * shared.nb_sim
    score += 0.15 * math.exp(-max(shared.gap_days, 0.0) / 7.0)
    return round(min(1.0, score), 4)


def find_pairs(
    con: duckdb.DuckDBPyConnection, platform: Platform, config: EvasionConfig = EvasionConfig()
) -> tuple[EvasionPair, ...]:
    """For every new account, the actioned account it most likely replaces (if any scores high enough)."""
    has_entities = has_table(con, "account_entities") and has_table(con, "post_entities")
    sql = _SQL.replace("{entities}", _ENTITIES if has_entities else _NO_ENTITIES)
    sql = sql.replace("{profile_links}", _PROFILE_LINKS if has_entities else _NO_PROFILE_LINKS)
    sql = sql.replace("{neighbours}", _NEIGHBOURS if has_table(con, "coaction_pairs") else _NO_NEIGHBOURS)
    params: dict[str, object] = {
        "platform": str(platform),
        "actions": list(config.actions),
        "max_gap_days": config.max_gap_days,
        "min_nb": config.min_shared_neighbours,
        "common_avatar": config.common_avatar_accounts,
    }
    if has_entities:
        params["max_ent"] = config.max_entity_accounts
        params["common_link"] = config.common_profile_link_accounts
    rows = con.execute(sql, params).fetchall()
    candidates: list[_Candidate] = []
    for (
        new_id,
        old_id,
        gap,
        avatar_n,
        rivals,
        shared,
        profile_links,
        handle_sim,
        extends,
        suffix,
        bio_sim,
        nb_sim,
    ) in rows:
        evidence = _Shared(
            avatar_accounts=None if avatar_n is None else int(avatar_n),
            avatar_suspects=1,  # at best: every other suspect replaced by someone else
            n_entities=max(len(shared), int(profile_links)),
            handle_sim=float(handle_sim),
            handle_extends=bool(extends),
            suffix_len=int(suffix),
            bio_sim=float(bio_sim),
            nb_sim=float(nb_sim),
            gap_days=float(gap),
        )
        if _score(evidence) >= config.min_score:  # it can be linked (when the others are accounted for)
            candidates.append(
                _Candidate(new_id, old_id, evidence, tuple(shared), tuple(rivals), int(profile_links))
            )
    return _one_to_one(candidates, config.min_score)


def _one_to_one(candidates: list[_Candidate], min_score: float) -> tuple[EvasionPair, ...]:
    """Each new account replaces at most one actioned account and each actioned account is replaced by at
    most one new account (a later return is the replacement's replacement): greedy by score, then by the
    shorter gap. A wave of look-alike bots created after a suspension thus yields one link, not twenty.

    A link also accounts for its actioned account: a wave's avatar shared with several actioned carriers
    names fewer suspects for the other new accounts carrying it, so their pairs are scored again (an analyst's
    elimination: three of the wave's four suspended bots are back under other evidence, this one is the
    fourth). Scores only rise as accounts are replaced, so a pair popped with an outdated score has a fresher
    entry in the heap."""
    by_rival: dict[str, list[int]] = {}
    for i, c in enumerate(candidates):
        for r in c.rivals:
            by_rival.setdefault(r, []).append(i)
    replaced: set[str] = set()
    used_new: set[str] = set()
    heap: list[tuple[float, float, str, str, int]] = []

    def push(i: int) -> None:
        c = candidates[i]
        heapq.heappush(heap, (-c.score(replaced)[0], c.shared.gap_days, c.new_id, c.old_id, i))

    for i in range(len(candidates)):
        push(i)
    chosen: list[EvasionPair] = []
    while heap:
        neg, _, new_id, old_id, i = heapq.heappop(heap)
        if new_id in used_new or old_id in replaced:
            continue
        score, suspects = candidates[i].score(replaced)
        if score != -neg or score < min_score:  # outdated (a fresher entry exists), or too weak as yet
            continue
        used_new.add(new_id)
        replaced.add(old_id)
        chosen.append(_pair(candidates[i], score, suspects))
        for j in by_rival.get(old_id, ()):
            if candidates[j].new_id not in used_new and candidates[j].old_id not in replaced:
                push(j)
    return tuple(sorted(chosen, key=lambda p: (p.new_account_id, p.old_account_id)))


def _pair(c: _Candidate, score: float, suspects: int) -> EvasionPair:
    s = c.shared
    return EvasionPair(
        new_account_id=c.new_id,
        old_account_id=c.old_id,
        score=score,
        gap_days=round(s.gap_days, 2),
        shared_avatar=s.avatar_accounts is not None,
        shared_entities=c.entities,
        handle_similarity=round(s.handle_sim, 3),
        bio_similarity=round(s.bio_sim, 3),
        neighbour_similarity=round(s.nb_sim, 3),
        avatar_actioned=len(c.rivals),
        avatar_suspects=suspects if s.avatar_accounts is not None else 0,
        profile_links=c.profile_links,
    )


def describe(pair: EvasionPair) -> str:
    """The evidence for one evasion pair, in words a reviewer can check."""
    facts = [f"created {pair.gap_days:.1f} days after the action on {pair.old_account_id}"]
    if pair.shared_avatar and pair.avatar_actioned > 1:
        facts.append(
            f"same avatar image, which {pair.avatar_actioned} accounts actioned before this one appeared "
            f"carry ({pair.avatar_actioned - pair.avatar_suspects} of them replaced by other accounts)"
        )
    elif pair.shared_avatar:
        facts.append("same avatar image")
    if pair.shared_entities:
        facts.append("shares " + ", ".join(pair.shared_entities[:5]))
    if pair.profile_links:
        facts.append(f"the same {pair.profile_links} link-outs in both profiles")
    if pair.handle_similarity >= 0.8:
        facts.append(f"similar handle ({pair.handle_similarity:.2f})")
    if pair.bio_similarity >= 0.3:
        facts.append(f"similar bio ({pair.bio_similarity:.2f})")
    if pair.neighbour_similarity > 0:
        facts.append(
            f"acts with the same accounts (co-action neighbours overlap {pair.neighbour_similarity:.2f})"
        )
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
