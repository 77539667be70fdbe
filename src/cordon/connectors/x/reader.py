"""Read X API v2 data as twarc2 saves it into `RecordBatch`es: response pages (`twarc2 search`, `timeline`,
`followers`...) or flattened tweets and users (`twarc2 flatten`), one JSON object per line.

Pages are flattened with twarc's own `ensure_flattened` and each tweet or user is then checked against the
schema Structs; flattened lines are decoded straight into them. A bad line, page, tweet or user is
quarantined with file, line, field and reason; everything else in the page goes on.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import msgspec

from cordon.connectors import lines
from cordon.connectors.batching import BatchBuilder
from cordon.connectors.x import mapping
from cordon.connectors.x.schema import FlatUserS, PageS, TweetS
from cordon.errors import ConfigError, RecordError, UnknownFormatError
from cordon.model import Cursor, Quarantined, RecordBatch

SUFFIXES = frozenset({".jsonl", ".json", ".ndjson", ".jsonlines"})
PROBE_RECORDS = 20  # leading records `file_kind` may look at: a bad first line must not hide a good file
_RAW_EMPTY = msgspec.Raw()


def _raw() -> msgspec.Raw:
    return _RAW_EMPTY


class _Probe(msgspec.Struct):
    """Which top-level keys a record has (values are skipped, not decoded)."""

    data: msgspec.Raw = msgspec.field(default_factory=_raw)
    includes: msgspec.Raw = msgspec.field(default_factory=_raw)
    meta: msgspec.Raw = msgspec.field(default_factory=_raw)
    twarc: msgspec.Raw = msgspec.field(default_factory=_raw, name="__twarc")
    id: msgspec.Raw = msgspec.field(default_factory=_raw)
    text: msgspec.Raw = msgspec.field(default_factory=_raw)
    author_id: msgspec.Raw = msgspec.field(default_factory=_raw)
    edit_history_tweet_ids: msgspec.Raw = msgspec.field(default_factory=_raw)
    username: msgspec.Raw = msgspec.field(default_factory=_raw)
    name: msgspec.Raw = msgspec.field(default_factory=_raw)
    public_metrics: msgspec.Raw = msgspec.field(default_factory=_raw)


_PROBE = msgspec.json.Decoder(_Probe)
_TWEET = msgspec.json.Decoder(TweetS)
_USER = msgspec.json.Decoder(FlatUserS)
_ANY = msgspec.json.Decoder()


def kind_of(data: bytes, *, strict: bool = False) -> str | None:
    """'page', 'tweet' or 'user' for one record; `strict` asks for the marks of twarc/X output (sniffing).

    Raises msgspec errors for a record that is not a JSON object.
    """
    p = _PROBE.decode(data)
    if p.data:
        return "page" if not strict or p.includes or p.meta or p.twarc else None
    if p.username and not p.text:
        return "user" if not strict or (p.name and (p.twarc or p.public_metrics)) else None
    if p.id:
        return (
            "tweet" if not strict or p.author_id or p.edit_history_tweet_ids or (p.twarc and p.text) else None
        )
    return None


def file_kind(path: Path) -> str | None:
    """The kind of the first recognisable record among a file's first PROBE_RECORDS, or None."""
    if path.suffix.lower() not in SUFFIXES:
        return None
    try:
        for n, rec in enumerate(lines.iter_records(path)):
            try:
                kind = kind_of(rec.data, strict=True)
            except (msgspec.DecodeError, msgspec.ValidationError, RecursionError):
                kind = None
            if kind is not None or n + 1 >= PROBE_RECORDS:
                return kind
    except lines.BadArrayEnd:
        return None
    return None


def _flatten(page: dict[str, Any]) -> list[Any]:
    try:
        from twarc.expansions import ensure_flattened  # noqa: PLC0415 - optional: only pages need it
    except ModuleNotFoundError as exc:
        raise ConfigError(
            "reading X API v2 response pages needs twarc: pip install 'cordon[x]' (flattened tweets do not)"
        ) from exc
    return list(ensure_flattened(page))


class _LineReader:
    """Maps the records of one file; remembers mapped users across lines."""

    def __init__(self, source: str) -> None:
        self.source = source
        self.users = mapping.AccountCache()

    def handle(self, rec: lines.RawRecord, out: BatchBuilder) -> None:
        kind = kind_of(rec.data)
        if kind == "tweet":
            self._tweet(_TWEET.decode(rec.data), out)
        elif kind == "user":
            self._user(_USER.decode(rec.data), out, "")
        elif kind == "page":
            self._page(rec, out)
        else:
            raise RecordError(
                "not X API v2 data: expected a response page (`data`), a tweet (`id`) or a user (`username`)",
                field="$",
            )

    def _tweet(self, t: TweetS, out: BatchBuilder) -> None:
        records = mapping.tweet(t, self.users)
        out.add(accounts=records.accounts, posts=records.posts, edges=records.edges)

    def _user(self, u: FlatUserS, out: BatchBuilder, page_url: str) -> None:
        mapped = mapping.account(u)
        if mapped is None:
            missing = "$.id" if u.id is None else "$.name"
            raise RecordError(f"user has no `{missing[2:]}`", record_id=u.id, field=missing)
        url = page_url or (u.twarc.url if u.twarc else "")
        edge = mapping.follow_edge(url, mapped.id) if url else None
        out.add(accounts=(mapped,), edges=(edge,) if edge else ())

    def _page(self, rec: lines.RawRecord, out: BatchBuilder) -> None:
        page = _ANY.decode(rec.data)
        meta = msgspec.convert(page, PageS)
        items = page["data"]
        if isinstance(items, dict):
            items = [items]
        if not isinstance(items, list):
            raise RecordError("`data` must be a list of tweets or users, or one tweet", field="$.data")
        includes = page.get("includes")
        if includes is None:
            includes = page["includes"] = {}
        if not isinstance(includes, dict):
            raise RecordError("`includes` must be an object", field="$.includes")
        users = includes.get("users") or []
        if not isinstance(users, list):
            raise RecordError("`includes.users` must be a list of users", field="$.includes.users")
        for i, user in enumerate(users):
            self._guarded(rec, out, f"$.includes.users[{i}]", user, "user", "")
        good = [i for i, item in enumerate(items) if isinstance(item, dict)]
        for i in sorted(set(range(len(items))) - set(good)):
            out.reject(self._nested(rec, f"$.data[{i}]", RecordError("not an object", field="$"), items[i]))
        page["data"] = [items[i] for i in good]
        try:
            flat = _flatten(page)
        except (ValueError, KeyError, TypeError, AttributeError):
            flat = self._flatten_each(rec, out, good)
        page_url = meta.twarc.url if meta.twarc else ""
        for i, item in zip(good, flat, strict=True):
            if item is None:
                continue  # quarantined by _flatten_each
            kind = "user" if "username" in item and "text" not in item else "tweet"
            self._guarded(rec, out, f"$.data[{i}]", item, kind, page_url)

    def _flatten_each(self, rec: lines.RawRecord, out: BatchBuilder, good: list[int]) -> list[Any]:
        """twarc could not flatten the page: flatten its items one by one (each from a fresh decode, since
        twarc expands in place) to quarantine only the ones it cannot."""
        flat: list[Any] = []
        for i in good:
            page = _ANY.decode(rec.data)
            items = page["data"] if isinstance(page["data"], list) else [page["data"]]
            item = items[i]
            page["data"] = [item]
            page["includes"] = page.get("includes") or {}
            try:
                (one,) = _flatten(page)
            except (ValueError, KeyError, TypeError, AttributeError) as exc:
                reason = f"twarc cannot flatten this item ({type(exc).__name__}: {exc})"
                out.reject(self._nested(rec, f"$.data[{i}]", RecordError(reason, field="$"), item))
                one = None
            flat.append(one)
        return flat

    def _guarded(
        self, rec: lines.RawRecord, out: BatchBuilder, at: str, item: Any, kind: str, page_url: str
    ) -> None:
        try:
            if kind == "user":
                self._user(msgspec.convert(item, FlatUserS), out, page_url)
            else:
                self._tweet(msgspec.convert(item, TweetS), out)
        except (msgspec.ValidationError, RecordError) as exc:
            out.reject(self._nested(rec, at, exc, item))

    def _nested(self, rec: lines.RawRecord, at: str, exc: Exception, item: Any) -> Quarantined:
        """A quarantine entry for one item of a page: its field path inside the page, its own id and JSON."""
        q = lines.quarantine_for(self.source, rec, exc)
        field = at + (q.field or "$")[1:]
        item_id = item.get("id") if isinstance(item, dict) else None
        record_id = q.record_id if isinstance(exc, RecordError) and q.record_id else item_id
        try:
            raw = msgspec.json.encode(item)[: lines.RAW_LIMIT].decode("utf-8", "replace")
        except (TypeError, msgspec.EncodeError):
            raw = q.raw
        return replace(q, field=field, record_id=None if record_id is None else str(record_id), raw=raw)


class XConnector:
    """X API v2 JSON as saved by twarc2: response pages or flattened tweets/users; a file or a folder."""

    name = "x"

    def __init__(self, *, progress: bool | None = None) -> None:
        self.progress = sys.stderr.isatty() if progress is None else progress

    def files(self, path: Path) -> list[Path]:
        """The files to read under `path`, in reading order (a folder: its X files, by name)."""
        if path.is_dir():
            return [f for f in sorted(path.iterdir()) if f.is_file() and file_kind(f) is not None]
        return [path]

    def sniff(self, path: Path) -> bool:
        if path.is_dir():
            return any(f.is_file() and file_kind(f) is not None for f in sorted(path.iterdir()))
        return path.is_file() and file_kind(path) is not None

    def read(
        self, path: Path, *, start: Cursor | None = None, batch_size: int = 10_000
    ) -> Iterator[RecordBatch]:
        files = self.files(path)
        if path.is_file() and file_kind(path) is None and lines.has_records(path):
            raise UnknownFormatError(
                f"{path}: not X API v2 JSON as twarc2 saves it (response pages with `data` and "
                "`includes`, or flattened tweets); pass --format to choose another"
            )
        names = [str(f) for f in files]
        skip_to = names.index(start.source) if start is not None and start.source in names else 0
        for idx, file in enumerate(files[skip_to:], start=skip_to):
            resume = start if start is not None and idx == skip_to and start.source == str(file) else None
            yield from lines.read_file(file, _LineReader(str(file)).handle, resume, batch_size, self.progress)
