"""Mastodon REST API entities as msgspec Structs (decoding and encoding). Foreign shapes live only here.

Only the fields cordon uses are declared; unknown fields are ignored on decode.
See https://docs.joinmastodon.org/entities/Status/ and /entities/Account/.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

import msgspec

# counts are stored as BIGINT: a value outside int64 is refused here, with its field, not later by the store
Int64 = Annotated[int, msgspec.Meta(ge=-(2**63), le=2**63 - 1)]


class FieldS(msgspec.Struct, omit_defaults=True):
    name: str = ""
    value: str = ""
    verified_at: datetime | None = None


class AccountS(msgspec.Struct, omit_defaults=False):
    id: str
    username: str
    acct: str = ""
    display_name: str = ""
    note: str = ""
    url: str | None = None
    avatar: str | None = None
    avatar_static: str | None = None
    bot: bool = False
    locked: bool = False
    created_at: datetime | None = None
    followers_count: Int64 | None = None
    following_count: Int64 | None = None
    statuses_count: Int64 | None = None
    fields: list[FieldS] = []


class TagS(msgspec.Struct):
    name: str
    url: str = ""


class MentionS(msgspec.Struct):
    id: str
    username: str = ""
    acct: str = ""
    url: str = ""


class AttachmentS(msgspec.Struct):
    id: str
    type: str = "unknown"
    url: str | None = None
    preview_url: str | None = None
    remote_url: str | None = None
    description: str | None = None


class CardS(msgspec.Struct):
    url: str = ""
    title: str = ""
    description: str = ""


class StatusS(msgspec.Struct):
    id: str
    created_at: datetime
    account: AccountS
    content: str = ""
    text: str | None = None  # plain-text source, sent instead of `content` when a status is deleted
    spoiler_text: str = ""
    in_reply_to_id: str | None = None
    in_reply_to_account_id: str | None = None
    sensitive: bool = False
    visibility: str = ""
    language: str | None = None
    url: str | None = None
    uri: str | None = None
    reblog: StatusS | None = None
    media_attachments: list[AttachmentS] = []
    mentions: list[MentionS] = []
    tags: list[TagS] = []
    card: CardS | None = None
    quote: QuoteS | None = None


class QuoteS(msgspec.Struct):
    """Mastodon 4.4+ quote: `{"state": "accepted", "quoted_status": Status | null}`."""

    state: str = ""
    quoted_status: StatusS | None = None
    quoted_status_id: str | None = None


# -- what the reader declares of a Status -------------------------------------------------------------------
# The reader decodes millions of statuses: only the fields it maps, without GC tracking (decoded JSON holds no
# cycles), and the embedded account as its raw JSON, decoded as an AccountS once per distinct form (the same
# author is embedded again and again).


class TagIn(msgspec.Struct, gc=False):
    name: str


class MentionIn(msgspec.Struct, gc=False):
    id: str


class AttachmentIn(msgspec.Struct, gc=False):
    id: str
    type: str = "unknown"
    url: str | None = None
    preview_url: str | None = None
    remote_url: str | None = None
    description: str | None = None


class CardIn(msgspec.Struct, gc=False):
    url: str = ""
    title: str = ""
    description: str = ""


class StatusIn(msgspec.Struct, gc=False):
    id: str
    created_at: datetime
    account: msgspec.Raw  # an AccountS (decoded by the mapping, which names `$.account` in its errors)
    content: str = ""
    text: str | None = None
    spoiler_text: str = ""
    in_reply_to_id: str | None = None
    in_reply_to_account_id: str | None = None
    sensitive: bool = False
    visibility: str = ""
    language: str | None = None
    url: str | None = None
    uri: str | None = None
    reblog: StatusIn | None = None
    media_attachments: tuple[AttachmentIn, ...] = ()  # tuples: an empty one is a shared constant
    mentions: tuple[MentionIn, ...] = ()
    tags: tuple[TagIn, ...] = ()
    card: CardIn | None = None
    quote: QuoteIn | None = None


class QuoteIn(msgspec.Struct, gc=False):
    quoted_status: StatusIn | None = None
    quoted_status_id: str | None = None


class AdminAccountS(msgspec.Struct):
    """Admin::Account (admin API): moderation view of an account that wraps the public Account.

    Only the wrapped Account is read; e-mail, IPs and the like are deliberately not declared.
    """

    id: str
    username: str
    account: AccountS


class FollowS(msgspec.Struct):
    """A line of the export directory's follows.jsonl."""

    account_id: str
    target_account_id: str
    created_at: datetime | None = None


class ModerationS(msgspec.Struct):
    """A line of the export directory's moderation.jsonl."""

    account_id: str
    action: str
    created_at: datetime
    reason: str = ""
