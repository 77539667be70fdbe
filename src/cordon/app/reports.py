"""CyberTipline reports on a case: draft (reporter), approve (approver, another person by default), submit
(the documented flow: submit, upload, fileinfo, finish), retract; each step checked, recorded and audited.

A report is drafted only for a confirmed child-safety case with a verified preservation package, from that
package (`report_content`), and only if NCMEC's XSD accepts it. The approval is of the exact XML: the digest
approved is checked again before anything is sent. Submission opens the report, uploads each preserved copy
(its SHA-256 checked again on the way out; NCMEC's MD5 checked on the way back), adds its file details and
finishes the report; on any error after the report was opened it is retracted (NCMEC would delete it within a
day anyway) and marked failed, with the full transcript kept. A finished report places the NCMEC hold (one
year from the report) and appends the case event `reported`.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
from collections.abc import Callable
from dataclasses import asdict, dataclass
from datetime import UTC, datetime

from sqlalchemy import update
from sqlalchemy.orm import Session

from cordon.app.report_content import NcmecSettings, build_content
from cordon.app.response import ACTIONABLE, load_dossier, place_hold, verified_package
from cordon.errors import ConfigError, ResponseError
from cordon.model import CaseLabel
from cordon.respond import review
from cordon.respond.access import Permission, Principal, require
from cordon.respond.evidence import SigningKey
from cordon.respond.holds import HoldKind
from cordon.respond.reports.client import CyberTipClient, CyberTipError
from cordon.respond.reports.cybertip import file_details_xml, report_xml, validate
from cordon.respond.state.store import StateStore, utc
from cordon.respond.state.tables import ReportRow

ClientFactory = Callable[[NcmecSettings], CyberTipClient]


class ReportRefusedError(ResponseError):
    """The report is not in the state this step needs, or the person may not take it."""


class ReportNotFoundError(ResponseError):
    """No NCMEC report with this id."""


@dataclass(frozen=True, slots=True)
class ReportView:
    id: str
    case_id: str
    status: str  # draft | approved | submitted | finished | retracted | failed
    external_id: str  # NCMEC's report id once submitted
    created_at: datetime
    created_by: str
    approved_by: str
    sha256: str  # of the XML
    xml: str
    transcript: tuple[dict[str, object], ...]


def _view(row: ReportRow) -> ReportView:
    transcript = tuple(json.loads(line) for line in row.transcript.splitlines() if line.strip())
    return ReportView(row.id, row.case_id, row.status, row.external_id, utc(row.created_at), row.created_by,
                      row.approved_by, hashlib.sha256(row.body.encode()).hexdigest(), row.body, transcript)  # fmt: skip


def _row(store: StateStore, report_id: str) -> ReportRow:
    with store.session() as s:
        row = s.get(ReportRow, report_id)
        if row is None or row.kind != "ncmec":
            raise ReportNotFoundError(f"NCMEC report {report_id[:80]!r} does not exist")
        s.expunge(row)
        return row


def report_view(store: StateStore, report_id: str, principal: Principal) -> ReportView:
    require(principal, Permission.CASE_READ)
    return _view(_row(store, report_id))


def client_from_env(settings: NcmecSettings) -> CyberTipClient:
    """The production client: NCMEC's credentials from the environment variables the settings name."""
    return CyberTipClient.from_env(
        settings.base_url, settings.username_env, settings.password_env, timeout_s=settings.timeout_s
    )


def _draft_id(s: Session, digest: str) -> tuple[str, bool]:
    """The id for a draft of this XML, and whether it is new: the same XML drafted again is the same report,
    unless that one failed or was retracted (then the new draft gets the next id of the series)."""
    for n in range(100):
        key = digest if n == 0 else hashlib.sha256(f"{digest}#{n}".encode()).hexdigest()
        report_id = f"ncmec-{key[:24]}"
        row = s.get(ReportRow, report_id)
        if row is None:
            return report_id, True
        if row.status not in ("failed", "retracted"):
            return report_id, False
    raise ReportRefusedError(f"this report XML (sha256 {digest}) was drafted and abandoned 100 times")


def draft_report(
    store: StateStore, case_id: str, principal: Principal, settings: NcmecSettings, *, key: SigningKey
) -> ReportView:
    """Build the report XML from the case's verified package; it must validate against NCMEC's XSD."""
    require(principal, Permission.REPORT_BUILD)
    summary = review.case_summary(store, case_id)
    if summary.label is not CaseLabel.CHILD_SAFETY:
        raise ReportRefusedError(
            f"case {case_id} is {summary.label.value}: only child-safety cases go to NCMEC"
        )
    status = store.status(case_id)
    if status not in ACTIONABLE:
        raise ReportRefusedError(
            f"case {case_id} is {status.value}: a reviewer confirms it before it is reported"
        )
    if not settings.xsd:
        raise ConfigError("NCMEC's XSD is not configured (download https://report.cybertip.org/ispws/xsd)")
    now = datetime.now(UTC)
    gate, package = verified_package(store, case_id, key, now, "a report")
    content = build_content(store, load_dossier(store, case_id), package, settings, now=now)
    xml = report_xml(content.report)
    problems = validate(xml, settings.xsd)
    if problems:
        raise ReportRefusedError(
            f"case {case_id}: the report does not validate against NCMEC's XSD: {problems[:5]}"
        )
    digest = hashlib.sha256(xml).hexdigest()
    with store.session() as s:
        report_id, new = _draft_id(s, digest)
        if new:
            s.add(ReportRow(id=report_id, case_id=case_id, kind="ncmec", status="draft", external_id="",
                            created_at=now, created_by=principal.name, approved_by="", body=xml.decode(),
                            transcript=""))  # fmt: skip
            s.flush()
            store.audit(s, principal.name, "report.draft", f"case:{case_id}",
                        {"report": report_id, "sha256": digest, "package": gate.ref,
                         "accounts": len(content.report.accounts), "files": len(content.files)})  # fmt: skip
    return _view(_row(store, report_id))


def approve_report(
    store: StateStore, report_id: str, principal: Principal, settings: NcmecSettings
) -> ReportView:
    require(principal, Permission.REPORT_APPROVE)
    row = _row(store, report_id)
    if row.status != "draft":
        raise ReportRefusedError(f"report {report_id} is {row.status}: only a draft is approved")
    if settings.four_eyes and row.created_by == principal.name:
        raise ReportRefusedError(
            f"report {report_id}: {principal.name} drafted it; another approver approves it"
        )
    digest = hashlib.sha256(row.body.encode()).hexdigest()
    with store.session() as s:
        live = s.get(ReportRow, report_id)
        assert live is not None
        live.status, live.approved_by = "approved", principal.name
        store.audit(
            s,
            principal.name,
            "report.approve",
            f"case:{row.case_id}",
            {"report": report_id, "sha256": digest},
        )
    return _view(_row(store, report_id))


def submit_report(
    store: StateStore,
    report_id: str,
    principal: Principal,
    settings: NcmecSettings,
    *,
    key: SigningKey,
    client_factory: ClientFactory = client_from_env,
) -> ReportView:
    """Send an approved report to NCMEC: open it, upload the preserved copies with their details, finish.
    The report is claimed (approved -> submitted) before anything is sent, so two people pressing "send" at
    once open one report at NCMEC, not two."""
    require(principal, Permission.REPORT_BUILD)
    row = _row(store, report_id)
    if row.status != "approved" or not row.approved_by:
        raise ReportRefusedError(
            f"report {report_id} is {row.status}: an approver approves it before it is sent"
        )
    approved = _audit_detail(store, "report.approve", report_id).get("sha256")
    if hashlib.sha256(row.body.encode()).hexdigest() != approved:
        raise ReportRefusedError(f"report {report_id}: the XML changed after its approval; draft it again")
    gate, package = verified_package(store, row.case_id, key, datetime.now(UTC), "a report")
    if gate.ref != _audit_detail(store, "report.draft", report_id).get("package"):
        raise ReportRefusedError(
            f"report {report_id}: case {row.case_id} was preserved again after the draft; the files to send "
            "would not be those approved; draft it again"
        )
    content = build_content(store, load_dossier(store, row.case_id), package, settings)
    client = client_factory(settings)
    with store.session() as s:
        claimed = s.execute(
            update(ReportRow)
            .where(ReportRow.id == report_id, ReportRow.status == "approved")
            .values(status="submitted")
        )
    if getattr(claimed, "rowcount", 0) != 1:
        client.close()
        now_status = _row(store, report_id).status
        raise ReportRefusedError(f"report {report_id} is already {now_status}: someone else is sending it")
    external, error = "", None
    files: tuple[str, ...] = ()
    try:
        external = client.submit(row.body.encode())
        _record(store, report_id, client, status="submitted", external_id=external)
        for f in content.files:
            data = f.path.read_bytes()
            if hashlib.sha256(data).hexdigest() != f.sha256:
                raise ResponseError(
                    f"media {f.sha256} in {package}: the preserved copy no longer matches its hash"
                )
            file_id = client.upload(external, f.sha256, data)
            client.fileinfo(file_details_xml(external, file_id, f.details))
        files = client.finish(external)
    except (CyberTipError, ResponseError, OSError) as exc:
        error = exc
        if external:
            with contextlib.suppress(CyberTipError):  # NCMEC deletes an unfinished report within a day anyway
                client.retract(external)
    finally:
        client.close()
    now = datetime.now(UTC)
    if error is not None:
        _record(store, report_id, client, status="failed", external_id=external)
        with store.session() as s:
            store.audit(s, principal.name, "report.failed", f"case:{row.case_id}",
                        {"report": report_id, "ncmec_report": external, "error": str(error)[:1000]})  # fmt: skip
        raise ReportRefusedError(f"report {report_id} was not sent: {error}") from error
    _record(store, report_id, client, status="finished", external_id=external)
    with store.session() as s:
        store.audit(s, principal.name, "report.finish", f"case:{row.case_id}",
                    {"report": report_id, "ncmec_report": external, "files": len(files)})  # fmt: skip
        store.append_event(
            s, row.case_id, "reported", principal.name, f"NCMEC CyberTipline report {external}"
        )
    place_hold(
        store, row.case_id, principal, HoldKind.NCMEC, reference=f"CyberTipline {external}", starts_at=now
    )
    return _view(_row(store, report_id))


def retract_report(
    store: StateStore, report_id: str, principal: Principal, settings: NcmecSettings,
    *, client_factory: ClientFactory = client_from_env,
) -> ReportView:  # fmt: skip
    """Cancel a report NCMEC holds open (submitted, not finished); a draft or approval is simply withdrawn."""
    require(principal, Permission.REPORT_BUILD)
    row = _row(store, report_id)
    if row.status in ("finished", "retracted"):
        raise ReportRefusedError(f"report {report_id} is {row.status}: it can no longer be retracted")
    client = None
    if row.status == "submitted" and row.external_id:
        client = client_factory(settings)
        try:
            client.retract(row.external_id)
        finally:
            client.close()
    _record(store, report_id, client, status="retracted", external_id=row.external_id)
    with store.session() as s:
        store.audit(s, principal.name, "report.retract", f"case:{row.case_id}",
                    {"report": report_id, "ncmec_report": row.external_id})  # fmt: skip
    return _view(_row(store, report_id))


def _audit_detail(store: StateStore, action: str, report_id: str) -> dict[str, object]:
    """The detail of the latest audit entry `action` about this report (empty if there is none)."""
    for e in reversed(list(store.audit_entries())):
        if e.action == action:
            detail = json.loads(e.detail)
            if isinstance(detail, dict) and detail.get("report") == report_id:
                return detail
    return {}


def _record(
    store: StateStore, report_id: str, client: CyberTipClient | None, *, status: str, external_id: str
) -> None:
    with store.session() as s:
        row = s.get(ReportRow, report_id)
        assert row is not None
        row.status, row.external_id = status, external_id
        if client is not None:
            lines = [
                json.dumps({**asdict(e), "at": e.at.isoformat()}, sort_keys=True) for e in client.transcript
            ]
            row.transcript = "".join(line + "\n" for line in lines)
