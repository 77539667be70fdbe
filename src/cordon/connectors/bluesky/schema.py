"""Bluesky Jetstream events and the AT Protocol records they carry, as msgspec Structs.

Only the fields cordon reads are declared; unknown fields are ignored. An event is
`{did, time_us, kind: commit|identity|account, commit: {rev, operation, collection, rkey, record, cid}}`;
the record is kept raw until its collection says which lexicon it follows (app.bsky.feed.post, .repost,
.like, app.bsky.graph.follow, app.bsky.actor.profile). Field names are the lexicons' own (camelCase).
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

import msgspec

# AT Protocol datetimes must carry a zone; one without is refused rather than guessed
AwareDatetime = Annotated[datetime, msgspec.Meta(tz=True)]


def _no_record() -> msgspec.Raw:
    return msgspec.Raw()


class CommitS(msgspec.Struct):
    operation: str
    collection: str
    rkey: str
    rev: str = ""
    cid: str = ""
    record: msgspec.Raw = msgspec.field(default_factory=_no_record)  # absent on delete


class IdentityS(msgspec.Struct):
    did: str = ""
    handle: str | None = None
    time: AwareDatetime | None = None


class AccountStatusS(msgspec.Struct):
    """An `account` event: the hosting service's view of the account (`status` when it is not active)."""

    active: bool
    did: str = ""
    status: str | None = None
    time: AwareDatetime | None = None


class EventS(msgspec.Struct):
    did: str
    time_us: int
    kind: str
    commit: CommitS | None = None
    identity: IdentityS | None = None
    account: AccountStatusS | None = None


class LinkS(msgspec.Struct):
    link: str = msgspec.field(name="$link")


class BlobS(msgspec.Struct):
    """A blob: `{"$type": "blob", "ref": {"$link": CID}, "mimeType", "size"}`, or the legacy `{cid, mimeType}`."""

    ref: LinkS | None = None
    cid: str | None = None
    mimeType: str = ""  # noqa: N815 - the lexicon's name

    @property
    def link(self) -> str:
        return self.ref.link if self.ref is not None else self.cid or ""


class StrongRefS(msgspec.Struct):
    """com.atproto.repo.strongRef: a record by AT URI and CID."""

    uri: str
    cid: str = ""


class ReplyRefS(msgspec.Struct):
    parent: StrongRefS
    root: StrongRefS | None = None


class ByteSliceS(msgspec.Struct):
    byteStart: int  # noqa: N815
    byteEnd: int  # noqa: N815


class FeatureS(msgspec.Struct):
    """A facet feature: `#tag` (tag), `#link` (uri) or `#mention` (did)."""

    type: str = msgspec.field(default="", name="$type")
    tag: str | None = None
    uri: str | None = None
    did: str | None = None


class FacetS(msgspec.Struct):
    index: ByteSliceS
    features: list[FeatureS] = []


class ImageS(msgspec.Struct):
    image: BlobS | None = None
    alt: str = ""


class ExternalS(msgspec.Struct):
    uri: str = ""
    title: str = ""
    description: str = ""


class EmbeddedRecordS(msgspec.Struct):
    """`embed.record`: a strong ref in app.bsky.embed.record, an app.bsky.embed.record in recordWithMedia."""

    uri: str | None = None
    record: StrongRefS | None = None


class MediaEmbedS(msgspec.Struct):
    """The media half of an embed: images or a video."""

    type: str = msgspec.field(default="", name="$type")
    images: list[ImageS] = []
    video: BlobS | None = None
    alt: str = ""


class EmbedS(MediaEmbedS):
    """app.bsky.embed.images | .video | .external | .record | .recordWithMedia."""

    external: ExternalS | None = None
    record: EmbeddedRecordS | None = None
    media: MediaEmbedS | None = None


class LabelValueS(msgspec.Struct):
    val: str


class SelfLabelsS(msgspec.Struct):
    values: list[LabelValueS] = []


class PostRecordS(msgspec.Struct):
    createdAt: AwareDatetime  # noqa: N815
    text: str = ""
    langs: list[str] = []
    reply: ReplyRefS | None = None
    embed: EmbedS | None = None
    facets: list[FacetS] = []
    labels: SelfLabelsS | None = None


class SubjectRecordS(msgspec.Struct):
    """app.bsky.feed.repost and app.bsky.feed.like: a strong ref to what is reposted or liked."""

    subject: StrongRefS
    createdAt: AwareDatetime  # noqa: N815


class FollowRecordS(msgspec.Struct):
    subject: str  # the followed DID
    createdAt: AwareDatetime  # noqa: N815


class ProfileRecordS(msgspec.Struct):
    displayName: str = ""  # noqa: N815
    description: str = ""
    avatar: BlobS | None = None
    createdAt: AwareDatetime | None = None  # noqa: N815
