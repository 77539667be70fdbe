"""The corpus tables: one DuckDB file by default; the same names and columns on PostgreSQL.

Every corpus table has a natural key (`KEYS`: (platform, id) or what identifies its record), so that
re-ingest is an idempotent upsert. The key is kept by the store's merge (new rows by an anti-join on the key,
changed ones updated by the key), not by a PRIMARY KEY constraint: DuckDB keeps a constraint's ART index in
memory while it is written to, and for the big tables that index grew about 160 MB per million statuses
(docs/corpus.md, "Speed and memory"). Only the small bookkeeping tables (`cursors`, `ingest_runs`) keep one.
Files made before 2026-12-07 have PRIMARY KEYs on every table; the store still writes to them
(`DuckDBCorpus.drop_key_constraints` rebuilds their tables without).
Timestamps are UTC. Lists (hashtags, mentions, urls, media) are LIST columns.

Key columns never hold NULL: an edge without a post has `post_id = ''`, and a quarantined record is keyed by
`qkey`, a digest of (source, line, record_id, field, reason).
"""

from __future__ import annotations

TABLES: dict[str, str] = {
    "accounts": """
        platform VARCHAR NOT NULL, id VARCHAR NOT NULL, handle VARCHAR NOT NULL, acct VARCHAR,
        display_name VARCHAR, bio VARCHAR, fields_text VARCHAR, created_at TIMESTAMPTZ, url VARCHAR,
        avatar_url VARCHAR, bot BOOLEAN, locked BOOLEAN, followers_count BIGINT, following_count BIGINT,
        statuses_count BIGINT""",
    "posts": """
        platform VARCHAR NOT NULL, id VARCHAR NOT NULL, account_id VARCHAR NOT NULL,
        created_at TIMESTAMPTZ NOT NULL, text VARCHAR, lang VARCHAR, url VARCHAR, hashtags VARCHAR[],
        mention_account_ids VARCHAR[], urls VARCHAR[], reply_to_post_id VARCHAR, reply_to_account_id VARCHAR,
        reblog_of_post_id VARCHAR, quote_of_post_id VARCHAR, media_ids VARCHAR[], card_url VARCHAR,
        card_title VARCHAR, card_description VARCHAR, sensitive BOOLEAN, visibility VARCHAR""",
    "attachments": """
        platform VARCHAR NOT NULL, id VARCHAR NOT NULL, post_id VARCHAR, account_id VARCHAR, kind VARCHAR,
        url VARCHAR, preview_url VARCHAR, remote_url VARCHAR, description VARCHAR""",
    "media": """
        sha256 VARCHAR NOT NULL, md5 VARCHAR NOT NULL, sha1 VARCHAR NOT NULL, size BIGINT NOT NULL,
        mime VARCHAR, stored_path VARCHAR""",
    "media_links": """
        platform VARCHAR NOT NULL, ref_id VARCHAR NOT NULL, sha256 VARCHAR NOT NULL, source VARCHAR,
        url VARCHAR""",
    "edges": """
        platform VARCHAR NOT NULL, kind VARCHAR NOT NULL, src_account_id VARCHAR NOT NULL,
        dst_account_id VARCHAR NOT NULL, post_id VARCHAR NOT NULL, created_at TIMESTAMPTZ""",
    "moderation": """
        platform VARCHAR NOT NULL, account_id VARCHAR NOT NULL, action VARCHAR NOT NULL,
        created_at TIMESTAMPTZ NOT NULL, reason VARCHAR""",
    "quarantine": """
        qkey VARCHAR NOT NULL, source VARCHAR NOT NULL, line BIGINT, record_id VARCHAR, field VARCHAR,
        reason VARCHAR NOT NULL, raw VARCHAR, first_seen TIMESTAMPTZ""",
    "cursors": """
        source VARCHAR PRIMARY KEY, "offset" BIGINT NOT NULL, line BIGINT NOT NULL, updated_at TIMESTAMPTZ,
        position_source VARCHAR""",
    "ingest_runs": """
        run_id VARCHAR PRIMARY KEY, source VARCHAR NOT NULL, connector VARCHAR NOT NULL,
        started_at TIMESTAMPTZ NOT NULL, finished_at TIMESTAMPTZ, status VARCHAR NOT NULL, posts BIGINT,
        quarantined BIGINT, elapsed_s DOUBLE""",
    # -- signals, derived from the corpus by `cordon analyze` (re-derivable; never input) ------------------
    "media_hashes": """
        sha256 VARCHAR NOT NULL, algo VARCHAR NOT NULL, frame INTEGER NOT NULL, value VARCHAR NOT NULL,
        quality INTEGER, timestamp_s DOUBLE""",
    "matches": """
        sha256 VARCHAR NOT NULL, bank VARCHAR NOT NULL, bank_version INTEGER NOT NULL,
        entry_id VARCHAR NOT NULL, algo VARCHAR NOT NULL, distance INTEGER NOT NULL, category VARCHAR NOT NULL""",
    "post_entities": """
        platform VARCHAR NOT NULL, post_id VARCHAR NOT NULL, account_id VARCHAR NOT NULL,
        kind VARCHAR NOT NULL, value VARCHAR NOT NULL, raw VARCHAR""",
    "account_entities": """
        platform VARCHAR NOT NULL, account_id VARCHAR NOT NULL, source VARCHAR NOT NULL,
        kind VARCHAR NOT NULL, value VARCHAR NOT NULL, raw VARCHAR""",
    "scanned": """
        platform VARCHAR NOT NULL, kind VARCHAR NOT NULL, id VARCHAR NOT NULL""",
}

# Signal tables: derived by analysis from the corpus tables, kept beside them in the same file.
SIGNAL_TABLES: tuple[str, ...] = ("media_hashes", "matches", "post_entities", "account_entities", "scanned")

# The natural key of every upserted table (unique in the table: the store's merge keeps it so; the columns of
# the PRIMARY KEY that files made before 2026-12-07 have).
KEYS: dict[str, tuple[str, ...]] = {
    "accounts": ("platform", "id"),
    "posts": ("platform", "id"),
    "attachments": ("platform", "id"),
    "media": ("sha256",),
    "media_links": ("platform", "ref_id"),
    "edges": ("platform", "kind", "src_account_id", "dst_account_id", "post_id"),
    "moderation": ("platform", "account_id", "action", "created_at"),
    "quarantine": ("qkey",),
    "media_hashes": ("sha256", "algo", "frame"),
    "matches": ("sha256", "bank", "entry_id"),
    "post_entities": ("platform", "post_id", "kind", "value"),
    "account_entities": ("platform", "account_id", "source", "kind", "value"),
    "scanned": ("platform", "kind", "id"),
}

# Tables that hold corpus content (exported to Parquet, counted in stats).
CORPUS_TABLES: tuple[str, ...] = (
    "accounts",
    "posts",
    "attachments",
    "media",
    "media_links",
    "edges",
    "moderation",
    "quarantine",
)
