"""What every connector offers: read a source into `RecordBatch`es, resumable from a `Cursor`."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Protocol, runtime_checkable

from cordon.model import Cursor, RecordBatch


class Connector(Protocol):
    """Maps one foreign format into cordon's records. Streams: never holds a whole file in memory.

    A bad record never stops reading: it comes back in `RecordBatch.quarantined` with file, line, field, reason.
    """

    name: str

    def sniff(self, path: Path) -> bool:
        """True when this connector reads `path` (a file or an export directory)."""
        ...

    def read(
        self, path: Path, *, start: Cursor | None = None, batch_size: int = 10_000
    ) -> Iterator[RecordBatch]:
        """Yield batches from `path`, starting after `start` when given (resume)."""
        ...


@runtime_checkable
class RangeReader(Protocol):
    """A connector that can also read a JSON Lines file of a source in byte ranges of whole lines, each on
    its own (in a process of its own): every line is one record that maps without the lines before it.

    In the batches of a range, line numbers (cursors, quarantined records) count from the range's start
    (its first line is line 1); the caller adds the lines of the ranges before it.
    """

    def range_readable(self, source: Path, file: Path) -> bool:
        """True when `file`, one of the files `source` is read from, can be read in ranges."""
        ...

    def read_range(
        self, source: Path, file: Path, start: int, stop: int, *, batch_size: int = 10_000
    ) -> Iterator[RecordBatch]:
        """Yield the batches of `file`'s bytes [start, stop) (a range of `lines.line_ranges`)."""
        ...
