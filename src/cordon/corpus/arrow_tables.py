"""Records -> Arrow tables, column by column (one list comprehension per column, no per-row inserts).

Records with the same key inside one batch are collapsed to the last one, as an upsert would do.
"""

from __future__ import annotations

import hashlib
import itertools
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from typing import TypeVar

import msgspec
import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from cordon.model import (
    Account,
    Edge,
    EdgeColumns,
    Media,
    MediaLink,
    ModerationEvent,
    Post,
    PostColumns,
    Quarantined,
    TextLists,
)

R = TypeVar("R")

UTC_TS = pa.timestamp("us", tz="UTC")
TEXT = pa.string()
TEXT_LIST = pa.list_(pa.string())
RAW_LIMIT = 4096  # characters of a quarantined record kept


def _last_per_key(
    records: Sequence[R], key: Callable[[R], object], quick: Callable[[R], object]
) -> Sequence[R]:
    """`records` without earlier duplicates of a key. `quick` is a cheaper part of the key: when it is already
    unique (the usual case) the records are returned as they are, without building the full keys."""
    if len({quick(r) for r in records}) == len(records):
        return records
    return list({key(r): r for r in records}.values())


def _id(record: Account | Post) -> str:
    return record.id


def _table(columns: dict[str, tuple[Sequence[object], pa.DataType]]) -> pa.Table:
    return pa.table({name: _column(values, kind) for name, (values, kind) in columns.items()})


def _column(values: Sequence[object], kind: pa.DataType) -> pa.Array:
    if isinstance(values, pa.Array):
        return values
    if kind == UTC_TS:
        return _timestamps(values)  # type: ignore[arg-type]  # the timestamp columns hold datetimes
    return pa.array(values, type=kind)


_ENCODER = msgspec.json.Encoder()
_TEXTS = msgspec.json.Decoder(list[str | None])


def _timestamps(values: Sequence[datetime | None]) -> pa.Array:
    """A TIMESTAMPTZ column: the values as RFC 3339 text (msgspec, in C) cast by Arrow, a third of the time
    pyarrow takes to convert datetimes. A naive datetime has no offset for Arrow's parser: such a column is
    converted by pyarrow, which takes it as UTC."""
    text = pa.array(_TEXTS.decode(_ENCODER.encode(values)), type=TEXT)
    try:
        return text.cast(UTC_TS)
    except pa.ArrowInvalid:
        return pa.array(values, type=UTC_TS)


def _text_lists(seqs: Sequence[Sequence[str]]) -> pa.Array:
    """A LIST<VARCHAR> column from flat values and offsets (twice as fast as converting nested sequences)."""
    offsets = pa.array([0, *itertools.accumulate(map(len, seqs))], type=pa.int32())
    return pa.ListArray.from_arrays(offsets, pa.array([x for s in seqs for x in s], type=TEXT))


def accounts_table(accounts: Sequence[Account]) -> pa.Table:
    rows = _last_per_key(accounts, lambda a: (a.platform, a.id), _id)
    return _table(
        {
            "platform": ([a.platform for a in rows], TEXT),
            "id": ([a.id for a in rows], TEXT),
            "handle": ([a.handle for a in rows], TEXT),
            "acct": ([a.acct for a in rows], TEXT),
            "display_name": ([a.display_name for a in rows], TEXT),
            "bio": ([a.bio for a in rows], TEXT),
            "fields_text": (["\n".join(f"{f.name}: {f.value}" for f in a.fields) for a in rows], TEXT),
            "created_at": ([a.created_at for a in rows], UTC_TS),
            "url": ([a.url for a in rows], TEXT),
            "avatar_url": ([a.avatar_url for a in rows], TEXT),
            "bot": ([a.bot for a in rows], pa.bool_()),
            "locked": ([a.locked for a in rows], pa.bool_()),
            "followers_count": ([a.followers_count for a in rows], pa.int64()),
            "following_count": ([a.following_count for a in rows], pa.int64()),
            "statuses_count": ([a.statuses_count for a in rows], pa.int64()),
        }
    )


def keep_last(table: pa.Table, keys: Sequence[str]) -> pa.Table:
    """`table` with only the last row of each key, in order: what upserting its rows one by one leaves."""
    n = table.num_rows
    if n < 2:
        return table
    rows = pa.array(np.arange(n, dtype=np.int64))
    last = table.select(list(keys)).append_column("__row", rows).group_by(list(keys), use_threads=False)
    kept = last.aggregate([("__row", "max")])["__row_max"]
    if len(kept) == n:
        return table
    return table.take(pc.take(kept, pc.sort_indices(kept)))


def _last_rows(keys: Sequence[object]) -> list[int] | None:
    """Row numbers keeping the last row of each key, in order; None when the keys are already unique."""
    if len(set(keys)) == len(keys):
        return None
    return sorted({k: i for i, k in enumerate(keys)}.values())


def _columns_table(columns: dict[str, pa.Array], keep: list[int] | None) -> pa.Table:
    table = pa.table(columns)
    return table if keep is None else table.take(pa.array(keep, type=pa.int64()))


def _flat_lists(lists: TextLists) -> pa.Array:
    offsets = pa.array(lists.offsets, type=pa.int32())
    return pa.ListArray.from_arrays(offsets, pa.array(lists.values, type=TEXT))


def _text(values: Sequence[object]) -> pa.Array:
    return pa.array(values, type=TEXT)


def _post_columns_table(c: PostColumns) -> pa.Table:
    n = len(c)
    return _columns_table(
        {
            "platform": pa.repeat(pa.scalar(str(c.platform), TEXT), n),
            "id": _text(c.id),
            "account_id": _text(c.account_id),
            "created_at": _timestamps(c.created_at),
            "text": _text(c.text),
            "lang": _text(c.lang),
            "url": _text(c.url),
            "hashtags": _flat_lists(c.hashtags),
            "mention_account_ids": _flat_lists(c.mention_account_ids),
            "urls": _flat_lists(c.urls),
            "reply_to_post_id": _text(c.reply_to_post_id),
            "reply_to_account_id": _text(c.reply_to_account_id),
            "reblog_of_post_id": _text(c.reblog_of_post_id),
            "quote_of_post_id": _text(c.quote_of_post_id),
            "media_ids": _flat_lists(TextLists(c.media.id, c.media.offsets)),
            "card_url": _text(c.card_url),
            "card_title": _text(c.card_title),
            "card_description": _text(c.card_description),
            "sensitive": pa.array(c.sensitive, type=pa.bool_()),
            "visibility": _text(c.visibility),
        },
        _last_rows(c.id),
    )


def _attachment_columns_table(c: PostColumns) -> pa.Table:
    m = c.media
    # the post row of each attachment, from the per-post offsets
    rows = pa.array(
        [i for i, count in enumerate(map(int.__sub__, m.offsets[1:], m.offsets[:-1])) for _ in range(count)],
        type=pa.int64(),
    )
    return _columns_table(
        {
            "platform": pa.repeat(pa.scalar(str(c.platform), TEXT), len(m.id)),
            "id": _text(m.id),
            "post_id": _text(c.id).take(rows),
            "account_id": _text(c.account_id).take(rows),
            "kind": _text(m.kind),
            "url": _text(m.url),
            "preview_url": _text(m.preview_url),
            "remote_url": _text(m.remote_url),
            "description": _text(m.description),
        },
        _last_rows(m.id),
    )


def _edge_columns_table(c: EdgeColumns) -> pa.Table:
    table = pa.table(
        {
            "platform": pa.repeat(pa.scalar(str(c.platform), TEXT), len(c)),
            "kind": _text(c.kind),
            "src_account_id": _text(c.src_account_id),
            "dst_account_id": _text(c.dst_account_id),
            "post_id": pc.fill_null(_text(c.post_id), ""),
            "created_at": _timestamps(c.created_at),
        }
    )
    return keep_last(table, ("kind", "src_account_id", "dst_account_id", "post_id"))


def posts_table(posts: Sequence[Post]) -> pa.Table:
    if isinstance(posts, PostColumns):
        return _post_columns_table(posts)
    rows = _last_per_key(posts, lambda p: (p.platform, p.id), _id)
    return _table(
        {
            "platform": ([p.platform for p in rows], TEXT),
            "id": ([p.id for p in rows], TEXT),
            "account_id": ([p.account_id for p in rows], TEXT),
            "created_at": ([p.created_at for p in rows], UTC_TS),
            "text": ([p.text for p in rows], TEXT),
            "lang": ([p.lang for p in rows], TEXT),
            "url": ([p.url for p in rows], TEXT),
            "hashtags": (_text_lists([p.hashtags for p in rows]), TEXT_LIST),
            "mention_account_ids": (_text_lists([p.mention_account_ids for p in rows]), TEXT_LIST),
            "urls": (_text_lists([p.urls for p in rows]), TEXT_LIST),
            "reply_to_post_id": ([p.reply_to_post_id for p in rows], TEXT),
            "reply_to_account_id": ([p.reply_to_account_id for p in rows], TEXT),
            "reblog_of_post_id": ([p.reblog_of_post_id for p in rows], TEXT),
            "quote_of_post_id": ([p.quote_of_post_id for p in rows], TEXT),
            "media_ids": (_text_lists([[m.id for m in p.media] for p in rows]), TEXT_LIST),
            "card_url": ([p.card_url for p in rows], TEXT),
            "card_title": ([p.card_title for p in rows], TEXT),
            "card_description": ([p.card_description for p in rows], TEXT),
            "sensitive": ([p.sensitive for p in rows], pa.bool_()),
            "visibility": ([p.visibility for p in rows], TEXT),
        }
    )


def attachments_table(posts: Sequence[Post]) -> pa.Table:
    if isinstance(posts, PostColumns):
        return _attachment_columns_table(posts)
    pairs = _last_per_key(
        [(p, m) for p in posts for m in p.media], lambda pm: (pm[1].platform, pm[1].id), lambda pm: pm[1].id
    )
    return _table(
        {
            "platform": ([m.platform for _, m in pairs], TEXT),
            "id": ([m.id for _, m in pairs], TEXT),
            "post_id": ([p.id for p, _ in pairs], TEXT),
            "account_id": ([p.account_id for p, _ in pairs], TEXT),
            "kind": ([m.kind.value for _, m in pairs], TEXT),
            "url": ([m.url for _, m in pairs], TEXT),
            "preview_url": ([m.preview_url for _, m in pairs], TEXT),
            "remote_url": ([m.remote_url for _, m in pairs], TEXT),
            "description": ([m.description for _, m in pairs], TEXT),
        }
    )


def edges_table(edges: Sequence[Edge]) -> pa.Table:
    if isinstance(edges, EdgeColumns):
        return _edge_columns_table(edges)
    rows = _last_per_key(
        edges,
        lambda e: (e.platform, e.kind, e.src_account_id, e.dst_account_id, e.post_id or ""),
        lambda e: (e.src_account_id, e.dst_account_id, e.post_id),
    )
    return _table(
        {
            "platform": ([e.platform for e in rows], TEXT),
            "kind": ([e.kind.value for e in rows], TEXT),
            "src_account_id": ([e.src_account_id for e in rows], TEXT),
            "dst_account_id": ([e.dst_account_id for e in rows], TEXT),
            "post_id": ([e.post_id or "" for e in rows], TEXT),
            "created_at": ([e.created_at for e in rows], UTC_TS),
        }
    )


def moderation_table(events: Sequence[ModerationEvent]) -> pa.Table:
    rows = _last_per_key(
        events, lambda m: (m.platform, m.account_id, m.action, _utc(m.created_at)), lambda m: m.account_id
    )
    return _table(
        {
            "platform": ([m.platform for m in rows], TEXT),
            "account_id": ([m.account_id for m in rows], TEXT),
            "action": ([m.action.value for m in rows], TEXT),
            "created_at": ([m.created_at for m in rows], UTC_TS),
            "reason": ([m.reason for m in rows], TEXT),
        }
    )


def media_table(media: Sequence[Media]) -> pa.Table:
    rows = _last_per_key(media, lambda m: m.sha256, lambda m: m.sha256)
    return _table(
        {
            "sha256": ([m.sha256 for m in rows], TEXT),
            "md5": ([m.md5 for m in rows], TEXT),
            "sha1": ([m.sha1 for m in rows], TEXT),
            "size": ([m.size for m in rows], pa.int64()),
            "mime": ([m.mime for m in rows], TEXT),
            "stored_path": ([m.stored_path for m in rows], TEXT),
        }
    )


def media_links_table(links: Sequence[MediaLink]) -> pa.Table:
    rows = _last_per_key(links, lambda m: (m.platform, m.ref_id), lambda m: m.ref_id)
    return _table(
        {
            "platform": ([m.platform for m in rows], TEXT),
            "ref_id": ([m.ref_id for m in rows], TEXT),
            "sha256": ([m.sha256 for m in rows], TEXT),
            "source": ([m.source for m in rows], TEXT),
            "url": ([m.url for m in rows], TEXT),
        }
    )


def quarantine_key(q: Quarantined) -> str:
    """The stable key of a quarantined record: the same bad record quarantined twice is stored once."""
    parts = (q.source, str(q.line), q.record_id or "", q.field or "", q.reason)
    return hashlib.sha256("\x1f".join(parts).encode()).hexdigest()[:32]


def quarantine_table(records: Sequence[Quarantined], *, now: datetime) -> pa.Table:
    rows = _last_per_key(records, quarantine_key, quarantine_key)
    return _table(
        {
            "qkey": ([quarantine_key(q) for q in rows], TEXT),
            "source": ([q.source for q in rows], TEXT),
            "line": ([q.line for q in rows], pa.int64()),
            "record_id": ([q.record_id for q in rows], TEXT),
            "field": ([q.field for q in rows], TEXT),
            "reason": ([q.reason for q in rows], TEXT),
            "raw": ([q.raw[:RAW_LIMIT] for q in rows], TEXT),
            "first_seen": ([now] * len(rows), UTC_TS),
        }
    )


def _utc(moment: datetime) -> datetime:
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)
