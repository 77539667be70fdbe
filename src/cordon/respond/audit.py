"""The hash-chained, append-only audit log: every entry commits to the one before it.

Each entry's hash is SHA-256 over the previous entry's hash and the entry's canonical JSON (sorted keys, no
spaces, UTF-8). Changing, removing or reordering any entry breaks every hash after it, which
`verify_chain` reports with the first sequence number that no longer holds. The first entry chains to
`GENESIS` (64 zeros).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime

GENESIS = "0" * 64
Detail = Mapping[str, str | int | float | bool | None]


@dataclass(frozen=True, slots=True)
class AuditEntry:
    seq: int
    at: datetime
    actor: str
    action: str  # e.g. "media.reveal", "case.confirm", "preserve", "action.suspend", "report.finish"
    subject: str  # e.g. "case:case-1f2e…", "media:<sha256>"
    detail: str  # canonical JSON of the details
    prev_hash: str
    hash: str


@dataclass(frozen=True, slots=True)
class ChainVerdict:
    ok: bool
    entries: int
    first_bad_seq: int | None = None
    reason: str = ""


def canonical(detail: Detail) -> str:
    return json.dumps(dict(detail), sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def entry_hash(
    prev_hash: str, seq: int, at: datetime, actor: str, action: str, subject: str, detail: str
) -> str:
    body = json.dumps(
        [seq, at.isoformat(), actor, action, subject, detail], separators=(",", ":"), ensure_ascii=False
    )
    return hashlib.sha256(f"{prev_hash}\n{body}".encode()).hexdigest()


def make_entry(
    prev: AuditEntry | None, at: datetime, actor: str, action: str, subject: str, detail: Detail
) -> AuditEntry:
    """The entry that follows `prev` (or starts the chain)."""
    seq = prev.seq + 1 if prev else 1
    prev_hash = prev.hash if prev else GENESIS
    text = canonical(detail)
    return AuditEntry(
        seq,
        at,
        actor,
        action,
        subject,
        text,
        prev_hash,
        entry_hash(prev_hash, seq, at, actor, action, subject, text),
    )


def verify_chain(entries: Iterable[AuditEntry]) -> ChainVerdict:
    """Walk the chain in order; the first entry whose link or hash does not hold makes the verdict."""
    prev_hash, expected_seq, n = GENESIS, 1, 0
    for e in entries:
        n += 1
        if e.seq != expected_seq:
            return ChainVerdict(False, n, e.seq, f"sequence gap: expected {expected_seq}, found {e.seq}")
        if e.prev_hash != prev_hash:
            return ChainVerdict(False, n, e.seq, "link broken: prev_hash does not match the previous entry")
        if entry_hash(prev_hash, e.seq, e.at, e.actor, e.action, e.subject, e.detail) != e.hash:
            return ChainVerdict(False, n, e.seq, "entry altered: its hash does not match its content")
        prev_hash, expected_seq = e.hash, e.seq + 1
    return ChainVerdict(True, n)
