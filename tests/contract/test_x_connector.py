"""XConnector on X API v2 payloads written after the X API v2 data dictionary (no recorded X data exists in
../shared): a search response page as twarc2 saves it, the same page flattened by twarc's own `flatten`, and
followers/following pages. Expected values are read from the payload JSON with `json`, or written out where
the connector transforms (unescaping, t.co expansion). Synthetic tokens only.
"""

from __future__ import annotations

import io
import json
from datetime import datetime
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from PIL import Image

from cordon.app.ingest import MediaMode, ingest
from cordon.connectors import registry
from cordon.connectors.bluesky import JetstreamConnector
from cordon.connectors.mastodon import MastodonConnector
from cordon.connectors.media_fetch import local_file_name
from cordon.connectors.x import XConnector
from cordon.corpus import DuckDBCorpus
from cordon.model import Account, EdgeKind, MediaKind, Platform, Post, RecordBatch
from tests.unit.connectors.x.x_payloads import flattened
from tests.unit.connectors.x.x_search_page import DATA, LONG, MEDIA, PAGE, T3, T9001, USERS, user

JSON = dict[str, Any]


def _copy(value: Any) -> Any:
    return json.loads(json.dumps(value))


def _read(path: Path, batch_size: int = 4) -> RecordBatch:
    batches = list(XConnector(progress=False).read(path, batch_size=batch_size))
    return RecordBatch(
        source=str(path),
        accounts=tuple(a for b in batches for a in b.accounts),
        posts=tuple(p for b in batches for p in b.posts),
        edges=tuple(e for b in batches for e in b.edges),
        quarantined=tuple(q for b in batches for q in b.quarantined),
    )


def _by_id(records: tuple[Post, ...] | tuple[Account, ...]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for r in records:
        assert out.setdefault(r.id, r) == r, f"{r.id} came back in two different forms"
    return out


@pytest.fixture
def page_file(tmp_path: Path) -> Path:
    path = tmp_path / "search.jsonl"
    path.write_text(json.dumps(_copy(PAGE)) + "\n", encoding="utf-8")
    return path


@pytest.fixture
def flat_file(tmp_path: Path) -> Path:
    path = tmp_path / "search-flat.jsonl"
    path.write_text("".join(json.dumps(t) + "\n" for t in flattened(_copy(PAGE))), encoding="utf-8")
    return path


def _ts(value: str) -> datetime:
    return datetime.fromisoformat(value.replace("Z", "+00:00"))


def check_tweet(post: Post, t: JSON) -> None:
    """What every post shares with its Tweet object, read from the JSON."""
    assert post.platform is Platform.X
    assert post.account_id == t["author_id"]
    assert post.created_at == _ts(t["created_at"])
    assert post.lang == t.get("lang", "")
    assert post.sensitive is t["possibly_sensitive"]
    assert post.url == f"https://x.com/i/web/status/{t['id']}"
    refs = {r["type"]: r["id"] for r in t.get("referenced_tweets", [])}
    assert post.reblog_of_post_id == refs.get("retweeted")
    if "retweeted" in refs:
        assert (post.text, post.hashtags, post.urls, post.media) == ("", (), (), ())
        return
    assert post.reply_to_post_id == refs.get("replied_to")
    assert post.quote_of_post_id == refs.get("quoted")
    assert post.reply_to_account_id == t.get("in_reply_to_user_id")
    entities = t.get("note_tweet", {}).get("entities") or t.get("entities", {})
    assert post.hashtags == tuple(h["tag"] for h in entities.get("hashtags", []))
    assert post.mention_account_ids == tuple(m["id"] for m in entities.get("mentions", []))
    assert post.urls == tuple(u["expanded_url"] for u in entities.get("urls", []) if "media_key" not in u)
    assert [m.id for m in post.media] == t.get("attachments", {}).get("media_keys", [])
    for ref in post.media:
        (m,) = [m for m in MEDIA if m["media_key"] == ref.id]
        mp4 = [v for v in m.get("variants", []) if v["content_type"] == "video/mp4"]
        best = max(mp4, key=lambda v: v["bit_rate"])["url"] if mp4 else None
        assert ref.url == (m.get("url") or best)
        assert ref.preview_url == m.get("preview_image_url", "")
        assert ref.kind is {"photo": MediaKind.IMAGE, "video": MediaKind.VIDEO}[m["type"]]
        assert ref.description == m.get("alt_text", "")


def check_user(account: Account, u: JSON) -> None:
    assert account.platform is Platform.X
    assert (account.id, account.handle, account.display_name) == (u["id"], u["username"], u["name"])
    assert account.created_at == _ts(u["created_at"])
    assert account.avatar_url == u["profile_image_url"]
    assert account.url == f"https://x.com/{u['username']}"
    assert account.locked is u["protected"]
    metrics = u["public_metrics"]
    assert (account.followers_count, account.following_count, account.statuses_count) == (
        metrics["followers_count"],
        metrics["following_count"],
        metrics["tweet_count"],
    )


def test_page_maps_every_tweet_and_user(page_file: Path) -> None:
    got = _read(page_file)
    assert got.quarantined == ()
    posts = _by_id(got.posts)
    tweets = {t["id"]: t for t in [*DATA, T9001]}
    assert set(posts) == set(tweets)  # the quoted 9001 comes from includes; 9999 is gone and is no post
    for post_id, t in tweets.items():
        check_tweet(posts[post_id], t)
    accounts = _by_id(got.accounts)
    assert set(accounts) == {u["id"] for u in USERS}  # 1006 only in includes; 1099 was never included
    for u in USERS:
        check_user(accounts[u["id"]], u)

    # what the connector transforms, written out
    first = posts["2001"]
    assert first.text == "Drop & more <3 #tagA1 #tagB2 @replier_b https://xq-folder.example/f/1?x=1&y=2"
    assert (first.card_url, first.card_title, first.card_description) == (
        "https://xq-folder.example/f/1?x=1&y=2",
        "A folder",
        "Files for tagA1",
    )
    assert posts["2002"].text == "@tagpost_a same here"
    assert posts["2002"].media[0].url.endswith("/720.mp4")
    assert posts["2004"].text == "look at this #tagA1 https://twitter.com/origin_e/status/9001"
    assert posts["2005"].text == LONG
    a = accounts["1001"]
    assert a.bio == "files in bio https://xq-folder.example/bio"
    assert [(f.name, f.value) for f in a.fields] == [
        ("website", "https://xq-site.example/"),
        ("location", "Nowhere"),
    ]
    assert [(f.name, f.value) for f in accounts["1002"].fields] == [("verified", "blue")]

    edges = {(e.kind, e.src_account_id, e.dst_account_id, e.post_id) for e in got.edges}
    assert edges == {
        (EdgeKind.MENTION, "1001", "1002", "2001"),
        (EdgeKind.REPLY, "1002", "1001", "2002"),
        (EdgeKind.MENTION, "1002", "1001", "2002"),
        (EdgeKind.REBLOG, "1003", "1001", "2003"),
        (EdgeKind.QUOTE, "1004", "1005", "2004"),
        (EdgeKind.REPLY, "1003", "1099", "2006"),
        (EdgeKind.MENTION, "1003", "1099", "2006"),
    }
    assert all(e.created_at == posts[e.post_id].created_at for e in got.edges if e.post_id)


def test_page_and_its_flattened_form_give_the_same_records(page_file: Path, flat_file: Path) -> None:
    from_page, from_flat = _read(page_file), _read(flat_file)
    assert from_flat.quarantined == ()
    assert len(flat_file.read_text().splitlines()) == len(DATA)
    assert _by_id(from_flat.posts) == _by_id(from_page.posts)
    assert set(from_flat.edges) == set(from_page.edges)
    # a flattened file holds the users its tweets embed; the page also holds the one nothing refers to
    assert _by_id(from_flat.accounts) == {k: v for k, v in _by_id(from_page.accounts).items() if k != "1006"}


def test_retweet_of_a_tweet_missing_from_includes_keeps_its_target(tmp_path: Path) -> None:
    """Without the original in includes, the "RT @user:" mention still names the retweeted author."""
    page = _copy(PAGE)
    page["data"] = [T3]
    page["includes"]["tweets"] = []
    path = tmp_path / "rt.jsonl"
    path.write_text(json.dumps(page) + "\n")
    got = _read(path)
    (post,) = got.posts
    assert post.reblog_of_post_id == "2001"
    assert {(e.kind, e.dst_account_id) for e in got.edges} == {(EdgeKind.REBLOG, "1001")}


@pytest.mark.parametrize(("relation", "follower_is_listed"), [("followers", True), ("following", False)])
def test_followers_and_following_pages(tmp_path: Path, relation: str, follower_is_listed: bool) -> None:
    listed = [user("1101", "fan_one"), user("1102", "fan_two")]
    page = {
        "data": listed,
        "meta": {"result_count": 2},
        "__twarc": {
            "url": f"https://api.twitter.com/2/users/1001/{relation}?max_results=1000",
            "version": "2.14.0",
        },
    }
    paged, flat = tmp_path / f"{relation}.jsonl", tmp_path / f"{relation}-flat.jsonl"
    paged.write_text(json.dumps(page) + "\n")
    flat.write_text("".join(json.dumps(u) + "\n" for u in flattened(_copy(page))))
    expected = {(u["id"], "1001") if follower_is_listed else ("1001", u["id"]) for u in listed}
    for path in (paged, flat):
        assert XConnector(progress=False).sniff(path)
        got = _read(path)
        assert got.quarantined == ()
        for account, u in zip(got.accounts, listed, strict=True):
            check_user(account, u)
        assert {e.kind for e in got.edges} == {EdgeKind.FOLLOW}
        assert {(e.src_account_id, e.dst_account_id) for e in got.edges} == expected


def test_sniffing_tells_x_from_the_other_formats(page_file: Path, flat_file: Path, shared: Path) -> None:
    x = XConnector(progress=False)
    assert registry.detect(page_file).name == "x"
    assert registry.detect(flat_file).name == "x"
    assert registry.detect(page_file.parent).name == "x"  # a folder of twarc2 files
    assert not MastodonConnector(progress=False).sniff(page_file)
    assert not JetstreamConnector(progress=False).sniff(flat_file)
    for jetstream in sorted((shared / "fixtures" / "bluesky").glob("*.jsonl")):
        assert not x.sniff(jetstream)
    assert not x.sniff(shared / "fixtures" / "activitystreams")


def test_resume_from_each_cursor(tmp_path: Path) -> None:
    path = tmp_path / "pages.jsonl"
    pages = []
    for n in range(5):
        page = _copy(PAGE)
        for t in page["data"]:
            t["id"] = f"{n}{t['id']}"
        pages.append(json.dumps(page))
    path.write_text("\n".join(pages) + "\n")
    connector = XConnector(progress=False)
    whole = list(connector.read(path, batch_size=7))
    assert len(whole) > 2
    for n, batch in enumerate(whole[:-1]):
        rest = list(connector.read(path, start=batch.cursor, batch_size=7))
        assert [p.id for b in rest for p in b.posts] == [p.id for b in whole[n + 1 :] for p in b.posts]
    assert whole[-1].cursor is not None and whole[-1].cursor.line == 5


def _noise_png(seed: int) -> bytes:
    pixels = np.random.default_rng(seed).integers(0, 256, size=(16, 16, 3), dtype=np.uint8)
    out = io.BytesIO()
    Image.fromarray(pixels).save(out, format="PNG")
    return out.getvalue()


def test_ingest_stores_pages_and_their_media(page_file: Path, tmp_path: Path) -> None:
    """`cordon ingest` end to end: format sniffed, records stored, media resolved from the export's media/."""
    media_dir = page_file.parent / "media"
    media_dir.mkdir()
    urls = [m.get("url") or m["variants"][-1]["url"] for m in MEDIA] + [u["profile_image_url"] for u in USERS]
    for seed, url in enumerate(urls):
        (media_dir / local_file_name(url)).write_bytes(_noise_png(seed))
    db = tmp_path / "corpus.duckdb"
    report = ingest(page_file, db, media=MediaMode.REFERENCE)
    assert report.connector == "x"
    assert report.quarantined == 0
    with DuckDBCorpus(db) as store:
        stats = store.stats()
        assert stats.rows("posts") == len(DATA) + 1
        assert stats.rows("accounts") == len(USERS)
        assert stats.rows("edges") == 7
        assert stats.rows("attachments") == len(MEDIA)
        assert stats.rows("media_links") == len(urls)
        kinds = dict(store.connection.execute("SELECT kind, count(*) FROM edges GROUP BY kind").fetchall())
    assert kinds == {"mention": 3, "reply": 2, "reblog": 1, "quote": 1}
    again = ingest(page_file, db, media=MediaMode.REFERENCE)
    assert again.posts_read == 0  # resumed past the end
