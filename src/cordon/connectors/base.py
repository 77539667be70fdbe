"""What every connector offers: read a source into `RecordBatch`es, resumable from a `Cursor`."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Protocol

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
