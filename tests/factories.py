"""Fixture factories for cordon's records (`make_post(**overrides)`, ...) and a tiny fake connector.

Every factory returns a valid record with benign synthetic values; pass keyword overrides for what a test needs.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from cordon.model import (
    Account,
    Cursor,
    Edge,
    EdgeKind,
    MediaKind,
    MediaRef,
    ModerationAction,
    ModerationEvent,
    Platform,
    Post,
    Quarantined,
    RecordBatch,
)

_ids = itertools.count(1)
EPOCH = datetime(2024, 5, 1, 12, 0, tzinfo=UTC)


def next_id() -> str:
    return f"{100000 + next(_ids)}"


def make_account(**overrides: Any) -> Account:
    account_id = overrides.pop("id", None) or next_id()
    base = Account(
        platform=Platform.MASTODON,
        id=account_id,
        handle=f"user{account_id}",
        acct=f"user{account_id}@social.example",
        display_name=f"User {account_id}",
        bio="hello, I post about gardening",
        created_at=EPOCH - timedelta(days=30),
        url=f"https://social.example/@user{account_id}",
        avatar_url=f"https://files.social.example/avatars/{account_id}.png",
        followers_count=10,
        following_count=5,
        statuses_count=3,
    )
    return replace(base, **overrides)


def make_media_ref(**overrides: Any) -> MediaRef:
    media_id = overrides.pop("id", None) or next_id()
    base = MediaRef(
        platform=Platform.MASTODON,
        id=media_id,
        kind=MediaKind.IMAGE,
        url=f"https://files.social.example/media/{media_id}.png",
        preview_url=f"https://files.social.example/media/small/{media_id}.png",
    )
    return replace(base, **overrides)


def make_post(**overrides: Any) -> Post:
    post_id = overrides.pop("id", None) or next_id()
    base = Post(
        platform=Platform.MASTODON,
        id=post_id,
        account_id=overrides.pop("account_id", None) or next_id(),
        created_at=EPOCH + timedelta(minutes=int(post_id) % 10_000),
        text=f"post number {post_id} #tagx1",
        lang="en",
        url=f"https://social.example/@u/{post_id}",
        hashtags=("tagx1",),
        visibility="public",
    )
    return replace(base, **overrides)


def make_edge(**overrides: Any) -> Edge:
    base = Edge(
        platform=Platform.MASTODON, kind=EdgeKind.FOLLOW, src_account_id=next_id(), dst_account_id=next_id()
    )
    return replace(base, **overrides)


def make_moderation(**overrides: Any) -> ModerationEvent:
    base = ModerationEvent(
        platform=Platform.MASTODON, account_id=next_id(), action=ModerationAction.SUSPEND, created_at=EPOCH
    )
    return replace(base, **overrides)


def make_quarantined(**overrides: Any) -> Quarantined:
    base = Quarantined(
        source="statuses.jsonl",
        line=7,
        record_id=None,
        field="created_at",
        reason="not a date",
        raw='{"x": 1}',
    )
    return replace(base, **overrides)


def make_batch(n_posts: int = 3, *, source: str = "fake.jsonl", **overrides: Any) -> RecordBatch:
    """A batch of `n_posts` posts by their own accounts, with a follow edge between consecutive authors."""
    accounts = [make_account() for _ in range(n_posts)]
    posts = [make_post(account_id=a.id, media=(make_media_ref(),)) for a in accounts]
    edges = [make_edge(src_account_id=a.id, dst_account_id=b.id) for a, b in itertools.pairwise(accounts)]
    base = RecordBatch(source=source, accounts=tuple(accounts), posts=tuple(posts), edges=tuple(edges))
    return replace(base, **overrides)


@dataclass
class FakeConnector:
    """Yields prepared batches, one per 'line'; resumes after `start.line`; can fail after N batches."""

    batches: Sequence[RecordBatch]
    name: str = "fake"
    fail_after: int | None = None
    yielded: list[int] = field(default_factory=list)

    def sniff(self, path: Path) -> bool:
        return path.suffix == ".fake"

    def read(
        self, path: Path, *, start: Cursor | None = None, batch_size: int = 10_000
    ) -> Iterator[RecordBatch]:
        first = start.line if start is not None else 0
        for index in range(first, len(self.batches)):
            if self.fail_after is not None and len(self.yielded) >= self.fail_after:
                raise RuntimeError(f"fake connector crashed after {self.fail_after} batches")
            self.yielded.append(index)
            cursor = Cursor(source=str(path), offset=index + 1, line=index + 1)
            yield replace(self.batches[index], cursor=cursor)
