"""Batch entity extraction: texts in, columns (row, kind, value, raw) out, ready for a DuckDB bulk load.

One batch is processed per pattern group (links, wallets, contacts, hashtags; see ``patterns``): an RE2
trigger over the Arrow array selects the rows worth looking at (in C), those rows are joined into one
string and scanned once by the group's candidate regex, and each candidate is validated (checksum,
public suffix, digit count). Rows map back from character offsets by a
binary search over the row starts (NumPy). Python code runs per candidate, never per row.

The result is ``EntityColumns``: a frozen set of Arrow columns. ``to_table`` gathers per-row keys (post id,
account id, ...) into the same table, so the analyzer builds ``post_entities(platform, post_id,
account_id, kind, value)`` or ``account_entities(platform, account_id, source, kind, value)`` in one call.
"""

from __future__ import annotations

import re
from bisect import bisect_right
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from functools import lru_cache

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from cordon.model import Entity, EntityKind
from cordon.signals.entities.contacts import (
    normalise_email,
    normalise_handle,
    normalise_phone,
    normalise_price,
)
from cordon.signals.entities.hashtags import normalise_hashtag
from cordon.signals.entities.patterns import GROUPS, HASHTAGS, SEP, PatternGroup
from cordon.signals.entities.urls import (
    invite_of,
    normalise_host,
    normalise_url,
    registrable_domain,
    telegram_scheme,
    trim_url,
)
from cordon.signals.entities.wallets import validate_wallet

_KIND_BY_NAME = {k.value: k for k in EntityKind}
Found = Iterator[tuple[EntityKind, str, str]]


@dataclass(frozen=True, slots=True)
class EntityColumns:
    """Entities of one batch, column-wise: ``row`` indexes the input texts; one row per distinct entity."""

    row: pa.Int64Array
    kind: pa.StringArray
    value: pa.StringArray
    raw: pa.StringArray

    def __len__(self) -> int:
        return len(self.row)

    def to_table(self, **keys: pa.Array | Sequence[object] | str | None) -> pa.Table:
        """Table of ``keys..., kind, value, raw``: an array key is gathered by ``row``, a scalar repeated.

        ``cols.to_table(platform="mastodon", post_id=post_ids, account_id=account_ids)`` where
        ``post_ids[i]`` belongs to input text ``i``.
        """
        columns: dict[str, pa.Array] = {}
        for name, key in keys.items():
            if key is None or isinstance(key, str):
                columns[name] = pa.array([key] * len(self), pa.string())
            else:
                arr = key if isinstance(key, pa.Array | pa.ChunkedArray) else pa.array(key)
                columns[name] = pc.take(arr, self.row)
        columns.update(kind=self.kind, value=self.value, raw=self.raw)
        return pa.table(columns)

    def entities(self) -> list[tuple[int, Entity]]:
        """As model records, ``(row, Entity)``: for the few callers that want records, not columns."""
        return [
            (r, Entity(_KIND_BY_NAME[k], v, w))
            for r, k, v, w in zip(
                self.row.to_pylist(),
                self.kind.to_pylist(),
                self.value.to_pylist(),
                self.raw.to_pylist(),
                strict=True,
            )
        ]


@lru_cache(maxsize=1 << 16)
def _url_values(raw: str) -> tuple[tuple[EntityKind, str], ...]:
    """URL, registrable domain and invite of one raw URL; cached because shared links repeat (co-linking)."""
    url = normalise_url(raw)
    if url is None:
        return ()
    out = [(EntityKind.URL, url)]
    host = url.partition("://")[2].split("/", 1)[0].split("?", 1)[0].split(":", 1)[0]
    domain = registrable_domain(host)
    if domain:
        out.append((EntityKind.DOMAIN, domain))
    invite = invite_of(url)
    if invite:
        out.append((_KIND_BY_NAME[invite[0]], invite[1]))
    return tuple(out)


def clear_caches() -> None:
    """Forget cached normal forms (benchmarks start cold; long-running servers may call it to cap memory)."""
    for fn in (_url_values, normalise_hashtag, normalise_host, registrable_domain):
        fn.cache_clear()


def _url_entities(raw: str) -> Found:
    for kind, value in _url_values(raw):
        yield kind, value, raw


def _bare_entities(m: re.Match[str]) -> Found:
    host = m.group("host")
    tld = host.rsplit(".", 1)[1]
    if tld[:1].isupper() and tld[1:].islower() and not host[:1].isupper():
        return  # "it.Me too": a missing space after a full stop, not a domain
    yield from _url_entities(trim_url(m.group("bare")))


def _price_entities(m: re.Match[str]) -> Found:
    amount = m.group("amt") or m.group("amt2") or m.group("amt3")
    currency = m.group("sym") or m.group("code") or m.group("sym2") or m.group("code2")
    value = normalise_price(amount, currency)
    if value:
        yield EntityKind.PRICE, value, m.group("price")


def _single(
    kind: EntityKind, fn: Callable[[str], str | None], group: str
) -> Callable[[re.Match[str]], Found]:
    def handler(m: re.Match[str]) -> Found:
        raw = m.group(group)
        value = fn(raw)
        if value:
            yield kind, value, raw

    return handler


def _label_entities(m: re.Match[str]) -> Found:
    raw = m.group("label")
    label = raw.split(":", 1)[0].split("=", 1)[0].split()[0]
    found = normalise_handle(label, m.group("handle"))
    if found:
        yield _KIND_BY_NAME[found[0]], found[1], raw


def _tg_entities(m: re.Match[str]) -> Found:
    raw = trim_url(m.group("tg"))
    value = telegram_scheme(raw)
    if value:
        yield EntityKind.TELEGRAM, value, raw


def _tag_value(raw: str) -> str | None:
    value = normalise_hashtag(raw)
    return value if any(ch.isalpha() for ch in value) else None


_HANDLERS: dict[str, Callable[[re.Match[str]], Found]] = {
    "url": lambda m: _url_entities(trim_url(m.group("url"))),
    "tg": _tg_entities,
    "email": _single(EntityKind.EMAIL, normalise_email, "email"),
    "label": _label_entities,
    "eth": _single(EntityKind.WALLET, validate_wallet, "eth"),
    "session": _single(EntityKind.MESSENGER, lambda s: f"session:{s.lower()}", "session"),
    "segwit": _single(EntityKind.WALLET, validate_wallet, "segwit"),
    "b58": _single(EntityKind.WALLET, validate_wallet, "b58"),
    "phone": _single(EntityKind.PHONE, normalise_phone, "phone"),
    "price": _price_entities,
    "tag": _single(EntityKind.HASHTAG, _tag_value, "tag"),
    "bare": _bare_entities,
}


def _as_array(texts: pa.Array | pa.ChunkedArray | Sequence[str | None]) -> pa.Array:
    if isinstance(texts, pa.ChunkedArray):
        texts = texts.combine_chunks()
    if not isinstance(texts, pa.Array):
        texts = pa.array(texts, pa.large_string())
    if pa.types.is_large_string(texts.type):
        return texts
    return texts.cast(pa.large_string())


class _Sink:
    """Accumulates the columns of one batch; one row per distinct (text row, kind, value)."""

    def __init__(self) -> None:
        self.seen: set[tuple[int, str, str]] = set()
        self.rows: list[int] = []
        self.kinds: list[str] = []
        self.values: list[str] = []
        self.raws: list[str] = []

    def add(self, row: int, kind: EntityKind, value: str, raw: str) -> None:
        key = (row, kind.value, value)
        if key not in self.seen:
            self.seen.add(key)
            self.rows.append(row)
            self.kinds.append(kind.value)
            self.values.append(value)
            self.raws.append(raw)


def _scan_group(arr: pa.Array, group: PatternGroup, sink: _Sink) -> None:
    """Rows the group's RE2 trigger selects, joined into one string and scanned once by its regex."""
    hit = pc.fill_null(pc.match_substring_regex(arr, group.trigger), False)
    row_ids = np.flatnonzero(hit.to_numpy(zero_copy_only=False))
    if not len(row_ids):
        return
    sub = pc.replace_substring(arr.take(pa.array(row_ids)), SEP, " ")
    lengths = pc.utf8_length(sub).to_numpy(zero_copy_only=False).astype(np.int64)
    starts: list[int] = np.concatenate(([0], np.cumsum(lengths + 1)[:-1])).tolist()
    row_list: list[int] = row_ids.tolist()
    joined = SEP.join(sub.to_pylist())
    for m in group.candidates.finditer(joined):
        handler = _HANDLERS.get(m.lastgroup or "")
        if handler is None:
            continue
        row = row_list[bisect_right(starts, m.start()) - 1]
        for kind, value, raw in handler(m):
            sink.add(row, kind, value, raw)


def extract_entities(
    texts: pa.Array | pa.ChunkedArray | Sequence[str | None],
    *,
    hashtags: bool = True,
) -> EntityColumns:
    """All entities in a batch of texts (nulls are empty). Never raises on arbitrary text.

    ``hashtags=False`` skips ``#tags`` (for callers that take the platform's own hashtag list instead).
    Rows come out grouped by kind family (links, wallets, contacts, hashtags), not in text order.
    """
    arr = _as_array(texts)
    sink = _Sink()
    for group in GROUPS:
        if group is not HASHTAGS or hashtags:
            _scan_group(arr, group, sink)
    return EntityColumns(
        row=pa.array(sink.rows, pa.int64()),
        kind=pa.array(sink.kinds, pa.string()),
        value=pa.array(sink.values, pa.string()),
        raw=pa.array(sink.raws, pa.string()),
    )
