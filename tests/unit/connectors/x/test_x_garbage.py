"""Garbage in: `XConnector.read()` never raises on bad data; each bad line, page item or included user is
quarantined with file, line, field and reason, and the good records around it survive. Expected field paths
come from the mutation applied, not from the reader."""

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

from cordon.connectors.x import XConnector
from cordon.connectors.x.reader import file_kind
from cordon.errors import UnknownFormatError
from cordon.model import RecordBatch

JSON = dict[str, Any]


def good_user(n: int) -> JSON:
    return {
        "id": f"{50 + n % 3}",
        "username": f"user{n % 3}",
        "name": f"User {n % 3}",
        "created_at": "2020-01-01T00:00:00.000Z",
        "public_metrics": {"followers_count": 1, "following_count": 2, "tweet_count": 3, "listed_count": 0},
    }


def good_tweet(n: int) -> JSON:
    """A tweet as `twarc2 flatten` writes it: author merged in, media merged into attachments."""
    return {
        "id": f"{1000 + n}",
        "edit_history_tweet_ids": [f"{1000 + n}"],
        "text": f"post {n} #tagx{n} https://t.co/abc{n:07d}",
        "author_id": f"{50 + n % 3}",
        "author": good_user(n),
        "created_at": "2024-05-01T12:00:00.000Z",
        "entities": {
            "hashtags": [{"start": 7, "end": 13, "tag": f"tagx{n}"}],
            "urls": [{"url": f"https://t.co/abc{n:07d}", "expanded_url": f"https://xq-folder.example/{n}"}],
        },
        "attachments": {
            "media_keys": [f"3_{n}"],
            "media": [{"media_key": f"3_{n}", "type": "photo", "url": "u"}],
        },
        "referenced_tweets": [{"type": "quoted", "id": "77"}],
        "__twarc": {"url": "https://api.twitter.com/2/tweets/search/recent?query=tagx", "version": "2.14.0"},
    }


def _set(path: list[str | int], value: Any) -> Callable[[JSON], JSON]:
    def mutate(record: JSON) -> JSON:
        target: Any = record
        for key in path[:-1]:
            target = target[key]
        target[path[-1]] = value
        return record

    return mutate


def _drop(*paths: list[str | int]) -> Callable[[JSON], JSON]:
    def mutate(record: JSON) -> JSON:
        for path in paths:
            target: Any = record
            for key in path[:-1]:
                target = target[key]
            target.pop(path[-1], None)
        return record

    return mutate


# (mutation of a flattened tweet, field path it must be reported at)
MUTATIONS: list[tuple[Callable[[JSON], JSON], str]] = [
    (_set(["id"], 12), "$.id"),
    (_set(["created_at"], "yesterday"), "$.created_at"),
    (_set(["created_at"], "2024-05-01T12:00:00"), "$.created_at"),  # no time zone
    (_set(["text"], ["post"]), "$.text"),
    (_set(["entities", "hashtags"], "tagx"), "$.entities.hashtags"),
    (_set(["entities", "hashtags", 0, "tag"], 3), "$.entities.hashtags[0].tag"),
    (_set(["entities", "urls", 0, "expanded_url"], 7), "$.entities.urls[0].expanded_url"),
    (_set(["attachments", "media_keys"], "3_1"), "$.attachments.media_keys"),
    (_set(["author", "public_metrics", "followers_count"], 2**70), "$.author.public_metrics.followers_count"),
    (_set(["author", "created_at"], "2020-01-01"), "$.author.created_at"),
    (_set(["referenced_tweets", 0], {"type": "quoted"}), "$.referenced_tweets[0].id"),
    (_set(["possibly_sensitive"], "yes"), "$.possibly_sensitive"),
    (_drop(["created_at"]), "$.created_at"),
    (_drop(["author_id"], ["author"]), "$.author_id"),
]


# in a page, before twarc merges authors and media in; the id is kept (items are named by it), and a
# referenced tweet without id is twarc's to refuse (see test_page_items_twarc_cannot_flatten...)
PAGE_MUTATIONS = [
    (mutate, field)
    for mutate, field in MUTATIONS
    if field != "$.id" and not field.startswith(("$.author.", "$.attachments", "$.referenced_tweets"))
]


@dataclass(frozen=True)
class Bad:
    line: bytes
    field: str


@st.composite
def bad_lines(draw: st.DrawFn, n: int) -> Bad:
    kind = draw(st.sampled_from(["bytes", "truncated", "mutated", "not-object", "nested", "other-object"]))
    if kind == "bytes":
        raw = draw(st.binary(min_size=1, max_size=80)).replace(b"\n", b" ")
        if not raw.strip() or raw.strip().startswith((b"{", b"[")):
            raw = b"\xff" + raw
        return Bad(raw, "$")
    if kind == "truncated":
        text = json.dumps(good_tweet(n)).encode()
        return Bad(text[: draw(st.integers(1, len(text) - 1))], "$")
    if kind == "not-object":
        return Bad(json.dumps(draw(st.sampled_from([[], [1, 2], "tweet", 3, None, True]))).encode(), "$")
    if kind == "nested":
        return Bad(b"[" * 5000 + b"]" * 5000, "$")
    if kind == "other-object":
        return Bad(b'{"kind": "something else"}', "$")
    mutate, field = draw(st.sampled_from(MUTATIONS))
    return Bad(json.dumps(mutate(good_tweet(n))).encode(), field)


def _read(path: Path, batch_size: int = 3) -> RecordBatch:
    batches = list(XConnector(progress=False).read(path, batch_size=batch_size))
    return RecordBatch(
        source=str(path),
        accounts=tuple(a for b in batches for a in b.accounts),
        posts=tuple(p for b in batches for p in b.posts),
        edges=tuple(e for b in batches for e in b.edges),
        quarantined=tuple(q for b in batches for q in b.quarantined),
    )


@settings(max_examples=150, deadline=None)
@given(data=st.data(), layout=st.lists(st.booleans(), min_size=1, max_size=12))
def test_bad_lines_quarantined_good_lines_survive(data: st.DataObject, layout: list[bool]) -> None:
    """Flattened tweets, good and bad lines (True = bad) in any order, read in small batches. The first line
    is good, so that the file is recognised as X data."""
    layout[0] = False
    lines: list[bytes] = []
    expected_bad: dict[int, str] = {}
    expected_good: list[str] = []
    for n, is_bad in enumerate(layout):
        if is_bad:
            bad = data.draw(bad_lines(n))
            lines.append(bad.line)
            expected_bad[n + 1] = bad.field
        else:
            lines.append(json.dumps(good_tweet(n), ensure_ascii=data.draw(st.booleans())).encode())
            expected_good.append(f"{1000 + n}")
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "flat.jsonl"
        path.write_bytes(b"\n".join(lines) + b"\n")
        got = _read(path)
    assert [p.id for p in got.posts] == expected_good
    assert {q.line: q.field for q in got.quarantined} == expected_bad
    for q in got.quarantined:
        assert q.source == str(path)
        assert q.reason
        assert q.raw == lines[(q.line or 0) - 1].strip()[:4096].decode("utf-8", "replace")


@settings(max_examples=100, deadline=None)
@given(data=st.data(), layout=st.lists(st.booleans(), min_size=1, max_size=8))
def test_bad_items_of_a_page_are_quarantined_one_by_one(data: st.DataObject, layout: list[bool]) -> None:
    """A response page whose `data` holds good and bad tweets: each bad one is quarantined at `$.data[i]...`
    on the page's line, with its own id; the good ones are read."""
    items: list[Any] = []
    expected_bad: dict[str, str] = {}
    for n, is_bad in enumerate(layout):
        tweet = good_tweet(n)
        del tweet["author"], tweet["__twarc"]
        tweet["attachments"] = {"media_keys": tweet["attachments"]["media_keys"]}
        if is_bad:
            mutate, field = data.draw(st.sampled_from(PAGE_MUTATIONS))
            tweet = mutate(tweet)
            expected_bad[tweet["id"]] = f"$.data[{n}]{field[1:]}"
        items.append(tweet)
    page = {
        "data": items,
        "includes": {"users": [good_user(n) for n in range(3)], "media": []},
        "meta": {"result_count": len(items)},
    }
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "page.jsonl"
        path.write_text("\n" + json.dumps(page) + "\n")
        got = _read(path)
    assert sorted(p.id for p in got.posts) == sorted(t["id"] for t in items if t["id"] not in expected_bad)
    assert {q.record_id: q.field for q in got.quarantined} == expected_bad
    assert {q.line for q in got.quarantined} <= {2}
    assert {a.id for a in got.accounts} == {good_user(n)["id"] for n in range(3)}


def test_page_items_twarc_cannot_flatten_and_bad_included_users(tmp_path: Path) -> None:
    broken = good_tweet(1)
    broken["entities"]["mentions"] = [{"start": 0, "end": 3, "id": "9"}]  # no username: twarc's KeyError
    bad_user = good_user(4) | {"id": "60", "created_at": "2020-01-01"}
    page = {
        "data": [good_tweet(0), broken, "not a tweet", good_tweet(2)],
        "includes": {"users": [good_user(0), bad_user]},
        "__twarc": {"url": "https://api.twitter.com/2/tweets/search/recent?query=tagx"},
    }
    path = tmp_path / "page.jsonl"
    path.write_text(json.dumps(page) + "\n")
    got = _read(path)
    assert [p.id for p in got.posts] == ["1000", "1002"]
    where = {(q.line, q.field): q.record_id for q in got.quarantined}
    assert where == {
        (1, "$.data[1]"): "1001",
        (1, "$.data[2]"): None,
        (1, "$.includes.users[1].created_at"): "60",
    }
    (flatten_failure,) = [q for q in got.quarantined if q.field == "$.data[1]"]
    assert "twarc cannot flatten" in flatten_failure.reason
    assert json.loads(flatten_failure.raw)["id"] == "1001"


@pytest.mark.parametrize(
    ("page", "field"),
    [
        ({"data": "tweets", "includes": {}}, "$.data"),
        ({"data": [], "includes": []}, "$.includes"),
        ({"data": [], "includes": {"users": {"id": "1"}}}, "$.includes.users"),
        ({"data": [], "includes": {}, "__twarc": {"url": 5}}, "$.__twarc.url"),
    ],
)
def test_malformed_pages_name_their_field(tmp_path: Path, page: JSON, field: str) -> None:
    path = tmp_path / "pages.jsonl"
    path.write_text(json.dumps(good_tweet(0)) + "\n" + json.dumps(page) + "\n")
    got = _read(path)
    assert [(q.line, q.field) for q in got.quarantined] == [(2, field)]
    assert [p.id for p in got.posts] == ["1000"]


def test_users_without_name_or_id(tmp_path: Path) -> None:
    path = tmp_path / "users.jsonl"
    twarc = {"__twarc": {"url": "https://api.twitter.com/2/users/9/followers"}}
    path.write_text(
        "\n".join(
            json.dumps(u)
            for u in [
                good_user(0) | twarc,
                {"username": "noid", "name": "N"} | twarc,
                {"id": "5", "username": "x"},
            ]
        )
    )
    got = _read(path)
    assert [a.id for a in got.accounts] == ["50"]
    assert [(e.src_account_id, e.dst_account_id) for e in got.edges] == [("50", "9")]
    assert [(q.line, q.field) for q in got.quarantined] == [(2, "$.id"), (3, "$.name")]


@settings(max_examples=150, deadline=None)
@given(data=st.binary(max_size=400), as_array=st.booleans())
def test_random_bytes_never_raise_out_of_read(data: bytes, as_array: bool) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / ("x.json" if as_array else "x.jsonl")
        first = json.dumps(good_tweet(0)).encode()
        path.write_bytes(b"[" + first + b"," + data if as_array else first + b"\n" + data)
        got = _read(path)
    for q in got.quarantined:
        assert q.line is not None and q.line >= 1
        assert q.field is not None and q.field.startswith("$")
        assert q.reason


def test_bad_first_lines_do_not_hide_the_format(tmp_path: Path) -> None:
    path = tmp_path / "flat.jsonl"
    path.write_text("not json\n" + '{"id": 5}\n' + json.dumps(good_tweet(1)) + "\n")
    assert file_kind(path) == "tweet"
    got = _read(path)
    assert [p.id for p in got.posts] == ["1001"]
    assert [q.line for q in got.quarantined] == [1, 2]


def test_unknown_format_names_the_path_and_empty_files_read_nothing(tmp_path: Path) -> None:
    other = tmp_path / "other.jsonl"
    other.write_text('{"kind": "something else"}\n')
    with pytest.raises(UnknownFormatError, match=str(other)):
        _read(other)
    assert not XConnector(progress=False).sniff(other)
    assert not XConnector(progress=False).sniff(tmp_path / "missing.jsonl")
    wrong_suffix = tmp_path / "tweets.txt"
    wrong_suffix.write_text(json.dumps(good_tweet(0)) + "\n")
    assert not XConnector(progress=False).sniff(wrong_suffix)
    for name, body in [("a.json", "[ ]"), ("b.jsonl", ""), ("c.jsonl", "\n\n")]:
        (tmp_path / name).write_text(body)
        assert _read(tmp_path / name) == RecordBatch(source=str(tmp_path / name))
