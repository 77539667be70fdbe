"""MastodonConnector on real recorded API payloads: the response bodies of Mastodon.py's VCR cassettes.

Each body is written to a file as the API returned it (a JSON object or array), and also re-serialised as
JSON Lines; every field the connector maps is checked against the JSON read independently with `json`, and
HTML is checked against the standard library's `html.parser`, not against the connector's own stripper.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import msgspec
import pytest
import yaml

from cordon.connectors.mastodon import MastodonConnector, mapping
from cordon.connectors.mastodon.schema import StatusS
from cordon.model import Account, EdgeKind, MediaKind, Platform, Post, RecordBatch

JSON = dict[str, Any]


@dataclass(frozen=True)
class Body:
    cassette: str
    method: str
    path: str
    raw: str
    value: Any


@pytest.fixture(scope="module")
def bodies(shared: Path) -> list[Body]:
    """Every successful JSON response body in the recorded cassettes."""
    out: list[Body] = []
    for cassette in sorted((shared / "fixtures" / "mastodon").glob("*.yaml")):
        recorded = yaml.safe_load(cassette.read_text(encoding="utf-8"))
        for interaction in recorded["interactions"]:
            response = interaction["response"]
            if response["status"]["code"] != 200:
                continue
            raw = response["body"]["string"]
            path = interaction["request"]["uri"].split("localhost:3000", 1)[1]
            out.append(Body(cassette.stem, interaction["request"]["method"], path, raw, json.loads(raw)))
    assert len(out) > 40, "the recorded cassettes went missing from ../shared/fixtures/mastodon"
    return out


def _is_status(v: Any) -> bool:
    return isinstance(v, dict) and "account" in v and ("content" in v or "text" in v)


def _is_account(v: Any) -> bool:
    return isinstance(v, dict) and "acct" in v and "username" in v


def _statuses(bodies: list[Body]) -> list[JSON]:
    return [b.value for b in bodies if _is_status(b.value)]


def _read(path: Path) -> list[RecordBatch]:
    return list(MastodonConnector(progress=False).read(path, batch_size=3))


def _all(batches: list[RecordBatch]) -> tuple[list[Account], list[Post], RecordBatch]:
    merged = RecordBatch(
        source="all",
        accounts=tuple(a for b in batches for a in b.accounts),
        posts=tuple(p for b in batches for p in b.posts),
        edges=tuple(e for b in batches for e in b.edges),
        quarantined=tuple(q for b in batches for q in b.quarantined),
    )
    return list(merged.accounts), list(merged.posts), merged


class _TextOracle(HTMLParser):
    """Plain text of Mastodon HTML, independently of cordon: data of every node, paragraphs by blank line."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "br":
            self.parts.append("\n")
        elif tag == "p" and self.parts:
            self.parts.append("\n\n")

    def handle_data(self, data: str) -> None:
        self.parts.append(data)


def plain(markup: str) -> str:
    oracle = _TextOracle()
    oracle.feed(markup)
    oracle.close()
    return "".join(oracle.parts).strip()


def _ts(value: str) -> datetime:
    return datetime.fromisoformat(value.replace("Z", "+00:00"))


def check_post(post: Post, s: JSON) -> None:
    assert post.platform is Platform.MASTODON
    assert post.id == s["id"]
    assert post.account_id == s["account"]["id"]
    assert post.created_at == _ts(s["created_at"])
    expected_text = plain(s["content"]) if s.get("content") else s.get("text") or ""
    if s.get("spoiler_text"):
        expected_text = f"{s['spoiler_text']}\n\n{expected_text}"
    assert post.text == expected_text
    assert post.hashtags == tuple(t["name"] for t in s["tags"])
    assert post.mention_account_ids == tuple(m["id"] for m in s["mentions"])
    assert post.reply_to_post_id == s["in_reply_to_id"]
    assert post.reply_to_account_id == s["in_reply_to_account_id"]
    assert post.reblog_of_post_id == (s["reblog"]["id"] if s["reblog"] else None)
    assert [(m.id, m.kind.value, m.url, m.preview_url) for m in post.media] == [
        (m["id"], m["type"], m["url"], m["preview_url"]) for m in s["media_attachments"]
    ]
    assert post.card_url == (s["card"]["url"] if s["card"] else "")
    assert post.sensitive is s["sensitive"]
    assert post.visibility == s["visibility"]
    assert post.lang == (s["language"] or "")
    assert post.url == s["url"]


def check_account(account: Account, a: JSON) -> None:
    assert account.id == a["id"]
    assert account.handle == a["username"]
    assert account.acct == a["acct"]
    assert account.display_name == a["display_name"]
    assert account.bio == plain(a["note"])
    assert [(f.name, f.value) for f in account.fields] == [
        (plain(f["name"]), plain(f["value"])) for f in a["fields"]
    ]
    assert account.avatar_url == a["avatar"]
    assert account.url == a["url"]
    assert account.bot is a["bot"]
    assert account.locked is a["locked"]
    assert account.created_at == _ts(a["created_at"])
    assert (account.followers_count, account.following_count, account.statuses_count) == (
        a["followers_count"],
        a["following_count"],
        a["statuses_count"],
    )


def test_every_recorded_status_as_returned(bodies: list[Body], tmp_path: Path) -> None:
    """Each status response body, written byte for byte as recorded, maps to its post and author."""
    statuses = [b for b in bodies if _is_status(b.value)]
    assert len(statuses) >= 10
    assert any(b.method == "DELETE" for b in statuses)  # deleted statuses carry `text`, not `content`
    for n, body in enumerate(statuses):
        path = tmp_path / f"{body.cassette}-{n}.json"
        path.write_text(body.raw, encoding="utf-8")
        accounts, posts, merged = _all(_read(path))
        assert merged.quarantined == ()
        (post,) = posts
        check_post(post, body.value)
        (author,) = accounts
        check_account(author, body.value["account"])


def test_statuses_as_array_and_as_jsonl_give_the_same_records(bodies: list[Body], tmp_path: Path) -> None:
    statuses = _statuses(bodies)
    array = tmp_path / "timeline.json"
    array.write_text(json.dumps(statuses, indent=2, ensure_ascii=False), encoding="utf-8")
    jsonl = tmp_path / "timeline.jsonl"
    jsonl.write_text("".join(json.dumps(s) + "\n" for s in statuses), encoding="utf-8")
    from_array, from_lines = _all(_read(array)), _all(_read(jsonl))
    assert from_array[1] == from_lines[1]
    assert from_array[0] == from_lines[0]
    assert [p.id for p in from_array[1]] == [s["id"] for s in statuses]
    for post, s in zip(from_array[1], statuses, strict=True):
        check_post(post, s)


def test_hashtag_timeline_array(bodies: list[Body], tmp_path: Path) -> None:
    (timeline,) = [b for b in bodies if b.path.startswith("/api/v1/timelines/tag/")]
    assert isinstance(timeline.value, list)
    path = tmp_path / "tag.json"
    path.write_text(timeline.raw, encoding="utf-8")
    _, posts, merged = _all(_read(path))
    assert merged.quarantined == ()
    assert [p.id for p in posts] == [s["id"] for s in timeline.value]
    tag = timeline.path.rsplit("/", 1)[1]
    for post, s in zip(posts, timeline.value, strict=True):
        check_post(post, s)
        assert tag in post.hashtags
        assert post.text.startswith(f"#{tag}")  # the hashtag link's text survives, <span> and all


def test_media_attachment_status(bodies: list[Body]) -> None:
    with_media = [s for s in _statuses(bodies) if s["media_attachments"]]
    assert with_media, "the cassettes hold statuses with media attachments"
    for s in with_media:
        (post,) = _map_one(s)
        (media,) = post.media
        assert media.kind is MediaKind(s["media_attachments"][0]["type"])
        assert media.url.endswith(".jpg")
        assert media.preview_url == s["media_attachments"][0]["preview_url"]


def _map_one(status: JSON) -> list[Post]:
    _, posts, _ = mapping.status(msgspec.json.decode(json.dumps(status), type=StatusS))
    return posts


def test_follower_and_following_lists(bodies: list[Body], tmp_path: Path) -> None:
    """The recorded lists are empty arrays: valid API output that yields nothing, not an error; the same
    list with the recorded accounts in it yields those accounts."""
    lists = [b for b in bodies if b.path.endswith(("/followers", "/following"))]
    assert len(lists) == 2
    for n, body in enumerate(lists):
        path = tmp_path / f"list{n}.json"
        path.write_text(body.raw, encoding="utf-8")
        assert body.value == []
        assert _read(path) == []
    accounts = list({b.value["id"]: b.value for b in bodies if _is_account(b.value)}.values())
    assert len(accounts) >= 2
    filled = tmp_path / "followers.json"
    filled.write_text(json.dumps(accounts), encoding="utf-8")
    got, _, merged = _all(_read(filled))
    assert merged.quarantined == ()
    for account, a in zip(got, accounts, strict=True):
        check_account(account, a)


def test_bio_and_profile_fields_match_the_plain_source(bodies: list[Body], tmp_path: Path) -> None:
    """verify_credentials carries `source`: the note and fields as the user typed them, a second oracle."""
    with_source = [b.value for b in bodies if _is_account(b.value) and b.value.get("source", {}).get("note")]
    assert with_source
    for n, a in enumerate(with_source):
        path = tmp_path / f"me{n}.jsonl"
        path.write_text(json.dumps(a) + "\n", encoding="utf-8")
        (account,), _, _ = _all(_read(path))
        assert account.bio == a["source"]["note"]
        assert [(f.name, f.value) for f in account.fields] == [
            (f["name"], f["value"]) for f in a["source"]["fields"]
        ]
        assert len(account.fields) == 2


def test_admin_accounts(bodies: list[Body], tmp_path: Path) -> None:
    """Admin::Account arrays (v2 admin API): the wrapped public Account is read, nothing private."""
    arrays = [b for b in bodies if b.path.startswith("/api/v2/admin/accounts") and b.value]
    singles = [b for b in bodies if b.path.startswith("/api/v1/admin/accounts/") and "account" in b.value]
    assert arrays and singles
    for n, body in enumerate([*arrays, *singles]):
        path = tmp_path / f"admin{n}.json"
        path.write_text(body.raw, encoding="utf-8")
        admins = body.value if isinstance(body.value, list) else [body.value]
        accounts, _, merged = _all(_read(path))
        assert merged.quarantined == ()
        assert [a.id for a in accounts] == [x["id"] for x in admins]
        for account, admin in zip(accounts, admins, strict=True):
            check_account(account, admin["account"])
            assert admin["email"] not in repr(account)


def _derived_status(statuses: list[JSON], accounts: list[JSON]) -> tuple[JSON, JSON, JSON]:
    """A reply with a mention and a link card, and a reblog of it, built from recorded entities (the
    cassettes hold none): the shapes are Mastodon's, only the links between records are added."""
    original, other = (
        statuses[0],
        next(s for s in statuses if s["account"]["id"] != statuses[0]["account"]["id"]),
    )
    mentioned = next(a for a in accounts if a["id"] != other["account"]["id"])
    reply = json.loads(json.dumps(other))
    reply["id"] = "990000000000000001"
    reply["in_reply_to_id"] = original["id"]
    reply["in_reply_to_account_id"] = original["account"]["id"]
    reply["mentions"] = [
        {
            "id": mentioned["id"],
            "username": mentioned["username"],
            "acct": mentioned["acct"],
            "url": mentioned["url"],
        }
    ]
    reply["content"] = (
        f'<p><span class="h-card"><a href="{mentioned["url"]}" class="u-url mention">@<span>'
        f'{mentioned["username"]}</span></a></span> see <a href="https://example.org/page?a=1&amp;b=2" '
        'rel="nofollow noopener" target="_blank"><span class="invisible">https://</span>'
        '<span class="">example.org/page?a=1&amp;b=2</span><span class="invisible"></span></a></p>'
    )
    reply["card"] = {"url": "https://example.org/page?a=1&b=2", "title": "A page", "description": "about it"}
    reblog = json.loads(json.dumps(original))
    reblog["id"] = "990000000000000002"
    reblog["content"] = ""
    reblog["account"] = mentioned
    reblog["reblog"] = reply
    return original, reply, reblog


def test_reply_mention_card_and_reblog(bodies: list[Body], tmp_path: Path) -> None:
    statuses = _statuses(bodies)
    accounts = [b.value for b in bodies if _is_account(b.value)]
    _, reply, reblog = _derived_status(statuses, accounts)
    path = tmp_path / "derived.jsonl"
    path.write_text(json.dumps(reblog) + "\n", encoding="utf-8")
    _, posts, merged = _all(_read(path))
    by_id = {p.id: p for p in posts}
    assert set(by_id) == {reply["id"], reblog["id"]}
    check_post(by_id[reply["id"]], reply)
    check_post(by_id[reblog["id"]], reblog)
    assert by_id[reply["id"]].urls == ("https://example.org/page?a=1&b=2",)  # not the mention link
    # the invisible "https://" span is kept: the displayed URL comes out whole
    assert (
        by_id[reply["id"]].text == f"@{reply['mentions'][0]['username']} see https://example.org/page?a=1&b=2"
    )
    edges = {(e.kind, e.src_account_id, e.dst_account_id, e.post_id) for e in merged.edges}
    assert edges == {
        (EdgeKind.REBLOG, reblog["account"]["id"], reply["account"]["id"], reblog["id"]),
        (EdgeKind.REPLY, reply["account"]["id"], reply["in_reply_to_account_id"], reply["id"]),
        (EdgeKind.MENTION, reply["account"]["id"], reply["mentions"][0]["id"], reply["id"]),
    }


def test_recorded_export_directory(bodies: list[Body], tmp_path: Path) -> None:
    """The recorded entities laid out as a Mastodon export directory read in one pass."""
    statuses = list({s["id"]: s for s in _statuses(bodies)}.values())
    accounts = list({b.value["id"]: b.value for b in bodies if _is_account(b.value)}.values())
    export = tmp_path / "export"
    export.mkdir()
    (export / "statuses.jsonl").write_text("".join(json.dumps(s) + "\n" for s in statuses), encoding="utf-8")
    (export / "accounts.jsonl").write_text("".join(json.dumps(a) + "\n" for a in accounts), encoding="utf-8")
    (export / "follows.jsonl").write_text(
        json.dumps({"account_id": accounts[0]["id"], "target_account_id": accounts[1]["id"]}) + "\n",
        encoding="utf-8",
    )
    connector = MastodonConnector(progress=False)
    assert connector.sniff(export)
    got_accounts, posts, merged = _all(_read(export))
    assert merged.quarantined == ()
    assert [p.id for p in posts] == [s["id"] for s in statuses]
    assert {a.id for a in got_accounts} == {a["id"] for a in accounts} | {
        s["account"]["id"] for s in statuses
    }
    (follow,) = [e for e in merged.edges if e.kind is EdgeKind.FOLLOW]
    assert (follow.src_account_id, follow.dst_account_id) == (accounts[0]["id"], accounts[1]["id"])
