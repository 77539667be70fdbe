"""The action table: every coordination type as one `(account, key, ts, kind)` row, built in DuckDB SQL.

Co-action detection needs only one question answered: which accounts did the same thing (shared a URL,
reblogged a post, replied to a post, used a hashtag, posted the same text or image) close in time? Turning each
post into rows of `(kind, key)` makes every coordination type the same join, so the engine in `coaction.py` has
one code path for all of them.

Rules that keep the table honest:
- an empty key never produces an action (the QUT toolkit records a link-less post as the URL `''` and so links
  every link-less post to every other; cordon does not);
- URLs and replies are taken from original posts only, like the toolkit: a reblog repeats its original's links
  and is counted once, as a reblog action;
- one post gives one action per distinct `(kind, key)`.

Near-duplicate text is MinHash over word shingles with LSH bands, computed vectorised: DuckDB hashes the
words, NumPy folds each shingle's word hashes into one value and takes the per-permutation minima over a whole
batch with `minimum.reduceat`, and each band of the signature becomes a key, so two posts share a `near_text`
key when their Jaccard similarity is high.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime

import duckdb
import numpy as np
import pyarrow as pa

from cordon.detectors.base import has_table, scalar

ACTION_TABLE = "action"

URL, DOMAIN, ENTITY, REPLY, REBLOG, HASHTAG, TEXT, NEAR_TEXT, MEDIA = (
    "url",
    "domain",
    "entity",
    "reply",
    "reblog",
    "hashtag",
    "text",
    "near_text",
    "media",
)
ALL_KINDS: tuple[str, ...] = (URL, DOMAIN, ENTITY, REPLY, REBLOG, HASHTAG, TEXT, NEAR_TEXT, MEDIA)


@dataclass(frozen=True, slots=True)
class ActionConfig:
    """Which key kinds to build, over which posts, and how text keys are made."""

    kinds: tuple[str, ...] = ALL_KINDS
    platform: str | None = None
    start: datetime | None = None  # inclusive
    end: datetime | None = None  # exclusive
    min_text_chars: int = 40  # shorter texts ("thanks!", "lol") are too common to be evidence
    shingle_words: int = 3
    minhash_bands: int = 8
    minhash_rows: int = 4  # bands x rows permutations; P(band hit) = J^rows, P(any) = 1 - (1 - J^rows)^bands
    batch_posts: int = 200_000
    seed: int = 20240501
    # a near-text band key of one account's posts only can pair no one: not recorded (at 1M posts, 5.8M of
    # the 6.6M band keys); False records every key (for looking at the keys themselves)
    near_text_shared_only: bool = True

    def __post_init__(self) -> None:
        unknown = set(self.kinds) - set(ALL_KINDS)
        if unknown:
            raise ValueError(f"unknown action kinds: {sorted(unknown)}")


def _literal(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


def _where(config: ActionConfig) -> str:
    """The post filter as SQL literals (a view cannot hold prepared parameters)."""
    parts = ["true"]
    if config.platform is not None:
        parts.append(f"platform = {_literal(config.platform)}")
    if config.start is not None:
        parts.append(f"created_at >= {_literal(config.start.isoformat())}::TIMESTAMPTZ")
    if config.end is not None:
        parts.append(f"created_at < {_literal(config.end.isoformat())}::TIMESTAMPTZ")
    return " AND ".join(parts)


# The posts the action table is built from (platform and time filters applied once).
_POSTS = """
CREATE OR REPLACE TEMP VIEW _act_posts AS
SELECT platform, id, account_id, epoch_us(created_at) AS ts, text, hashtags, urls, card_url,
       reply_to_post_id, reblog_of_post_id, media_ids
FROM posts
WHERE {where}
"""

_URLS_FROM_POSTS = """
SELECT platform, account_id, id, u AS key, ts FROM (
    SELECT platform, account_id, id, ts,
           unnest(CASE WHEN coalesce(card_url, '') = '' THEN urls ELSE list_append(coalesce(urls, []), card_url) END) AS u
    FROM _act_posts
    WHERE reblog_of_post_id IS NULL AND (len(urls) > 0 OR coalesce(card_url, '') <> ''))
WHERE coalesce(u, '') <> ''
"""  # a URL twice in one post (or as its card too) is one action: insert() keeps distinct rows

_URLS_FROM_ENTITIES = """
SELECT p.platform, p.account_id, p.id, e.value AS key, p.ts
FROM post_entities e JOIN _act_posts p ON p.platform = e.platform AND p.id = e.post_id
WHERE e.kind = '{kind}' AND coalesce(e.value, '') <> '' AND p.reblog_of_post_id IS NULL
"""

_HOST = r"lower(regexp_extract(key, '^[A-Za-z][A-Za-z0-9+.-]*://(?:[^@/?#]*@)?([^/:?#]+)', 1))"

_SELECTS: dict[str, str] = {
    REPLY: """SELECT platform, account_id, id, reply_to_post_id, ts FROM _act_posts
              WHERE coalesce(reply_to_post_id, '') <> '' AND reblog_of_post_id IS NULL""",
    REBLOG: """SELECT platform, account_id, id, reblog_of_post_id, ts FROM _act_posts
               WHERE coalesce(reblog_of_post_id, '') <> ''""",
    HASHTAG: """SELECT platform, account_id, id, h, ts FROM (
                  SELECT platform, account_id, id, ts, unnest(list_distinct(list_transform(
                      coalesce(hashtags, []), lambda t: lower(t)))) AS h
                  FROM _act_posts WHERE reblog_of_post_id IS NULL)
                WHERE coalesce(h, '') <> ''""",
    # whitespace runs as one space, trimmed; the replace runs only on the few texts it would change (a run of
    # two, a tab or newline, or whitespace at an end), as it costs far more than the test
    TEXT: """SELECT platform, account_id, id, md5(t), ts FROM (
               SELECT platform, account_id, id, ts,
                      CASE WHEN regexp_matches(text, '\\s\\s|[^\\S ]|^\\s|\\s$')
                           THEN trim(regexp_replace(text, '\\s+', ' ', 'g')) ELSE text END AS t
               FROM _act_posts WHERE reblog_of_post_id IS NULL AND text IS NOT NULL)
             WHERE length(t) >= $min_text_chars""",
}

_MEDIA_SHA = """
SELECT p.platform, p.account_id, p.id, 'sha256:' || l.sha256, p.ts
FROM (SELECT platform, account_id, id, ts, unnest(list_distinct(media_ids)) AS ref
      FROM _act_posts WHERE reblog_of_post_id IS NULL) p
JOIN media_links l ON l.platform = p.platform AND l.ref_id = p.ref
"""

_MEDIA_PDQ = """
SELECT p.platform, p.account_id, p.id, 'pdq:' || h.value, p.ts
FROM (SELECT platform, account_id, id, ts, unnest(list_distinct(media_ids)) AS ref
      FROM _act_posts WHERE reblog_of_post_id IS NULL) p
JOIN media_links l ON l.platform = p.platform AND l.ref_id = p.ref
JOIN media_hashes h ON h.sha256 = l.sha256 AND h.algo = 'pdq' AND h.frame = 0
"""

_ENTITIES = """
SELECT p.platform, p.account_id, p.id, e.kind || ':' || e.value, p.ts
FROM post_entities e JOIN _act_posts p ON p.platform = e.platform AND p.id = e.post_id
WHERE e.kind NOT IN ('url', 'domain', 'hashtag') AND coalesce(e.value, '') <> ''
  AND p.reblog_of_post_id IS NULL
"""


def build_actions(
    con: duckdb.DuckDBPyConnection, config: ActionConfig = ActionConfig(), table: str = ACTION_TABLE
) -> int:
    """(Re)create the temp table `table(platform, account, post_id, kind, key, ts)` and return its row count.

    `ts` is epoch microseconds, so that window comparisons are exact integer arithmetic.
    """
    con.execute(_POSTS.format(where=_where(config)))
    con.execute(
        f"CREATE OR REPLACE TEMP TABLE {table} (platform VARCHAR, account VARCHAR, post_id VARCHAR, "
        "kind VARCHAR, key VARCHAR, ts BIGINT)"
    )
    entities = has_table(con, "post_entities") and (
        scalar(con, "SELECT count(*) FROM (SELECT 1 FROM post_entities WHERE kind = 'url' LIMIT 1)") > 0
    )

    def insert(kind: str, select: str, extra: dict[str, object] | None = None) -> None:
        con.execute(
            f"INSERT INTO {table} SELECT DISTINCT platform, account_id, id, '{kind}', key, ts "
            f"FROM ({select}) s(platform, account_id, id, key, ts)",
            extra or {},
        )

    url_select = _URLS_FROM_ENTITIES.format(kind="url") if entities else _URLS_FROM_POSTS
    if URL in config.kinds:
        insert(URL, url_select)
    if DOMAIN in config.kinds:
        if entities:
            insert(DOMAIN, _URLS_FROM_ENTITIES.format(kind="domain"))
        else:
            host = f"regexp_replace({_HOST}, '^www\\.', '')"
            insert(
                DOMAIN, f"SELECT platform, account_id, id, {host}, ts FROM ({url_select}) WHERE {host} <> ''"
            )
    if ENTITY in config.kinds and has_table(con, "post_entities"):
        insert(ENTITY, _ENTITIES)
    for kind in (REPLY, REBLOG, HASHTAG):
        if kind in config.kinds:
            insert(kind, _SELECTS[kind])
    if TEXT in config.kinds:
        insert(TEXT, _SELECTS[TEXT], {"min_text_chars": config.min_text_chars})
    if MEDIA in config.kinds and has_table(con, "media_links"):
        insert(MEDIA, _MEDIA_SHA)
        if has_table(con, "media_hashes"):
            insert(MEDIA, _MEDIA_PDQ)
    if NEAR_TEXT in config.kinds:
        _insert_near_text(con, config, table)
    return scalar(con, f"SELECT count(*) FROM {table}")


# per text long enough to be evidence: its post's row id, its author as a number (one per platform and
# account: the codes only need to tell accounts apart), its platform as a number, and DuckDB's `hash` of each
# of its words (lower case, split on anything but letters, digits and _); read on a cursor of its own (which
# cannot see the temp view), hence the posts filter spelled out again
_WORDS = """
WITH owners AS (
    SELECT platform, account_id, row_number() OVER () AS owner, dense_rank() OVER (ORDER BY platform) AS plat
    FROM (SELECT DISTINCT platform, account_id FROM posts WHERE {where})
)
SELECT p.r, o.owner, o.plat, p.t FROM (
    SELECT rowid AS r, platform, account_id,
           list_transform(list_filter(string_split_regex(lower(text), '[^[:alnum:]_]+'), lambda w: w <> ''),
                          lambda w: hash(w)) AS t
    FROM posts
    WHERE {where} AND reblog_of_post_id IS NULL AND length(text) >= $min_text_chars) p
JOIN owners o ON o.platform = p.platform AND o.account_id = p.account_id
WHERE len(p.t) >= $k
"""

# the band keys kept, back to their posts by row id
_NEAR_INSERT = """
INSERT INTO {table}
SELECT p.platform, p.account_id, p.id, '{kind}', 'b' || f.band || ':' || f.key, epoch_us(p.created_at)
FROM _nd_found f JOIN posts p ON p.rowid = f.r
"""


def minhash_signatures(
    values: np.ndarray, offsets: np.ndarray, n_perm: int, seed: int, *, threads: int = 2
) -> np.ndarray:
    """MinHash signatures for many sets at once: set i is `values[offsets[i]:offsets[i+1]]` (uint64 hashes).

    Each permutation is a multiply-add over all values of the batch and one `minimum.reduceat`; no Python
    loop over sets. NumPy runs those without Python's lock, so `threads` threads take a share of the
    permutations each. Returns an `(n_sets, n_perm)` uint64 array. Every set must be non-empty.
    """
    rng = np.random.default_rng(seed)
    a = rng.integers(1, 2**63, size=n_perm, dtype=np.uint64) | np.uint64(1)
    b = rng.integers(0, 2**63, size=n_perm, dtype=np.uint64)
    starts = offsets[:-1].astype(np.int64)
    out = np.empty((len(starts), n_perm), dtype=np.uint64)

    def permute(columns: range) -> None:
        h, shifted = np.empty_like(values), np.empty_like(values)  # reused: no allocation per permutation
        with np.errstate(over="ignore"):
            for j in columns:
                np.multiply(values, a[j], out=h)
                np.add(h, b[j], out=h)
                np.right_shift(h, np.uint64(29), out=shifted)
                np.bitwise_xor(h, shifted, out=h)
                np.minimum.reduceat(h, starts, out=out[:, j])

    shares = [range(t, n_perm, threads) for t in range(max(1, min(threads, n_perm)))]
    if len(shares) == 1 or len(values) < 100_000:
        permute(range(n_perm))
    else:
        with ThreadPoolExecutor(len(shares), thread_name_prefix="minhash") as pool:
            list(pool.map(permute, shares))
    return out


def band_keys(signatures: np.ndarray, bands: int, rows: int) -> np.ndarray:
    """One uint64 key per (set, band): the band's `rows` minima combined; equal bands give equal keys."""
    n = signatures.shape[0]
    sig = signatures[:, : bands * rows].reshape(n, bands, rows)
    key = np.full((n, bands), np.uint64(0xCBF29CE484222325), dtype=np.uint64)
    with np.errstate(over="ignore"):
        for r in range(rows):
            key = (key ^ sig[:, :, r]) * np.uint64(0x100000001B3)
    return key


def shingle_starts(offsets: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """Where the k-word shingles of many word lists start in their flat array, and how many each list has.

    List i is `words[offsets[i]:offsets[i+1]]`; its shingles start at `offsets[i]`, ..., `offsets[i+1] - k`
    (none when it has fewer than k words). Returns `(starts, per_list)`; starts are in list order.
    """
    lengths = np.diff(offsets)
    per_list = np.maximum(lengths - (k - 1), 0)
    total = int(per_list.sum())
    first = np.repeat(offsets[:-1], per_list)
    within = np.arange(total, dtype=np.int64) - np.repeat(np.cumsum(per_list) - per_list, per_list)
    return first + within, per_list


_MIX_A = np.uint64(0x9E3779B97F4A7C15)  # odd 64-bit constants (golden ratio; MurmurHash3's finaliser)
_MIX_B = np.uint64(0xFF51AFD7ED558CCD)


def shingle_hashes(word_hashes: np.ndarray, starts: np.ndarray, k: int) -> np.ndarray:
    """One uint64 per k-word shingle from the hashes of its words: the shingle starting at `starts[i]` is
    `word_hashes[starts[i] : starts[i] + k]`, folded in order (h = h * A xor next word) and finalised
    (xor-shift, multiply, xor-shift), so that the same words in the same order give the same value and any
    other sequence a different one but for 64-bit collisions. No shingle string is ever built."""
    with np.errstate(over="ignore"):
        h: np.ndarray = word_hashes[starts]
        for j in range(1, k):
            h *= _MIX_A
            h ^= word_hashes[starts + j]
        h ^= h >> np.uint64(31)
        h *= _MIX_B
        h ^= h >> np.uint64(29)
    return h


def shared_rows(keys: np.ndarray, accounts: np.ndarray) -> np.ndarray:
    """Row mask of an `(n, bands)` key matrix: True where that band's key is also the same band's key of a
    row of another account (`accounts`: one integer code per row, equal codes for the same account)."""
    out = np.zeros(keys.shape, dtype=bool)
    for band in range(keys.shape[1]):
        order = np.argsort(keys[:, band], kind="stable")
        sorted_keys = keys[order, band]
        starts = np.flatnonzero(np.concatenate(([True], sorted_keys[1:] != sorted_keys[:-1])))
        who = accounts[order]
        shared = np.minimum.reduceat(who, starts) != np.maximum.reduceat(who, starts)
        sizes = np.diff(np.append(starts, len(order)))
        out[order, band] = np.repeat(shared, sizes)
    return out


def _insert_near_text(con: duckdb.DuckDBPyConnection, config: ActionConfig, table: str) -> None:
    """Near-text actions: MinHash over each text's k-word shingles, one key per LSH band.

    DuckDB splits the texts into words and hashes each word; NumPy folds k word hashes into each shingle's and
    takes the minima, over a whole batch at a time. The band keys stay numbers until all batches are in; then
    those that two accounts or more share (all, without `near_text_shared_only`) become actions
    `b<band>:<key>`.
    """
    k, bands, rows = config.shingle_words, config.minhash_bands, config.minhash_rows
    n_perm = bands * rows
    # a second cursor streams the word hashes while this process computes the keys
    words_sql = _WORDS.format(where=_where(config))
    params = {"k": k, "min_text_chars": config.min_text_chars}
    post_parts: list[np.ndarray] = []  # row ids, owners and platforms of the texts, and their band keys:
    owner_parts: list[np.ndarray] = []  # numbers only, ~80 bytes per text (8.3M texts at 10M posts)
    plat_parts: list[np.ndarray] = []
    key_parts: list[np.ndarray] = []
    for batch in con.cursor().sql(words_sql, params=params).to_arrow_reader(config.batch_posts):
        if batch.num_rows == 0:
            continue
        lists = batch.column("t")
        offsets = lists.offsets.to_numpy().astype(np.int64)
        word_hashes = lists.values.to_numpy()[offsets[0] : offsets[-1]]
        offsets -= offsets[0]
        starts, per_list = shingle_starts(offsets, k)
        keep = np.flatnonzero(per_list > 0)  # every list, by the query's filter; an empty set has no MinHash
        if not len(keep):
            continue
        values = shingle_hashes(word_hashes, starts, k)
        signatures = minhash_signatures(values, offsets_of(per_list[keep]), n_perm, config.seed)
        key_parts.append(band_keys(signatures, bands, rows))
        post_parts.append(batch.column("r").to_numpy()[keep])
        owner_parts.append(batch.column("owner").to_numpy()[keep])
        plat_parts.append(batch.column("plat").to_numpy()[keep])
    if not key_parts:
        return
    keys = np.concatenate(key_parts)
    del key_parts
    if config.near_text_shared_only:
        owners, platforms = np.concatenate(owner_parts), np.concatenate(plat_parts)
        keep_key = np.zeros(keys.shape, dtype=bool)
        for code in np.unique(platforms):  # a key is shared within one platform
            on = np.flatnonzero(platforms == code)
            keep_key[on] = shared_rows(keys[on], owners[on])
        row, band = np.nonzero(keep_key)
        del keep_key, owners, platforms
    else:
        row, band = np.divmod(np.arange(keys.size, dtype=np.int64), bands)
    found = pa.table(
        {
            "r": pa.array(np.concatenate(post_parts)[row]),
            "band": pa.array(band.astype(np.int16)),
            "key": pa.array(keys[row, band]),
        }
    )
    del row, band, keys
    con.register("_nd_found", found)
    try:
        con.execute(_NEAR_INSERT.format(table=table, kind=NEAR_TEXT))
    finally:
        con.unregister("_nd_found")


def offsets_of(sizes: np.ndarray) -> np.ndarray:
    """Offsets of consecutive runs of `sizes` (0, s0, s0 + s1, ...)."""
    return np.concatenate(([0], np.cumsum(sizes))).astype(np.int64)
