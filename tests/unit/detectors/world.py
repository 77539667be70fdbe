"""Small hand-built corpora for detector tests: a DuckDB corpus in memory filled from factory records."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager

import duckdb

from cordon.corpus import DuckDBCorpus
from cordon.model import Account, MediaLink, ModerationEvent, Post, RecordBatch


@contextmanager
def corpus(
    accounts: Sequence[Account] = (),
    posts: Sequence[Post] = (),
    moderation: Sequence[ModerationEvent] = (),
    media_links: Sequence[MediaLink] = (),
) -> Iterator[duckdb.DuckDBPyConnection]:
    """An in-memory corpus holding the given records; yields its connection (what detectors read)."""
    with DuckDBCorpus(":memory:") as store:
        store.upsert(
            RecordBatch(
                source="test",
                accounts=tuple(accounts),
                posts=tuple(posts),
                moderation=tuple(moderation),
                media_links=tuple(media_links),
            )
        )
        yield store.connection
