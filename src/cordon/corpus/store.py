"""What every corpus store offers (DuckDB now, PostgreSQL later), and the records its methods return."""

from __future__ import annotations

from dataclasses import dataclass, field, fields
from datetime import datetime
from pathlib import Path
from typing import Protocol

import pyarrow as pa

from cordon.model import Cursor, Quarantined, RecordBatch


@dataclass(frozen=True, slots=True)
class TableCounts:
    """What an upsert did to one table."""

    inserted: int = 0
    updated: int = 0
    unchanged: int = 0

    def __add__(self, other: TableCounts) -> TableCounts:
        return TableCounts(
            self.inserted + other.inserted, self.updated + other.updated, self.unchanged + other.unchanged
        )

    @property
    def changed(self) -> int:
        return self.inserted + self.updated


@dataclass(frozen=True, slots=True)
class UpsertCounts:
    """What one or more upserts did, per table; `quarantined` counts newly quarantined records."""

    accounts: TableCounts = field(default_factory=TableCounts)
    posts: TableCounts = field(default_factory=TableCounts)
    attachments: TableCounts = field(default_factory=TableCounts)
    edges: TableCounts = field(default_factory=TableCounts)
    moderation: TableCounts = field(default_factory=TableCounts)
    media: TableCounts = field(default_factory=TableCounts)
    media_links: TableCounts = field(default_factory=TableCounts)
    quarantined: int = 0

    def __add__(self, other: UpsertCounts) -> UpsertCounts:
        summed: dict[str, TableCounts | int] = {}
        for f in fields(self):
            summed[f.name] = getattr(self, f.name) + getattr(other, f.name)
        return UpsertCounts(**summed)  # type: ignore[arg-type]

    def per_table(self) -> tuple[tuple[str, TableCounts], ...]:
        """(table name, counts) for every table, in a fixed order."""
        return tuple((f.name, getattr(self, f.name)) for f in fields(self) if f.name != "quarantined")

    @property
    def changed(self) -> int:
        return sum(counts.changed for _, counts in self.per_table())


@dataclass(frozen=True, slots=True)
class TableSize:
    """Rows of one table for one platform ('' for tables without a platform column)."""

    table: str
    platform: str
    rows: int


@dataclass(frozen=True, slots=True)
class ReasonCount:
    """How many quarantined records share one reason."""

    reason: str
    count: int


@dataclass(frozen=True, slots=True)
class CorpusStats:
    """A summary of a corpus: sizes per table and platform, time range of posts, quarantine by reason."""

    sizes: tuple[TableSize, ...]
    first_post_at: datetime | None
    last_post_at: datetime | None
    quarantine_by_reason: tuple[ReasonCount, ...]

    def rows(self, table: str, platform: str | None = None) -> int:
        """Rows of `table` (for one platform, or all)."""
        return sum(s.rows for s in self.sizes if s.table == table and platform in (None, s.platform))

    @property
    def quarantined(self) -> int:
        return sum(r.count for r in self.quarantine_by_reason)


class BatchWriter(Protocol):
    """Stores batches a group at a time (a store's `bulk()`): a batch is stored when its group is."""

    def upsert(self, batch: RecordBatch, *, stream: str | None = None) -> UpsertCounts:
        """Take `batch` (and its cursor); store the group when it is full: the counts of what was stored
        since the last call (with overlap, of the group stored before)."""
        ...

    def upsert_tables(
        self, tables: dict[str, pa.Table], cursor: Cursor | None, *, stream: str | None = None
    ) -> UpsertCounts:
        """`upsert` of a batch already made into Arrow tables, one per corpus table (`batch_tables`)."""
        ...

    def flush(self) -> UpsertCounts:
        """Store what was taken and not yet stored: the counts of what was stored."""
        ...


class CorpusStore(Protocol):
    """A corpus store: idempotent batched upserts, resumable cursors, quarantine, stats, Parquet export."""

    def upsert(self, batch: RecordBatch, *, stream: str | None = None) -> UpsertCounts:
        """Store `batch` and its cursor in one transaction (cursor key: `stream`, else the cursor's source)."""
        ...

    def bulk(self, *, overlap: bool = False) -> BatchWriter:
        """A writer for many batches in a row (ingest): stores them a group at a time, each group in one
        transaction with its last cursors; with `overlap`, a group is stored while the next is read, and
        its counts come back from a later call."""
        ...

    def get_cursor(self, stream: str) -> Cursor | None:
        """The cursor stored under `stream`, or None."""
        ...

    def set_cursor(self, cursor: Cursor, *, stream: str | None = None) -> None:
        """Store `cursor` under `stream` (default: its own source)."""
        ...

    def clear_cursor(self, stream: str) -> None:
        """Forget the cursor of `stream` so that the next ingest starts from the beginning."""
        ...

    def linked_media_refs(self, platform: str, refs: list[tuple[str, str]]) -> set[tuple[str, str]]:
        """Which (ref_id, url) pairs already have a media link (so their bytes need not be fetched again)."""
        ...

    def has_media_links(self, platform: str) -> bool:
        """True when any media link of `platform` is stored."""
        ...

    def quarantined(self, *, limit: int | None = None) -> tuple[Quarantined, ...]:
        """Quarantined records, in order of source and line."""
        ...

    def stats(self) -> CorpusStats:
        """Counts per table and platform, time range, quarantine by reason."""
        ...

    def export_parquet(self, directory: Path) -> tuple[Path, ...]:
        """Write every corpus table as `<directory>/<table>.parquet`; return the files."""
        ...

    def begin_run(self, source: str, connector: str) -> str:
        """Record the start of an ingest run; return its id."""
        ...

    def end_run(self, run_id: str, *, status: str, posts: int, quarantined: int, elapsed_s: float) -> None:
        """Record how an ingest run ended."""
        ...

    def close(self) -> None: ...
