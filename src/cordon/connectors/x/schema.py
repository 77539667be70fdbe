"""X API v2 objects after twarc's flattening, as msgspec Structs. Foreign shapes live only in this package.

Only the fields cordon uses are declared; unknown fields are ignored. Every field is optional except the ids:
twarc's `flatten` puts `{}` where an expansion is missing from `includes` (deleted or protected users and
tweets), so an empty object must decode. Field names and nesting follow the X API v2 data dictionary
(Tweet, User and Media objects); twarc adds `author`, `in_reply_to_user`, `attachments.media` and merges each
`referenced_tweets[]` entry with the referenced tweet.
"""

from __future__ import annotations

from datetime import datetime

import msgspec


class HashtagS(msgspec.Struct):
    tag: str = ""


class UrlS(msgspec.Struct):
    url: str = ""
    expanded_url: str | None = None
    unwound_url: str | None = None
    media_key: str | None = None


class UrlListS(msgspec.Struct):
    urls: list[UrlS] = []


class UserEntitiesS(msgspec.Struct):
    url: UrlListS | None = None
    description: UrlListS | None = None


class UserMetricsS(msgspec.Struct):
    followers_count: int | None = None
    following_count: int | None = None
    tweet_count: int | None = None


class UserS(msgspec.Struct):
    """A User object (possibly `{}` when twarc found no expansion for it)."""

    id: str | None = None
    username: str = ""
    name: str = ""
    description: str = ""
    created_at: datetime | None = None
    location: str | None = None
    url: str | None = None
    profile_image_url: str | None = None
    protected: bool = False
    verified: bool = False
    verified_type: str | None = None
    public_metrics: UserMetricsS | None = None
    entities: UserEntitiesS | None = None


class TweetEntitiesS(msgspec.Struct):
    hashtags: list[HashtagS] = []
    mentions: list[UserS] = []  # {start, end, username, id}, merged by twarc with the included user
    urls: list[UrlS] = []


class VariantS(msgspec.Struct):
    url: str = ""
    bit_rate: int | None = None
    content_type: str = ""


class MediaS(msgspec.Struct):
    media_key: str | None = None
    type: str = ""
    url: str | None = None
    preview_image_url: str | None = None
    alt_text: str | None = None
    variants: list[VariantS] = []


class AttachmentsS(msgspec.Struct):
    media_keys: list[str] = []
    media: list[MediaS] = []


class NoteTweetS(msgspec.Struct):
    """The full text of a long post (over 280 characters); `text` then holds a truncated copy."""

    text: str = ""
    entities: TweetEntitiesS | None = None


class TweetS(msgspec.Struct):
    """A flattened Tweet object (twarc2 `flatten` output, or a page's `data[]` item after expansion)."""

    id: str
    text: str = ""
    author_id: str | None = None
    author: UserS | None = None
    created_at: datetime | None = None
    lang: str | None = None
    possibly_sensitive: bool = False
    in_reply_to_user_id: str | None = None
    in_reply_to_user: UserS | None = None
    referenced_tweets: list[ReferencedTweetS] = []
    entities: TweetEntitiesS | None = None
    attachments: AttachmentsS | None = None
    note_tweet: NoteTweetS | None = None


class ReferencedTweetS(TweetS):
    """A `referenced_tweets[]` entry: `type` and `id`, merged by twarc with the referenced tweet itself
    (only `type` and `id` when the referenced tweet is missing from `includes`)."""

    type: str = ""


class TwarcMetaS(msgspec.Struct):
    """twarc's `__twarc` stanza: which API URL a page came from and when."""

    url: str = ""


class FlatUserS(UserS):
    """A user in a flattened users page (twarc2 `followers`, `following`, `users`), with the page's URL."""

    twarc: TwarcMetaS | None = msgspec.field(default=None, name="__twarc")
