"""Ingest an export into a corpus store: detect the format, resume from the stored cursor, upsert batch by
batch, resolve media. Bad records are quarantined and the rest goes on; nothing already stored is lost."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import ExitStack, closing, suppress
from dataclasses import dataclass
from pathlib import Path

import pyarrow as pa

from cordon.app.allocator import tune_allocator
from cordon.app.bulk_gc import bulk_gc
from cordon.app.media_resolution import MediaMode, MediaResolver
from cordon.app.processes import available_cpus
from cordon.app.range_ingest import RepeatFilter, read_ranges, worth_splitting
from cordon.connectors import registry
from cordon.connectors.base import Connector, RangeReader
from cordon.connectors.media_fetch import DEFAULT_MAX_BYTES, DEFAULT_TIMEOUT_S, MediaFetcher
from cordon.corpus import BlobStore, CorpusStore, DuckDBCorpus, UpsertCounts, batch_tables
from cordon.errors import ConfigError, StoreError
from cordon.model import Cursor, RecordBatch

__all__ = ["IngestProgress", "IngestReport", "MediaMode", "ingest"]


@dataclass(frozen=True, slots=True)
class IngestProgress:
    """Where an ingest run is, after each batch handed to the store (which stores a group at a time)."""

    batches: int
    posts_read: int
    records_read: int
    quarantined: int
    elapsed_s: float


@dataclass(frozen=True, slots=True)
class IngestReport:
    """What an ingest run did."""

    source: str
    connector: str
    db: str
    counts: UpsertCounts
    batches: int
    posts_read: int
    records_read: int
    quarantined: int  # records quarantined in this run (bad records and media failures), new or seen before
    elapsed_s: float
    resumed_from: Cursor | None
    media: MediaMode

    @property
    def statuses_per_s(self) -> float:
        return self.posts_read / self.elapsed_s if self.elapsed_s > 0 else 0.0

    @property
    def partial(self) -> bool:
        """True when some records were quarantined (the rest was stored)."""
        return self.quarantined > 0


def stream_key(connector: Connector, path: Path) -> str:
    """The name under which the cursor of reading `path` with `connector` is kept."""
    return f"{connector.name}:{path.resolve()}"


def _parts(connector: Connector, source: Path) -> list[tuple[Path, str]]:
    """What is read under a cursor of its own: each file of an export directory (so that a file that grew
    after a later one was read is read on from where it stopped), else the path itself."""
    files = getattr(connector, "files", None)
    if source.is_dir() and callable(files):
        return [(file, stream_key(connector, file)) for file, _ in files(source)]
    return [(source, stream_key(connector, source))]


def default_media_dir(path: Path) -> Path | None:
    """An export's `media/` directory (beside a file, or inside a directory), when there is one."""
    candidate = (path if path.is_dir() else path.parent) / "media"
    return candidate if candidate.is_dir() else None


def ingest(
    path: Path,
    db: Path | CorpusStore,
    *,
    format: str = "auto",
    media: MediaMode = MediaMode.REFERENCE,
    media_dir: Path | None = None,
    fetch_remote: bool = False,
    max_media_bytes: int = DEFAULT_MAX_BYTES,
    media_timeout_s: float = DEFAULT_TIMEOUT_S,
    media_workers: int = 8,
    blob_dir: Path | None = None,
    batch_size: int = 10_000,
    restart: bool = False,
    connector: Connector | None = None,
    on_batch: Callable[[IngestProgress], None] | None = None,
    workers: int | None = None,
) -> IngestReport:
    """Read `path` into the corpus `db` (a DuckDB file path, or an open store) and report what happened.

    Raises UnknownFormatError when no connector reads `path`; a crash mid-way leaves every stored batch and
    its cursor in place, so running again resumes where it stopped. `workers` (default: the CPUs this process
    may use) above 1 stores a group while the next is read, and reads large JSON Lines files in ranges in
    that many processes (`range_ingest`).
    """
    workers = workers if workers is not None else available_cpus()
    chosen = connector or (registry.detect(path) if format == "auto" else registry.by_name(format))
    tune_allocator()
    source = path.resolve()
    with ExitStack() as stack:
        if isinstance(db, Path):
            store: CorpusStore = stack.enter_context(DuckDBCorpus(db))
            blob_dir = blob_dir or db.parent / "blobs"
        else:
            store = db
        if media is MediaMode.KEEP and blob_dir is None:
            raise ConfigError("--media keep needs a directory for the media bytes: pass blob_dir")
        resolver = None
        if media is not MediaMode.SKIP:
            fetcher = MediaFetcher(
                media_dir=media_dir or default_media_dir(source),
                allow_http=fetch_remote,
                max_bytes=max_media_bytes,
                timeout_s=media_timeout_s,
            )
            stack.callback(fetcher.close)
            blobs = BlobStore(blob_dir) if media is MediaMode.KEEP and blob_dir else None
            resolver = MediaResolver(fetcher, store, blobs=blobs, workers=media_workers)
            stack.callback(resolver.close)
        with bulk_gc():
            return _run(
                store, chosen, source, str(db), media, resolver, batch_size, restart, on_batch, workers
            )
    raise AssertionError("unreachable")  # pragma: no cover - ExitStack does not swallow exceptions


@dataclass(frozen=True, slots=True)
class _Read:
    """One batch read, as the corpus tables to store, with its cursor and counts."""

    tables: dict[str, pa.Table]
    cursor: Cursor | None
    posts: int
    records: int
    quarantined: int


def _read_in_order(
    connector: Connector, part: Path, start: Cursor | None, batch_size: int, resolver: MediaResolver | None
) -> Iterator[_Read]:
    for batch in connector.read(part, start=start, batch_size=batch_size):
        stored = resolver.resolve(batch) if resolver is not None else batch
        yield _Read(
            batch_tables(stored), stored.cursor, len(batch.posts), len(batch), len(stored.quarantined)
        )


def _read_in_ranges(
    connector: RangeReader,
    source: Path,
    part: Path,
    start: Cursor | None,
    batch_size: int,
    workers: int,
    resolver: MediaResolver | None,
) -> Iterator[_Read]:
    """`part` read in ranges by worker processes (`range_ingest`); each batch's media resolved here, and the
    authors this run already sent in the same form left out."""
    progress = bool(getattr(connector, "progress", False))
    with closing(RepeatFilter()) as repeats:
        for ranged in read_ranges(
            connector, source, part, start, batch_size=batch_size, workers=workers, progress=progress
        ):
            media, links, failed = (
                resolver.resolve_requests(ranged.media_requests()) if resolver is not None else ((), (), ())
            )
            bad = ranged.quarantined + failed
            tables = dict(ranged.tables)
            if media or links or bad:
                tables |= batch_tables(
                    RecordBatch(str(part), quarantined=bad, media=media, media_links=links)
                )
            if "accounts" in tables:
                tables["accounts"] = repeats.new_or_changed(tables["accounts"])
            yield _Read(tables, ranged.cursor, ranged.posts, ranged.records, len(bad))


def _run(
    store: CorpusStore,
    connector: Connector,
    source: Path,
    db_name: str,
    media: MediaMode,
    resolver: MediaResolver | None,
    batch_size: int,
    restart: bool,
    on_batch: Callable[[IngestProgress], None] | None,
    workers: int,
) -> IngestReport:
    parts = _parts(connector, source)
    if restart:
        for _, stream in parts:
            store.clear_cursor(stream)
    starts = [store.get_cursor(stream) for _, stream in parts]
    start = next((c for c in starts if c is not None), None)
    run_id = store.begin_run(str(source), connector.name)
    started = time.perf_counter()
    counts = UpsertCounts()
    batches = posts_read = records_read = quarantined = 0
    status = "failed"
    # with a second core, a group is stored while the next is read (on one core that only costs switches),
    # and large files are read in ranges by worker processes
    writer = store.bulk(overlap=workers > 1)
    try:
        for (part, stream), part_start in zip(parts, starts, strict=True):
            if worth_splitting(connector, source, part, workers):
                read = _read_in_ranges(connector, source, part, part_start, batch_size, workers, resolver)
            else:
                read = _read_in_order(connector, part, part_start, batch_size, resolver)
            for item in read:
                posts_read += item.posts
                records_read += item.records
                quarantined += item.quarantined
                counts += writer.upsert_tables(item.tables, item.cursor, stream=stream)
                batches += 1
                if on_batch is not None:
                    elapsed = time.perf_counter() - started
                    on_batch(IngestProgress(batches, posts_read, records_read, quarantined, elapsed))
        counts += writer.flush()
        status = "partial" if quarantined else "ok"
    except BaseException:
        # stopped between two batches (Ctrl-C, a failing callback, a bad source): what was read so far is
        # stored, as it would have been batch by batch; if storing fails too, a rerun reads it again
        with suppress(StoreError):
            writer.flush()
        raise
    finally:
        elapsed = time.perf_counter() - started
        store.end_run(run_id, status=status, posts=posts_read, quarantined=quarantined, elapsed_s=elapsed)
    return IngestReport(
        source=str(source),
        connector=connector.name,
        db=db_name,
        counts=counts,
        batches=batches,
        posts_read=posts_read,
        records_read=records_read,
        quarantined=quarantined,
        elapsed_s=elapsed,
        resumed_from=start,
        media=media,
    )
