"""Entities of the corpus, composed: new posts and changed profiles -> `cordon.signals.entities` -> the
corpus's ``post_entities`` and ``account_entities`` tables.

Incremental: the ``scanned`` table remembers what was read (a post by id; an account by id and a digest of its
bio and profile fields, so an edited bio is read again and its entities kept beside the old ones, which is
what takeover detection wants). Batched over Arrow; the extractor itself is column-wise.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from dataclasses import dataclass

import pyarrow as pa

from cordon.app.processes import available_cpus, ordered_map
from cordon.corpus import DuckDBCorpus
from cordon.signals.entities import extract_entities

_POST_KEYS = ["platform", "post_id", "kind", "value"]
_ACCOUNT_KEYS = ["platform", "account_id", "source", "kind", "value"]

# the text of a post that can carry entities: its body, its URLs (already expanded by the platform) and the
# link card the platform attached
_NEW_POSTS = """
SELECT p.platform, p.id AS post_id, p.account_id,
       concat_ws(' ', p.text, array_to_string(p.urls, ' '), p.card_url, p.card_title, p.card_description)
         AS text
FROM posts p ANTI JOIN (SELECT platform, id FROM scanned WHERE kind = 'post') s
  ON s.platform = p.platform AND s.id = p.id
"""

_NEW_PROFILES = """
WITH a AS (
    SELECT platform, id AS account_id, bio, fields_text, display_name,
           id || ':' || md5(concat_ws(chr(31), bio, fields_text, display_name)) AS scan_id
    FROM accounts
)
SELECT a.* FROM a ANTI JOIN (SELECT platform, id FROM scanned WHERE kind = 'account') s
  ON s.platform = a.platform AND s.id = a.scan_id
"""

# profile parts, each kept as the entity's `source`
_PROFILE_SOURCES = ("bio", "fields_text", "display_name")


@dataclass(frozen=True, slots=True)
class EntityScan:
    posts: int
    post_entities: int
    accounts: int
    account_entities: int


def _distinct(table: pa.Table, keys: list[str]) -> pa.Table:
    """One row per key (the extractor may find the same entity twice in one text); the first raw form."""
    if table.num_rows == 0:
        return table
    others = [c for c in table.column_names if c not in keys]
    grouped = table.group_by(keys, use_threads=False).aggregate([(c, "first") for c in others])
    return grouped.rename_columns([*keys, *others]).select(table.column_names)


def extract_new(store: DuckDBCorpus, *, batch_rows: int = 100_000, workers: int | None = None) -> EntityScan:
    """Extract the entities of every post and profile not read before; returns what was read and found.

    New posts are read in batches of `batch_rows`, then new profiles in batches of a quarter of that (a
    profile has three texts, and a corpus has far fewer profiles than posts); with `workers` above 1
    (default: the CPUs this process may use) and more than one batch to read, the batches, posts and
    profiles alike, are scanned in that many worker processes while this one stores the results
    (`processes.ordered_map`)."""
    con = store.connection
    workers = workers if workers is not None else available_cpus()

    def batches(sql: str, rows: int, kind: str) -> Iterator[tuple[str, pa.RecordBatch]]:
        # a second cursor streams the rows from one snapshot while the store writes on its own connection
        for batch in con.cursor().sql(sql).to_arrow_reader(rows):
            yield kind, batch

    todo = itertools.chain(
        batches(_NEW_POSTS, batch_rows, "post"), batches(_NEW_PROFILES, max(1, batch_rows // 4), "account")
    )
    head = list(itertools.islice(todo, 2))
    todo = itertools.chain(head, todo)
    scanned = (
        ordered_map(_entities, todo, workers=workers)
        if workers > 1 and len(head) > 1
        else map(_entities, todo)
    )
    posts = post_entities = accounts = account_entities = 0
    for kind, ids, found in scanned:
        if found.num_rows:
            store.upsert_signals("post_entities" if kind == "post" else "account_entities", found)
        store.upsert_signals("scanned", _scanned(ids.column("platform"), kind, ids.column(1)))
        if kind == "post":
            posts, post_entities = posts + ids.num_rows, post_entities + found.num_rows
        else:
            accounts, account_entities = accounts + ids.num_rows, account_entities + found.num_rows
    return EntityScan(posts, post_entities, accounts, account_entities)


def _entities(item: tuple[str, pa.RecordBatch]) -> tuple[str, pa.RecordBatch, pa.Table]:
    """A batch of new posts or profiles: its kind, its (platform, scanned id) columns and its entities."""
    kind, batch = item
    ids, found = _post_entities(batch) if kind == "post" else _profile_entities(batch)
    return kind, ids, found


def _post_entities(batch: pa.RecordBatch) -> tuple[pa.RecordBatch, pa.Table]:
    """A batch of new posts (platform, post_id, account_id, text) and the distinct entities in them."""
    found = extract_entities(batch.column("text")).to_table(
        platform=batch.column("platform"),
        post_id=batch.column("post_id"),
        account_id=batch.column("account_id"),
    )
    return batch.select(["platform", "post_id"]), _distinct(found, _POST_KEYS)


def _profile_entities(batch: pa.RecordBatch) -> tuple[pa.RecordBatch, pa.Table]:
    """A batch of new profiles (platform, account_id, bio, fields_text, display_name, scan_id) and the
    distinct entities in them, each with the profile part it came from as its `source`."""
    parts = [
        extract_entities(batch.column(source)).to_table(
            platform=batch.column("platform"), account_id=batch.column("account_id"), source=source
        )
        for source in _PROFILE_SOURCES
    ]
    return batch.select(["platform", "scan_id"]), _distinct(pa.concat_tables(parts), _ACCOUNT_KEYS)


def _scanned(platform: pa.Array, kind: str, ids: pa.Array) -> pa.Table:
    return pa.table({"platform": platform, "kind": pa.array([kind] * len(ids), pa.string()), "id": ids})
