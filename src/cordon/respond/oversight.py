"""Read-only views for oversight: pages of the audit chain, and what was done about a case (preservations,
actions, reports) as the state store records it."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from pathlib import PurePath

from sqlalchemy import bindparam, select

from cordon.respond.audit import AuditEntry
from cordon.respond.state.store import StateStore, utc
from cordon.respond.state.tables import ActionRow, AuditRow, PreservationRow, ReportRow


def audit_page(
    store: StateStore, *, after: int = 0, limit: int = 100, subject: str | None = None
) -> tuple[AuditEntry, ...]:
    """Audit entries after sequence number `after` (oldest first), optionally about one subject."""
    query = select(AuditRow).where(AuditRow.seq > after)
    if subject is not None:
        query = query.where(AuditRow.subject == subject)
    with store.session() as s:
        rows = s.scalars(query.order_by(AuditRow.seq).limit(limit)).all()
        return tuple(
            AuditEntry(
                r.seq,
                datetime.fromisoformat(r.at),
                r.actor,
                r.action,
                r.subject,
                r.detail,
                r.prev_hash,
                r.hash,
            )
            for r in rows
        )


@dataclass(frozen=True, slots=True)
class PreservationRecord:
    id: str
    mode: str
    created_at: datetime
    created_by: str
    verified: bool


@dataclass(frozen=True, slots=True)
class ActionRecord:
    adapter: str
    kind: str
    target: str
    dry_run: bool
    status: str
    at: datetime
    actor: str


@dataclass(frozen=True, slots=True)
class ReportRecord:
    id: str
    kind: str
    status: str
    external_id: str
    created_at: datetime
    created_by: str
    approved_by: str
    file: str = ""  # an export's zip file name (download it from the case)


@dataclass(frozen=True, slots=True)
class ResponseRecords:
    """What has been done about a case: preservations, actions, reports (newest first)."""

    preservations: tuple[PreservationRecord, ...]
    actions: tuple[ActionRecord, ...]
    reports: tuple[ReportRecord, ...]


_PRESERVATIONS = (
    select(PreservationRow.id, PreservationRow.mode, PreservationRow.created_at, PreservationRow.created_by,
           PreservationRow.verified_at)
    .where(PreservationRow.case_id == bindparam("case_id"))
    .order_by(PreservationRow.created_at.desc())
)  # fmt: skip
_ACTIONS = (
    select(ActionRow.adapter, ActionRow.kind, ActionRow.target, ActionRow.dry_run, ActionRow.status, ActionRow.at,
           ActionRow.actor)
    .where(ActionRow.case_id == bindparam("case_id"))
    .order_by(ActionRow.at.desc())
    .limit(500)
)  # fmt: skip
_REPORTS = (
    select(ReportRow.id, ReportRow.kind, ReportRow.status, ReportRow.external_id, ReportRow.created_at,
           ReportRow.created_by, ReportRow.approved_by, ReportRow.body)
    .where(ReportRow.case_id == bindparam("case_id"))
    .order_by(ReportRow.created_at.desc())
)  # fmt: skip


def response_records(store: StateStore, case_id: str) -> ResponseRecords:
    with store.reading() as c:  # read on every case page: Core rows, one connection
        pres = c.execute(_PRESERVATIONS, {"case_id": case_id}).all()
        acts = c.execute(_ACTIONS, {"case_id": case_id}).all()
        reps = c.execute(_REPORTS, {"case_id": case_id}).all()
        return ResponseRecords(
            tuple(PreservationRecord(p.id, p.mode, utc(p.created_at), p.created_by, p.verified_at is not None)
                  for p in pres),
            tuple(ActionRecord(a.adapter, a.kind, a.target, a.dry_run, a.status, utc(a.at), a.actor) for a in acts),
            tuple(ReportRecord(r.id, r.kind, r.status, r.external_id, utc(r.created_at), r.created_by,
                               r.approved_by, _export_file(r.kind, r.body)) for r in reps),
        )  # fmt: skip


def _export_file(kind: str, body: str) -> str:
    if not kind.endswith("-export") or not body.startswith("{"):
        return ""
    try:
        zip_path = json.loads(body).get("zip", "")
    except ValueError:
        return ""
    return PurePath(zip_path).name if isinstance(zip_path, str) else ""
