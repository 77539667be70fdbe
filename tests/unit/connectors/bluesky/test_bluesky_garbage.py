"""Garbage in: `JetstreamConnector.read()` never raises on bad events; each is quarantined with file, line,
field, reason and (when it can be read) its AT URI, and the good events around it survive. Expected field
paths come from the mutation applied, not from the reader."""

from __future__ import annotations

import json
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from cordon.connectors.bluesky import JetstreamConnector
from cordon.connectors.bluesky.reader import is_jetstream_file
from cordon.errors import UnknownFormatError
from cordon.model import RecordBatch

JSON = dict[str, Any]
DID = "did:plc:aaaaaaaaaaaaaaaaaaaaaaaa"


def good_post(n: int) -> JSON:
    text = f"post {n} #tagx{n}"
    start = text.index("#")
    return {
        "did": DID,
        "time_us": 1_700_000_000_000_000 + n,
        "kind": "commit",
        "commit": {
            "rev": f"rev{n}",
            "operation": "create",
            "collection": "app.bsky.feed.post",
            "rkey": f"rk{n:011d}",
            "record": {
                "$type": "app.bsky.feed.post",
                "text": text,
                "createdAt": "2024-05-01T12:00:00.000Z",
                "langs": ["en"],
                "facets": [
                    {
                        "index": {"byteStart": start, "byteEnd": len(text.encode())},
                        "features": [{"$type": "app.bsky.richtext.facet#tag", "tag": f"tagx{n}"}],
                    }
                ],
                "reply": {
                    "parent": {"uri": f"at://{DID}/app.bsky.feed.post/parent", "cid": "bafyreip"},
                    "root": {"uri": f"at://{DID}/app.bsky.feed.post/parent", "cid": "bafyreip"},
                },
                "embed": {
                    "$type": "app.bsky.embed.images",
                    "images": [{"alt": "", "image": {"$type": "blob", "ref": {"$link": f"bafkrei{n}"}}}],
                },
            },
            "cid": f"bafyrei{n}",
        },
    }


def uri(n: int) -> str:
    return f"at://{DID}/app.bsky.feed.post/rk{n:011d}"


def _set(path: list[str | int], value: Any) -> Callable[[JSON], JSON]:
    def mutate(record: JSON) -> JSON:
        target: Any = record
        for key in path[:-1]:
            target = target[key]
        target[path[-1]] = value
        return record

    return mutate


def _drop(path: list[str | int]) -> Callable[[JSON], JSON]:
    def mutate(record: JSON) -> JSON:
        target: Any = record
        for key in path[:-1]:
            target = target[key]
        del target[path[-1]]
        return record

    return mutate


R = ["commit", "record"]
# (mutation, field path, whether the quarantine entry can still name the post's AT URI)
MUTATIONS: list[tuple[Callable[[JSON], JSON], str, bool]] = [
    (_set(["did"], 5), "$.did", False),
    (_set(["did"], "someone.example"), "$.did", False),
    (_set(["time_us"], "now"), "$.time_us", True),
    (_drop(["kind"]), "$.kind", True),
    (_drop(["commit", "operation"]), "$.commit.operation", True),
    (_set(["commit", "rkey"], 9), "$.commit.rkey", False),
    (_drop(["commit", "record"]), "$.commit.record", True),
    (_drop(["commit"]), "$.commit", False),
    (_set([*R, "createdAt"], "yesterday"), "$.commit.record.createdAt", True),
    (_set([*R, "createdAt"], "2024-05-01T12:00:00"), "$.commit.record.createdAt", True),  # no zone
    (_drop([*R, "createdAt"]), "$.commit.record.createdAt", True),
    (_set([*R, "text"], 5), "$.commit.record.text", True),
    (_set([*R, "langs"], "en"), "$.commit.record.langs", True),
    (_set([*R, "facets", 0, "index", "byteStart"], "a"), "$.commit.record.facets[0].index.byteStart", True),
    (_drop([*R, "facets", 0, "index"]), "$.commit.record.facets[0].index", True),
    (_set([*R, "reply", "parent", "uri"], "https://bsky.app/x"), "$.commit.record.reply.parent.uri", True),
    (_drop([*R, "reply", "parent"]), "$.commit.record.reply.parent", True),
    (_set([*R, "embed", "images", 0, "image"], "x.jpg"), "$.commit.record.embed.images[0].image", True),
    (
        _set([*R, "embed", "images", 0, "image", "ref"], {"cid": 1}),
        "$.commit.record.embed.images[0].image.ref.$link",
        True,
    ),
]


@dataclass(frozen=True)
class Bad:
    line: bytes
    field: str
    record_id: str | None


@st.composite
def bad_lines(draw: st.DrawFn, n: int) -> Bad:
    kind = draw(st.sampled_from(["bytes", "truncated", "mutated", "not-object", "nested"]))
    if kind == "bytes":
        raw = draw(st.binary(min_size=1, max_size=80)).replace(b"\n", b" ")
        if not raw.strip() or raw.strip().startswith((b"{", b"[")):
            raw = b"\xff" + raw
        return Bad(raw, "$", None)
    if kind == "truncated":
        text = json.dumps(good_post(n)).encode()
        return Bad(text[: draw(st.integers(1, len(text) - 1))], "$", None)
    if kind == "not-object":
        return Bad(
            json.dumps(draw(st.sampled_from([[], [1, 2], "event", 3, None, True]))).encode(), "$", None
        )
    if kind == "nested":
        return Bad(b"[" * 5000 + b"]" * 5000, "$", None)
    mutate, field, named = draw(st.sampled_from(MUTATIONS))
    return Bad(json.dumps(mutate(good_post(n))).encode(), field, uri(n) if named else None)


def _read(path: Path, batch_size: int = 3) -> RecordBatch:
    batches = list(JetstreamConnector(progress=False).read(path, batch_size=batch_size))
    return RecordBatch(
        source=str(path),
        accounts=tuple(a for b in batches for a in b.accounts),
        posts=tuple(p for b in batches for p in b.posts),
        edges=tuple(e for b in batches for e in b.edges),
        moderation=tuple(m for b in batches for m in b.moderation),
        quarantined=tuple(q for b in batches for q in b.quarantined),
    )


@settings(max_examples=150, deadline=None)
@given(data=st.data(), layout=st.lists(st.booleans(), min_size=1, max_size=12))
def test_bad_events_quarantined_good_events_survive(data: st.DataObject, layout: list[bool]) -> None:
    layout[0] = False  # a first good event, so that the file is recognised
    lines: list[bytes] = []
    expected_bad: dict[int, tuple[str, str | None]] = {}
    expected_good: list[str] = []
    for n, is_bad in enumerate(layout):
        if is_bad:
            bad = data.draw(bad_lines(n))
            lines.append(bad.line)
            expected_bad[n + 1] = (bad.field, bad.record_id)
        else:
            lines.append(json.dumps(good_post(n), ensure_ascii=data.draw(st.booleans())).encode())
            expected_good.append(uri(n))
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "jetstream.jsonl"
        path.write_bytes(b"\n".join(lines) + b"\n")
        got = _read(path)
    assert [p.id for p in got.posts] == expected_good
    got_bad = {q.line: (q.field, q.record_id) for q in got.quarantined}
    assert {line: field for line, (field, _) in got_bad.items()} == {
        k: f for k, (f, _) in expected_bad.items()
    }
    for line, (_, record_id) in expected_bad.items():
        if record_id is not None:
            assert got_bad[line][1] == record_id
    for q in got.quarantined:
        assert q.source == str(path)
        assert q.reason
        assert q.raw == lines[(q.line or 0) - 1].strip()[:4096].decode("utf-8", "replace")


@pytest.mark.parametrize(
    ("collection", "record", "field"),
    [
        ("app.bsky.feed.like", {"subject": {"uri": "not-a-uri", "cid": "c"}}, "$.commit.record.subject.uri"),
        ("app.bsky.feed.like", {"subject": "did:plc:x"}, "$.commit.record.subject"),
        ("app.bsky.feed.repost", {"subject": {"cid": "c"}}, "$.commit.record.subject.uri"),
        ("app.bsky.graph.follow", {"subject": "someone.example"}, "$.commit.record.subject"),
        ("app.bsky.graph.follow", {"subject": 7}, "$.commit.record.subject"),
        ("app.bsky.actor.profile", {"avatar": "a.jpg"}, "$.commit.record.avatar"),
        ("app.bsky.actor.profile", {"displayName": ["x"]}, "$.commit.record.displayName"),
    ],
)
def test_other_collections_name_their_field(
    tmp_path: Path, collection: str, record: JSON, field: str
) -> None:
    event = good_post(1)
    event["commit"]["collection"] = collection
    event["commit"]["record"] = {"$type": collection, "createdAt": "2024-05-01T12:00:00Z"} | record
    path = tmp_path / "events.jsonl"
    path.write_text(json.dumps(good_post(0)) + "\n" + json.dumps(event) + "\n")
    got = _read(path)
    assert [p.id for p in got.posts] == [uri(0)]
    (q,) = got.quarantined
    assert (q.line, q.field, q.record_id) == (2, field, f"at://{DID}/{collection}/rk{1:011d}")


def test_account_events(tmp_path: Path) -> None:
    events = [
        {
            "did": DID,
            "time_us": 1_700_000_000_000_000,
            "kind": "account",
            "account": {"active": False, "status": "deleted"},
        },
        {
            "did": DID,
            "time_us": 2**62,
            "kind": "account",
            "account": {"active": False, "status": "suspended"},
        },
        {"did": DID, "time_us": 1, "kind": "account"},
        {
            "did": DID,
            "time_us": 1,
            "kind": "account",
            "account": {"active": False, "status": "desynchronized"},
        },
        {"did": DID, "time_us": 1, "kind": "account", "account": {"active": "no"}},
    ]
    path = tmp_path / "events.jsonl"
    path.write_text("\n".join(json.dumps(e) for e in events))
    connector = JetstreamConnector(progress=False)
    batches = list(connector.read(path))
    moderation = [m for b in batches for m in b.moderation]
    assert [(m.action.value, m.created_at.year) for m in moderation] == [("delete", 2023)]
    assert [(q.line, q.field) for b in batches for q in b.quarantined] == [
        (2, "$.time_us"),
        (3, "$.account"),
        (5, "$.account.active"),
    ]
    assert connector.skipped == {"account:desynchronized": 1}


@settings(max_examples=150, deadline=None)
@given(data=st.binary(max_size=400))
def test_random_bytes_never_raise_out_of_read(data: bytes) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "events.jsonl"
        path.write_bytes(json.dumps(good_post(0)).encode() + b"\n" + data)
        got = _read(path)
    assert got.posts[0].id == uri(0)
    for q in got.quarantined:
        assert q.line is not None and q.line >= 2
        assert q.field is not None and q.field.startswith("$")
        assert q.reason


def test_bad_first_lines_do_not_hide_the_format(tmp_path: Path) -> None:
    path = tmp_path / "events.jsonl"
    path.write_text("not json\n" + '{"did": 5}\n' + json.dumps(good_post(1)) + "\n")
    assert is_jetstream_file(path)
    got = _read(path)
    assert [p.id for p in got.posts] == [uri(1)]
    assert [q.line for q in got.quarantined] == [1, 2]


def test_unknown_format_names_the_path_and_empty_files_read_nothing(tmp_path: Path) -> None:
    other = tmp_path / "other.jsonl"
    other.write_text('{"kind": "commit"}\n')
    with pytest.raises(UnknownFormatError, match=str(other)):
        _read(other)
    connector = JetstreamConnector(progress=False)
    assert not connector.sniff(other)
    as_array = tmp_path / "events.json"
    as_array.write_text(json.dumps([good_post(0)]))
    assert not connector.sniff(as_array)  # Jetstream is JSON Lines only
    for name, body in [("b.jsonl", ""), ("c.jsonl", "\n\n")]:
        (tmp_path / name).write_text(body)
        assert _read(tmp_path / name) == RecordBatch(source=str(tmp_path / name))
