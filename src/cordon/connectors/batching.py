"""Accumulate records into `RecordBatch`es with the cursor just past the last consumed record."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Protocol

from cordon.model import Account, Cursor, Edge, ModerationEvent, Post, Quarantined, RecordBatch


class ColumnSink(Protocol):
    """Where a connector maps records column by column (e.g. Mastodon statuses): drained at each flush."""

    def drain(self) -> tuple[Sequence[Account], Sequence[Post], Sequence[Edge]]:
        """Accounts, posts and edges of everything taken since the last drain."""
        ...


class BatchBuilder:
    """Collects one source's records; `flush` returns a batch whose cursor resumes after them.

    Records come as records (`add`), or go into a `ColumnSink` whose handler calls `count` for each."""

    def __init__(self, source: str, batch_size: int, columns: ColumnSink | None = None) -> None:
        self.source = source
        self.batch_size = batch_size
        self.columns = columns
        self.accounts: list[Account] = []
        self.posts: list[Post] = []
        self.edges: list[Edge] = []
        self.moderation: list[ModerationEvent] = []
        self.quarantined: list[Quarantined] = []
        self._records = 0

    def add(
        self,
        *,
        accounts: Iterable[Account] = (),
        posts: Iterable[Post] = (),
        edges: Iterable[Edge] = (),
        moderation: Iterable[ModerationEvent] = (),
    ) -> None:
        self.accounts.extend(accounts)
        self.posts.extend(posts)
        self.edges.extend(edges)
        self.moderation.extend(moderation)
        self._records += 1

    def count(self) -> None:
        """One more record read (taken by the column sink)."""
        self._records += 1

    def reject(self, item: Quarantined) -> None:
        self.quarantined.append(item)
        self._records += 1

    @property
    def full(self) -> bool:
        return self._records >= self.batch_size

    @property
    def empty(self) -> bool:
        return self._records == 0

    def flush(self, offset: int, line: int) -> RecordBatch:
        accounts: tuple[Account, ...] = tuple(self.accounts)
        posts: Sequence[Post] = tuple(self.posts)
        edges: Sequence[Edge] = tuple(self.edges)
        if self.columns is not None:
            more_accounts, more_posts, more_edges = self.columns.drain()
            accounts += tuple(more_accounts)
            posts = (*posts, *more_posts) if posts else more_posts
            edges = (*edges, *more_edges) if edges else more_edges
        batch = RecordBatch(
            source=self.source,
            accounts=accounts,
            posts=posts,
            edges=edges,
            moderation=tuple(self.moderation),
            quarantined=tuple(self.quarantined),
            cursor=Cursor(self.source, offset, line),
        )
        self.accounts, self.posts, self.edges, self.moderation, self.quarantined = [], [], [], [], []
        self._records = 0
        return batch
