"""The case page's response forms: preserve, override the gate, act (a dry run by default), holds, exports.

Plain forms with POST-redirect-GET back to the case's response section; refusals (no preservation yet, a case
not confirmed, a role without the permission) come back as the error page that names what is missing.
"""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Form, Path
from fastapi.responses import RedirectResponse, Response

from cordon.api.deps import ServiceDep, writer
from cordon.api.routes_cases import CaseId
from cordon.app import service_response as desk
from cordon.respond.access import Permission, Principal
from cordon.respond.actions import Verb
from cordon.respond.holds import HoldKind

router = APIRouter(include_in_schema=False)

Preserver = Annotated[Principal, Depends(writer(Permission.CASE_PRESERVE))]
Overrider = Annotated[Principal, Depends(writer(Permission.GATE_OVERRIDE))]
Actor = Annotated[Principal, Depends(writer(Permission.CASE_ACT))]
AnyWriter = Annotated[Principal, Depends(writer(None))]
Reporter = Annotated[Principal, Depends(writer(Permission.REPORT_BUILD))]


def back(case_id: str, anchor: str = "response") -> Response:
    return RedirectResponse(f"/cases/{case_id}#{anchor}", status_code=303)


@router.post("/ui/cases/{case_id}/preserve")
def preserve(
    case_id: CaseId,
    svc: ServiceDep,
    principal: Preserver,
    mode: Annotated[str, Form(max_length=16)] = "copies",
) -> Response:
    desk.preserve(svc, case_id, principal, mode)
    return back(case_id)


@router.post("/ui/cases/{case_id}/override")
def override(
    case_id: CaseId, svc: ServiceDep, principal: Overrider, reason: Annotated[str, Form(max_length=4000)]
) -> Response:
    desk.override(svc, case_id, principal, reason)
    return back(case_id)


@router.post("/ui/cases/{case_id}/act")
def act(
    case_id: CaseId,
    svc: ServiceDep,
    principal: Actor,
    verb: Annotated[Verb, Form()],
    mode: Annotated[Literal["dry-run", "live"], Form()],
    note: Annotated[str, Form(max_length=4000)] = "",
) -> Response:
    """`mode` has no default: acting for real is an explicit choice (the form selects the dry run)."""
    desk.act(svc, case_id, principal, verb, dry_run=mode != "live", note=note)
    return back(case_id, "actions")


@router.post("/ui/cases/{case_id}/holds")
def place_hold(
    case_id: CaseId,
    svc: ServiceDep,
    principal: AnyWriter,
    kind: Annotated[HoldKind, Form()],
    reference: Annotated[str, Form(max_length=256)] = "",
    days: Annotated[str, Form(max_length=4, pattern=r"^[0-9]*$")] = "",
) -> Response:
    """`days` only for a voluntary hold (empty otherwise)."""
    desk.place_hold(svc, case_id, principal, kind, reference=reference, days=int(days) if days else None)
    return back(case_id, "holds")


@router.post("/ui/cases/{case_id}/export")
def export(
    case_id: CaseId,
    svc: ServiceDep,
    principal: Reporter,
    recipient: Annotated[str, Form(max_length=16)],
    include_media: Annotated[bool, Form()] = False,
) -> Response:
    desk.export(svc, case_id, principal, recipient=recipient, include_media=include_media)
    return back(case_id, "reports")


ReportId = Annotated[str, Path(pattern=r"^ncmec-[0-9a-f]{24}$")]


@router.post("/ui/cases/{case_id}/reports")
def draft_report(case_id: CaseId, svc: ServiceDep, principal: Reporter) -> Response:
    desk.draft_report(svc, case_id, principal)
    return back(case_id, "reports")


@router.post("/ui/reports/{report_id}/{step}")
def report_step(
    report_id: ReportId, step: Literal["approve", "submit", "retract"], svc: ServiceDep, principal: AnyWriter
) -> Response:
    """approve (approver), submit and retract (reporter): each function checks its own permission."""
    step_of = {"approve": desk.approve_report, "submit": desk.submit_report, "retract": desk.retract_report}
    view = step_of[step](svc, report_id, principal)
    return back(view.case_id, "reports")
