"""Accumulate records into `RecordBatch`es with the cursor just past the last consumed record."""

from __future__ import annotations

from collections.abc import Iterable

from cordon.model import Account, Cursor, Edge, ModerationEvent, Post, Quarantined, RecordBatch


class BatchBuilder:
    """Collects one source's records; `flush` returns a batch whose cursor resumes after them."""

    def __init__(self, source: str, batch_size: int) -> None:
        self.source = source
        self.batch_size = batch_size
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
        batch = RecordBatch(
            source=self.source,
            accounts=tuple(self.accounts),
            posts=tuple(self.posts),
            edges=tuple(self.edges),
            moderation=tuple(self.moderation),
            quarantined=tuple(self.quarantined),
            cursor=Cursor(self.source, offset, line),
        )
        self.accounts, self.posts, self.edges, self.moderation, self.quarantined = [], [], [], [], []
        self._records = 0
        return batch
