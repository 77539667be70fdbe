"""JetstreamConnector on real Jetstream events: the golden and expected files of Jetstream's own tests in
../shared/fixtures/bluesky. They hold real third-party posts: they are parsed here and never printed.

Every count and field is derived from the raw file read independently with `json`; nothing is hard-coded
except the lexicon names and URL formats the connector is documented to produce.
"""

from __future__ import annotations

import json
from collections import Counter
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest

from cordon.app.ingest import MediaMode, ingest
from cordon.connectors import registry
from cordon.connectors.bluesky import JetstreamConnector
from cordon.connectors.mastodon import MastodonConnector
from cordon.connectors.x import XConnector
from cordon.corpus import DuckDBCorpus
from cordon.model import EdgeKind, MediaKind, ModerationAction, Platform, RecordBatch

JSON = dict[str, Any]
FILES = ("jetstream_golden_v1.jsonl", "jetstream_expected_v1.jsonl")
MAPPED = {
    "app.bsky.feed.post",
    "app.bsky.feed.repost",
    "app.bsky.feed.like",
    "app.bsky.graph.follow",
    "app.bsky.actor.profile",
}


def _events(path: Path) -> list[JSON]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def _read(path: Path, batch_size: int = 16) -> tuple[RecordBatch, JetstreamConnector]:
    connector = JetstreamConnector(progress=False)
    batches = list(connector.read(path, batch_size=batch_size))
    merged = RecordBatch(
        source=str(path),
        accounts=tuple(a for b in batches for a in b.accounts),
        posts=tuple(p for b in batches for p in b.posts),
        edges=tuple(e for b in batches for e in b.edges),
        moderation=tuple(m for b in batches for m in b.moderation),
        quarantined=tuple(q for b in batches for q in b.quarantined),
    )
    return merged, connector


def _ts(value: str) -> datetime:
    return datetime.fromisoformat(value.replace("Z", "+00:00"))


def _commits(events: list[JSON], collection: str, *ops: str) -> list[JSON]:
    ops = ops or ("create", "update")
    return [
        e
        for e in events
        if e["kind"] == "commit"
        and e["commit"]["collection"] == collection
        and e["commit"]["operation"] in ops
    ]


def _uri(e: JSON) -> str:
    return f"at://{e['did']}/{e['commit']['collection']}/{e['commit']['rkey']}"


def _did(uri: str) -> str:
    return uri.removeprefix("at://").split("/")[0]


def _features(record: JSON, kind: str) -> list[JSON]:
    return [
        f
        for facet in record.get("facets", [])
        for f in facet["features"]
        if f["$type"] == f"app.bsky.richtext.facet#{kind}"
    ]


@pytest.fixture(scope="module", params=FILES)
def fixture(request: pytest.FixtureRequest, shared: Path) -> tuple[Path, list[JSON]]:
    path = shared / "fixtures" / "bluesky" / request.param
    events = _events(path)
    assert len(events) >= 10
    return path, events


def test_counts_per_collection_and_operation(fixture: tuple[Path, list[JSON]]) -> None:
    path, events = fixture
    got, connector = _read(path)
    assert got.quarantined == ()
    posts, reposts = _commits(events, "app.bsky.feed.post"), _commits(events, "app.bsky.feed.repost")
    likes, follows = _commits(events, "app.bsky.feed.like"), _commits(events, "app.bsky.graph.follow")
    profiles = _commits(events, "app.bsky.actor.profile")
    assert len(got.posts) == len(posts) + len(reposts)
    assert len(got.accounts) == len(profiles)
    by_kind = Counter(e.kind for e in got.edges)
    assert by_kind[EdgeKind.LIKE] == len(likes)
    assert by_kind[EdgeKind.FOLLOW] == len(follows)
    assert by_kind[EdgeKind.REBLOG] == len(reposts)
    assert by_kind[EdgeKind.REPLY] == sum(1 for e in posts if "reply" in e["commit"]["record"])
    assert by_kind[EdgeKind.MENTION] == sum(
        len({f["did"] for f in _features(e["commit"]["record"], "mention")}) for e in posts
    )
    inactive = [e for e in events if e["kind"] == "account" and not e["account"]["active"]]
    assert len(got.moderation) == len(inactive)

    # everything else is skipped and counted, by kind, collection and operation
    expected_skips: Counter[str] = Counter()
    for e in events:
        if e["kind"] == "commit":
            c = e["commit"]
            if c["collection"] not in MAPPED or c["operation"] == "delete":
                expected_skips[f"commit:{c['collection']}:{c['operation']}"] += 1
        elif e["kind"] == "identity":
            expected_skips["identity"] += 1
        elif e["account"]["active"]:
            expected_skips["account:active"] += 1
    assert connector.skipped == expected_skips
    assert sum(expected_skips.values()) + len(posts) + len(reposts) + len(likes) + len(follows) + len(
        profiles
    ) + len(inactive) == len(events)
    assert any(k.endswith(":delete") for k in connector.skipped)  # each file has deletes, none become records


def test_every_post_field_by_field(fixture: tuple[Path, list[JSON]]) -> None:
    path, events = fixture
    got, _ = _read(path)
    by_id = {p.id: p for p in got.posts}
    for e in _commits(events, "app.bsky.feed.post"):
        record, did = e["commit"]["record"], e["did"]
        post = by_id[_uri(e)]
        assert post.platform is Platform.BLUESKY
        assert post.account_id == did
        assert post.created_at == _ts(record["createdAt"])
        assert post.text == record["text"]
        assert post.lang == (record.get("langs") or [""])[0]
        assert post.url == f"https://bsky.app/profile/{did}/post/{e['commit']['rkey']}"
        assert post.hashtags == tuple(dict.fromkeys(f["tag"] for f in _features(record, "tag")))
        assert post.urls == tuple(dict.fromkeys(f["uri"] for f in _features(record, "link")))
        assert post.mention_account_ids == tuple(
            dict.fromkeys(f["did"] for f in _features(record, "mention"))
        )
        for facet in record.get("facets", []):  # the byte slices point at what the features name
            written = (
                record["text"].encode()[facet["index"]["byteStart"] : facet["index"]["byteEnd"]].decode()
            )
            for f in facet["features"]:
                if "tag" in f:
                    assert written == f"#{f['tag']}"
        reply = record.get("reply")
        assert post.reply_to_post_id == (reply["parent"]["uri"] if reply else None)
        assert post.reply_to_account_id == (_did(reply["parent"]["uri"]) if reply else None)
        embed = record.get("embed", {})
        images = embed.get("images", [])
        assert [(m.id, m.kind, m.url, m.preview_url, m.description) for m in post.media] == [
            (
                f"{_uri(e)}#{i['image']['ref']['$link']}",
                MediaKind.IMAGE,
                f"https://cdn.bsky.app/img/feed_fullsize/plain/{did}/{i['image']['ref']['$link']}@jpeg",
                f"https://cdn.bsky.app/img/feed_thumbnail/plain/{did}/{i['image']['ref']['$link']}@jpeg",
                i["alt"],
            )
            for i in images
        ]
        external = embed.get("external", {})
        assert (post.card_url, post.card_title, post.card_description) == (
            external.get("uri", ""),
            external.get("title", ""),
            external.get("description", ""),
        )
        assert post.quote_of_post_id is None or embed.get("$type", "").startswith("app.bsky.embed.record")
    assert sum(len(p.media) for p in got.posts) == sum(
        len(e["commit"]["record"].get("embed", {}).get("images", []))
        for e in _commits(events, "app.bsky.feed.post")
    )


def test_reposts_likes_follows(fixture: tuple[Path, list[JSON]]) -> None:
    path, events = fixture
    got, _ = _read(path)
    by_id = {p.id: p for p in got.posts}
    edges = {(e.kind, e.src_account_id, e.dst_account_id, e.post_id): e for e in got.edges}
    for e in _commits(events, "app.bsky.feed.repost"):
        subject, created = e["commit"]["record"]["subject"]["uri"], _ts(e["commit"]["record"]["createdAt"])
        post = by_id[_uri(e)]
        assert (post.account_id, post.reblog_of_post_id, post.created_at, post.text) == (
            e["did"],
            subject,
            created,
            "",
        )
        assert edges[(EdgeKind.REBLOG, e["did"], _did(subject), _uri(e))].created_at == created
    for e in _commits(events, "app.bsky.feed.like"):
        subject = e["commit"]["record"]["subject"]["uri"]
        like = edges[(EdgeKind.LIKE, e["did"], _did(subject), subject)]
        assert like.created_at == _ts(e["commit"]["record"]["createdAt"])
    for e in _commits(events, "app.bsky.graph.follow"):
        assert (EdgeKind.FOLLOW, e["did"], e["commit"]["record"]["subject"], None) in edges


def test_profile_update(shared: Path) -> None:
    path = shared / "fixtures" / "bluesky" / FILES[0]
    (event,) = _commits(_events(path), "app.bsky.actor.profile")
    record = event["commit"]["record"]
    got, _ = _read(path)
    (account,) = got.accounts
    assert account.platform is Platform.BLUESKY
    assert account.id == event["did"]
    assert account.display_name == record["displayName"]
    assert account.bio == record["description"]
    assert account.created_at == _ts(record["createdAt"])
    assert (
        account.avatar_url
        == f"https://cdn.bsky.app/img/avatar/plain/{event['did']}/{record['avatar']['ref']['$link']}@jpeg"
    )
    assert account.url == f"https://bsky.app/profile/{event['did']}"
    assert account.handle == ""  # Jetstream's profile record has no handle; no identity event named one first


def test_identity_handle_and_account_takedown(tmp_path: Path, shared: Path) -> None:
    """Synthetic events in Jetstream's shape around the real profile event: a handle from an identity event
    fills the profile read after it; an account taken down becomes a moderation event."""
    (profile,) = _commits(_events(shared / "fixtures" / "bluesky" / FILES[0]), "app.bsky.actor.profile")
    did = profile["did"]
    identity = {
        "did": did,
        "time_us": profile["time_us"] - 1,
        "kind": "identity",
        "identity": {"did": did, "handle": "someone.example", "seq": 1, "time": "2024-05-01T00:00:00.000Z"},
    }
    takedown = {
        "did": did,
        "time_us": profile["time_us"] + 1,
        "kind": "account",
        "account": {
            "active": False,
            "did": did,
            "seq": 2,
            "status": "takendown",
            "time": "2024-05-02T00:00:00.000Z",
        },
    }
    path = tmp_path / "events.jsonl"
    path.write_text("\n".join(json.dumps(e) for e in (identity, profile, takedown)) + "\n")
    got, connector = _read(path)
    (account,) = got.accounts
    assert account.handle == "someone.example"
    (event,) = got.moderation
    assert (event.account_id, event.action, event.created_at) == (
        did,
        ModerationAction.SUSPEND,
        _ts("2024-05-02T00:00:00Z"),
    )
    assert "takendown" in event.reason
    assert connector.skipped == Counter({"identity": 1})


def test_sniffing_and_resume(shared: Path, tmp_path: Path) -> None:
    path = shared / "fixtures" / "bluesky" / FILES[1]
    assert registry.detect(path).name == "bluesky"
    assert not MastodonConnector(progress=False).sniff(path)
    assert not XConnector(progress=False).sniff(path)
    connector = JetstreamConnector(progress=False)
    whole = list(connector.read(path, batch_size=40))
    assert len(whole) >= 3
    assert whole[-1].cursor is not None and whole[-1].cursor.line == len(_events(path))
    for n, batch in enumerate(whole[:-1]):
        rest = list(connector.read(path, start=batch.cursor, batch_size=40))
        assert [e for b in rest for e in b.edges] == [e for b in whole[n + 1 :] for e in b.edges]
        assert [p.id for b in rest for p in b.posts] == [p.id for b in whole[n + 1 :] for p in b.posts]
    folder = tmp_path / "stream"
    folder.mkdir()
    (folder / "part-1.jsonl").write_bytes(path.read_bytes())
    assert registry.detect(folder).name == "bluesky"


def test_ingest_stores_the_events(shared: Path, tmp_path: Path) -> None:
    """`cordon ingest` end to end on the real events: sniffed, stored, counted by distinct key."""
    source = tmp_path / "jetstream.jsonl"
    source.write_bytes((shared / "fixtures" / "bluesky" / FILES[1]).read_bytes())
    events = _events(source)
    db = tmp_path / "corpus.duckdb"
    report = ingest(source, db, media=MediaMode.SKIP)
    assert report.connector == "bluesky"
    assert report.quarantined == 0
    posts = {
        _uri(e) for e in _commits(events, "app.bsky.feed.post") + _commits(events, "app.bsky.feed.repost")
    }
    likes = {
        (e["did"], e["commit"]["record"]["subject"]["uri"]) for e in _commits(events, "app.bsky.feed.like")
    }
    follows = {
        (e["did"], e["commit"]["record"]["subject"]) for e in _commits(events, "app.bsky.graph.follow")
    }
    images = sum(
        len(e["commit"]["record"].get("embed", {}).get("images", []))
        for e in _commits(events, "app.bsky.feed.post")
    )
    with DuckDBCorpus(db) as store:
        stats = store.stats()
        assert stats.rows("posts", "bluesky") == len(posts)
        assert stats.rows("attachments", "bluesky") == images
        kinds = dict(store.connection.execute("SELECT kind, count(*) FROM edges GROUP BY kind").fetchall())
    assert kinds["like"] == len(likes)
    assert kinds["follow"] == len(follows)
    assert kinds["reblog"] == len(_commits(events, "app.bsky.feed.repost"))
    assert ingest(source, db, media=MediaMode.SKIP).posts_read == 0  # resumed past the end
