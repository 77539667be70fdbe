"""The response layer behind the review service: preserve, check the gate, override it, act on the network,
holds and exports, for one request's caller. Thin: it wires the service's settings (state store, corpus,
blobs, evidence directory, signing key, action adapter) into `cordon.app.response`, which checks every
permission itself and records everything it does."""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from cordon.app import reports, response
from cordon.app.service import Service
from cordon.errors import ResponseError
from cordon.respond import review
from cordon.respond.access import Permission, Principal, require
from cordon.respond.actions import Verb
from cordon.respond.actions.config import make_adapter
from cordon.respond.actions.gate import Gate, GateRefusedError, check_gate
from cordon.respond.export import ExportResult
from cordon.respond.holds import Hold, HoldKind

EXPORT_RE = re.compile(r"^[A-Za-z0-9._:-]{1,64}-(police|hotline)-[0-9]{8}T[0-9]{6}Z\.zip$")


class ExportNotFoundError(ResponseError):
    """The export named is not an export of this case in the exports directory."""


@dataclass(frozen=True, slots=True)
class GateState:
    """Whether an action on the case may go ahead now, and why (the latest package is verified again)."""

    open: bool
    kind: str  # "preserved" | "override" | "" when closed
    ref: str
    detail: str


def preserve(svc: Service, case_id: str, principal: Principal, mode: str) -> response.PreservationResult:
    if mode not in ("copies", "hashes"):
        raise ResponseError(f"preservation mode {mode!r}: choose copies or hashes")
    with svc.corpus_cursor() as cur:
        return response.preserve_case(
            svc.store, case_id, principal, evidence_dir=Path(svc.settings.evidence_dir), key=svc.key,
            mode=mode, corpus=cur, blobs=svc.blobs,
        )  # fmt: skip


def gate(svc: Service, case_id: str, principal: Principal) -> GateState:
    require(principal, Permission.CASE_READ)
    review.case_summary(svc.store, case_id)
    try:
        g: Gate = check_gate(svc.store, case_id, svc.key.public, datetime.now(UTC))
    except GateRefusedError as exc:
        return GateState(False, "", "", str(exc))
    return GateState(True, g.kind, g.ref, g.detail)


def override(svc: Service, case_id: str, principal: Principal, reason: str) -> int:
    require(principal, Permission.GATE_OVERRIDE)
    review.case_summary(svc.store, case_id)  # an unknown case is "not found", not a refusal
    return response.override_gate(svc.store, case_id, principal, reason)


def act(
    svc: Service,
    case_id: str,
    principal: Principal,
    verb: Verb,
    *,
    dry_run: bool,
    roles: Iterable[str] = (),
    note: str = "",
) -> response.NetworkActionResult:
    """One decision on every member, through the adapter of the service's settings (dry-run by default)."""
    require(principal, Permission.CASE_ACT)
    adapter = make_adapter(svc.settings.actions)
    try:
        with svc.corpus_cursor() as cur:
            return response.act_on_case(
                svc.store, case_id, principal, adapter, verb, key=svc.key, dry_run=dry_run, corpus=cur,
                roles=roles, note=note,
            )  # fmt: skip
    finally:
        adapter.close()


def holds(svc: Service, case_id: str, principal: Principal) -> tuple[Hold, ...]:
    require(principal, Permission.CASE_READ)
    review.case_summary(svc.store, case_id)
    return response.holds_of(svc.store, case_id)


def place_hold(
    svc: Service,
    case_id: str,
    principal: Principal,
    kind: HoldKind,
    *,
    reference: str = "",
    days: int | None = None,
    extends: str = "",
) -> Hold:
    return response.place_hold(svc.store, case_id, principal, kind, reference=reference, days=days,
                               extends=extends)  # fmt: skip


def hold_alerts(svc: Service, principal: Principal, within_days: int) -> tuple[Hold, ...]:
    require(principal, Permission.CASE_READ)
    return response.hold_alerts(svc.store, within=timedelta(days=within_days))


def export(
    svc: Service, case_id: str, principal: Principal, *, recipient: str, include_media: bool
) -> ExportResult:
    """A signed zip for the police or a hotline, written to the exports directory under a dated name."""
    if recipient not in ("police", "hotline"):
        raise ResponseError(f"export recipient {recipient!r}: choose police or hotline")
    require(principal, Permission.REPORT_BUILD)
    review.case_summary(svc.store, case_id)
    now = datetime.now(UTC)
    out = Path(svc.settings.exports_dir) / f"{case_id}-{recipient}-{now.strftime('%Y%m%dT%H%M%SZ')}.zip"
    return response.export_case(svc.store, case_id, principal, out=out, recipient=recipient, key=svc.key,
                                include_media=include_media, now=now)  # fmt: skip


def export_file(svc: Service, case_id: str, principal: Principal, name: str) -> Path:
    """The zip of an earlier export of the case, for download by a reporter; each download is audited."""
    require(principal, Permission.REPORT_BUILD)
    review.case_summary(svc.store, case_id)
    if not EXPORT_RE.fullmatch(name) or not name.startswith(f"{case_id}-"):
        raise ExportNotFoundError(f"export {name[:80]!r} is not an export of case {case_id}")
    path = Path(svc.settings.exports_dir) / name
    if not path.is_file():
        raise ExportNotFoundError(f"export {name} of case {case_id} does not exist (build it first)")
    with svc.store.session() as s:
        svc.store.audit(s, principal.name, "export.download", f"case:{case_id}", {"zip": name})
    return path


# -- NCMEC reports ---------------------------------------------------------------------------------------
def draft_report(svc: Service, case_id: str, principal: Principal) -> reports.ReportView:
    return reports.draft_report(svc.store, case_id, principal, svc.settings.ncmec, key=svc.key)


def approve_report(svc: Service, report_id: str, principal: Principal) -> reports.ReportView:
    return reports.approve_report(svc.store, report_id, principal, svc.settings.ncmec)


def submit_report(svc: Service, report_id: str, principal: Principal) -> reports.ReportView:
    return reports.submit_report(svc.store, report_id, principal, svc.settings.ncmec, key=svc.key,
                                 client_factory=svc.report_client)  # fmt: skip


def retract_report(svc: Service, report_id: str, principal: Principal) -> reports.ReportView:
    return reports.retract_report(svc.store, report_id, principal, svc.settings.ncmec,
                                  client_factory=svc.report_client)  # fmt: skip


def report_view(svc: Service, report_id: str, principal: Principal) -> reports.ReportView:
    return reports.report_view(svc.store, report_id, principal)
