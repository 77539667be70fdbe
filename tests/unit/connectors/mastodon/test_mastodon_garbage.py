"""Garbage in: `read()` never raises; each bad record is quarantined with file, line, field and reason; the
good records around it survive. Expected field paths come from the mutation applied, not from the reader."""

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

from cordon.connectors.mastodon import MastodonConnector
from cordon.connectors.mastodon.reader import record_kind
from cordon.errors import UnknownFormatError
from cordon.model import ModerationAction, RecordBatch


def good_status(n: int) -> dict[str, Any]:
    return {
        "id": f"{1000 + n}",
        "created_at": "2024-05-01T12:00:00.000Z",
        "content": f"<p>post {n} <a href='https://x.example/t/tagx{n}' class='mention hashtag'>#tagx{n}</a></p>",
        "account": {"id": f"{50 + n % 3}", "username": f"user{n % 3}", "acct": f"user{n % 3}"},
        "tags": [{"name": f"tagx{n}"}],
        "mentions": [],
        "media_attachments": [{"id": f"m{n}", "type": "image", "url": f"https://s.example/m/{n}.png"}],
    }


@dataclass(frozen=True)
class Bad:
    line: bytes
    field: str  # the field path the quarantine entry must name


def _set(path: list[str | int], value: Any) -> Callable[[dict[str, Any]], dict[str, Any]]:
    def mutate(record: dict[str, Any]) -> dict[str, Any]:
        target: Any = record
        for key in path[:-1]:
            target = target[key]
        target[path[-1]] = value
        return record

    return mutate


def _drop(path: list[str]) -> Callable[[dict[str, Any]], dict[str, Any]]:
    def mutate(record: dict[str, Any]) -> dict[str, Any]:
        target: Any = record
        for key in path[:-1]:
            target = target[key]
        del target[path[-1]]
        return record

    return mutate


# (mutation, field path it must be reported at)
MUTATIONS: list[tuple[Callable[[dict[str, Any]], dict[str, Any]], str]] = [
    (_set(["id"], 12), "$.id"),
    (_set(["created_at"], "yesterday"), "$.created_at"),
    (_set(["created_at"], None), "$.created_at"),
    (_set(["account"], "user1"), "$.account"),
    (_set(["account", "id"], 7), "$.account.id"),
    (_set(["tags", 0, "name"], 3), "$.tags[0].name"),
    (_set(["media_attachments"], "x.png"), "$.media_attachments"),
    (_set(["media_attachments", 0, "id"], None), "$.media_attachments[0].id"),
    (_set(["content"], ["<p>"]), "$.content"),
    (_set(["account", "followers_count"], 2**70), "$.account.followers_count"),
    (_set(["sensitive"], "yes"), "$.sensitive"),
    (_set(["reblog"], {"id": "9"}), "$.reblog.created_at"),
    (_drop(["id"]), "$.id"),
    (_drop(["created_at"]), "$.created_at"),
    (_drop(["account"]), "$.account"),
    (_drop(["account", "username"]), "$.account.username"),
]


@st.composite
def bad_lines(draw: st.DrawFn, n: int) -> Bad:
    kind = draw(st.sampled_from(["bytes", "truncated", "mutated", "not-object", "nested"]))
    if kind == "bytes":
        raw = draw(st.binary(min_size=1, max_size=80)).replace(b"\n", b" ")
        if not raw.strip() or raw.strip().startswith(b"{"):
            raw = b"\xff" + raw
        return Bad(raw, "$")
    if kind == "truncated":
        text = json.dumps(good_status(n)).encode()
        return Bad(text[: draw(st.integers(1, len(text) - 1))], "$")
    if kind == "not-object":
        value = draw(st.sampled_from([[], [1, 2], "status", 3, None, True]))
        return Bad(json.dumps(value).encode(), "$")
    if kind == "nested":
        return Bad(b"[" * 5000 + b"]" * 5000, "$")
    mutate, field = draw(st.sampled_from(MUTATIONS))
    return Bad(json.dumps(mutate(good_status(n))).encode(), field)


def _read(path: Path, batch_size: int = 3) -> RecordBatch:
    batches = list(MastodonConnector(progress=False).read(path, batch_size=batch_size))
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
def test_bad_lines_quarantined_good_lines_survive(data: st.DataObject, layout: list[bool]) -> None:
    """statuses.jsonl of good and bad lines (True = bad) in any order, read in small batches."""
    lines: list[bytes] = []
    expected_bad: dict[int, str] = {}
    expected_good: list[str] = []
    for n, is_bad in enumerate(layout):
        if is_bad:
            bad = data.draw(bad_lines(n))
            lines.append(bad.line)
            expected_bad[n + 1] = bad.field
        else:
            lines.append(json.dumps(good_status(n), ensure_ascii=data.draw(st.booleans())).encode())
            expected_good.append(f"{1000 + n}")
    with tempfile.TemporaryDirectory() as tmp:
        export = Path(tmp)
        (export / "statuses.jsonl").write_bytes(b"\n".join(lines) + b"\n")
        got = _read(export)
    assert [p.id for p in got.posts] == expected_good
    assert {q.line: q.field for q in got.quarantined} == expected_bad
    for q in got.quarantined:
        assert q.source == str(export / "statuses.jsonl")
        assert q.reason
        assert q.line is not None
        assert q.raw == lines[q.line - 1].strip()[:4096].decode("utf-8", "replace")


@settings(max_examples=150, deadline=None)
@given(data=st.binary(max_size=400), as_array=st.booleans())
def test_random_bytes_never_raise_out_of_read(data: bytes, as_array: bool) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        export = Path(tmp)
        (export / "statuses.jsonl").write_bytes((b"[" if as_array else b"") + data)
        got = _read(export)
    for q in got.quarantined:
        assert q.line is not None and q.line >= 1
        assert q.field is not None and q.field.startswith("$")
        assert q.reason


def test_array_with_bad_elements_and_truncated_end(tmp_path: Path) -> None:
    elements = [
        json.dumps(good_status(0)),
        json.dumps(_set(["id"], 12)(good_status(1))),
        '"a string"',
        json.dumps(good_status(2)),
    ]
    path = tmp_path / "timeline.json"
    path.write_text("[" + ",\n".join(elements) + ',\n{"id": "77", "content": "<p>cut')
    got = _read(path, batch_size=2)
    assert [p.id for p in got.posts] == ["1000", "1002"]
    assert [(q.line, q.field) for q in got.quarantined] == [(2, "$.id"), (3, "$"), (5, "$")]
    assert "not closed" in got.quarantined[-1].reason


def test_bad_first_lines_do_not_hide_the_format(tmp_path: Path) -> None:
    path = tmp_path / "statuses.json"
    path.write_text("not json\n" + '{"id": 5}\n' + json.dumps(good_status(1)) + "\n")
    assert record_kind(path) == "status"
    got = _read(path)
    assert [p.id for p in got.posts] == ["1001"]
    assert [q.line for q in got.quarantined] == [1, 2]


def test_unknown_format_names_the_path(tmp_path: Path) -> None:
    path = tmp_path / "other.json"
    path.write_text('{"kind": "something else"}\n')
    with pytest.raises(UnknownFormatError, match=str(path)):
        _read(path)
    assert not MastodonConnector(progress=False).sniff(path)


def test_empty_array_and_empty_file_read_nothing(tmp_path: Path) -> None:
    for name, body in [("a.json", "[ ]"), ("b.jsonl", ""), ("c.jsonl", "\n\n")]:
        (tmp_path / name).write_text(body)
        assert _read(tmp_path / name) == RecordBatch(source=str(tmp_path / name))


def test_moderation_and_follow_errors_name_their_field(tmp_path: Path) -> None:
    (tmp_path / "moderation.jsonl").write_text(
        "\n".join(
            [
                '{"account_id": "1", "action": "suspend", "created_at": "2024-01-01T00:00:00Z"}',
                '{"account_id": "2", "action": "banish", "created_at": "2024-01-01T00:00:00Z"}',
                '{"account_id": "3", "action": "silence", "created_at": "2024-01-01T00:00:00"}',
                '{"account_id": "4", "action": "SILENCE", "created_at": "2024-01-01T00:00:00+02:00"}',
            ]
        )
    )
    (tmp_path / "follows.jsonl").write_text('{"account_id": "1", "target_account_id": 2}\n')
    got = _read(tmp_path)
    assert [(m.account_id, m.action) for m in got.moderation] == [
        ("1", ModerationAction.SUSPEND),
        ("4", ModerationAction.SILENCE),
    ]
    where = {(q.source.rsplit("/", 1)[1], q.line): (q.record_id, q.field) for q in got.quarantined}
    assert where == {
        ("follows.jsonl", 1): (None, "$.target_account_id"),
        ("moderation.jsonl", 2): ("2", "$.action"),
        ("moderation.jsonl", 3): ("3", "$.created_at"),
    }
