"""Response records: evidence, actions, reports (stdlib only)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime


@dataclass(frozen=True, slots=True)
class Evidence:
    """A preservation package of a case: a manifest of SHA-256 digests, signed."""

    case_id: str
    manifest_sha256: str
    signature: str  # Ed25519, hex
    created_at: datetime
    mode: str  # "copies" | "hashes-only"
    path: str


@dataclass(frozen=True, slots=True)
class Action:
    """An action taken (or dry-run) on an account or post through an adapter."""

    case_id: str
    adapter: str
    verb: str  # suspend, silence, delete-status, forward-flag, webhook
    target: str
    actor: str
    at: datetime
    dry_run: bool
    result: str = ""


@dataclass(frozen=True, slots=True)
class Report:
    """A report to NCMEC's CyberTipline (or a police/hotline export)."""

    case_id: str
    kind: str  # "ncmec" | "export"
    report_id: str | None
    status: str
    created_at: datetime
