"""The bank store: named, versioned hash lists in one DuckDB file (``banks.duckdb`` in the banks folder).

Why versions: a bank is replaced by its publisher (a new CSV) or updated incrementally (NCMEC's API sends
additions and deletions), and a reviewer must be able to say which list a match came from and what changed.
Each import creates version n+1. Entries are stored once with the version that added them and the version
that removed them (``added_in``, ``removed_in``), so every version can be rebuilt and two versions diffed
without copying the whole list per version.

The folder is `--banks DIR`, else the ``CORDON_BANKS`` environment variable, else
``~/.local/share/cordon/banks``. Each operation opens and closes its own connection, so the CLI and a
running server can share the folder (one writer at a time, as DuckDB requires).
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum
from pathlib import Path

import duckdb
import pyarrow as pa

from cordon.errors import BankError, StoreError
from cordon.model import Bank, BankCategory, HashAlgo
from cordon.signals.media.bank_formats import ENTRY_SCHEMA, EntryColumns

DEFAULT_PDQ_THRESHOLD = 31  # PDQ's own recommendation; exact hashes always match at distance 0
BANKS_ENV = "CORDON_BANKS"
STORE_FILE = "banks.duckdb"
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$")
_KEY = "entry_id, algo, value, category, note"

_SCHEMA = """
CREATE TABLE IF NOT EXISTS banks (
    name VARCHAR PRIMARY KEY, category VARCHAR NOT NULL, threshold INTEGER NOT NULL,
    created_at TIMESTAMPTZ NOT NULL);
CREATE TABLE IF NOT EXISTS bank_versions (
    bank VARCHAR NOT NULL, version INTEGER NOT NULL, created_at TIMESTAMPTZ NOT NULL, source VARCHAR NOT NULL,
    entries BIGINT NOT NULL, added BIGINT NOT NULL, removed BIGINT NOT NULL, PRIMARY KEY (bank, version));
CREATE TABLE IF NOT EXISTS bank_entries (
    bank VARCHAR NOT NULL, entry_id VARCHAR NOT NULL, algo VARCHAR NOT NULL, value VARCHAR NOT NULL,
    category VARCHAR NOT NULL, note VARCHAR NOT NULL, added_in INTEGER NOT NULL, removed_in INTEGER);
"""


class ImportMode(StrEnum):
    REPLACE = "replace"  # the file is the whole list: entries absent from it are removed
    UPDATE = "update"  # the file adds or changes entries (by id); `removed_ids` are deleted


@dataclass(frozen=True, slots=True)
class BankVersion:
    """One version of a bank: when and from what it was made, and what it changed."""

    bank: str
    version: int
    created_at: datetime
    source: str
    entries: int
    added: int
    removed: int


@dataclass(frozen=True, slots=True)
class BankDiff:
    """What changed in a bank between two versions."""

    bank: str
    from_version: int
    to_version: int
    added: EntryColumns
    removed: EntryColumns


def default_banks_dir() -> Path:
    """``$CORDON_BANKS`` or ``~/.local/share/cordon/banks``."""
    configured = os.environ.get(BANKS_ENV)
    return Path(configured).expanduser() if configured else Path.home() / ".local/share/cordon/banks"


def default_threshold(algo: HashAlgo) -> int:
    """PDQ and vPDQ: 31 bits; exact hashes: 0."""
    return DEFAULT_PDQ_THRESHOLD if algo in (HashAlgo.PDQ, HashAlgo.VPDQ) else 0


class BankStore:
    """Versioned hash banks in ``DIR/banks.duckdb``."""

    def __init__(self, directory: Path | None = None) -> None:
        self.directory = directory if directory is not None else default_banks_dir()
        self.path = self.directory / STORE_FILE

    @contextmanager
    def _connect(self, *, write: bool = False) -> Iterator[duckdb.DuckDBPyConnection]:
        if not write and not self.path.exists():
            con = duckdb.connect()  # nothing stored yet: an empty in-memory store answers reads
        else:
            try:
                self.directory.mkdir(parents=True, exist_ok=True)
                con = duckdb.connect(str(self.path))
            except (OSError, duckdb.Error) as exc:
                raise StoreError(f"cannot open the bank store {self.path}: {exc}") from exc
        try:
            con.execute(_SCHEMA).fetchall()
            yield con
        finally:
            con.close()

    def banks(self) -> list[Bank]:
        """Every bank at its latest version, by name."""
        with self._connect() as con:
            rows = con.execute(
                """SELECT b.name, b.category, b.threshold, v.version, v.source FROM banks b
                   JOIN bank_versions v ON v.bank = b.name
                   WHERE v.version = (SELECT max(version) FROM bank_versions WHERE bank = b.name)
                   ORDER BY b.name"""
            ).fetchall()
        return [
            Bank(name=n, category=BankCategory(c), threshold=t, version=v, source=s) for n, c, t, v, s in rows
        ]

    def bank(self, name: str) -> Bank:
        """The bank `name` at its latest version; `BankError` naming the known banks when absent."""
        for bank in self.banks():
            if bank.name == name:
                return bank
        known = ", ".join(b.name for b in self.banks()) or "none"
        raise BankError(f"no bank named {name!r} in {self.directory} (banks: {known}); import it first")

    def versions(self, name: str) -> list[BankVersion]:
        """Every version of bank `name`, oldest first."""
        self.bank(name)
        with self._connect() as con:
            rows = con.execute(
                "SELECT bank, version, created_at, source, entries, added, removed FROM bank_versions "
                "WHERE bank = ? ORDER BY version",
                [name],
            ).fetchall()
        return [BankVersion(*row) for row in rows]

    def entries(self, name: str, version: int | None = None) -> EntryColumns:
        """The entries of bank `name` at `version` (default: the latest)."""
        bank = self.bank(name)
        version = bank.version if version is None else version
        if not 1 <= version <= bank.version:
            raise BankError(f"bank {name!r} has versions 1..{bank.version}; there is no version {version}")
        with self._connect() as con:
            return EntryColumns(_snapshot(con, name, version))

    def diff(self, name: str, from_version: int, to_version: int) -> BankDiff:
        """Entries added and removed going from `from_version` to `to_version`."""
        old, new = self.entries(name, from_version).table, self.entries(name, to_version).table
        with duckdb.connect() as con:
            con.register("old_v", old)
            con.register("new_v", new)
            added = con.sql(f"SELECT {_KEY} FROM new_v EXCEPT SELECT {_KEY} FROM old_v ORDER BY ALL")
            removed = con.sql(f"SELECT {_KEY} FROM old_v EXCEPT SELECT {_KEY} FROM new_v ORDER BY ALL")
            return BankDiff(
                bank=name,
                from_version=from_version,
                to_version=to_version,
                added=EntryColumns(added.to_arrow_table().cast(ENTRY_SCHEMA)),
                removed=EntryColumns(removed.to_arrow_table().cast(ENTRY_SCHEMA)),
            )

    def import_entries(
        self,
        name: str,
        columns: EntryColumns,
        *,
        category: BankCategory | None = None,
        threshold: int | None = None,
        source: str = "",
        mode: ImportMode = ImportMode.REPLACE,
        removed_ids: Sequence[str] = (),
    ) -> BankVersion:
        """Store `columns` as version n+1 of bank `name` (created with `category` when new).

        REPLACE makes the new version exactly `columns`; UPDATE keeps the previous entries, replaces those
        whose id appears in `columns` and drops `removed_ids`. `threshold` (PDQ bits, 0..256) changes the
        bank's threshold; a new bank gets 31.
        """
        if not _NAME.match(name):
            raise BankError(f"bank name {name!r}: use letters, digits, '.', '_' or '-' (at most 100)")
        if threshold is not None and not 0 <= threshold <= 256:
            raise BankError(f"bank {name!r}: threshold {threshold} is outside 0..256 bits")
        incoming = columns.table.cast(ENTRY_SCHEMA)
        removed_table = pa.table({"entry_id": pa.array(list(removed_ids), pa.string())})
        now = datetime.now(UTC)
        with self._connect(write=True) as con:
            con.begin()
            try:
                version = self._prepare_bank(con, name, category, threshold, now)
                con.register("incoming_raw", incoming)
                con.register("removed_ids", removed_table)
                con.execute(
                    f"CREATE TEMP TABLE incoming AS SELECT DISTINCT {_KEY} FROM incoming_raw"
                ).fetchall()
                live = "bank = $bank AND removed_in IS NULL"
                if mode is ImportMode.REPLACE:
                    gone = f"NOT EXISTS (SELECT 1 FROM incoming i WHERE {_same('i', 'e')})"
                else:
                    gone = (
                        "(e.entry_id IN (SELECT entry_id FROM incoming UNION SELECT entry_id FROM removed_ids)"
                        f" AND NOT EXISTS (SELECT 1 FROM incoming i WHERE {_same('i', 'e')}))"
                    )
                removed = con.execute(
                    f"UPDATE bank_entries e SET removed_in = $v WHERE {live} AND {gone}",
                    {"bank": name, "v": version},
                ).fetchall()[0][0]
                added = con.execute(
                    f"""INSERT INTO bank_entries SELECT $bank, {_KEY}, $v, NULL FROM incoming i
                        WHERE NOT EXISTS (SELECT 1 FROM bank_entries e WHERE {live} AND {_same("i", "e")})""",
                    {"bank": name, "v": version},
                ).fetchall()[0][0]
                total = con.execute(
                    "SELECT count(*) FROM bank_entries WHERE bank = ? AND removed_in IS NULL", [name]
                ).fetchall()[0][0]
                con.execute(
                    "INSERT INTO bank_versions VALUES (?, ?, ?, ?, ?, ?, ?)",
                    [name, version, now, source, total, added, removed],
                ).fetchall()
                con.commit()
            except BaseException:
                con.rollback()
                raise
        return BankVersion(name, version, now, source, int(total), int(added), int(removed))

    @staticmethod
    def _prepare_bank(
        con: duckdb.DuckDBPyConnection,
        name: str,
        category: BankCategory | None,
        threshold: int | None,
        now: datetime,
    ) -> int:
        rows = con.execute("SELECT category FROM banks WHERE name = ?", [name]).fetchall()
        row = rows[0] if rows else None
        if row is None:
            if category is None:
                raise BankError(f"bank {name!r} is new: give its category (e.g. --category child-safety)")
            con.execute(
                "INSERT INTO banks VALUES (?, ?, ?, ?)",
                [name, str(category), DEFAULT_PDQ_THRESHOLD if threshold is None else threshold, now],
            ).fetchall()
        elif category is not None and BankCategory(row[0]) is not category:
            raise BankError(
                f"bank {name!r} is a {row[0]} bank; importing it as {category} would mix categories. "
                "Use another bank name."
            )
        elif threshold is not None:
            con.execute("UPDATE banks SET threshold = ? WHERE name = ?", [threshold, name]).fetchall()
        latest = con.execute("SELECT max(version) FROM bank_versions WHERE bank = ?", [name]).fetchall()
        return int(latest[0][0] or 0) + 1


def _same(a: str, b: str) -> str:
    return " AND ".join(f"{a}.{c} = {b}.{c}" for c in ("entry_id", "algo", "value", "category", "note"))


def _snapshot(con: duckdb.DuckDBPyConnection, name: str, version: int) -> pa.Table:
    table = con.sql(
        f"""SELECT {_KEY} FROM bank_entries WHERE bank = ? AND added_in <= ?
            AND (removed_in IS NULL OR removed_in > ?) ORDER BY entry_id, algo, value""",
        params=[name, version, version],
    ).to_arrow_table()
    return table.cast(ENTRY_SCHEMA)
