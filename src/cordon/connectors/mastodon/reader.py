"""Read Mastodon API JSON (JSON Lines or arrays) and the Mastodon export directory into `RecordBatch`es."""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import NamedTuple

import msgspec

from cordon.connectors import lines
from cordon.connectors.batching import BatchBuilder, ColumnSink
from cordon.connectors.mastodon import mapping
from cordon.connectors.mastodon.schema import AccountS, AdminAccountS, FollowS, ModerationS, StatusIn
from cordon.errors import UnknownFormatError
from cordon.model import Cursor, RecordBatch

# the export directory's files, in the order they are read (a cursor names the file it stopped in)
EXPORT_FILES = ("accounts.jsonl", "statuses.jsonl", "follows.jsonl", "moderation.jsonl")

_Handle = Callable[[lines.RawRecord, BatchBuilder], None]


class _Handler(NamedTuple):
    """How one file's records are mapped: `handle` each, into the batch builder or into `columns`."""

    handle: _Handle
    columns: ColumnSink | None = None


class _Probe(msgspec.Struct):
    """Just enough of a record to tell what it is."""

    id: str | int | None = None
    content: str | None = None
    text: str | None = None
    account: dict[str, object] | None = None
    username: str | None = None
    acct: str | None = None
    target_account_id: str | None = None
    action: str | None = None
    account_id: str | None = None


_PROBE = msgspec.json.Decoder(_Probe)


def _status_handler() -> _Handler:
    decode = msgspec.json.Decoder(StatusIn).decode
    columns = mapping.StatusColumns()
    add = columns.add

    def handle(rec: lines.RawRecord, out: BatchBuilder) -> None:
        add(decode(rec.data))
        out.count()

    return _Handler(handle, columns)


def _account_handler() -> _Handler:
    decode = msgspec.json.Decoder(AccountS).decode

    def handle(rec: lines.RawRecord, out: BatchBuilder) -> None:
        out.add(accounts=(mapping.account(decode(rec.data)),))

    return _Handler(handle)


def _admin_account_handler() -> _Handler:
    decode = msgspec.json.Decoder(AdminAccountS).decode

    def handle(rec: lines.RawRecord, out: BatchBuilder) -> None:
        out.add(accounts=(mapping.admin_account(decode(rec.data)),))

    return _Handler(handle)


def _follow_handler() -> _Handler:
    decode = msgspec.json.Decoder(FollowS).decode
    columns = mapping.FollowColumns()
    add = columns.add

    def handle(rec: lines.RawRecord, out: BatchBuilder) -> None:
        add(decode(rec.data))
        out.count()

    return _Handler(handle, columns)


def _moderation_handler() -> _Handler:
    decode = msgspec.json.Decoder(ModerationS).decode

    def handle(rec: lines.RawRecord, out: BatchBuilder) -> None:
        out.add(moderation=(mapping.moderation(decode(rec.data)),))

    return _Handler(handle)


_BY_EXPORT_NAME: dict[str, Callable[[], _Handler]] = {
    "accounts.jsonl": _account_handler,
    "statuses.jsonl": _status_handler,
    "follows.jsonl": _follow_handler,
    "moderation.jsonl": _moderation_handler,
}


# how many leading records `record_kind` may look at: a bad first line must not hide a good file
PROBE_RECORDS = 20


def _kind_of(data: bytes) -> str | None:
    try:
        p = _PROBE.decode(data)
    except (msgspec.DecodeError, msgspec.ValidationError, RecursionError):
        return None
    if p.account is not None and (p.content is not None or p.text is not None):
        return "status"  # a deleted status carries `text` (its source) instead of `content`
    if p.username is not None and p.acct is not None:
        return "account"
    if p.username is not None and p.account is not None:
        return "admin_account"
    if p.target_account_id is not None and p.account_id is not None:
        return "follow"
    if p.action is not None and p.account_id is not None:
        return "moderation"
    return None


def record_kind(path: Path) -> str | None:
    """'status', 'account', 'admin_account', 'follow' or 'moderation' from the first recognisable record
    among a file's first PROBE_RECORDS, or None."""
    try:
        for n, rec in enumerate(lines.iter_records(path)):
            kind = _kind_of(rec.data)
            if kind is not None or n + 1 >= PROBE_RECORDS:
                return kind
    except lines.BadArrayEnd:
        return None
    return None


_BY_KIND = {
    "status": _status_handler,
    "account": _account_handler,
    "admin_account": _admin_account_handler,
    "follow": _follow_handler,
    "moderation": _moderation_handler,
}


class MastodonConnector:
    """Mastodon REST API JSON: Status/Account entities, follow lists, and the Mastodon export directory."""

    name = "mastodon"

    def __init__(self, *, progress: bool | None = None) -> None:
        self.progress = sys.stderr.isatty() if progress is None else progress

    def sniff(self, path: Path) -> bool:
        if path.is_dir():
            return any((path / name).is_file() for name in EXPORT_FILES)
        return path.is_file() and record_kind(path) is not None

    def files(self, path: Path) -> list[tuple[Path, Callable[[], _Handler]]]:
        """The files to read under `path` with the handler for each, in reading order."""
        if path.is_dir():
            return [(path / n, _BY_EXPORT_NAME[n]) for n in EXPORT_FILES if (path / n).is_file()]
        kind = record_kind(path)
        if kind is None and path.is_file() and not lines.has_records(path):
            return []  # nothing to read: an empty list is valid API output of any kind
        if kind is None:
            raise UnknownFormatError(
                f"{path}: not Mastodon API JSON (expected Status, Account or Admin::Account entities, or "
                "follow or moderation records, as JSON Lines or an array); pass --format to choose another"
            )
        return [(path, _BY_KIND[kind])]

    def read(
        self, path: Path, *, start: Cursor | None = None, batch_size: int = 10_000
    ) -> Iterator[RecordBatch]:
        files = self.files(path)
        names = [str(f) for f, _ in files]
        skip_to = names.index(start.source) if start is not None and start.source in names else 0
        for idx, (file, make_handler) in enumerate(files):
            if idx < skip_to:
                continue
            resume = start if start is not None and idx == skip_to and start.source == str(file) else None
            handler = make_handler()
            yield from lines.read_file(
                file, handler.handle, resume, batch_size, self.progress, columns=handler.columns
            )

    def range_readable(self, source: Path, file: Path) -> bool:
        """Every JSON Lines file: each line is one entity or record (statuses carry their author)."""
        return file.is_file() and not lines.is_array_file(file)

    def read_range(
        self, source: Path, file: Path, start: int, stop: int, *, batch_size: int = 10_000
    ) -> Iterator[RecordBatch]:
        make_handler = dict(self.files(source))[file]
        handler = make_handler()
        resume = Cursor(str(file), start, 0)
        yield from lines.read_file(
            file, handler.handle, resume, batch_size, False, columns=handler.columns, stop=stop
        )
