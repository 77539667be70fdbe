"""Ingest on more than one core: a large JSON Lines file is read in byte ranges by worker processes.

Reading is Python (decoding, mapping, building Arrow columns) and takes one core; with a second core the
statuses of a large export are read range by range in worker processes, each range on its own (`RangeReader`),
and made into Arrow tables there. The ingesting process takes the ranges' batches back in file order, fixes
their line numbers (a worker counts from its range's start), resolves their media and stores them as a
serial read would: groups in order, each with the cursor just past its last batch, so that a run that stops
resumes after the last stored group, and a record's last version in the file is the one stored.

A range is read with fresh per-file state, so an author embedded in many statuses comes back once per range
rather than once per run; `RepeatFilter` leaves out, in the ingesting process, the rows already sent in the
same form.
"""

from __future__ import annotations

import functools
from collections.abc import Iterator
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TypeGuard

import duckdb
import pyarrow as pa

from cordon.app.bulk_gc import bulk_gc
from cordon.app.media_resolution import MediaRequest, media_requests
from cordon.app.processes import ordered_map
from cordon.connectors import lines
from cordon.connectors.base import RangeReader
from cordon.connectors.generations import Generations
from cordon.corpus import batch_tables
from cordon.model import Cursor, Platform, Quarantined

# a range is at most CHUNK_BYTES (~120k statuses of a simulated world: each range starts with cold reader caches,
# and 128 MB ranges took 25 s of workers' CPU for 1M statuses where 48 MB ones took 30 s), and at least a
# quarter of a worker's share of the file, so that the last ranges do not leave a core idle; files of less
# than SPLIT_BYTES are read in order
CHUNK_BYTES = 128 << 20
SPLIT_BYTES = 96 << 20

_PLATFORMS = {p.value: p for p in Platform}


@dataclass(frozen=True, slots=True)
class RangeBatch:
    """One batch of a range, made into corpus tables (all but the quarantine, whose keys name the line)."""

    tables: dict[str, pa.Table]
    cursor: Cursor | None  # its line counted from the start of the range
    quarantined: tuple[Quarantined, ...]  # lines counted from the start of the range
    media: tuple[tuple[str, str, str, str], ...]  # MediaRequest fields as plain tuples (pickled 10x faster)
    posts: int
    records: int

    def media_requests(self) -> list[MediaRequest]:
        platform = _PLATFORMS.__getitem__  # a dict lookup: calling the enum took a third of this
        return [MediaRequest(platform(p), ref_id, url, field) for p, ref_id, url, field in self.media]


@dataclass(frozen=True, slots=True)
class RangeResult:
    batches: tuple[RangeBatch, ...]
    stop: int  # the byte offset the range ends at
    newlines: int  # lines of the range, when it is not the last of its file


def read_range(
    connector: RangeReader, source: Path, file: Path, span: tuple[int, int], batch_size: int
) -> RangeResult:
    """Read `file`'s bytes [start, stop) = `span` into tables (in a worker process)."""
    start, stop = span
    out: list[RangeBatch] = []
    with bulk_gc():
        for batch in connector.read_range(source, file, start, stop, batch_size=batch_size):
            out.append(
                RangeBatch(
                    tables=batch_tables(replace(batch, quarantined=())),
                    cursor=batch.cursor,
                    quarantined=batch.quarantined,
                    media=tuple((r.platform.value, r.ref_id, r.url, r.field) for r in media_requests(batch)),
                    posts=len(batch.posts),
                    records=len(batch),
                )
            )
    return RangeResult(tuple(out), stop, lines.count_lines(file, start, stop))


def worth_splitting(connector: object, source: Path, file: Path, workers: int) -> TypeGuard[RangeReader]:
    """True when `file` is read faster in ranges: a second core, a connector that can, a large file."""
    return (
        workers > 1
        and isinstance(connector, RangeReader)
        and connector.range_readable(source, file)
        and file.stat().st_size > SPLIT_BYTES
    )


def read_ranges(
    connector: RangeReader,
    source: Path,
    file: Path,
    start: Cursor | None,
    *,
    batch_size: int,
    workers: int,
    progress: bool,
) -> Iterator[RangeBatch]:
    """The batches of `file` from `start` on, read by `workers` processes a range at a time, in file order,
    with line numbers counted from the start of the file. At most `workers + 1` ranges are in flight."""
    offset, base = (start.offset, start.line) if start is not None else (0, 0)
    share = (file.stat().st_size - offset) // (4 * workers)
    spans = lines.line_ranges(file, offset, max(1, min(CHUNK_BYTES, share)))
    read = functools.partial(read_range, connector, source, file, batch_size=batch_size)
    with lines.byte_progress(file, progress, offset) as bar:
        for result in ordered_map(read, spans, workers=workers):
            for b in result.batches:
                yield _from_line(b, base, str(file))
            base += result.newlines
            bar.update(result.stop)


class RepeatFilter:
    """Drops the rows of a table that this run already sent to the store in the same form (ranges start with
    empty reader state, so every range sends each author it embeds). Per key, a 64-bit digest of the whole
    row last sent is kept (DuckDB's `hash` over every column), in two generations of `remember` keys: a row
    is dropped only when its digest equals the one last sent for its key, so the store still gets every
    change, in file order. On the 10M-post world, accounts were ~4M rows for 840k accounts without it."""

    def __init__(self, key: str = "id", remember: int = 200_000) -> None:
        self._key = key
        self._sent: Generations[str, int] = Generations(remember)
        self._con = duckdb.connect()

    def close(self) -> None:
        self._con.close()

    def new_or_changed(self, table: pa.Table) -> pa.Table:
        if table.num_rows == 0:
            return table
        columns = ", ".join('"' + c.replace('"', '""') + '"' for c in table.column_names)
        self._con.register("rows_in", table)
        try:
            digests = self._con.execute(f"SELECT hash({columns}) AS h FROM rows_in").fetchnumpy()["h"]
        finally:
            self._con.unregister("rows_in")
        keep: list[int] = []
        get, put = self._sent.get, self._sent.put
        keys = table.column(self._key).to_pylist()
        for i, (key, digest) in enumerate(zip(keys, digests.tolist(), strict=True)):
            if get(key) != digest:
                keep.append(i)
                put(key, digest)
        return table if len(keep) == table.num_rows else table.take(pa.array(keep, pa.int64()))


def _from_line(batch: RangeBatch, base: int, source: str) -> RangeBatch:
    """`batch` with its line numbers counted from the start of the file (`base` lines before its range)."""
    cursor = batch.cursor
    if cursor is not None:
        cursor = Cursor(source, cursor.offset, cursor.line + base)
    quarantined = tuple(q if q.line is None else replace(q, line=q.line + base) for q in batch.quarantined)
    return replace(batch, cursor=cursor, quarantined=quarantined)
