"""The review queue, cases, decisions, media (blurred previews and logged reveals), audit, exposure, stats."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Annotated

import msgspec
from fastapi import APIRouter, Depends, Path, Query, Response

from cordon.api.deps import ServiceDep, reader, writer
from cordon.api.schemas import (
    ERRORS,
    AuditEntryOut,
    DecisionRequest,
    EventOut,
    ExposureOut,
    ImportOut,
    RevealOut,
    StatsOut,
    VerdictOut,
)
from cordon.app.reporting import CasesDocument
from cordon.app.service import CaseView, Service
from cordon.model import CaseLabel, CaseStatus
from cordon.respond import oversight, review
from cordon.respond.access import AccessDeniedError, Permission, Principal, require

router = APIRouter(prefix="/api/v1", tags=["review"], responses=ERRORS)

CaseId = Annotated[str, Path(pattern=r"^[A-Za-z0-9._:-]{1,64}$", description="a case id from the queue")]
Sha256 = Annotated[str, Path(pattern=r"^[0-9a-f]{64}$", description="the media item's lower-case SHA-256")]
NO_STORE = {"Cache-Control": "no-store", "X-Content-Type-Options": "nosniff"}


QueueReader = Annotated[Principal, Depends(reader(Permission.QUEUE_READ))]
CaseReader = Annotated[Principal, Depends(reader(Permission.CASE_READ))]
Previewer = Annotated[Principal, Depends(reader(Permission.MEDIA_PREVIEW))]
Revealer = Annotated[Principal, Depends(reader(Permission.MEDIA_REVEAL))]
RevealWriter = Annotated[Principal, Depends(writer(Permission.MEDIA_REVEAL))]
Triager = Annotated[Principal, Depends(writer(Permission.CASE_TRIAGE))]
Importer = Annotated[Principal, Depends(writer(Permission.CASES_IMPORT))]
ExposureReader = Annotated[Principal, Depends(reader(Permission.EXPOSURE_READ))]
AuditReader = Annotated[Principal, Depends(reader(Permission.AUDIT_READ))]
StatsReader = Annotated[Principal, Depends(reader(Permission.STATS_READ))]


@router.get("/queue", response_model=review.QueuePage, summary="Cases to review, highest priority first")
def queue(
    svc: ServiceDep,
    principal: QueueReader,
    status: Annotated[list[CaseStatus] | None, Query()] = None,
    label: CaseLabel | None = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
    offset: Annotated[int, Query(ge=0, le=10_000_000)] = 0,
) -> review.QueuePage:
    del principal
    statuses = frozenset(status) if status else review.OPEN_WORK
    return review.queue(svc.store, statuses=statuses, label=label, limit=limit, offset=offset)


@router.get("/cases/{case_id}", response_model=CaseView, summary="A case with its dossier and events")
def case(
    case_id: CaseId,
    svc: ServiceDep,
    principal: CaseReader,
    ties: Annotated[int, Query(ge=0, le=10_000_000, description="how many of the strongest ties")] = 1000,
) -> Response:
    del principal
    # msgspec encodes the (large) dossier several times faster than pydantic; the schema stays CaseView's
    body = msgspec.json.encode(svc.case_view(case_id, ties_limit=ties))
    return Response(body, media_type="application/json")


@router.post("/cases/{case_id}/decisions", response_model=EventOut, status_code=201)
def decide(
    case_id: CaseId,
    body: DecisionRequest,
    svc: ServiceDep,
    principal: Triager,
) -> EventOut:
    """Claim, escalate (triage); confirm, dismiss, second-review (review). Appended as a case event."""
    require(principal, review.DECISION_PERMISSION[body.decision])
    e = review.decide(svc.store, case_id, body.decision, principal.name, body.note)
    return EventOut(case_id=e.case_id, seq=e.seq, kind=e.kind, actor=e.actor, at=e.at, note=e.note)


@router.post("/cases/import", response_model=ImportOut, summary="Import a cases.json document")
def import_cases(
    body: CasesDocument,
    svc: ServiceDep,
    principal: Importer,
) -> ImportOut:
    result = svc.import_document(body, principal.name)
    return ImportOut(added=result.added, updated=result.updated, unchanged=result.unchanged,
                     rejected=list(result.rejected))  # fmt: skip


# -- media -----------------------------------------------------------------------------------------------
@router.get(
    "/cases/{case_id}/media/{sha256}/preview",
    response_class=Response,
    responses={200: {"content": {"image/png": {}}, "description": "blurred greyscale preview"}},
)
def preview(
    case_id: CaseId,
    sha256: Sha256,
    svc: ServiceDep,
    principal: Previewer,
) -> Response:
    """A blurred, greyscale stand-in for the item: coarse tones only. Not a view of the media."""
    del principal
    return Response(svc.preview(case_id, sha256), media_type="image/png", headers=NO_STORE)


@router.post("/cases/{case_id}/media/{sha256}/reveal", response_model=RevealOut, status_code=201)
def reveal(
    case_id: CaseId,
    sha256: Sha256,
    svc: ServiceDep,
    principal: RevealWriter,
) -> RevealOut:
    """Log a reveal (who, when, what) and allow the caller to fetch the item for a few minutes."""
    return reveal_item(svc, principal, case_id, sha256)


def reveal_item(svc: Service, principal: Principal, case_id: str, sha256: str) -> RevealOut:
    svc.check_media(case_id, sha256)
    entry = review.reveal(svc.store, principal.name, case_id, sha256)
    return RevealOut(
        case_id=case_id, sha256=sha256, actor=principal.name, at=entry.at, audit_seq=entry.seq,
        audit_hash=entry.hash, url=f"/api/v1/cases/{case_id}/media/{sha256}",
        expires_at=entry.at + timedelta(minutes=svc.settings.reveal_minutes),
    )  # fmt: skip


@router.get(
    "/cases/{case_id}/media/{sha256}",
    response_class=Response,
    responses={200: {"content": {"image/*": {}}, "description": "the media bytes, after a logged reveal"}},
)
def media(
    case_id: CaseId,
    sha256: Sha256,
    svc: ServiceDep,
    principal: Revealer,
) -> Response:
    """The item itself: only to a reviewer who revealed it (logged) in the last few minutes."""
    since = datetime.now(UTC) - timedelta(minutes=svc.settings.reveal_minutes)
    svc.check_media(case_id, sha256)
    if not review.revealed_since(svc.store, principal.name, case_id, sha256, since):
        raise AccessDeniedError(
            f"media {sha256} of case {case_id}: reveal it first (POST .../reveal); each reveal is logged"
        )
    data, media_type = svc.media_bytes(case_id, sha256)
    return Response(data, media_type=media_type, headers={**NO_STORE, "Content-Disposition": "inline"})


# -- oversight -------------------------------------------------------------------------------------------
@router.get("/exposure", response_model=ExposureOut, tags=["oversight"])
def exposure(
    svc: ServiceDep,
    principal: ExposureReader,
) -> ExposureOut:
    del principal
    return ExposureOut(reveals=svc.store.exposure())


@router.get("/audit", response_model=list[AuditEntryOut], tags=["oversight"])
def audit(
    svc: ServiceDep,
    principal: AuditReader,
    after: Annotated[int, Query(ge=0, le=2**62)] = 0,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    subject: Annotated[str | None, Query(max_length=256, pattern=r"^[^\x00]*$")] = None,
) -> list[AuditEntryOut]:
    del principal
    entries = oversight.audit_page(svc.store, after=after, limit=limit, subject=subject)
    return [
        AuditEntryOut(
            seq=e.seq,
            at=e.at,
            actor=e.actor,
            action=e.action,
            subject=e.subject,
            detail=e.detail,
            prev_hash=e.prev_hash,
            hash=e.hash,
        )
        for e in entries
    ]


@router.get("/audit/verify", response_model=VerdictOut, tags=["oversight"])
def verify(
    svc: ServiceDep,
    principal: AuditReader,
) -> VerdictOut:
    del principal
    v = svc.store.verify_audit()
    return VerdictOut(ok=v.ok, entries=v.entries, first_bad_seq=v.first_bad_seq, reason=v.reason)


@router.get("/stats", response_model=StatsOut, tags=["oversight"])
def stats(
    svc: ServiceDep,
    principal: StatsReader,
) -> StatsOut:
    del principal
    return StatsOut(cases_by_status=svc.stats())
