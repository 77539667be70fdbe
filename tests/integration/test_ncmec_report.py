"""A CyberTipline report from a case, end to end against the loopback fake NCMEC, on SQLite and PostgreSQL:
refused before confirmation and before preservation, validated against the XSD, approved by another person,
sent (submit, every preserved copy uploaded with its details, finish), then the case is reported and held for
a year; a failed upload retracts the report and keeps the transcript."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from lxml import etree
from tests.e2e.service_world import World, build_world
from tests.fakes.ncmec import PASSWORD, USER, XSD, FakeNcmec, running_fake

from cordon.app import reports, service_response
from cordon.app.report_content import NcmecSettings
from cordon.respond import review
from cordon.respond.access import AccessDeniedError, Principal, Role
from cordon.respond.actions.gate import GateRefusedError
from cordon.respond.reports.client import CyberTipClient

A1 = "case-00000000000000a1"
REPORTER = Principal("u-rep", "rep", frozenset({Role.REPORTER}), "cli")
APPROVER = Principal("u-app", "app", frozenset({Role.APPROVER}), "cli")
REVIEWER = Principal("u-rev", "rev", frozenset({Role.REVIEWER}), "cli")


@pytest.fixture
def world(state_url: str, tmp_path: Path) -> Iterator[World]:
    w = build_world(state_url, tmp_path)
    yield w
    w.service.close()


@pytest.fixture
def fake() -> Iterator[FakeNcmec]:
    with running_fake() as f:
        yield f


def settings(fake: FakeNcmec) -> NcmecSettings:
    return NcmecSettings(base_url=fake.url, xsd=str(XSD), first_name="Ada", last_name="Lovelace",
                         email="trust-safety@social.example", platform="Mastodon",
                         esp_service="Mastodon (social.example)")  # fmt: skip


def factory(s: NcmecSettings) -> CyberTipClient:
    return CyberTipClient(s.base_url, USER, PASSWORD, retries=0)


def test_draft_approve_send(world: World, fake: FakeNcmec) -> None:
    svc, cfg = world.service, settings(fake)
    with pytest.raises(reports.ReportRefusedError, match="confirms it"):
        reports.draft_report(svc.store, A1, REPORTER, cfg, key=svc.key)
    review.decide(svc.store, A1, review.Decision.CONFIRM, "rev")
    with pytest.raises(GateRefusedError, match="preserv"):
        reports.draft_report(svc.store, A1, REPORTER, cfg, key=svc.key)
    service_response.preserve(svc, A1, REPORTER, "copies")
    with pytest.raises(AccessDeniedError):
        reports.draft_report(svc.store, A1, REVIEWER, cfg, key=svc.key)
    draft = reports.draft_report(svc.store, A1, REPORTER, cfg, key=svc.key)
    assert draft.status == "draft" and draft.created_by == "rep"
    doc = etree.fromstring(draft.xml.encode())
    members = [m.account_id for m in world.cases[0].case.members]
    assert [e.findtext("espIdentifier") for e in doc.iterfind("personOrUserReported")] == members
    assert doc.findtext("reporter/reportingPerson/email") == "trust-safety@social.example"
    assert A1 in (doc.findtext("additionalInfo") or "")

    with pytest.raises(reports.ReportRefusedError, match="approves it before"):
        reports.submit_report(svc.store, draft.id, REPORTER, cfg, key=svc.key, client_factory=factory)
    both = Principal("u-both", "rep", frozenset({Role.REPORTER, Role.APPROVER}), "cli")
    with pytest.raises(reports.ReportRefusedError, match="another approver"):
        reports.approve_report(svc.store, draft.id, both, cfg)  # four eyes
    with pytest.raises(AccessDeniedError):
        reports.approve_report(svc.store, draft.id, REVIEWER, cfg)
    assert reports.approve_report(svc.store, draft.id, APPROVER, cfg).approved_by == "app"

    sent = reports.submit_report(svc.store, draft.id, REPORTER, cfg, key=svc.key, client_factory=factory)
    assert sent.status == "finished" and sent.external_id in fake.reports
    held = fake.reports[sent.external_id]
    assert held.status == "finished" and held.xml == draft.xml.encode()
    stored = {s for s, data in world.media.items()}
    case_media = set(svc.case_view(A1).media)
    assert {f.name for f in held.files.values()} == case_media & stored  # every preserved copy, nothing else
    assert all(f.details for f in held.files.values())  # each with its file details
    matched = next(
        f for f in held.files.values() if f.name == world.cases[0].case.members[0].evidence[0].refs[1].id
    )
    assert b"<fileName>" in matched.details and b"SHA256" in matched.details
    assert [e["path"] for e in sent.transcript][:2] == ["/submit", "/upload"] and sent.transcript[-1][
        "path"
    ] == "/finish"
    assert svc.store.status(A1) == "reported"
    hold = next(h for h in service_response.holds(svc, A1, REPORTER) if h.kind.value == "ncmec")
    assert hold.expires_at - hold.starts_at == timedelta(days=365) and sent.external_id in hold.reference
    actions = [e.action for e in svc.store.audit_entries()]
    assert [a for a in actions if a.startswith("report.")] == [
        "report.draft",
        "report.approve",
        "report.finish",
    ]
    assert svc.store.verify_audit().ok
    with pytest.raises(reports.ReportRefusedError, match="no longer be retracted"):
        reports.retract_report(svc.store, draft.id, REPORTER, cfg, client_factory=factory)


def test_a_failed_upload_retracts_the_report(world: World, fake: FakeNcmec) -> None:
    svc, cfg = world.service, settings(fake)
    review.decide(svc.store, A1, review.Decision.CONFIRM, "rev")
    service_response.preserve(svc, A1, REPORTER, "copies")
    draft = reports.draft_report(svc.store, A1, REPORTER, cfg, key=svc.key)
    reports.approve_report(svc.store, draft.id, APPROVER, cfg)
    fake.corrupt_md5 = True
    with pytest.raises(reports.ReportRefusedError, match="did not arrive whole"):
        reports.submit_report(svc.store, draft.id, REPORTER, cfg, key=svc.key, client_factory=factory)
    failed = reports.report_view(svc.store, draft.id, REPORTER)
    assert failed.status == "failed" and fake.reports[failed.external_id].status == "retracted"
    assert [e["path"] for e in failed.transcript] == ["/submit", "/upload", "/retract"]
    assert svc.store.status(A1) == "confirmed"  # not reported
    assert "report.failed" in [e.action for e in svc.store.audit_entries()]

    fake.corrupt_md5 = False  # drafted again, the same XML is a new report (the failed one stays as it was)
    again = reports.draft_report(svc.store, A1, REPORTER, cfg, key=svc.key)
    assert again.id != failed.id and again.status == "draft" and again.xml == failed.xml
    assert reports.draft_report(svc.store, A1, REPORTER, cfg, key=svc.key).id == again.id  # idempotent
    reports.approve_report(svc.store, again.id, APPROVER, cfg)
    sent = reports.submit_report(svc.store, again.id, REPORTER, cfg, key=svc.key, client_factory=factory)
    assert sent.status == "finished" and svc.store.status(A1) == "reported"
    assert reports.report_view(svc.store, failed.id, REPORTER).status == "failed"


def test_two_sends_at_once_open_one_report(world: World, fake: FakeNcmec) -> None:
    svc, cfg = world.service, settings(fake)
    review.decide(svc.store, A1, review.Decision.CONFIRM, "rev")
    service_response.preserve(svc, A1, REPORTER, "copies")
    draft = reports.draft_report(svc.store, A1, REPORTER, cfg, key=svc.key)
    reports.approve_report(svc.store, draft.id, APPROVER, cfg)
    inner: list[reports.ReportView] = []

    def racing(s: NcmecSettings) -> CyberTipClient:  # another send gets in while this one sets up its client
        if not inner:
            inner.append(
                reports.submit_report(svc.store, draft.id, REPORTER, cfg, key=svc.key, client_factory=factory)
            )
        return factory(s)

    with pytest.raises(reports.ReportRefusedError, match="already finished"):
        reports.submit_report(svc.store, draft.id, REPORTER, cfg, key=svc.key, client_factory=racing)
    assert inner[0].status == "finished"
    assert len(fake.reports) == 1 and [p for _, p in fake.requests].count("/submit") == 1


def test_the_approved_evidence_or_nothing(world: World, fake: FakeNcmec) -> None:
    svc, cfg = world.service, settings(fake)
    review.decide(svc.store, A1, review.Decision.CONFIRM, "rev")
    first = service_response.preserve(svc, A1, REPORTER, "copies")
    draft = reports.draft_report(svc.store, A1, REPORTER, cfg, key=svc.key)
    reports.approve_report(svc.store, draft.id, APPROVER, cfg)
    listing = first.path / "media.jsonl"
    kept = listing.read_bytes()
    listing.write_bytes(kept + b"\n")  # the package changed on disk after the approval
    with pytest.raises(GateRefusedError, match="does not verify"):
        reports.submit_report(svc.store, draft.id, REPORTER, cfg, key=svc.key, client_factory=factory)
    listing.write_bytes(kept)
    service_response.preserve(svc, A1, REPORTER, "copies")  # a newer package than the one drafted from
    with pytest.raises(reports.ReportRefusedError, match="preserved again after the draft"):
        reports.submit_report(svc.store, draft.id, REPORTER, cfg, key=svc.key, client_factory=factory)
    assert fake.requests == [] and reports.report_view(svc.store, draft.id, REPORTER).status == "approved"
