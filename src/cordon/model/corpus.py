"""Corpus records: what connectors map foreign formats into (stdlib only)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from cordon.model.enums import EdgeKind, MediaKind, ModerationAction, Platform


@dataclass(frozen=True, slots=True)
class ProfileField:
    """One name/value pair of an account's profile (Mastodon 'fields'), as plain text."""

    name: str
    value: str


@dataclass(frozen=True, slots=True)
class Account:
    """An account on a platform, keyed by (platform, id)."""

    platform: Platform
    id: str
    handle: str  # username / screen name / DID handle, without instance
    acct: str = ""  # fully qualified handle where the platform has one (user@instance)
    display_name: str = ""
    bio: str = ""  # plain text (HTML already stripped)
    fields: tuple[ProfileField, ...] = ()
    created_at: datetime | None = None
    url: str = ""
    avatar_url: str = ""
    bot: bool = False
    locked: bool = False
    followers_count: int | None = None
    following_count: int | None = None
    statuses_count: int | None = None


@dataclass(frozen=True, slots=True)
class MediaRef:
    """A media attachment or avatar as a post or account refers to it, before its bytes are hashed."""

    platform: Platform
    id: str  # platform attachment id
    kind: MediaKind
    url: str = ""
    preview_url: str = ""
    remote_url: str = ""
    description: str = ""


@dataclass(frozen=True, slots=True)
class Post:
    """A post (status, tweet, skeet). A reblog/repost is a post whose `reblog_of_post_id` is set."""

    platform: Platform
    id: str
    account_id: str
    created_at: datetime
    text: str = ""  # plain text (HTML already stripped)
    lang: str = ""
    url: str = ""
    hashtags: tuple[str, ...] = ()  # as written, without '#'
    mention_account_ids: tuple[str, ...] = ()
    urls: tuple[str, ...] = ()  # links as found (not normalised, never visited)
    reply_to_post_id: str | None = None
    reply_to_account_id: str | None = None
    reblog_of_post_id: str | None = None
    quote_of_post_id: str | None = None
    media: tuple[MediaRef, ...] = ()
    card_url: str = ""
    card_title: str = ""
    card_description: str = ""
    sensitive: bool = False
    visibility: str = ""


@dataclass(frozen=True, slots=True)
class Media:
    """The bytes of a media item, identified by their SHA-256 (hex). MD5 and SHA-1 for NCMEC."""

    sha256: str
    md5: str
    sha1: str
    size: int
    mime: str = ""
    stored_path: str = ""  # content-addressed path when bytes are kept, "" when only referenced


@dataclass(frozen=True, slots=True)
class MediaLink:
    """Which media bytes a platform attachment (or an avatar) resolved to."""

    platform: Platform
    ref_id: str  # attachment id, or "avatar:<account id>"
    sha256: str
    source: str  # local path or URL it came from
    url: str = ""  # the platform URL the attachment or avatar was referenced by


@dataclass(frozen=True, slots=True)
class Edge:
    """A directed relation between two accounts."""

    platform: Platform
    kind: EdgeKind
    src_account_id: str
    dst_account_id: str
    post_id: str | None = None
    created_at: datetime | None = None


@dataclass(frozen=True, slots=True)
class ModerationEvent:
    """An action a platform (or cordon) took on an account, e.g. a suspension."""

    platform: Platform
    account_id: str
    action: ModerationAction
    created_at: datetime
    reason: str = ""


@dataclass(frozen=True, slots=True)
class Quarantined:
    """A bad input record kept with the reason it was refused, so that nothing is lost."""

    source: str
    line: int | None
    record_id: str | None
    field: str | None
    reason: str
    raw: str  # the record as read (truncated to a bounded size)
