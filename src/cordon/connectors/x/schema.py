"""X API v2 objects after twarc's flattening, as msgspec Structs. Foreign shapes live only in this package.

Only the fields cordon uses are declared; unknown fields are ignored. Every field is optional except the ids:
twarc's `flatten` puts `{}` where an expansion is missing from `includes` (deleted or protected users and
tweets), so an empty object must decode. Field names and nesting follow the X API v2 data dictionary
(Tweet, User and Media objects); twarc adds `author`, `in_reply_to_user`, `attachments.media` and merges each
`referenced_tweets[]` entry with the referenced tweet, and each `entities.mentions[]` entry with the user.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

import msgspec

# counts are stored as BIGINT: a value outside int64 is refused here, with its field, not later by the store
Int64 = Annotated[int, msgspec.Meta(ge=-(2**63), le=2**63 - 1)]
# X writes every timestamp in UTC with a `Z`; one without a zone is refused rather than guessed
AwareDatetime = Annotated[datetime, msgspec.Meta(tz=True)]


class HashtagS(msgspec.Struct):
    tag: str = ""


class UrlS(msgspec.Struct):
    """A URL entity: `url` is the t.co link in the text, `expanded_url` what it stands for. X adds `media_key`
    for the link to an attached photo or video, and `title`/`description` when it built a link card."""

    url: str = ""
    expanded_url: str | None = None
    unwound_url: str | None = None
    media_key: str | None = None
    title: str | None = None
    description: str | None = None


class UrlListS(msgspec.Struct):
    urls: list[UrlS] = []


class UserEntitiesS(msgspec.Struct):
    url: UrlListS | None = None
    description: UrlListS | None = None


class UserMetricsS(msgspec.Struct):
    followers_count: Int64 | None = None
    following_count: Int64 | None = None
    tweet_count: Int64 | None = None


class UserS(msgspec.Struct):
    """A User object; `{}` when twarc found no expansion for it, or a bare mention `{start, end, username,
    id}` when the mentioned user is not in `includes`. `name` is a default field of every User the API
    returns, so a user without it is only a reference, never a full account."""

    id: str | None = None
    username: str = ""
    name: str | None = None
    description: str = ""
    created_at: AwareDatetime | None = None
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
    bit_rate: Int64 | None = None
    content_type: str = ""


class MediaS(msgspec.Struct):
    """A Media object: `url` for photos; `preview_image_url` and `variants` for videos and GIFs."""

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
    text: str | None = None
    author_id: str | None = None
    author: UserS | None = None
    created_at: AwareDatetime | None = None
    lang: str | None = None
    possibly_sensitive: bool = False
    in_reply_to_user_id: str | None = None
    in_reply_to_user: UserS | None = None
    referenced_tweets: list[ReferencedTweetS] = []
    entities: TweetEntitiesS | None = None
    attachments: AttachmentsS | None = None
    note_tweet: NoteTweetS | None = None


class ReferencedTweetS(TweetS):
    """A `referenced_tweets[]` entry: `type` (replied_to, retweeted, quoted) and `id`, merged by twarc with
    the referenced tweet itself (only `type` and `id` when the referenced tweet is missing from `includes`)."""

    type: str = ""


class TwarcMetaS(msgspec.Struct):
    """twarc's `__twarc` stanza: which API URL a page came from and when."""

    url: str = ""


class FlatUserS(UserS):
    """A user in a flattened users page (twarc2 `followers`, `following`, `users`), with the page's URL."""

    twarc: TwarcMetaS | None = msgspec.field(default=None, name="__twarc")


class PageS(msgspec.Struct):
    """A response page's own stanza; its `data` and `includes` are checked item by item by the reader, and
    flattened with twarc."""

    twarc: TwarcMetaS | None = msgspec.field(default=None, name="__twarc")
