"""What every detector is: `detect(con, window, config) -> Iterable[Finding]`, pure, reading the corpus only.

A detector gets a DuckDB connection on the corpus (and its signal tables), the slice of the corpus to look at
and its own typed config. It writes nothing back to the corpus (temp tables on the connection are allowed: they
vanish with it) and returns typed findings, so that the application layer alone decides what to store.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol, TypeVar

import duckdb
import pyarrow as pa

from cordon.model import Finding, Platform

ConfigT_contra = TypeVar("ConfigT_contra", contravariant=True)


@dataclass(frozen=True, slots=True)
class Window:
    """The slice of the corpus a detector looks at: one platform, posts with `start <= created_at < end`."""

    platform: Platform
    start: datetime | None = None
    end: datetime | None = None


class Detector(Protocol[ConfigT_contra]):
    """The call signature every detector module's `detect` satisfies."""

    def __call__(
        self, con: duckdb.DuckDBPyConnection, window: Window, config: ConfigT_contra, /
    ) -> Iterable[Finding]: ...


def configure_duckdb(con: duckdb.DuckDBPyConnection, memory_limit: str, threads: int) -> None:
    """Bound DuckDB before a heavy join: with a memory limit it spills instead of growing, and was faster too."""
    con.execute(f"SET memory_limit = '{memory_limit.replace(chr(39), '')}'")
    con.execute(f"SET threads = {int(threads)}")
    con.execute("SET preserve_insertion_order = false")


def scalar(con: duckdb.DuckDBPyConnection, sql: str, params: list[object] | None = None) -> int:
    """The single integer a `SELECT count(...)` returns (fetched fully, so the connection is free again)."""
    rows = con.execute(sql, params or []).fetchall()
    return int(rows[0][0]) if rows and rows[0][0] is not None else 0


def has_table(con: duckdb.DuckDBPyConnection, name: str) -> bool:
    """True when a table or view of that name is visible on the connection."""
    return scalar(con, "SELECT count(*) FROM information_schema.tables WHERE table_name = ?", [name]) > 0


def arrow(con: duckdb.DuckDBPyConnection, sql: str, params: dict[str, object] | None = None) -> pa.Table:
    """The whole result of a SELECT as an Arrow table."""
    rel = con.sql(sql, params=params)
    if rel is None:  # pragma: no cover - a SELECT always gives a relation
        raise RuntimeError(f"no relation from {sql!r}")
    return rel.to_arrow_table()
