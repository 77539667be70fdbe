"""Read Bluesky Jetstream events (one JSON event per line) into `RecordBatch`es.

Read: posts, reposts, likes, follows and profiles (create and update), and `account` events of inactive
accounts (takedowns, suspensions, deletions) as moderation events. Skipped, and counted in
`JetstreamConnector.skipped`: deletes (cordon's records have no tombstones), other collections (blocks,
lists, third-party lexicons), `identity` events (their handle is remembered for later profiles of the same
DID in this run), and `account` events of active accounts. A bad event is quarantined with file, line,
field and reason; the rest goes on.
"""

from __future__ import annotations

import re
import sys
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
from typing import TypeVar

import msgspec

from cordon.connectors import lines
from cordon.connectors.batching import BatchBuilder
from cordon.connectors.bluesky import mapping
from cordon.connectors.bluesky.schema import (
    EventS,
    FollowRecordS,
    PostRecordS,
    ProfileRecordS,
    SubjectRecordS,
)
from cordon.errors import RecordError, UnknownFormatError
from cordon.model import Cursor, Quarantined, RecordBatch

SUFFIXES = frozenset({".jsonl", ".json", ".ndjson", ".jsonlines"})
PROBE_RECORDS = 20
KINDS = frozenset({"commit", "identity", "account"})
_HANDLE_LIMIT = 200_000  # handles remembered per run (DID -> handle from identity events)
_T = TypeVar("_T")
_AT = re.compile(r" - at `\$([^`]*)`$")
_MISSING = re.compile(r"missing required field `([^`]+)`")


class _Probe(msgspec.Struct):
    did: str | None = None
    time_us: int | None = None
    kind: str | None = None


class _LooseCommit(msgspec.Struct):
    collection: str = ""
    rkey: str = ""


class _LooseEvent(msgspec.Struct):
    """Just enough of a bad event to name it in the quarantine."""

    did: str = ""
    commit: _LooseCommit | None = None


_PROBE = msgspec.json.Decoder(_Probe)
_EVENT = msgspec.json.Decoder(EventS)
_LOOSE = msgspec.json.Decoder(_LooseEvent)
_POST = msgspec.json.Decoder(PostRecordS)
_SUBJECT = msgspec.json.Decoder(SubjectRecordS)
_FOLLOW = msgspec.json.Decoder(FollowRecordS)
_PROFILE = msgspec.json.Decoder(ProfileRecordS)


def is_event(data: bytes) -> bool:
    try:
        p = _PROBE.decode(data)
    except (msgspec.DecodeError, msgspec.ValidationError, RecursionError):
        return False
    return bool(p.did and p.did.startswith("did:")) and p.time_us is not None and p.kind in KINDS


def is_jetstream_file(path: Path) -> bool:
    """True when one of the first PROBE_RECORDS lines of a JSON Lines file is a Jetstream event."""
    if path.suffix.lower() not in SUFFIXES or lines.is_array_file(path):
        return False
    for n, rec in enumerate(lines.iter_records(path)):
        if is_event(rec.data):
            return True
        if n + 1 >= PROBE_RECORDS:
            return False
    return False


def loose_ref(data: bytes) -> str | None:
    """The AT URI (or DID) of an event that failed to decode, when that much can be read."""
    try:
        e = _LOOSE.decode(data)
    except (msgspec.DecodeError, msgspec.ValidationError, RecursionError):
        return None
    if e.commit is not None and e.commit.collection and e.commit.rkey:
        return mapping.at_uri(e.did, e.commit.collection, e.commit.rkey)
    return e.did or None


def _decode(decoder: msgspec.json.Decoder[_T], raw: msgspec.Raw, record_id: str) -> _T:
    """Decode a commit's record; a schema error names its field inside the event ($.commit.record...)."""
    if not raw:
        raise RecordError(
            "a create or update commit carries no record", record_id=record_id, field="$.commit.record"
        )
    try:
        return decoder.decode(raw)
    except msgspec.ValidationError as exc:
        message = str(exc)
        at = _AT.search(message)
        missing = _MISSING.search(message)
        path = "$.commit.record" + (at.group(1) if at else "") + (f".{missing.group(1)}" if missing else "")
        reason = message[: at.start()] if at else message
        raise RecordError(reason, record_id=record_id, field=path) from exc


class _EventReader:
    """Maps the events of a run; counts what it skips; remembers handles from identity events."""

    def __init__(self, skipped: Counter[str]) -> None:
        self.skipped = skipped
        self.handles: dict[str, str] = {}
        self._commit: dict[str, Callable[[EventS, str, msgspec.Raw, BatchBuilder], None]] = {
            mapping.POST: self._post,
            mapping.REPOST: self._repost,
            mapping.LIKE: self._like,
            mapping.FOLLOW: self._follow,
            mapping.PROFILE: self._profile,
        }

    def handle(self, data: bytes, out: BatchBuilder) -> None:
        e = _EVENT.decode(data)
        if not e.did.startswith("did:"):
            raise RecordError(f"expected a DID, got {e.did[:200]!r}", field="$.did")
        if e.kind == "commit":
            self._commit_event(e, out)
        elif e.kind == "identity":
            if e.identity is not None and e.identity.handle:
                if len(self.handles) >= _HANDLE_LIMIT:
                    self.handles.clear()
                self.handles[e.did] = e.identity.handle
            self._skip("identity", out)
        elif e.kind == "account":
            self._account_event(e, out)
        else:
            self._skip(f"kind:{e.kind}", out)

    def _skip(self, what: str, out: BatchBuilder) -> None:
        self.skipped[what] += 1
        out.add()  # counts toward the batch, so that the cursor moves past skipped events too

    def _commit_event(self, e: EventS, out: BatchBuilder) -> None:
        c = e.commit
        if c is None:
            raise RecordError("a commit event carries no `commit`", record_id=e.did, field="$.commit")
        handler = self._commit.get(c.collection)
        if handler is None or c.operation not in ("create", "update"):
            self._skip(f"commit:{c.collection}:{c.operation}", out)
            return
        handler(e, c.rkey, c.record, out)

    def _post(self, e: EventS, rkey: str, raw: msgspec.Raw, out: BatchBuilder) -> None:
        uri = mapping.at_uri(e.did, mapping.POST, rkey)
        records = mapping.post(e.did, rkey, _decode(_POST, raw, uri))
        out.add(posts=(records.post,), edges=records.edges)

    def _repost(self, e: EventS, rkey: str, raw: msgspec.Raw, out: BatchBuilder) -> None:
        uri = mapping.at_uri(e.did, mapping.REPOST, rkey)
        records = mapping.repost(e.did, rkey, _decode(_SUBJECT, raw, uri))
        out.add(posts=(records.post,), edges=records.edges)

    def _like(self, e: EventS, rkey: str, raw: msgspec.Raw, out: BatchBuilder) -> None:
        uri = mapping.at_uri(e.did, mapping.LIKE, rkey)
        out.add(edges=(mapping.like(e.did, rkey, _decode(_SUBJECT, raw, uri)),))

    def _follow(self, e: EventS, rkey: str, raw: msgspec.Raw, out: BatchBuilder) -> None:
        r = _decode(_FOLLOW, raw, mapping.at_uri(e.did, mapping.FOLLOW, rkey))
        out.add(edges=(mapping.follow(e.did, rkey, r.subject, r.createdAt),))

    def _profile(self, e: EventS, rkey: str, raw: msgspec.Raw, out: BatchBuilder) -> None:
        r = _decode(_PROFILE, raw, mapping.at_uri(e.did, mapping.PROFILE, rkey))
        out.add(accounts=(mapping.profile(e.did, r, self.handles.get(e.did, "")),))

    def _account_event(self, e: EventS, out: BatchBuilder) -> None:
        a = e.account
        if a is None:
            raise RecordError("an account event carries no `account`", record_id=e.did, field="$.account")
        at = a.time or _from_time_us(e.did, e.time_us)
        event = None if a.active else mapping.account_status(e.did, a.status, at)
        if event is None:
            self._skip(f"account:{'active' if a.active else a.status}", out)
            return
        out.add(moderation=(event,))


def _from_time_us(did: str, time_us: int) -> datetime:
    try:
        return datetime.fromtimestamp(time_us / 1_000_000, tz=UTC)
    except (OverflowError, ValueError, OSError):
        raise RecordError(
            f"time_us {time_us} is not a time (microseconds since 1970)", record_id=did, field="$.time_us"
        ) from None


class JetstreamConnector:
    """Bluesky Jetstream events as JSON Lines: a file, or a folder of such files (read by name)."""

    name = "bluesky"

    def __init__(self, *, progress: bool | None = None) -> None:
        self.progress = sys.stderr.isatty() if progress is None else progress
        self.skipped: Counter[str] = Counter()  # what the last read() skipped, by kind:collection:operation

    def files(self, path: Path) -> list[Path]:
        if path.is_dir():
            return [f for f in sorted(path.iterdir()) if f.is_file() and is_jetstream_file(f)]
        return [path]

    def sniff(self, path: Path) -> bool:
        if path.is_dir():
            return any(f.is_file() and is_jetstream_file(f) for f in sorted(path.iterdir()))
        return path.is_file() and is_jetstream_file(path)

    def read(
        self, path: Path, *, start: Cursor | None = None, batch_size: int = 10_000
    ) -> Iterator[RecordBatch]:
        if path.is_file() and not is_jetstream_file(path) and lines.has_records(path):
            raise UnknownFormatError(
                f"{path}: not Bluesky Jetstream events (JSON Lines of {{did, time_us, kind, commit}}); "
                "pass --format to choose another"
            )
        self.skipped = Counter()
        reader = _EventReader(self.skipped)
        files = self.files(path)
        names = [str(f) for f in files]
        skip_to = names.index(start.source) if start is not None and start.source in names else 0
        for idx, file in enumerate(files[skip_to:], start=skip_to):
            resume = start if start is not None and idx == skip_to and start.source == str(file) else None
            yield from lines.read_file(file, lambda rec, out: reader.handle(rec.data, out), resume, batch_size,
                                       self.progress, name=_named)  # fmt: skip


def _named(q: Quarantined, rec: lines.RawRecord) -> Quarantined:
    return replace(q, record_id=q.record_id or loose_ref(rec.data))
