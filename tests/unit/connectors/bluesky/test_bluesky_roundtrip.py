"""Records -> Jetstream events (as the AT Protocol lexicons define the records) -> JetstreamConnector: the
records come back. Facets are built with real UTF-8 byte slices of the text."""

from __future__ import annotations

import json
import tempfile
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from cordon.connectors.bluesky import JetstreamConnector
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
    RecordBatch,
)

B = Platform.BLUESKY
JSON = dict[str, Any]
# the documented status -> action table (docs/formats.md)
STATUSES = {
    "takendown": ModerationAction.SUSPEND,
    "suspended": ModerationAction.SUSPEND,
    "deleted": ModerationAction.DELETE,
    "deactivated": ModerationAction.DISABLE,
    "throttled": ModerationAction.SILENCE,
}
_b32 = "abcdefghijklmnopqrstuvwxyz234567"
_did = st.text(alphabet=_b32, min_size=24, max_size=24).map(lambda s: f"did:plc:{s}")
_rkey = st.text(alphabet=_b32, min_size=13, max_size=13)
_cid = st.text(alphabet=_b32, min_size=52, max_size=52).map(lambda s: f"bafkrei{s}")
_text = st.text(alphabet=st.characters(codec="utf-8"), max_size=30)
_tag = st.text(alphabet=st.characters(categories=("L", "Nd")) | st.just("_"), min_size=1, max_size=12)
_zones = st.sampled_from([UTC, timezone(timedelta(hours=9)), timezone(-timedelta(hours=5, minutes=30))])
_moment = st.datetimes(min_value=datetime(2023, 1, 1), max_value=datetime(2099, 12, 31), timezones=_zones)


def at(did: str, collection: str, rkey: str) -> str:
    return f"at://{did}/{collection}/{rkey}"


def blob(cid: str) -> JSON:
    return {"$type": "blob", "ref": {"$link": cid}, "mimeType": "image/jpeg", "size": 1234}


def commit(did: str, collection: str, rkey: str, record: JSON, n: int) -> JSON:
    return {
        "did": did,
        "time_us": 1_700_000_000_000_000 + n,
        "kind": "commit",
        "commit": {
            "rev": f"rev{n}",
            "operation": "create",
            "collection": collection,
            "rkey": rkey,
            "record": {"$type": collection, **record},
            "cid": f"bafyrei{n}",
        },
    }


@dataclass
class World:
    accounts: list[Account] = field(default_factory=list)
    posts: list[Post] = field(default_factory=list)
    edges: list[Edge] = field(default_factory=list)
    moderation: list[ModerationEvent] = field(default_factory=list)
    events: list[JSON] = field(default_factory=list)


def _post_record(
    draw: st.DrawFn, did: str, rkey: str, dids: list[str], earlier: list[Post]
) -> tuple[JSON, Post]:
    """A post record with facets over its UTF-8 bytes, and the Post it must map to."""
    uri = at(did, "app.bsky.feed.post", rkey)
    text, facets = "", []
    tags, links, mentions = [], [], []
    for _ in range(draw(st.integers(0, 5))):
        text += draw(_text) + " "
        kind = draw(st.sampled_from(["tag", "link", "mention"]))
        start = len(text.encode())
        if kind == "tag":
            value = draw(_tag)
            text += f"#{value}"
            feature = {"$type": "app.bsky.richtext.facet#tag", "tag": value}
            tags.append(value)
        elif kind == "link":
            value = f"https://xq-folder.example/{draw(_tag)}?a=1&b=2"
            text += value[8:30]  # shown shortened, as clients do; the facet holds the whole URL
            feature = {"$type": "app.bsky.richtext.facet#link", "uri": value}
            links.append(value)
        else:
            value = draw(st.sampled_from(dids))
            text += "@someone.example"
            feature = {"$type": "app.bsky.richtext.facet#mention", "did": value}
            mentions.append(value)
        facets.append({"index": {"byteStart": start, "byteEnd": len(text.encode())}, "features": [feature]})
    created = draw(_moment)
    record: JSON = {"text": text, "createdAt": created.isoformat()}
    langs = draw(st.sampled_from([[], ["en"], ["ja", "en"]]))
    if langs:
        record["langs"] = langs
    if facets:
        record["facets"] = facets
    parent = draw(st.none() | st.sampled_from(earlier)) if earlier else None
    if parent is not None:
        ref = {"uri": parent.id, "cid": "bafyreiparent"}
        record["reply"] = {"parent": ref, "root": ref}
    embed_kind = draw(st.sampled_from(["none", "images", "video", "external", "quote", "quote+images"]))
    if embed_kind.startswith("quote") and not earlier:
        embed_kind = "none"  # nothing to quote yet
    quoted = draw(st.sampled_from(earlier)) if embed_kind.startswith("quote") else None
    media: list[MediaRef] = []
    card = ("", "", "")
    images_embed: JSON | None = None
    if embed_kind in ("images", "quote+images"):
        cids = draw(st.lists(_cid, min_size=1, max_size=4, unique=True))
        alts = [draw(_text) for _ in cids]
        images_embed = {
            "$type": "app.bsky.embed.images",
            "images": [{"image": blob(c), "alt": a} for c, a in zip(cids, alts, strict=True)],
        }
        media = [
            MediaRef(
                B,
                f"{uri}#{c}",
                MediaKind.IMAGE,
                f"https://cdn.bsky.app/img/feed_fullsize/plain/{did}/{c}@jpeg",
                f"https://cdn.bsky.app/img/feed_thumbnail/plain/{did}/{c}@jpeg",
                "",
                a,
            )
            for c, a in zip(cids, alts, strict=True)
        ]
    if embed_kind == "images":
        record["embed"] = images_embed
    elif embed_kind == "video":
        c, alt = draw(_cid), draw(_text)
        record["embed"] = {
            "$type": "app.bsky.embed.video",
            "video": blob(c) | {"mimeType": "video/mp4"},
            "alt": alt,
        }
        media = [
            MediaRef(
                B,
                f"{uri}#{c}",
                MediaKind.VIDEO,
                "",
                f"https://video.bsky.app/watch/{did}/{c}/thumbnail.jpg",
                "",
                alt,
            )
        ]
    elif embed_kind == "external":
        card = (f"https://xq-card.example/{rkey}", draw(_text), draw(_text))
        record["embed"] = {
            "$type": "app.bsky.embed.external",
            "external": {"uri": card[0], "title": card[1], "description": card[2]},
        }
    elif quoted is not None:
        ref = {"uri": quoted.id, "cid": "bafyreiquoted"}
        if embed_kind == "quote":
            record["embed"] = {"$type": "app.bsky.embed.record", "record": ref}
        else:
            record["embed"] = {
                "$type": "app.bsky.embed.recordWithMedia",
                "record": {"$type": "app.bsky.embed.record", "record": ref},
                "media": images_embed,
            }
    sensitive = draw(st.booleans())
    if sensitive:
        record["labels"] = {
            "$type": "com.atproto.label.defs#selfLabels",
            "values": [{"val": "graphic-media"}],
        }
    post = Post(
        platform=B,
        id=uri,
        account_id=did,
        created_at=created,
        text=text,
        lang=langs[0] if langs else "",
        url=f"https://bsky.app/profile/{did}/post/{rkey}",
        hashtags=tuple(dict.fromkeys(tags)),
        mention_account_ids=tuple(dict.fromkeys(mentions)),
        urls=tuple(dict.fromkeys(links)),
        reply_to_post_id=parent.id if parent else None,
        reply_to_account_id=parent.account_id if parent else None,
        quote_of_post_id=quoted.id if quoted else None,
        media=tuple(media),
        card_url=card[0],
        card_title=card[1],
        card_description=card[2],
        sensitive=sensitive,
    )
    return record, post


@st.composite
def worlds(draw: st.DrawFn) -> World:
    w = World()
    dids = draw(st.lists(_did, min_size=1, max_size=4, unique=True))
    rkeys = iter(draw(st.lists(_rkey, min_size=40, max_size=40, unique=True)))
    n = 0
    for did in dids:
        if draw(st.booleans()):
            continue  # an account that never publishes its profile
        handle = draw(st.sampled_from(["", "someone.example", "x.bsky.social"]))
        if handle:
            n += 1
            w.events.append(
                {
                    "did": did,
                    "time_us": n,
                    "kind": "identity",
                    "identity": {"did": did, "handle": handle, "seq": n},
                }
            )
        avatar = draw(st.none() | _cid)
        created = draw(st.none() | _moment)
        profile: JSON = {"displayName": draw(_text), "description": draw(_text)}
        if avatar:
            profile["avatar"] = blob(avatar)
        if created:
            profile["createdAt"] = created.isoformat()
        n += 1
        w.events.append(commit(did, "app.bsky.actor.profile", "self", profile, n))
        w.accounts.append(
            Account(
                B,
                did,
                handle,
                display_name=profile["displayName"],
                bio=profile["description"],
                created_at=created,
                url=f"https://bsky.app/profile/{did}",
                avatar_url=f"https://cdn.bsky.app/img/avatar/plain/{did}/{avatar}@jpeg" if avatar else "",
            )
        )
    for _ in range(draw(st.integers(1, 10))):
        did, rkey, n = draw(st.sampled_from(dids)), next(rkeys), n + 1
        originals = [p for p in w.posts if p.reblog_of_post_id is None]
        action = (
            draw(st.sampled_from(["post", "repost", "like", "follow", "status"])) if originals else "post"
        )
        created = draw(_moment)
        if action == "post":
            record, post = _post_record(draw, did, rkey, dids, originals)
            w.events.append(commit(did, "app.bsky.feed.post", rkey, record, n))
            w.posts.append(post)
            for kind, other_account in [
                (EdgeKind.REPLY, post.reply_to_account_id),
                (EdgeKind.QUOTE, _author(w, post.quote_of_post_id)),
            ]:
                if other_account:
                    w.edges.append(Edge(B, kind, did, other_account, post.id, post.created_at))
            w.edges += [
                Edge(B, EdgeKind.MENTION, did, m, post.id, post.created_at) for m in post.mention_account_ids
            ]
        elif action in ("repost", "like"):
            target = draw(st.sampled_from(originals))
            collection = f"app.bsky.feed.{action}"
            subject = {"uri": target.id, "cid": "bafyreisubject"}
            w.events.append(
                commit(did, collection, rkey, {"subject": subject, "createdAt": created.isoformat()}, n)
            )
            uri = at(did, collection, rkey)
            if action == "repost":
                w.posts.append(Post(B, uri, did, created, reblog_of_post_id=target.id))
                w.edges.append(Edge(B, EdgeKind.REBLOG, did, target.account_id, uri, created))
            else:
                w.edges.append(Edge(B, EdgeKind.LIKE, did, target.account_id, target.id, created))
        elif action == "follow":
            other = draw(st.sampled_from(dids))
            w.events.append(
                commit(
                    did,
                    "app.bsky.graph.follow",
                    rkey,
                    {"subject": other, "createdAt": created.isoformat()},
                    n,
                )
            )
            w.edges.append(Edge(B, EdgeKind.FOLLOW, did, other, None, created))
        else:
            status = draw(st.sampled_from(sorted(STATUSES)))
            account = {"active": False, "did": did, "seq": n, "status": status, "time": created.isoformat()}
            w.events.append({"did": did, "time_us": n, "kind": "account", "account": account})
            w.moderation.append(
                ModerationEvent(B, did, STATUSES[status], created, f"bluesky account status: {status}")
            )
    return w


def _author(w: World, post_id: str | None) -> str | None:
    return next((p.account_id for p in w.posts if p.id == post_id), None)


def _read(path: Path) -> RecordBatch:
    batches = list(JetstreamConnector(progress=False).read(path, batch_size=3))
    return RecordBatch(
        source=str(path),
        accounts=tuple(a for b in batches for a in b.accounts),
        posts=tuple(p for b in batches for p in b.posts),
        edges=tuple(e for b in batches for e in b.edges),
        moderation=tuple(m for b in batches for m in b.moderation),
        quarantined=tuple(q for b in batches for q in b.quarantined),
    )


@settings(max_examples=100, deadline=None)
@given(world=worlds(), ascii_only=st.booleans())
def test_events_round_trip(world: World, ascii_only: bool) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "jetstream.jsonl"
        path.write_text(
            "".join(json.dumps(e, ensure_ascii=ascii_only) + "\n" for e in world.events), encoding="utf-8"
        )
        got = _read(path)
    assert got.quarantined == ()
    assert list(got.accounts) == world.accounts
    assert list(got.posts) == world.posts
    assert list(got.edges) == world.edges
    assert list(got.moderation) == world.moderation
