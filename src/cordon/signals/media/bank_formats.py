"""Hash-bank file formats: cordon's CSV (read and write), ThreatExchange and HMA exports (read).

Every reader returns `EntryColumns`, one Arrow table of bank entries (entry_id, algo, value, category, note),
so that a bank of millions of hashes is validated and stored column by column, never row by row.

- **csv**: a header with any of the hash columns ``pdq``, ``md5``, ``sha1``, ``sha256`` (and ``vpdq``: one
  frame per row, rows sharing an ``id`` form one video), optional ``id``, ``category``, ``note``. A row with
  several hashes gives one entry per hash under the same id; a row without ``id`` gets ``algo:value``.
- **te**: python-threatexchange's ``threatexchange dataset -P --csv`` output (``signal_type, signal_str,
  collab, category, tags``) or its state files ``simple.<TYPE>.te`` (``indicator, descriptor id, added on,
  labels``; the type comes from the file name).
- **hma**: HMA's ThreatExchange serialisation (``HMASerialization``: ``indicator, indicator id, descriptor id,
  added on, labels``, also named ``simple.<TYPE>.te``).

Bad rows are collected, not raised one by one: `BankFileError` names each line and column, and nothing is
imported from a file that has any (a half-imported bank silently misses hashes).
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path

import duckdb
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv

from cordon.errors import BankError, RecordError
from cordon.model import BankCategory, BankEntry, HashAlgo

HEX_LENGTH: dict[HashAlgo, int] = {
    HashAlgo.PDQ: 64,
    HashAlgo.VPDQ: 64,
    HashAlgo.MD5: 32,
    HashAlgo.SHA1: 40,
    HashAlgo.SHA256: 64,
}
CSV_HASH_COLUMNS = (HashAlgo.PDQ, HashAlgo.MD5, HashAlgo.SHA1, HashAlgo.SHA256, HashAlgo.VPDQ)
CSV_COLUMNS = ("id", *CSV_HASH_COLUMNS, "category", "note")
ENTRY_SCHEMA = pa.schema(
    [
        ("entry_id", pa.string()),
        ("algo", pa.string()),
        ("value", pa.string()),
        ("category", pa.string()),
        ("note", pa.string()),
    ]
)
MAX_LISTED_PROBLEMS = 20

# ThreatExchange signal-type names (SignalType.get_name() and threat-updates indicator types) -> algo
_TE_TYPES: dict[str, HashAlgo] = {
    "pdq": HashAlgo.PDQ,
    "hash_pdq": HashAlgo.PDQ,
    "md5": HashAlgo.MD5,
    "video_md5": HashAlgo.MD5,
    "hash_md5": HashAlgo.MD5,
    "hash_video_md5": HashAlgo.MD5,
    "sha1": HashAlgo.SHA1,
    "hash_sha1": HashAlgo.SHA1,
    "sha256": HashAlgo.SHA256,
    "hash_sha256": HashAlgo.SHA256,
}
_TE_FILE = re.compile(r"simple\.([^.]+)\.te$")


class BankFormat(StrEnum):
    CSV = "csv"
    TE = "te"
    HMA = "hma"


@dataclass(frozen=True, slots=True)
class EntryColumns:
    """Bank entries as one Arrow table with `ENTRY_SCHEMA`; `skipped` counts rows of non-media signal types
    (URLs, text) that a ThreatExchange export may carry and a media bank has no use for."""

    table: pa.Table
    skipped: int = 0

    def __len__(self) -> int:
        return int(self.table.num_rows)

    def entries(self, bank: str) -> tuple[BankEntry, ...]:
        """The rows as `BankEntry` records (for small banks and tests; the store works on the table)."""
        cols = self.table.to_pydict()
        return tuple(
            BankEntry(bank=bank, entry_id=i, algo=HashAlgo(a), value=v, category=BankCategory(c), note=n)
            for i, a, v, c, n in zip(
                cols["entry_id"], cols["algo"], cols["value"], cols["category"], cols["note"], strict=True
            )
        )

    @classmethod
    def from_entries(cls, entries: Iterable[BankEntry]) -> EntryColumns:
        rows = [(e.entry_id, str(e.algo), e.value.lower(), str(e.category), e.note) for e in entries]
        return _columns(rows)


class BankFileError(BankError):
    """A bank file has bad rows; `problems` names each one's line and column. Nothing was imported."""

    def __init__(self, source: str, problems: Sequence[RecordError]) -> None:
        self.problems = tuple(problems)
        shown = "\n  ".join(str(p) for p in self.problems[:MAX_LISTED_PROBLEMS])
        more = len(self.problems) - MAX_LISTED_PROBLEMS
        tail = f"\n  ... and {more} more" if more > 0 else ""
        super().__init__(
            f"{source}: {len(self.problems)} bad row(s), nothing imported; fix them and import again:\n  "
            f"{shown}{tail}"
        )


def read_bank_file(path: Path, fmt: BankFormat | str, *, category: BankCategory) -> EntryColumns:
    """Read a bank file in `fmt`; entries without their own category get `category`."""
    if not path.is_file():
        raise BankError(f"{path}: no such bank file")
    fmt = BankFormat(fmt)
    if fmt is BankFormat.CSV:
        return read_csv(path, category=category)
    return read_threatexchange(path, category=category, with_indicator_id=fmt is BankFormat.HMA)


def read_csv(path: Path, *, category: BankCategory) -> EntryColumns:
    """cordon's bank CSV, parsed and validated with Arrow kernels (see the module docstring)."""
    source = str(path)
    header = _csv_header(path)
    unknown = [name for name in header if name not in CSV_COLUMNS]
    if (
        unknown
        or not any(str(algo) in header for algo in CSV_HASH_COLUMNS)
        or len(set(header)) != len(header)
    ):
        raise BankError(
            f"{source}:1: the header must name distinct columns among {', '.join(CSV_COLUMNS)} with at least one "
            f"hash column; found {', '.join(header) or 'nothing'}"
            + (f" (unknown: {', '.join(unknown)})" if unknown else "")
        )
    try:
        table = pacsv.read_csv(
            path,
            read_options=pacsv.ReadOptions(column_names=header, skip_rows=1),
            parse_options=pacsv.ParseOptions(newlines_in_values=True),
            convert_options=pacsv.ConvertOptions(
                column_types=dict.fromkeys(header, pa.string()), strings_can_be_null=False
            ),
        )
    except (pa.ArrowInvalid, UnicodeDecodeError) as exc:
        raise BankError(f"{source}: not a readable CSV file ({exc})") from exc
    return _columns_from_table(table, source, path, category)


def _csv_header(path: Path) -> list[str]:
    with path.open(encoding="utf-8-sig", newline="") as handle:
        first = next(csv.reader(handle), [])
    return [name.strip().lower() for name in first]


def _columns_from_table(table: pa.Table, source: str, path: Path, category: BankCategory) -> EntryColumns:
    n = table.num_rows
    empty = pa.array([""] * n, pa.string())

    def column(name: str) -> pa.Array:
        return table.column(name).combine_chunks() if name in table.column_names else empty

    bad_rows: list[tuple[int, str, str]] = []  # (row, field, reason)
    values: dict[HashAlgo, pa.Array] = {}
    present_any = pa.array([False] * n, pa.bool_())
    for algo in CSV_HASH_COLUMNS:
        if str(algo) not in table.column_names:
            continue
        value = pc.utf8_lower(pc.utf8_trim_whitespace(column(str(algo))))
        present = pc.not_equal(value, "")
        valid = pc.match_substring_regex(value, f"^[0-9a-f]{{{HEX_LENGTH[algo]}}}$")
        for row in pc.indices_nonzero(pc.and_(present, pc.invert(valid))).to_pylist():
            bad_rows.append((row, str(algo), f"not {HEX_LENGTH[algo]} hex digits: {value[row].as_py()!r}"))
        values[algo] = value
        present_any = pc.or_(present_any, present)
    for row in pc.indices_nonzero(pc.invert(present_any)).to_pylist():
        bad_rows.append((row, "|".join(str(a) for a in values), "the row has no hash"))
    categories = pc.utf8_lower(pc.utf8_trim_whitespace(column("category")))
    known = pa.array([str(c) for c in BankCategory] + [""])
    for row in pc.indices_nonzero(pc.invert(pc.is_in(categories, value_set=known))).to_pylist():
        bad_rows.append(
            (
                row,
                "category",
                f"unknown category {categories[row].as_py()!r}; use one of "
                + ", ".join(str(c) for c in BankCategory),
            )
        )
    if bad_rows:
        lines = _record_start_lines(path)
        raise BankFileError(
            source,
            [
                RecordError(reason, source=source, line=lines[row], field=field)
                for row, field, reason in sorted(bad_rows)
            ],
        )
    categories = pc.if_else(pc.equal(categories, ""), str(category), categories)
    ids = pc.utf8_trim_whitespace(column("id"))
    derived = pa.array([""] * n, pa.string())
    for algo in reversed(list(values)):  # the first hash column present names an id-less row
        named = pc.binary_join_element_wise(str(algo), values[algo], ":")
        derived = pc.if_else(pc.not_equal(values[algo], ""), named, derived)
    ids = pc.if_else(pc.equal(ids, ""), derived, ids)
    parts = []
    for algo, value in values.items():
        keep = pc.not_equal(value, "")
        parts.append(
            pa.table(
                [
                    ids.filter(keep),
                    pa.array([str(algo)] * int(pc.sum(keep).as_py() or 0), pa.string()),
                    value.filter(keep),
                    categories.filter(keep),
                    column("note").filter(keep),
                ],
                schema=ENTRY_SCHEMA,
            )
        )
    return EntryColumns(pa.concat_tables(parts) if parts else ENTRY_SCHEMA.empty_table())


def _record_start_lines(path: Path) -> list[int]:
    """The file line on which each data record starts (records may span lines inside quotes). Only run
    when a file has errors, so the fast path never parses in Python."""
    starts: list[int] = []
    with path.open(encoding="utf-8-sig", newline="") as handle:
        reader = csv.reader(handle)
        next(reader, None)
        previous_end = reader.line_num
        for record in reader:
            if record:  # Arrow skips blank lines too
                starts.append(previous_end + 1)
            previous_end = reader.line_num
    return starts


def read_threatexchange(path: Path, *, category: BankCategory, with_indicator_id: bool) -> EntryColumns:
    """python-threatexchange's dataset CSV or ``simple.<TYPE>.te`` state file; HMA's variant with ids."""
    source = str(path)
    with path.open(encoding="utf-8-sig", newline="") as handle:
        rows = list(csv.reader(handle))
    if rows and [c.strip().lower() for c in rows[0][:2]] == ["signal_type", "signal_str"]:
        return _from_te_dataset(rows, source, category)
    match = _TE_FILE.search(path.name)
    type_name = match.group(1).lower() if match else ""
    if type_name not in _TE_TYPES:
        if match:  # a non-media signal type (URLs, text): nothing for a media bank
            return EntryColumns(ENTRY_SCHEMA.empty_table(), skipped=len(rows))
        raise BankError(
            f"{source}: cannot tell the signal type; name the file simple.<TYPE>.te as ThreatExchange does "
            "(e.g. simple.HASH_PDQ.te) or export it with `threatexchange dataset -P --csv`"
        )
    algo = _TE_TYPES[type_name]
    width = 5 if with_indicator_id else 4
    out: list[tuple[str, str, str, str, str]] = []
    problems: list[RecordError] = []
    for line, row in enumerate(rows, start=1):
        if not row:
            continue
        if len(row) < width:
            problems.append(
                RecordError(f"expected {width} columns, found {len(row)}", source=source, line=line)
            )
            continue
        value = row[0].strip().lower()
        if not re.fullmatch(f"[0-9a-f]{{{HEX_LENGTH[algo]}}}", value):
            problems.append(
                RecordError(f"not a {algo} hash: {row[0]!r}", source=source, line=line, field="indicator")
            )
            continue
        entry_id = row[1] if with_indicator_id else f"te-descriptor:{row[1]}"
        out.append((entry_id, str(algo), value, str(category), row[width - 1]))
    if problems:
        raise BankFileError(source, problems)
    return _columns(out)


def _from_te_dataset(rows: list[list[str]], source: str, category: BankCategory) -> EntryColumns:
    header = [c.strip().lower() for c in rows[0]]
    at = {
        name: header.index(name)
        for name in ("signal_type", "signal_str", "collab", "category", "tags")
        if name in header
    }
    out: list[tuple[str, str, str, str, str]] = []
    problems: list[RecordError] = []
    skipped = 0
    for line, row in enumerate(rows[1:], start=2):
        if not row:
            continue
        algo = _TE_TYPES.get(row[at["signal_type"]].strip().lower())
        if algo is None:
            skipped += 1
            continue
        value = row[at["signal_str"]].strip().lower()
        if not re.fullmatch(f"[0-9a-f]{{{HEX_LENGTH[algo]}}}", value):
            problems.append(
                RecordError(f"not a {algo} hash: {value!r}", source=source, line=line, field="signal_str")
            )
            continue
        note = " ".join(
            f"{name}={row[at[name]]}"
            for name in ("collab", "category", "tags")
            if name in at and row[at[name]]
        )
        out.append((f"{algo}:{value}", str(algo), value, str(category), note))
    if problems:
        raise BankFileError(source, problems)
    return _columns(out, skipped=skipped)


def _columns(rows: list[tuple[str, str, str, str, str]], *, skipped: int = 0) -> EntryColumns:
    if not rows:
        return EntryColumns(ENTRY_SCHEMA.empty_table(), skipped=skipped)
    return EntryColumns(pa.table(list(zip(*rows, strict=True)), schema=ENTRY_SCHEMA), skipped=skipped)


def write_csv(columns: EntryColumns, out: Path | io.TextIOBase) -> int:
    """Write entries as cordon's bank CSV (one row per id and hash; a video's frames share the id).
    Returns the number of rows written. The result reads back with `read_csv` to the same entries."""
    entries = columns.table  # noqa: F841 - referenced by name in the SQL below
    hash_cols = ", ".join(
        f"coalesce(max(value) FILTER (WHERE algo = '{algo}'), '') AS {algo}" for algo in CSV_HASH_COLUMNS
    )
    query = f"""
        SELECT entry_id AS id, {hash_cols}, category, note FROM (
            SELECT *, row_number() OVER (PARTITION BY entry_id, algo, category, note ORDER BY value) AS k
            FROM entries)
        GROUP BY entry_id, category, note, k ORDER BY entry_id, k, category, note"""
    with duckdb.connect() as con:
        table = con.sql(query).to_arrow_table()
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")  # RFC 4180; and CR in a note gets quoted
    writer.writerow(table.column_names)
    writer.writerows(zip(*(table.column(c).to_pylist() for c in table.column_names), strict=True))
    if isinstance(out, Path):
        out.write_text(buffer.getvalue(), encoding="utf-8", newline="")
    else:
        out.write(buffer.getvalue())
    return int(table.num_rows)
