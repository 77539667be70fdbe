"""Posts and edges stored column by column (stdlib only).

A connector that reads many records of one shape (Mastodon statuses) builds one list per field instead of one
`Post` per record: the store turns each list into one Arrow array, and no per-record object is made on the
way. Each column set still reads as a sequence of records (`Sequence[Post]`, `Sequence[Edge]`), built on
access, so that whatever iterates a batch's posts (media resolution, tests) sees the same records as before.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import overload

from cordon.model.corpus import Edge, MediaRef, Post
from cordon.model.enums import EdgeKind, MediaKind, Platform


@dataclass(frozen=True, slots=True)
class TextLists:
    """A column of string lists, flat: row i is `values[offsets[i]:offsets[i + 1]]` (len(offsets) = rows + 1)."""

    values: Sequence[str]
    offsets: Sequence[int]

    def row(self, i: int) -> tuple[str, ...]:
        return tuple(self.values[self.offsets[i] : self.offsets[i + 1]])


@dataclass(frozen=True, slots=True)
class MediaColumns:
    """The media refs of a column of posts, in post order: post i has rows `offsets[i]:offsets[i + 1]`."""

    offsets: Sequence[int]
    id: Sequence[str]
    kind: Sequence[MediaKind]
    url: Sequence[str]
    preview_url: Sequence[str]
    remote_url: Sequence[str]
    description: Sequence[str]

    def refs(self, platform: Platform, i: int) -> tuple[MediaRef, ...]:
        return tuple(
            MediaRef(
                platform,
                self.id[j],
                self.kind[j],
                self.url[j],
                self.preview_url[j],
                self.remote_url[j],
                self.description[j],
            )
            for j in range(self.offsets[i], self.offsets[i + 1])
        )


@dataclass(frozen=True, slots=True)
class PostColumns(Sequence[Post]):
    """Posts of one platform, one list per `Post` field (all of the same length); reads as `Post`s."""

    platform: Platform
    id: Sequence[str]
    account_id: Sequence[str]
    created_at: Sequence[datetime]
    text: Sequence[str]
    lang: Sequence[str]
    url: Sequence[str]
    hashtags: TextLists
    mention_account_ids: TextLists
    urls: TextLists
    reply_to_post_id: Sequence[str | None]
    reply_to_account_id: Sequence[str | None]
    reblog_of_post_id: Sequence[str | None]
    quote_of_post_id: Sequence[str | None]
    media: MediaColumns
    card_url: Sequence[str]
    card_title: Sequence[str]
    card_description: Sequence[str]
    sensitive: Sequence[bool]
    visibility: Sequence[str]

    def __len__(self) -> int:
        return len(self.id)

    @overload
    def __getitem__(self, index: int) -> Post: ...

    @overload
    def __getitem__(self, index: slice) -> Sequence[Post]: ...

    def __getitem__(self, index: int | slice) -> Post | Sequence[Post]:
        if isinstance(index, slice):
            return tuple(self._post(i) for i in range(*index.indices(len(self))))
        return self._post(range(len(self))[index])

    def __iter__(self) -> Iterator[Post]:
        return (self._post(i) for i in range(len(self)))

    def _post(self, i: int) -> Post:
        return Post(
            platform=self.platform,
            id=self.id[i],
            account_id=self.account_id[i],
            created_at=self.created_at[i],
            text=self.text[i],
            lang=self.lang[i],
            url=self.url[i],
            hashtags=self.hashtags.row(i),
            mention_account_ids=self.mention_account_ids.row(i),
            urls=self.urls.row(i),
            reply_to_post_id=self.reply_to_post_id[i],
            reply_to_account_id=self.reply_to_account_id[i],
            reblog_of_post_id=self.reblog_of_post_id[i],
            quote_of_post_id=self.quote_of_post_id[i],
            media=self.media.refs(self.platform, i),
            card_url=self.card_url[i],
            card_title=self.card_title[i],
            card_description=self.card_description[i],
            sensitive=self.sensitive[i],
            visibility=self.visibility[i],
        )


@dataclass(frozen=True, slots=True)
class EdgeColumns(Sequence[Edge]):
    """Edges of one platform, one list per `Edge` field (all of the same length); reads as `Edge`s."""

    platform: Platform
    kind: Sequence[EdgeKind]
    src_account_id: Sequence[str]
    dst_account_id: Sequence[str]
    post_id: Sequence[str | None]
    created_at: Sequence[datetime | None]

    def __len__(self) -> int:
        return len(self.kind)

    @overload
    def __getitem__(self, index: int) -> Edge: ...

    @overload
    def __getitem__(self, index: slice) -> Sequence[Edge]: ...

    def __getitem__(self, index: int | slice) -> Edge | Sequence[Edge]:
        if isinstance(index, slice):
            return tuple(self._edge(i) for i in range(*index.indices(len(self))))
        return self._edge(range(len(self))[index])

    def __iter__(self) -> Iterator[Edge]:
        return (self._edge(i) for i in range(len(self)))

    def _edge(self, i: int) -> Edge:
        return Edge(
            self.platform,
            self.kind[i],
            self.src_account_id[i],
            self.dst_account_id[i],
            self.post_id[i],
            self.created_at[i],
        )
