"""The preservation gate: no action on a case before its evidence is preserved and the package verifies.

A case passes when its newest preservation package was made after the case's dossier was last imported
(a re-analysis can add members that the older package does not hold) and still verifies against the signing
key now. Otherwise only an admin's override opens the gate: a `gate-override` case event with the reason,
valid for OVERRIDE_TTL and only for the dossier it was given for. Either way the gate names what it rests on,
and the action's audit entries carry it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from sqlalchemy import select
from sqlalchemy.orm import Session

from cordon.errors import ResponseError
from cordon.respond.evidence import Package, verify_package
from cordon.respond.state.store import StateStore, utc
from cordon.respond.state.tables import CaseEventRow, CaseRow, PreservationRow

OVERRIDE_TTL = timedelta(hours=24)
OVERRIDE_EVENT = "gate-override"


class GateRefusedError(ResponseError):
    """No verified preservation of the case's current dossier, and no admin override."""


@dataclass(frozen=True, slots=True)
class PreservationRef:
    id: str
    case_id: str
    mode: str
    path: Path
    key_id: str
    created_at: datetime
    created_by: str
    verified_at: datetime | None


@dataclass(frozen=True, slots=True)
class Gate:
    kind: str  # "preserved" | "override"
    ref: str  # the package id, or "override:<event seq>"
    detail: str


def record_preservation(
    store: StateStore,
    s: Session,
    package: Package,
    actor: str,
    *,
    created_at: datetime,
    verified_at: datetime | None,
) -> None:
    """The package's row, a `preserved` case event and an audit entry, in the caller's transaction."""
    s.add(
        PreservationRow(
            id=package.id, case_id=package.case_id, mode=package.mode, path=str(package.path),
            key_id=package.key_id, created_at=created_at, created_by=actor, verified_at=verified_at,
        )
    )  # fmt: skip
    s.flush()
    store.append_event(s, package.case_id, "preserved", actor, f"package {package.id} ({package.mode})")
    store.audit(s, actor, "evidence.preserve", f"case:{package.case_id}",
                {"package": package.id, "mode": package.mode, "files": len(package.files),
                 "key_id": package.key_id, "verified": verified_at is not None})  # fmt: skip


def latest_preservation(s: Session, case_id: str) -> PreservationRef | None:
    row = s.scalars(
        select(PreservationRow)
        .where(PreservationRow.case_id == case_id)
        .order_by(PreservationRow.created_at.desc(), PreservationRow.id)
        .limit(1)
    ).first()
    if row is None:
        return None
    return PreservationRef(
        row.id, row.case_id, row.mode, Path(row.path), row.key_id, utc(row.created_at), row.created_by,
        utc(row.verified_at) if row.verified_at else None,
    )  # fmt: skip


def _imported_at(s: Session, case_id: str) -> datetime:
    found = s.scalar(select(CaseRow.imported_at).where(CaseRow.id == case_id))
    if found is None:
        raise ResponseError(f"case {case_id[:80]} does not exist; import it with `cordon cases import`")
    return utc(found)


def check_gate(store: StateStore, case_id: str, public: Ed25519PublicKey, now: datetime) -> Gate:
    """What lets an action on the case go ahead, or GateRefusedError saying what is missing."""
    with store.session() as s:
        imported = _imported_at(s, case_id)
        latest = latest_preservation(s, case_id)
        override = s.scalars(
            select(CaseEventRow)
            .where(CaseEventRow.case_id == case_id, CaseEventRow.kind == OVERRIDE_EVENT)
            .order_by(CaseEventRow.seq.desc())
            .limit(1)
        ).first()
    why = "no preservation package"
    if latest is not None and latest.created_at < imported:
        why = f"package {latest.id[:16]} predates the dossier imported at {imported.isoformat()}"
    elif latest is not None:
        verdict = verify_package(latest.path, public)
        if verdict.ok:
            with store.session() as s:
                row = s.get(PreservationRow, latest.id)
                if row is not None:
                    row.verified_at = now
            return Gate("preserved", latest.id, f"package {latest.id} verified at {now.isoformat()}")
        why = f"package {latest.id[:16]} does not verify: {'; '.join(verdict.problems[:3])}"
    if override is not None:
        at = utc(override.at)
        if at >= imported and now - at <= OVERRIDE_TTL:
            return Gate(
                "override", f"override:{override.seq}",
                f"admin {override.actor} overrode the gate at {at.isoformat()}: {override.note}",
            )  # fmt: skip
    raise GateRefusedError(
        f"case {case_id}: no action before the evidence is preserved ({why}); preserve the case "
        "(`cordon preserve`), or an admin overrides the gate with a reason"
    )


def record_override(store: StateStore, case_id: str, actor: str, reason: str) -> int:
    """An admin's override of the gate for the current dossier (a case event, hence audited)."""
    reason = reason.strip()
    if len(reason) < 10 or "\x00" in reason:
        raise GateRefusedError(f"case {case_id}: an override needs a reason of at least 10 characters")
    with store.session() as s:
        _imported_at(s, case_id)
        return store.append_event(s, case_id, OVERRIDE_EVENT, actor, reason).seq
