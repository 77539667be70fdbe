"""Map Bluesky records (schema.py Structs) to cordon records.

Ids: an account is its DID; a post or repost is its AT URI `at://{did}/{collection}/{rkey}`. Hashtags, links
and mentions come from the post's facets (byte-slice annotations of its text), never from scanning the text.
An image is a blob named by its CID: its URL is the Bluesky CDN's rendition of that blob. A CID names bytes,
not an attachment (the same image posted twice has one CID), and cordon keys attachments by id, so a
MediaRef's id is `{post URI}#{CID}`. A video has no URL: its bytes are only served by the account's own PDS
(com.atproto.sync.getBlob), which cordon does not resolve; its thumbnail is its preview.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from cordon.connectors.bluesky.schema import (
    BlobS,
    EmbedS,
    MediaEmbedS,
    PostRecordS,
    ProfileRecordS,
    SubjectRecordS,
)
from cordon.errors import RecordError
from cordon.model import (
    Account,
    Edge,
    EdgeKind,
    MediaKind,
    MediaRef,
    ModerationAction,
    ModerationEvent,
    Platform,
    Post,
)

B = Platform.BLUESKY
POST = "app.bsky.feed.post"
REPOST = "app.bsky.feed.repost"
LIKE = "app.bsky.feed.like"
FOLLOW = "app.bsky.graph.follow"
PROFILE = "app.bsky.actor.profile"

IMAGE_URL = "https://cdn.bsky.app/img/feed_fullsize/plain/{did}/{cid}@jpeg"
THUMB_URL = "https://cdn.bsky.app/img/feed_thumbnail/plain/{did}/{cid}@jpeg"
AVATAR_URL = "https://cdn.bsky.app/img/avatar/plain/{did}/{cid}@jpeg"
VIDEO_THUMB_URL = "https://video.bsky.app/watch/{did}/{cid}/thumbnail.jpg"
POST_URL = "https://bsky.app/profile/{did}/post/{rkey}"
PROFILE_URL = "https://bsky.app/profile/{did}"

_TAG = "app.bsky.richtext.facet#tag"
_LINK = "app.bsky.richtext.facet#link"
_MENTION = "app.bsky.richtext.facet#mention"
# account statuses (com.atproto.sync.subscribeRepos#account) as moderation actions; the status itself is kept
# as the reason, since "deleted" and "deactivated" may be the holder's own doing
_STATUS_ACTIONS = {
    "takendown": ModerationAction.SUSPEND,
    "suspended": ModerationAction.SUSPEND,
    "deleted": ModerationAction.DELETE,
    "deactivated": ModerationAction.DISABLE,
    "throttled": ModerationAction.SILENCE,
}


def at_uri(did: str, collection: str, rkey: str) -> str:
    return f"at://{did}/{collection}/{rkey}"


def did_of(uri: str, record_id: str, field_path: str) -> str:
    """The DID that an AT URI's record lives under; a RecordError naming the field for anything else."""
    authority = uri[5:].split("/", 1)[0] if uri.startswith("at://") else ""
    if not authority.startswith("did:"):
        raise RecordError(
            f"expected an AT URI at://did:.../collection/rkey, got {uri[:200]!r}",
            record_id=record_id,
            field=field_path,
        )
    return authority


def collection_of(uri: str) -> str:
    parts = uri[5:].split("/") if uri.startswith("at://") else []
    return parts[1] if len(parts) > 2 else ""


@dataclass(slots=True)
class PostRecords:
    post: Post
    edges: list[Edge] = field(default_factory=list)


def _image(did: str, uri: str, blob: BlobS | None, alt: str) -> MediaRef | None:
    cid = blob.link if blob is not None else ""
    if not cid:
        return None
    return MediaRef(
        platform=B,
        id=f"{uri}#{cid}",
        kind=MediaKind.IMAGE,
        url=IMAGE_URL.format(did=did, cid=cid),
        preview_url=THUMB_URL.format(did=did, cid=cid),
        description=alt,
    )


def _media(did: str, uri: str, embed: MediaEmbedS | None) -> list[MediaRef]:
    if embed is None:
        return []
    refs = [_image(did, uri, i.image, i.alt) for i in embed.images]
    if embed.video is not None and embed.video.link:
        cid = embed.video.link
        refs.append(
            MediaRef(
                platform=B,
                id=f"{uri}#{cid}",
                kind=MediaKind.VIDEO,
                preview_url=VIDEO_THUMB_URL.format(did=did, cid=cid),
                description=embed.alt,
            )
        )
    return [r for r in refs if r is not None]


def _quoted(embed: EmbedS | None) -> str | None:
    """The post an embed quotes (app.bsky.embed.record, or the record half of recordWithMedia)."""
    if embed is None or embed.record is None:
        return None
    uri = embed.record.uri or (embed.record.record.uri if embed.record.record is not None else None)
    return uri if uri is not None and collection_of(uri) == POST else None


def _unique(values: list[str]) -> tuple[str, ...]:
    return tuple(dict.fromkeys(v for v in values if v))


def post(did: str, rkey: str, r: PostRecordS) -> PostRecords:
    uri = at_uri(did, POST, rkey)
    features = [f for facet in r.facets for f in facet.features]
    mentions = _unique([f.did or "" for f in features if f.type == _MENTION])
    reply_to = r.reply.parent.uri if r.reply is not None else None
    reply_account = did_of(reply_to, uri, "$.commit.record.reply.parent.uri") if reply_to else None
    quote = _quoted(r.embed)
    external = r.embed.external if r.embed is not None else None
    media = _media(did, uri, r.embed)
    if r.embed is not None:
        media += _media(did, uri, r.embed.media)
    p = Post(
        platform=B,
        id=uri,
        account_id=did,
        created_at=r.createdAt,
        text=r.text,
        lang=r.langs[0] if r.langs else "",
        url=POST_URL.format(did=did, rkey=rkey),
        hashtags=_unique([f.tag or "" for f in features if f.type == _TAG]),
        mention_account_ids=mentions,
        urls=_unique([f.uri or "" for f in features if f.type == _LINK]),
        reply_to_post_id=reply_to,
        reply_to_account_id=reply_account,
        quote_of_post_id=quote,
        media=tuple(media),
        card_url=external.uri if external is not None else "",
        card_title=external.title if external is not None else "",
        card_description=external.description if external is not None else "",
        sensitive=bool(r.labels is not None and r.labels.values),
    )
    out = PostRecords(p)
    if reply_account is not None:
        out.edges.append(Edge(B, EdgeKind.REPLY, did, reply_account, uri, r.createdAt))
    if quote is not None:
        out.edges.append(
            Edge(B, EdgeKind.QUOTE, did, did_of(quote, uri, "$.commit.record.embed"), uri, r.createdAt)
        )
    out.edges.extend(Edge(B, EdgeKind.MENTION, did, m, uri, r.createdAt) for m in mentions)
    return out


def repost(did: str, rkey: str, r: SubjectRecordS) -> PostRecords:
    """A repost is a post whose reblog target is the subject (as a Mastodon reblog is); it has no web page."""
    uri = at_uri(did, REPOST, rkey)
    target = did_of(r.subject.uri, uri, "$.commit.record.subject.uri")
    p = Post(B, uri, did, r.createdAt, reblog_of_post_id=r.subject.uri)
    return PostRecords(p, [Edge(B, EdgeKind.REBLOG, did, target, uri, r.createdAt)])


def like(did: str, rkey: str, r: SubjectRecordS) -> Edge:
    """A like: an edge to the liked record's author, whose `post_id` is the liked record (likes are not
    posts; keying the edge by what was liked keeps one edge per account and post)."""
    uri = at_uri(did, LIKE, rkey)
    target = did_of(r.subject.uri, uri, "$.commit.record.subject.uri")
    return Edge(B, EdgeKind.LIKE, did, target, r.subject.uri, r.createdAt)


def follow(did: str, rkey: str, subject: str, created_at: datetime) -> Edge:
    if not subject.startswith("did:"):
        raise RecordError(
            f"a follow's subject must be a DID, got {subject[:200]!r}",
            record_id=at_uri(did, FOLLOW, rkey),
            field="$.commit.record.subject",
        )
    return Edge(B, EdgeKind.FOLLOW, did, subject, None, created_at)


def profile(did: str, r: ProfileRecordS, handle: str) -> Account:
    avatar = r.avatar.link if r.avatar is not None else ""
    return Account(
        platform=B,
        id=did,
        handle=handle,
        display_name=r.displayName,
        bio=r.description,
        created_at=r.createdAt,
        url=PROFILE_URL.format(did=did),
        avatar_url=AVATAR_URL.format(did=did, cid=avatar) if avatar else "",
    )


def account_status(did: str, status: str | None, at: datetime) -> ModerationEvent | None:
    """An inactive account's status as a moderation event; None for a status cordon has no action for."""
    action = _STATUS_ACTIONS.get(status or "")
    if action is None:
        return None
    return ModerationEvent(B, did, action, at, reason=f"bluesky account status: {status}")
