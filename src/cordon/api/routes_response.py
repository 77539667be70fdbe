"""Evidence, the action gate, network actions, holds and exports on a case (cordon.app.service_response)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Path, Query
from fastapi.responses import FileResponse

from cordon.api.deps import ServiceDep, reader, writer
from cordon.api.routes_cases import NO_STORE, CaseId
from cordon.api.schemas import (
    ERRORS,
    ActionResultOut,
    ActRequest,
    ExportOut,
    ExportRequest,
    GateOut,
    HoldOut,
    HoldRequest,
    OutcomeOut,
    OverrideOut,
    OverrideRequest,
    PreservationOut,
    PreserveRequest,
    ReportOut,
)
from cordon.app import service_response as desk
from cordon.app.reports import ReportView
from cordon.app.response import NetworkActionResult
from cordon.respond.access import Permission, Principal
from cordon.respond.export import ExportResult
from cordon.respond.holds import Hold

router = APIRouter(prefix="/api/v1", tags=["response"], responses=ERRORS)

CaseReader = Annotated[Principal, Depends(reader(Permission.CASE_READ))]
Preserver = Annotated[Principal, Depends(writer(Permission.CASE_PRESERVE))]
Overrider = Annotated[Principal, Depends(writer(Permission.GATE_OVERRIDE))]
Actor = Annotated[Principal, Depends(writer(Permission.CASE_ACT))]
HoldWriter = Annotated[Principal, Depends(writer(None))]  # app.response checks the hold permissions
Reporter = Annotated[Principal, Depends(writer(Permission.REPORT_BUILD))]
ReportReader = Annotated[Principal, Depends(reader(Permission.REPORT_BUILD))]
ExportName = Annotated[
    str, Path(pattern=r"^[A-Za-z0-9._:-]{1,160}\.zip$", description="an export's file name")
]


@router.post("/cases/{case_id}/preservations", response_model=PreservationOut, status_code=201)
def preserve(
    case_id: CaseId, body: PreserveRequest, svc: ServiceDep, principal: Preserver
) -> PreservationOut:
    """Write, sign, verify and record a preservation package of the case (needed before any action)."""
    r = desk.preserve(svc, case_id, principal, body.mode)
    return PreservationOut(package_id=r.package_id, case_id=r.case_id, mode=r.mode, files=r.files,
                           media=r.media, verified=r.verified)  # fmt: skip


@router.get("/cases/{case_id}/gate", response_model=GateOut)
def gate(case_id: CaseId, svc: ServiceDep, principal: CaseReader) -> GateOut:
    """May an action go ahead now? The latest package's signature and digests are verified again."""
    g = desk.gate(svc, case_id, principal)
    return GateOut(open=g.open, kind=g.kind, ref=g.ref, detail=g.detail)


@router.post("/cases/{case_id}/gate/override", response_model=OverrideOut, status_code=201)
def override(case_id: CaseId, body: OverrideRequest, svc: ServiceDep, principal: Overrider) -> OverrideOut:
    """Admin: let actions go ahead without a verified preservation, for a logged reason (24 hours)."""
    return OverrideOut(case_id=case_id, event_seq=desk.override(svc, case_id, principal, body.reason))


@router.post("/cases/{case_id}/actions", response_model=ActionResultOut, status_code=201)
def act(case_id: CaseId, body: ActRequest, svc: ServiceDep, principal: Actor) -> ActionResultOut:
    """One decision on every member of a confirmed, preserved case; a dry run unless `dry_run` is false."""
    result = desk.act(
        svc, case_id, principal, body.verb, dry_run=body.dry_run, roles=body.roles, note=body.note
    )
    return action_out(result)


def action_out(r: NetworkActionResult) -> ActionResultOut:
    return ActionResultOut(
        case_id=r.case_id, verb=r.verb.value, adapter=r.adapter, dry_run=r.dry_run, gate=r.gate.ref,
        counts=r.counts,
        outcomes=[OutcomeOut(account_id=o.target.account_id, role=o.target.role, status=o.status.value,
                             detail=o.detail) for o in r.outcomes],
    )  # fmt: skip


@router.get("/cases/{case_id}/holds", response_model=list[HoldOut])
def holds(case_id: CaseId, svc: ServiceDep, principal: CaseReader) -> list[HoldOut]:
    return [hold_out(h) for h in desk.holds(svc, case_id, principal)]


@router.post("/cases/{case_id}/holds", response_model=HoldOut, status_code=201)
def place_hold(case_id: CaseId, body: HoldRequest, svc: ServiceDep, principal: HoldWriter) -> HoldOut:
    """NCMEC (one year), police (90 days), its one 90-day extension (`extends` the police hold) or voluntary."""
    hold = desk.place_hold(svc, case_id, principal, body.kind, reference=body.reference, days=body.days,
                           extends=body.extends)  # fmt: skip
    return hold_out(hold)


@router.get("/holds/alerts", response_model=list[HoldOut])
def hold_alerts(
    svc: ServiceDep,
    principal: CaseReader,
    within_days: Annotated[int, Query(ge=1, le=365)] = 14,
) -> list[HoldOut]:
    """Active holds that run out within `within_days`: each needs a decision (extend, or let it lapse)."""
    return [hold_out(h) for h in desk.hold_alerts(svc, principal, within_days)]


def hold_out(h: Hold) -> HoldOut:
    return HoldOut(id=h.id, case_id=h.case_id, kind=h.kind.value, starts_at=h.starts_at, expires_at=h.expires_at,
                   reference=h.reference, created_by=h.created_by)  # fmt: skip


@router.post("/cases/{case_id}/exports", response_model=ExportOut, status_code=201)
def export(case_id: CaseId, body: ExportRequest, svc: ServiceDep, principal: Reporter) -> ExportOut:
    """A zip for the police or a hotline: the verified package and the case's records, signed manifest."""
    return export_out(case_id, desk.export(svc, case_id, principal, recipient=body.recipient,
                                           include_media=body.include_media))  # fmt: skip


def export_out(case_id: str, r: ExportResult) -> ExportOut:
    return ExportOut(name=r.path.name, sha256=r.sha256, manifest_sha256=r.manifest_sha256, files=r.files,
                     withheld=r.withheld, url=f"/api/v1/cases/{case_id}/exports/{r.path.name}")  # fmt: skip


@router.get(
    "/cases/{case_id}/exports/{name}",
    response_class=FileResponse,
    responses={200: {"content": {"application/zip": {}}, "description": "the export zip (download audited)"}},
)
def export_download(
    case_id: CaseId, name: ExportName, svc: ServiceDep, principal: ReportReader
) -> FileResponse:
    path = desk.export_file(svc, case_id, principal, name)
    return FileResponse(path, media_type="application/zip", filename=name, headers=NO_STORE)


# -- NCMEC CyberTipline reports ----------------------------------------------------------------------------
ReportId = Annotated[str, Path(pattern=r"^ncmec-[0-9a-f]{24}$", description="a report id")]
Approver = Annotated[Principal, Depends(writer(Permission.REPORT_APPROVE))]


@router.post("/cases/{case_id}/reports", response_model=ReportOut, status_code=201, tags=["reports"])
def draft_report(case_id: CaseId, svc: ServiceDep, principal: Reporter) -> ReportOut:
    """Draft a CyberTipline report from the case's verified package (validated against NCMEC's XSD)."""
    return report_out(desk.draft_report(svc, case_id, principal))


@router.get("/reports/{report_id}", response_model=ReportOut, tags=["reports"])
def get_report(report_id: ReportId, svc: ServiceDep, principal: CaseReader) -> ReportOut:
    return report_out(desk.report_view(svc, report_id, principal))


@router.post("/reports/{report_id}/approve", response_model=ReportOut, tags=["reports"])
def approve_report(report_id: ReportId, svc: ServiceDep, principal: Approver) -> ReportOut:
    """Approve the exact XML of a draft (by default not by the person who drafted it)."""
    return report_out(desk.approve_report(svc, report_id, principal))


@router.post("/reports/{report_id}/submit", response_model=ReportOut, tags=["reports"])
def submit_report(report_id: ReportId, svc: ServiceDep, principal: Reporter) -> ReportOut:
    """Send an approved report to NCMEC: submit, upload the preserved copies with their details, finish."""
    return report_out(desk.submit_report(svc, report_id, principal))


@router.post("/reports/{report_id}/retract", response_model=ReportOut, tags=["reports"])
def retract_report(report_id: ReportId, svc: ServiceDep, principal: Reporter) -> ReportOut:
    return report_out(desk.retract_report(svc, report_id, principal))


def report_out(r: ReportView) -> ReportOut:
    return ReportOut(id=r.id, case_id=r.case_id, status=r.status, external_id=r.external_id,
                     created_at=r.created_at, created_by=r.created_by, approved_by=r.approved_by, sha256=r.sha256,
                     xml=r.xml, transcript=list(r.transcript))  # fmt: skip
