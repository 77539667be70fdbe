"""Response on a case: preserve its evidence, act on the whole network through an adapter, holds, exports.

The order is the law of the layer: a case is confirmed by review, its evidence is preserved (a signed
package of the dossier, the post and account records as captured, the graph context and the media), and only
then is it acted on; `act_on_case` refuses otherwise unless an admin overrode the gate with a reason. One
call acts on every member of the network (or the members with the given roles), through one adapter, and is
recorded per target (state store) and as a whole (audit chain, with a digest of every per-target result).
Every function checks the caller's permission itself, whatever entry point calls it.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import duckdb
import msgspec
from sqlalchemy import Row, and_, bindparam, or_, select
from sqlalchemy.orm import Session

from cordon.app.dossier import Dossier
from cordon.app.response_capture import capture_records, network_targets, preservation_media
from cordon.corpus import BlobStore
from cordon.errors import ResponseError
from cordon.model import CaseStatus
from cordon.respond import review
from cordon.respond.access import Permission, Principal, require
from cordon.respond.actions import (
    ActionAdapter,
    ActionOutcome,
    ActionRequest,
    ActionStatus,
    DryRunAdapter,
    Verb,
)
from cordon.respond.actions.gate import (
    Gate,
    GateRefusedError,
    check_gate,
    record_override,
    record_preservation,
)
from cordon.respond.actions.ledger import action_id, outcomes_digest, record_outcomes, settled_targets
from cordon.respond.evidence import CapturedFile, SigningKey, preserve, verify_package
from cordon.respond.export import ExportResult, build_export, jsonl
from cordon.respond.holds import Hold, HoldKind, expiring, new_hold
from cordon.respond.state.store import StateStore, utc
from cordon.respond.state.tables import ActionRow, AuditRow, CaseEventRow, HoldRow, PreservationRow, ReportRow

ACTIONABLE = frozenset({CaseStatus.CONFIRMED, CaseStatus.ACTIONED, CaseStatus.REPORTED})
DEFAULT_NOTE = "Removed under the rules against child sexual exploitation (network case {case_id})."
CHUNK = 50  # targets per transaction: a long network action keeps what it did if it is interrupted
Progress = Callable[[int, int], None]


@dataclass(frozen=True, slots=True)
class PreservationResult:
    package_id: str
    case_id: str
    mode: str
    path: Path
    files: int
    media: int
    verified: bool


@dataclass(frozen=True, slots=True)
class NetworkActionResult:
    case_id: str
    verb: Verb
    adapter: str
    dry_run: bool
    gate: Gate
    outcomes: tuple[ActionOutcome, ...]

    def count(self, status: ActionStatus) -> int:
        return sum(1 for o in self.outcomes if o.status is status)

    @property
    def counts(self) -> dict[str, int]:
        return {s.value: self.count(s) for s in ActionStatus if self.count(s)}


def load_dossier(store: StateStore, case_id: str) -> Dossier:
    return _decode(case_id, review.case_dossier(store, case_id))


def _decode(case_id: str, raw: dict[str, object]) -> Dossier:
    try:
        return msgspec.convert(raw, Dossier)
    except msgspec.ValidationError as exc:
        raise ResponseError(
            f"case {case_id}: the stored dossier is not a valid cases.json dossier ({exc})"
        ) from exc


def preserve_case(
    store: StateStore,
    case_id: str,
    principal: Principal,
    *,
    evidence_dir: Path,
    key: SigningKey,
    mode: str = "copies",
    corpus: duckdb.DuckDBPyConnection | None = None,
    blobs: BlobStore | None = None,
    now: datetime | None = None,
) -> PreservationResult:
    """Write a signed preservation package for the case, verify it, and record it (row, event, audit)."""
    require(principal, Permission.CASE_PRESERVE)
    now = now or datetime.now(UTC)
    raw = review.case_dossier(store, case_id)
    dossier = _decode(case_id, raw)
    records = capture_records(corpus, dossier)
    media = preservation_media(corpus, blobs, dossier)
    dossier_bytes = json.dumps(raw, sort_keys=True, ensure_ascii=False, indent=1).encode()
    package = preserve(evidence_dir, case_id, dossier_bytes, records, media, mode=mode, key=key, now=now)
    verdict = verify_package(package.path, key.public)
    if not verdict.ok:
        raise ResponseError(f"case {case_id}: the package just written does not verify: {verdict.problems}")
    with store.session() as s:
        record_preservation(store, s, package, principal.name, created_at=now, verified_at=now)
    return PreservationResult(package.id, case_id, mode, package.path, len(package.files), len(media), True)


def override_gate(store: StateStore, case_id: str, principal: Principal, reason: str) -> int:
    """An admin lets actions on the case go ahead without a verified preservation; returns the event seq."""
    require(principal, Permission.GATE_OVERRIDE)
    return record_override(store, case_id, principal.name, reason)


def act_on_case(
    store: StateStore,
    case_id: str,
    principal: Principal,
    adapter: ActionAdapter,
    verb: Verb,
    *,
    key: SigningKey,
    dry_run: bool,
    corpus: duckdb.DuckDBPyConnection | None = None,
    roles: Iterable[str] = (),
    note: str = "",
    now: datetime | None = None,
    on_progress: Progress | None = None,
) -> NetworkActionResult:
    """One decision, every member: `verb` on each member account of the confirmed case, after the gate."""
    require(principal, Permission.CASE_ACT)
    now = now or datetime.now(UTC)
    review.case_summary(store, case_id)  # CaseNotFoundError for an unknown case
    status = store.status(case_id)
    if status not in ACTIONABLE:
        raise GateRefusedError(
            f"case {case_id} is {status.value}: only a confirmed case is acted on; a reviewer confirms it first"
        )
    gate = check_gate(store, case_id, key.public, now)
    dry_run = dry_run or isinstance(adapter, DryRunAdapter)  # no platform behind it: never a real action
    wanted = frozenset(roles)
    targets = network_targets(corpus, load_dossier(store, case_id), wanted)
    if not targets:
        raise ResponseError(f"case {case_id}: no member has the roles {sorted(wanted)}; nothing to act on")
    runner: ActionAdapter = DryRunAdapter(adapter) if dry_run else adapter
    note = note.strip() or DEFAULT_NOTE.format(case_id=case_id)
    actor = principal.name
    subject = f"case:{case_id}"
    with store.session() as s:
        settled = {} if dry_run else settled_targets(s, case_id, adapter.name, verb.value)
        store.audit(s, actor, "action.start", subject,
                    {"verb": verb.value, "adapter": adapter.name, "dry_run": dry_run, "targets": len(targets),
                     "gate": gate.ref})  # fmt: skip
    outcomes: list[ActionOutcome] = []
    for start in range(0, len(targets), CHUNK):
        chunk: list[ActionOutcome] = []
        for target in targets[start : start + CHUNK]:
            if target.key in settled:
                chunk.append(ActionOutcome(verb, target, ActionStatus.SKIPPED,
                                           f"already {settled[target.key]} by an earlier run"))  # fmt: skip
                continue
            request_id = action_id(case_id, adapter.name, verb.value, target.key, dry_run)
            chunk.append(runner.perform(ActionRequest(case_id, verb, target, note, gate.ref, request_id)))
        with store.session() as s:
            record_outcomes(s, case_id, adapter.name, dry_run=dry_run, actor=actor, at=datetime.now(UTC),
                            outcomes=chunk)  # fmt: skip
        outcomes += chunk
        if on_progress is not None:
            on_progress(len(outcomes), len(targets))
    result = NetworkActionResult(case_id, verb, adapter.name, dry_run, gate, tuple(outcomes))
    with store.session() as s:
        detail: dict[str, str | int | float | bool | None] = {
            "verb": verb.value, "adapter": adapter.name, "dry_run": dry_run, "gate": gate.ref,
            "outcomes_sha256": outcomes_digest(outcomes), **result.counts,
        }  # fmt: skip
        store.audit(s, actor, "action.dry-run" if dry_run else "action.finish", subject, detail)
        acted = result.count(ActionStatus.DONE) + result.count(ActionStatus.QUEUED)
        if not dry_run and acted:
            summary = ", ".join(f"{n} {k}" for k, n in result.counts.items())
            store.append_event(s, case_id, "actioned", actor, f"{verb.value} via {adapter.name}: {summary}")
    return result


# -- holds ---------------------------------------------------------------------------------------------------
HOLD_PERMISSIONS = (Permission.CASE_PRESERVE, Permission.REPORT_BUILD, Permission.REPORT_APPROVE)


def place_hold(
    store: StateStore,
    case_id: str,
    principal: Principal,
    kind: HoldKind,
    *,
    reference: str = "",
    days: int | None = None,
    extends: str = "",
    starts_at: datetime | None = None,
) -> Hold:
    """Put a hold on the case's evidence (NCMEC one year from the report, police 90 days, its one 90-day
    extension starting when the police hold ends, or a voluntary number of days)."""
    if not any(principal.can(p) for p in HOLD_PERMISSIONS):
        require(principal, Permission.CASE_PRESERVE)
    review.case_summary(store, case_id)
    with store.session() as s:
        base = None
        if extends:
            row = s.get(HoldRow, extends)
            if row is None or row.case_id != case_id:
                raise ResponseError(f"case {case_id}: hold {extends!r} to extend does not exist on this case")
            base = _hold(row)
        hold = new_hold(case_id, kind, starts_at or datetime.now(UTC), principal.name,
                        reference=reference or (base.reference if base else ""), days=days, extends=base)  # fmt: skip
        if s.get(HoldRow, hold.id) is not None:
            raise ResponseError(f"case {case_id}: this {kind.value} hold ({hold.id}) is already in place")
        s.add(HoldRow(id=hold.id, case_id=case_id, kind=hold.kind.value, starts_at=hold.starts_at,
                      expires_at=hold.expires_at, reference=hold.reference, created_by=hold.created_by))  # fmt: skip
        s.flush()
        store.audit(s, principal.name, "hold.place", f"case:{case_id}",
                    {"hold": hold.id, "kind": hold.kind.value, "expires_at": hold.expires_at.isoformat(),
                     "reference": hold.reference})  # fmt: skip
    return hold


def _hold(row: HoldRow | Row[Any]) -> Hold:
    return Hold(row.id, row.case_id, HoldKind(row.kind), utc(row.starts_at), utc(row.expires_at),
                row.reference, row.created_by)  # fmt: skip


_HOLDS = select(HoldRow).order_by(HoldRow.expires_at, HoldRow.id)
_CASE_HOLDS = _HOLDS.where(HoldRow.case_id == bindparam("case_id"))


def holds_of(store: StateStore, case_id: str | None = None) -> tuple[Hold, ...]:
    with store.reading() as c:  # read on every case page: Core rows, no ORM session
        rows = c.execute(_HOLDS) if case_id is None else c.execute(_CASE_HOLDS, {"case_id": case_id})
        return tuple(_hold(r) for r in rows)


def hold_alerts(
    store: StateStore, now: datetime | None = None, within: timedelta = timedelta(days=14)
) -> tuple[Hold, ...]:
    """Active holds that run out within `within`: each needs a decision (extend it, or let it lapse)."""
    now = now or datetime.now(UTC)
    with store.session() as s:
        rows = s.scalars(select(HoldRow).where(HoldRow.expires_at > now, HoldRow.expires_at <= now + within))
        return expiring([_hold(r) for r in rows], now, within)


def verified_package(
    store: StateStore, case_id: str, key: SigningKey, now: datetime, what: str
) -> tuple[Gate, Path]:
    """The case's latest preservation package, verified now; `what` (an export, a report) needs a package,
    an admin's override of the action gate is not enough."""
    gate = check_gate(store, case_id, key.public, now)
    if gate.kind != "preserved":
        raise GateRefusedError(
            f"case {case_id}: {what} needs a verified preservation package, not an override"
        )
    with store.session() as s:
        row = s.get(PreservationRow, gate.ref)
        if row is None:
            raise GateRefusedError(f"case {case_id}: preservation {gate.ref} vanished from the state store")
        return gate, Path(row.path)


# -- exports -------------------------------------------------------------------------------------------------
def export_case(
    store: StateStore,
    case_id: str,
    principal: Principal,
    *,
    out: Path,
    recipient: str,
    key: SigningKey,
    include_media: bool = False,
    now: datetime | None = None,
) -> ExportResult:
    """A zip for police or a hotline: the verified preservation package, the case's events, audit entries,
    actions, holds and reports, under a signed manifest. Recorded as a report row and audited."""
    require(principal, Permission.REPORT_BUILD)
    now = now or datetime.now(UTC)
    gate, package_path = verified_package(store, case_id, key, now, "an export")
    with store.session() as s:
        files = _case_files(s, case_id)
    verdict = store.verify_audit()
    files.append(CapturedFile("audit-chain.json", json.dumps(
        {"ok": verdict.ok, "entries": verdict.entries, "first_bad_seq": verdict.first_bad_seq,
         "reason": verdict.reason, "checked_at": now.isoformat()}, sort_keys=True).encode()))  # fmt: skip
    result = build_export(out, case_id=case_id, recipient=recipient, files=files, package=package_path,
                          include_media=include_media, key=key, now=now)  # fmt: skip
    with store.session() as s:
        s.add(ReportRow(id=f"export-{result.manifest_sha256[:24]}", case_id=case_id, kind=f"{recipient}-export",
                        status="finished", external_id="", created_at=now, created_by=principal.name,
                        approved_by="", body=json.dumps({"zip": str(out), "sha256": result.sha256,
                        "manifest_sha256": result.manifest_sha256, "package": gate.ref}), transcript=""))  # fmt: skip
        store.audit(s, principal.name, "export.build", f"case:{case_id}",
                    {"recipient": recipient, "zip_sha256": result.sha256, "package": gate.ref,
                     "media_included": include_media, "files": result.files, "withheld": result.withheld})  # fmt: skip
    return result


def _case_files(s: Session, case_id: str) -> list[CapturedFile]:
    events = s.scalars(select(CaseEventRow).where(CaseEventRow.case_id == case_id).order_by(CaseEventRow.seq))
    needle = json.dumps({"case": case_id}, separators=(",", ":"))[1:-1]
    audit = s.scalars(select(AuditRow).where(or_(
        AuditRow.subject == f"case:{case_id}",
        and_(AuditRow.subject.like("media:%"), AuditRow.detail.contains(needle, autoescape=True)),
    )).order_by(AuditRow.seq))  # fmt: skip
    actions = s.scalars(select(ActionRow).where(ActionRow.case_id == case_id).order_by(ActionRow.id))
    holds = s.scalars(select(HoldRow).where(HoldRow.case_id == case_id).order_by(HoldRow.id))
    reports = list(s.scalars(select(ReportRow).where(ReportRow.case_id == case_id).order_by(ReportRow.id)))
    files = [
        CapturedFile("events.jsonl", jsonl([{"seq": e.seq, "kind": e.kind, "actor": e.actor,
                                             "at": utc(e.at).isoformat(), "note": e.note} for e in events])),
        CapturedFile("audit.jsonl", jsonl([{"seq": a.seq, "at": a.at, "actor": a.actor, "action": a.action,
                                            "subject": a.subject, "detail": a.detail, "prev_hash": a.prev_hash,
                                            "hash": a.hash} for a in audit])),
        CapturedFile("actions.jsonl", jsonl([{"adapter": a.adapter, "verb": a.kind, "target": a.target,
                                              "dry_run": a.dry_run, "status": a.status, "actor": a.actor,
                                              "at": utc(a.at).isoformat(), "detail": a.detail} for a in actions])),
        CapturedFile("holds.jsonl", jsonl([{"id": h.id, "kind": h.kind, "starts_at": utc(h.starts_at).isoformat(),
                                            "expires_at": utc(h.expires_at).isoformat(), "reference": h.reference,
                                            "created_by": h.created_by} for h in holds])),
        CapturedFile("reports.jsonl", jsonl([{"id": r.id, "kind": r.kind, "status": r.status,
                                              "external_id": r.external_id, "created_by": r.created_by,
                                              "approved_by": r.approved_by,
                                              "created_at": utc(r.created_at).isoformat()} for r in reports])),
    ]  # fmt: skip
    files += [
        CapturedFile(f"report-{r.id}.xml", r.body.encode()) for r in reports if r.kind == "ncmec" and r.body
    ]
    return files
