"""Streaming JSON input for every connector: lines with byte offsets, top-level array elements, progress.

Nothing here holds a whole file in memory. A connector walks `iter_records(path, start_offset)` and gets each
record's raw bytes, its line number (or element number for arrays) and the byte offset just past it, which is
what a `Cursor` stores for resuming.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO, NamedTuple

import msgspec
from rich.progress import (
    BarColumn,
    DownloadColumn,
    Progress,
    TextColumn,
    TimeRemainingColumn,
    TransferSpeedColumn,
)

from cordon.connectors.batching import BatchBuilder, ColumnSink
from cordon.errors import RecordError
from cordon.model import Cursor, Quarantined, RecordBatch

RAW_LIMIT = 4096
_CHUNK = 1 << 20
_TOKEN = re.compile(rb'"(?:[^"\\]|\\.)*"|"|[\[\]{}]|[-+.0-9A-Za-z]+', re.DOTALL)
_FIELD_AT = re.compile(r"- at `([^`]+)`")
_MISSING = re.compile(r"missing required field `([^`]+)`")


class RawRecord(NamedTuple):
    """One JSON record as bytes with where it came from (a NamedTuple: one is made per line read)."""

    data: bytes
    line: int  # 1-based line number (JSON Lines) or element number (arrays)
    end_offset: int  # byte offset just past this record


def first_byte(path: Path) -> bytes:
    """The first non-space byte of a file (b"" when empty)."""
    with path.open("rb") as f:
        while chunk := f.read(4096):
            stripped = chunk.lstrip()
            if stripped:
                return stripped[:1]
    return b""


# files with these suffixes are JSON Lines whatever their first byte: a first line that happens to be a JSON
# array (a bad record) must not turn the whole file into one array
JSONL_SUFFIXES = frozenset({".jsonl", ".ndjson", ".jsonlines"})


def is_array_file(path: Path) -> bool:
    """True when `path` holds one top-level JSON array rather than JSON Lines."""
    return path.suffix.lower() not in JSONL_SUFFIXES and first_byte(path) == b"["


def iter_records(
    path: Path, start_offset: int = 0, start_line: int = 0, stop: int | None = None
) -> Iterator[RawRecord]:
    """Records of a JSON Lines file, or the elements of a top-level JSON array, from `start_offset` (of a
    JSON Lines file: up to the line boundary `stop`, when given; see `line_ranges`).

    Raises `BadArrayEnd` after the last whole element when an array is not closed, or has content after
    its closing bracket.
    """
    if is_array_file(path):
        if stop is not None:
            raise ValueError(f"{path}: a JSON array is read whole, not by byte ranges")
        return _iter_array(path, start_offset, start_line)
    return _iter_lines(path, start_offset, start_line, stop)


def _iter_lines(
    path: Path, start_offset: int, start_line: int, stop: int | None = None
) -> Iterator[RawRecord]:
    with path.open("rb") as f:
        f.seek(start_offset)
        offset, line = start_offset, start_line
        for raw in f:
            offset += len(raw)
            line += 1
            data = raw.strip()
            if data:
                yield RawRecord(data, line, offset)
            if stop is not None and offset >= stop:
                return


def line_ranges(path: Path, start: int, chunk_bytes: int) -> list[tuple[int, int]]:
    """`path` from byte `start` to its end as [start, stop) ranges of about `chunk_bytes`, each ending just
    past a newline (or at the end of the file), so that each holds whole lines and they follow one another.
    Reads only one line at each cut."""
    size = path.stat().st_size
    ranges: list[tuple[int, int]] = []
    with path.open("rb") as f:
        while start < size:
            cut = start + max(chunk_bytes, 1)
            if cut >= size:
                stop = size
            else:
                f.seek(cut - 1)
                stop = cut - 1 + len(f.readline())  # past the newline of the line that holds byte cut - 1
            ranges.append((start, stop))
            start = stop
    return ranges


def count_lines(path: Path, start: int, stop: int) -> int:
    """How many newlines `path` has in [start, stop): the lines of a range of `line_ranges` but the last."""
    n = 0
    with path.open("rb") as f:
        f.seek(start)
        left = stop - start
        while left > 0 and (chunk := f.read(min(_CHUNK, left))):
            n += chunk.count(b"\n")
            left -= len(chunk)
    return n


def _iter_array(path: Path, start_offset: int, start_line: int) -> Iterator[RawRecord]:
    """Split a top-level JSON array into its elements by a regex scan over tokens, chunk by chunk.

    Strings are matched whole, so brackets inside them never count; a string cut by the chunk's end
    (a lone quote) stops the scan until more bytes are read.
    """
    if start_offset and start_offset >= path.stat().st_size:
        return  # resumed at the end: everything, a bad end included, was read and reported before
    with path.open("rb") as f:
        f.seek(start_offset)
        base = start_offset  # file offset of buf[0]
        buf = b""
        depth = 1 if start_offset else 0  # resuming lands inside the array, between elements
        elem_start: int | None = None
        element = start_line
        scan = 0
        while chunk := f.read(_CHUNK):
            buf += chunk
            for m in _TOKEN.finditer(buf, scan):
                tok = m.group()
                if tok == b'"' or (m.end() == len(buf) and tok[:1] not in b'"{}[]'):
                    # an unterminated string, or a scalar that may go on in the next chunk: read more
                    scan = m.start()
                    break
                i = m.start()
                if tok[:1] not in (b"{", b"[", b"}", b"]"):  # a string or a bare scalar
                    scan = m.end()
                    if depth == 1 and elem_start is None:  # a scalar element: yielded so it is quarantined
                        element += 1
                        yield RawRecord(tok, element, base + m.end())
                    continue
                scan = i + 1
                if tok in (b"{", b"["):
                    if depth == 1 and elem_start is None:
                        elem_start = i
                    depth += 1
                    continue
                depth -= 1
                if depth == 0:  # the array's closing bracket: only white space may follow
                    trailing = _first_content(buf, i + 1, f)
                    if trailing is not None:
                        raise BadArrayEnd(
                            element + 1,
                            path.stat().st_size,
                            f"content after the end of the JSON array (byte {base + trailing}) is not read",
                        )
                    return
                if depth == 1 and elem_start is not None:
                    element += 1
                    yield RawRecord(buf[elem_start : i + 1], element, base + i + 1)
                    elem_start = None
            else:
                scan = len(buf)
            cut = elem_start if elem_start is not None else scan
            base += cut
            buf = buf[cut:]
            scan -= cut
            if elem_start is not None:
                elem_start = 0
        if depth > 0:
            raise BadArrayEnd(element + 1, base + len(buf), "the JSON array is not closed")


def _first_content(buf: bytes, start: int, f: IO[bytes]) -> int | None:
    """Position (relative to buf[0]) of the first non-space byte at or after `start`, reading on in `f`."""
    pos = len(buf[start:]) - len(buf[start:].lstrip())
    if start + pos < len(buf):
        return start + pos
    offset = len(buf)
    while chunk := f.read(_CHUNK):
        stripped = chunk.lstrip()
        if stripped:
            return offset + len(chunk) - len(stripped)
        offset += len(chunk)
    return None


def has_records(path: Path) -> bool:
    """False for an empty file, a file of blank lines or an empty JSON array (an account with no followers)."""
    try:
        next(iter_records(path))
    except StopIteration:
        return False
    except BadArrayEnd:
        return True
    return True


class BadArrayEnd(Exception):  # noqa: N818 - a signal to the connector, which quarantines it
    """A top-level array that is not closed, or that has content after it: every whole element before it
    has been yielded; `offset` is where reading can resume (past the bad end)."""

    def __init__(self, element: int, offset: int, reason: str) -> None:
        super().__init__(reason)
        self.element = element
        self.offset = offset
        self.reason = reason


def quarantine_for(source: str, rec: RawRecord, exc: Exception, field: str | None = None) -> Quarantined:
    """A quarantine entry for a record that failed to decode or map, naming the field where msgspec says
    (`$` for the record as a whole: malformed JSON). A RecordError brings its own reason, field and id."""
    reason = str(exc)
    record_id: str | None = None
    if isinstance(exc, RecordError):
        reason, record_id, field = exc.reason, exc.record_id, field or exc.field
    if field is None and isinstance(exc, msgspec.ValidationError):
        at = _FIELD_AT.search(reason)
        missing = _MISSING.search(reason)
        base = at.group(1) if at else "$"
        field = f"{base}.{missing.group(1)}" if missing else base
    return Quarantined(
        source=source,
        line=rec.line,
        record_id=record_id or loose_id(rec.data),
        field=field or "$",
        reason=reason,
        raw=rec.data[:RAW_LIMIT].decode("utf-8", "replace"),
    )


class _HasId(msgspec.Struct):
    id: str | int


_ID_DECODER = msgspec.json.Decoder(_HasId)


def loose_id(data: bytes) -> str | None:
    """The record's top-level `id` if it can be read at all (for naming a bad record)."""
    try:
        return str(_ID_DECODER.decode(data).id)
    except (msgspec.DecodeError, msgspec.ValidationError, RecursionError):
        return None


def bad_end_quarantine(source: str, end: BadArrayEnd) -> Quarantined:
    """The quarantine entry for an array's bad end (field `$`: the record as a whole)."""
    return Quarantined(source, end.element, None, "$", end.reason, "")


TruncatedArray = BadArrayEnd  # the older name


@contextmanager
def byte_progress(path: Path, enabled: bool, start: int = 0) -> Iterator[ByteProgress]:
    """A rich progress bar over a file's bytes (on stderr), or a silent stand-in."""
    total = path.stat().st_size
    if not enabled:
        yield ByteProgress(None, 0)
        return
    with Progress(
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        DownloadColumn(),
        TransferSpeedColumn(),
        TimeRemainingColumn(),
        transient=True,
    ) as progress:
        task = progress.add_task(path.name, total=total, completed=start)
        yield ByteProgress(progress, task)


class ByteProgress:
    def __init__(self, progress: Progress | None, task: int) -> None:
        self._progress = progress
        self._task = task

    def update(self, offset: int) -> None:
        if self._progress is not None:
            self._progress.update(self._task, completed=offset)  # type: ignore[arg-type]


def open_binary(path: Path) -> IO[bytes]:
    return path.open("rb")


def read_file(
    file: Path,
    handle: Callable[[RawRecord, BatchBuilder], None],
    start: Cursor | None,
    batch_size: int,
    progress: bool,
    name: Callable[[Quarantined, RawRecord], Quarantined] | None = None,
    columns: ColumnSink | None = None,
    stop: int | None = None,
) -> Iterator[RecordBatch]:
    """The record loop every line-based connector shares: resume at the cursor, hand each record to `handle`,
    quarantine a bad one with its reason (decode errors, a `RecordError` naming its field, bad UTF-8 or JSON
    nested too deeply) and go on, and yield a batch with its cursor whenever the builder is full. `name` may
    give a quarantined record an id the connector can still read from the raw bytes; `columns` is where
    `handle` maps records column by column, if it does; `stop` ends a JSON Lines file's reading at that line
    boundary (a range of `line_ranges`)."""
    source = str(file)
    out = BatchBuilder(source, batch_size, columns)
    offset = start.offset if start else 0
    line = start.line if start else 0

    def reject(q: Quarantined, rec: RawRecord) -> None:
        out.reject(name(q, rec) if name is not None else q)

    with byte_progress(file, progress, offset) as bar:
        rec: RawRecord | None = None
        try:
            for rec in iter_records(file, offset, line, stop):
                try:
                    handle(rec, out)
                except (msgspec.DecodeError, msgspec.ValidationError) as exc:
                    reject(quarantine_for(source, rec, exc), rec)
                except RecordError as exc:
                    reject(quarantine_for(source, rec, exc, exc.field), rec)
                except (UnicodeDecodeError, RecursionError) as exc:  # RecursionError: JSON nested too deeply
                    reject(quarantine_for(source, rec, exc, "$"), rec)
                if out.full:
                    yield out.flush(rec.end_offset, rec.line)
                    bar.update(rec.end_offset)
            if rec is not None:
                offset, line = rec.end_offset, rec.line
        except BadArrayEnd as end:
            out.reject(bad_end_quarantine(source, end))
            offset = end.offset
            if rec is not None:
                line = rec.line
        if not out.empty:
            yield out.flush(offset, line)
