"""cordon.corpus: the corpus stores (embedded DuckDB now, PostgreSQL later), cursors, quarantine."""

from cordon.corpus.blobs import BlobStore
from cordon.corpus.duckdb_store import DuckDBCorpus, batch_tables
from cordon.corpus.store import (
    BatchWriter,
    CorpusStats,
    CorpusStore,
    ReasonCount,
    TableCounts,
    TableSize,
    UpsertCounts,
)

__all__ = [
    "BatchWriter",
    "BlobStore",
    "CorpusStats",
    "CorpusStore",
    "DuckDBCorpus",
    "ReasonCount",
    "TableCounts",
    "TableSize",
    "UpsertCounts",
    "batch_tables",
]
