"""lines.py: JSON Lines and top-level JSON arrays split into records, whatever the read chunk size.

The array scanner reads the file in chunks and must give the same elements whether a chunk ends inside a
string, an escape, a number or between elements; the oracle is the stdlib `json` module.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import msgspec
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cordon.connectors import lines

# JSON values with the characters that trouble a token scanner: brackets, quotes, backslashes, commas in
# strings, unicode (multi-byte UTF-8 that a chunk can cut), and numbers in every form
_text = st.text(
    alphabet=st.sampled_from(list('ab []{},:"\\/\n\té€😀𝄞\u2028'))
    | st.characters(exclude_categories=("Cs",)),
    max_size=12,
)
_scalar = (
    st.none()
    | st.booleans()
    | st.integers(-(10**12), 10**12)
    | st.floats(allow_nan=False, allow_infinity=False, width=64)
    | _text
)
_value = st.recursive(
    _scalar,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(_text, inner, max_size=4),
    max_leaves=12,
)
_element = st.dictionaries(_text, _value, max_size=4) | st.lists(_value, max_size=3) | _scalar


@contextmanager
def chunk_size(n: int) -> Iterator[None]:
    saved = lines._CHUNK
    lines._CHUNK = n
    try:
        yield
    finally:
        lines._CHUNK = saved


def _dump(value: Any, indent: int | None, ascii_only: bool) -> str:
    return json.dumps(value, indent=indent, ensure_ascii=ascii_only)


def _array_file(tmp: Path, elements: list[Any], indent: int | None, ascii_only: bool) -> Path:
    path = tmp / "array.json"
    path.write_text(_dump(elements, indent, ascii_only), encoding="utf-8")
    return path


def _decoded(records: list[lines.RawRecord]) -> list[Any]:
    return [json.loads(r.data) for r in records]


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    elements=st.lists(_element, max_size=6),
    indent=st.sampled_from([None, 0, 1, 2]),
    ascii_only=st.booleans(),
)
def test_array_elements_at_every_chunk_boundary(
    tmp_path: Path, elements: list[Any], indent: int | None, ascii_only: bool
) -> None:
    path = _array_file(tmp_path, elements, indent, ascii_only)
    size = path.stat().st_size
    expected = json.loads(path.read_bytes())  # floats compare as the stdlib reads them back
    sizes = range(1, size + 2) if size < 120 else [*range(1, 40), *range(40, size + 2, 7)]
    for n in sizes:
        with chunk_size(n):
            records = list(lines.iter_records(path))
        assert _decoded(records) == expected, f"chunk size {n}"
        assert [r.line for r in records] == list(range(1, len(expected) + 1))
        for r in records:  # end_offset is just past the element's last byte in the file
            assert path.read_bytes()[: r.end_offset].endswith(r.data)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(elements=st.lists(_element, min_size=1, max_size=6), chunk=st.integers(1, 64))
def test_array_resume_from_every_cursor(tmp_path: Path, elements: list[Any], chunk: int) -> None:
    """Starting at any record's end_offset yields exactly the records after it, numbered on."""
    path = _array_file(tmp_path, elements, 1, False)
    with chunk_size(chunk):
        full = list(lines.iter_records(path))
        for k, r in enumerate(full):
            rest = list(lines.iter_records(path, r.end_offset, r.line))
            assert rest == full[k + 1 :]


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(elements=st.lists(_element, min_size=1, max_size=5), data=st.data())
def test_truncated_array_yields_whole_elements_then_signals(
    tmp_path: Path, elements: list[Any], data: st.DataObject
) -> None:
    whole = _array_file(tmp_path, elements, None, False)
    body = whole.read_bytes()
    full = list(lines.iter_records(whole))
    cut = data.draw(st.integers(1, len(body) - 1), label="cut")
    path = tmp_path / "cut.json"
    path.write_bytes(body[:cut])
    got: list[lines.RawRecord] = []
    with chunk_size(data.draw(st.integers(1, 32), label="chunk")), pytest.raises(lines.BadArrayEnd):
        got.extend(lines.iter_records(path))
    assert got == full[: len(got)]  # a prefix of the real elements, never a fragment
    # every element with at least one byte after it inside the cut file was yielded
    assert len(got) >= sum(1 for r in full if r.end_offset < cut)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(rows=st.lists(st.dictionaries(_text, _value, max_size=3), max_size=8), blank=st.booleans())
def test_json_lines_offsets_and_resume(tmp_path: Path, rows: list[dict[str, Any]], blank: bool) -> None:
    text = "".join(json.dumps(r, ensure_ascii=False) + ("\n\n" if blank else "\n") for r in rows)
    path = tmp_path / "rows.jsonl"
    path.write_text(text, encoding="utf-8")
    records = list(lines.iter_records(path))
    assert _decoded(records) == rows
    step = 2 if blank else 1
    assert [r.line for r in records] == [1 + step * i for i in range(len(rows))]
    raw = path.read_bytes()
    for k, r in enumerate(records):
        assert raw[: r.end_offset].rstrip(b"\n").endswith(r.data)
        assert list(lines.iter_records(path, r.end_offset, r.line)) == records[k + 1 :]


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(garbage=st.binary(max_size=300), bracket=st.booleans(), chunk=st.integers(1, 50))
def test_garbage_never_raises_anything_but_truncation(
    tmp_path: Path, garbage: bytes, bracket: bool, chunk: int
) -> None:
    path = tmp_path / "garbage.bin"
    path.write_bytes((b"[" if bracket else b"") + garbage)
    with chunk_size(chunk):
        try:
            records = list(lines.iter_records(path))
        except lines.BadArrayEnd as t:
            assert t.offset <= path.stat().st_size
            return
    for r in records:
        assert r.data  # never an empty record
        assert r.end_offset <= path.stat().st_size


def test_array_with_scalars_and_nested_arrays_keeps_element_numbers(tmp_path: Path) -> None:
    path = tmp_path / "mixed.json"
    path.write_text('[{"a": "]}"}, 12, "x\\"]", [1, [2]], null, {"b": {}}]')
    records = list(lines.iter_records(path))
    assert [r.data for r in records] == [
        b'{"a": "]}"}',
        b"12",
        b'"x\\"]"',
        b"[1, [2]]",
        b"null",
        b'{"b": {}}',
    ]
    assert [r.line for r in records] == [1, 2, 3, 4, 5, 6]


def test_first_byte_skips_whitespace(tmp_path: Path) -> None:
    path = tmp_path / "f.json"
    path.write_bytes(b" \n\t [1]")
    assert lines.first_byte(path) == b"["
    (tmp_path / "empty").write_bytes(b"  \n")
    assert lines.first_byte(tmp_path / "empty") == b""


class _Inner(msgspec.Struct):
    id: str


class _Outer(msgspec.Struct):
    id: str
    inner: _Inner


def test_quarantine_names_field_path_from_msgspec() -> None:
    decoder = msgspec.json.Decoder(_Outer)
    cases = {
        b'{"id": "7", "inner": {"id": 5}}': "$.inner.id",
        b'{"id": "7", "inner": {}}': "$.inner.id",
        b'{"inner": {"id": "1"}}': "$.id",
        b'{"id": "7", "inner": ': "$",
    }
    for data, field in cases.items():
        with pytest.raises((msgspec.ValidationError, msgspec.DecodeError)) as info:
            decoder.decode(data)
        q = lines.quarantine_for("f.jsonl", lines.RawRecord(data, 4, 99), info.value)
        assert (q.source, q.line, q.field) == ("f.jsonl", 4, field)
        assert q.raw == data.decode()
    assert lines.loose_id(b'{"id": 12}') == "12"
    assert lines.loose_id(b"[" * 100_000) is None  # too deep to decode: no id, no crash


def test_content_after_the_array_is_signalled_not_dropped(tmp_path: Path) -> None:
    path = tmp_path / "a.json"
    path.write_bytes(b'[{"a": 1}, {"b": 2}]\n  {"c": 3}\n')
    got: list[lines.RawRecord] = []
    with pytest.raises(lines.BadArrayEnd) as info:
        got.extend(lines.iter_records(path))
    assert [r.data for r in got] == [b'{"a": 1}', b'{"b": 2}']
    assert info.value.element == 3
    where = path.read_bytes().index(b'{"c"')
    assert f"byte {where}" in info.value.reason
    # resuming at the reported offset (the end) reads nothing more and reports nothing again
    assert list(lines.iter_records(path, info.value.offset, 3)) == []
    path.write_bytes(b'[{"a": 1}]\n \n\t')
    assert len(list(lines.iter_records(path))) == 1  # white space after the array is fine


def test_jsonl_file_is_read_as_lines_even_when_a_line_is_an_array(tmp_path: Path) -> None:
    path = tmp_path / "statuses.jsonl"
    path.write_bytes(b'[1, 2]\n{"id": "1"}\n')
    assert [r.data for r in lines.iter_records(path)] == [b"[1, 2]", b'{"id": "1"}']
    same = tmp_path / "statuses.json"
    same.write_bytes(path.read_bytes())
    assert lines.is_array_file(same) and not lines.is_array_file(path)


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    rows=st.lists(st.text(alphabet='ab{}"é', max_size=30), max_size=12),
    blank=st.booleans(),
    final_newline=st.booleans(),
    chunk=st.integers(1, 80),
    data=st.data(),
)
def test_line_ranges_read_the_same_records_as_one_pass(
    tmp_path: Path, rows: list[str], blank: bool, final_newline: bool, chunk: int, data: st.DataObject
) -> None:
    """Ranges follow one another from `start` to the end, each ends just past a newline (or at the end of
    the file), and reading them one by one (lines counted per range, then shifted by the newlines of the
    ranges before) gives the records and line numbers of one pass."""
    body = ("\n\n" if blank else "\n").join(json.dumps(r, ensure_ascii=False) for r in rows)
    path = tmp_path / "rows.jsonl"
    path.write_bytes((body + ("\n" if final_newline else "")).encode())
    raw = path.read_bytes()
    full = list(lines.iter_records(path))
    begin = data.draw(st.sampled_from([0, *(r.end_offset for r in full)]), label="start")
    base = raw[:begin].count(b"\n")
    ranges = lines.line_ranges(path, begin, chunk)
    assert [s for s, _ in ranges] == ([begin, *(e for _, e in ranges[:-1])] if begin < len(raw) else [])
    assert not ranges or ranges[-1][1] == len(raw)
    assert all(raw[e - 1 : e] == b"\n" for _, e in ranges[:-1])
    assert all(e > s for s, e in ranges)
    got: list[lines.RawRecord] = []
    for s, e in ranges:
        got += [r._replace(line=r.line + base) for r in lines.iter_records(path, s, 0, e)]
        base += lines.count_lines(path, s, e)
    assert got == [r for r in full if r.end_offset > begin]


def test_a_json_array_is_not_read_in_ranges(tmp_path: Path) -> None:
    path = tmp_path / "a.json"
    path.write_text('[{"id": 1}]')
    with pytest.raises(ValueError, match="JSON array"):
        list(lines.iter_records(path, 0, 0, stop=5))
