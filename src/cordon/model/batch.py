"""A batch of records read from one source: what a connector yields and what a store takes (stdlib only)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from cordon.model.corpus import Account, Edge, Media, MediaLink, ModerationEvent, Post, Quarantined


@dataclass(frozen=True, slots=True)
class Cursor:
    """Where reading a source stopped: resume from `offset` (bytes) which is after line `line`."""

    source: str
    offset: int
    line: int


@dataclass(frozen=True, slots=True)
class RecordBatch:
    """Records parsed from one contiguous slice of a source, plus what had to be quarantined.

    `cursor` points just past the slice: storing the batch and then the cursor makes ingest resumable.
    `posts` and `edges` are tuples of records, or column sets (`model/columns.py`: `PostColumns`,
    `EdgeColumns`) that read as the same records and that the store converts without building them.
    `media` and `media_links` are filled by the ingest pipeline once attachments and avatars are resolved
    (connectors leave them empty).
    """

    source: str
    accounts: tuple[Account, ...] = ()
    posts: Sequence[Post] = ()
    edges: Sequence[Edge] = ()
    moderation: tuple[ModerationEvent, ...] = ()
    quarantined: tuple[Quarantined, ...] = ()
    cursor: Cursor | None = None
    media: tuple[Media, ...] = ()
    media_links: tuple[MediaLink, ...] = ()

    def __len__(self) -> int:
        return (
            len(self.accounts)
            + len(self.posts)
            + len(self.edges)
            + len(self.moderation)
            + len(self.quarantined)
        )
