"""The response layer over HTTP, on SQLite and PostgreSQL: the gate refuses an action before confirmation and
before preservation, preservation opens it, a dry run acts on every member and sends nothing, holds and their
alerts, an admin override needs a reason, police exports verify and their download is audited; and the roles:
each response route is refused to the roles without its permission."""

from __future__ import annotations

import io
import zipfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from tests.e2e.service_world import OPERATOR, PASSWORD, World, build_world

from cordon.api.server import create_app
from cordon.respond.export import verify_export

A1 = "case-00000000000000a1"


@pytest.fixture
def world(state_url: str, tmp_path: Path) -> Iterator[World]:
    w = build_world(state_url, tmp_path)
    yield w
    w.service.close()


def session(world: World, name: str = OPERATOR) -> tuple[TestClient, dict[str, str]]:
    client = TestClient(create_app(service=world.service))
    r = client.post("/api/v1/session", json={"name": name, "password": PASSWORD})
    assert r.status_code == 200, r.text
    return client, {"X-CSRF-Token": str(r.json()["csrf"])}


def test_confirm_preserve_then_act_dry_run(world: World) -> None:
    client, h = session(world)
    act = {"verb": "suspend"}
    refused = client.post(f"/api/v1/cases/{A1}/actions", json=act, headers=h)
    assert refused.status_code == 409 and "only a confirmed case" in refused.json()["detail"]
    assert (
        client.post(f"/api/v1/cases/{A1}/decisions", json={"decision": "confirm"}, headers=h).status_code
        == 201
    )

    closed = client.get(f"/api/v1/cases/{A1}/gate").json()
    assert closed["open"] is False and "no preservation package" in closed["detail"]
    refused = client.post(f"/api/v1/cases/{A1}/actions", json=act, headers=h)
    assert refused.status_code == 409 and "before the evidence is preserved" in refused.json()["detail"]

    kept = client.post(f"/api/v1/cases/{A1}/preservations", json={"mode": "copies"}, headers=h)
    assert kept.status_code == 201, kept.text
    package = kept.json()
    assert package["verified"] and package["media"] >= 3  # the stored items of the case, copied
    gate = client.get(f"/api/v1/cases/{A1}/gate").json()
    assert gate == {"open": True, "kind": "preserved", "ref": package["package_id"], "detail": gate["detail"]}

    done = client.post(f"/api/v1/cases/{A1}/actions", json=act, headers=h)
    assert done.status_code == 201, done.text
    result = done.json()
    members = {m.account_id for m in world.cases[0].case.members}
    assert result["dry_run"] and result["adapter"] == "dry-run" and result["gate"] == package["package_id"]
    assert {o["account_id"] for o in result["outcomes"]} == members
    assert result["counts"] == {"dry-run": len(members)}
    assert world.service.store.status(A1) == "confirmed"  # a dry run changes nothing on the case
    actions = [e for e in world.service.store.audit_entries() if e.action == "action.dry-run"]
    assert len(actions) == 1 and actions[0].actor == OPERATOR and actions[0].subject == f"case:{A1}"

    only = client.post(f"/api/v1/cases/{A1}/actions", json={**act, "roles": ["evader"]}, headers=h).json()
    assert [o["role"] for o in only["outcomes"]] == ["evader"]


def test_admin_override_needs_a_reason_and_opens_the_gate(world: World) -> None:
    client, h = session(world)
    client.post(f"/api/v1/cases/{A1}/decisions", json={"decision": "confirm"}, headers=h)
    forbidden = client.post(
        f"/api/v1/cases/{A1}/gate/override", json={"reason": "urgent: live abuse"}, headers=h
    )
    assert forbidden.status_code == 403  # the operator is no admin
    admin, ah = session(world, "admin")
    short = admin.post(f"/api/v1/cases/{A1}/gate/override", json={"reason": "now"}, headers=ah)
    assert short.status_code == 422 and short.json()["detail"][0]["loc"][-1] == "reason"
    ok = admin.post(
        f"/api/v1/cases/{A1}/gate/override", json={"reason": "ongoing live distribution"}, headers=ah
    )
    assert ok.status_code == 201
    gate = client.get(f"/api/v1/cases/{A1}/gate").json()
    assert gate["open"] and gate["kind"] == "override" and "ongoing live distribution" in gate["detail"]
    acted = client.post(f"/api/v1/cases/{A1}/actions", json={"verb": "silence"}, headers=h).json()
    assert acted["gate"] == f"override:{ok.json()['event_seq']}"


def test_holds_and_alerts(world: World) -> None:
    client, h = session(world)
    police = client.post(
        f"/api/v1/cases/{A1}/holds", json={"kind": "police", "reference": "req-123"}, headers=h
    )
    assert police.status_code == 201, police.text
    hold = police.json()
    ext = client.post(f"/api/v1/cases/{A1}/holds", json={"kind": "police-extension", "extends": hold["id"]},
                      headers=h).json()  # fmt: skip
    assert ext["starts_at"] == hold["expires_at"] and ext["reference"] == "req-123"
    listed = client.get(f"/api/v1/cases/{A1}/holds").json()
    assert hold["id"] in {x["id"] for x in listed} and ext["id"] in {x["id"] for x in listed}
    assert client.get("/api/v1/holds/alerts", params={"within_days": 30}).json() == []
    soon = client.get("/api/v1/holds/alerts", params={"within_days": 91}).json()
    assert hold["id"] in {x["id"] for x in soon} and ext["id"] not in {x["id"] for x in soon}
    bad = client.post(f"/api/v1/cases/{A1}/holds", json={"kind": "forever"}, headers=h)
    assert bad.status_code == 422 and bad.json()["detail"][0]["loc"][-1] == "kind"


def test_police_export_verifies_and_its_download_is_audited(world: World) -> None:
    client, h = session(world)
    refused = client.post(f"/api/v1/cases/{A1}/exports", json={"recipient": "police"}, headers=h)
    assert refused.status_code == 409  # no verified preservation yet
    client.post(f"/api/v1/cases/{A1}/decisions", json={"decision": "confirm"}, headers=h)
    client.post(f"/api/v1/cases/{A1}/preservations", json={"mode": "copies"}, headers=h)
    made = client.post(f"/api/v1/cases/{A1}/exports", json={"recipient": "police"}, headers=h)
    assert made.status_code == 201, made.text
    out = made.json()
    got = client.get(out["url"])
    assert got.status_code == 200 and got.headers["content-type"] == "application/zip"
    path = Path(world.service.settings.exports_dir) / out["name"]
    assert verify_export(path, world.service.key.public).ok
    names = zipfile.ZipFile(io.BytesIO(got.content)).namelist()
    assert {"case/events.jsonl", "case/audit.jsonl", "evidence/manifest.json"} <= set(names), names
    assert out["withheld"] > 0  # media bytes are withheld unless asked for
    downloads = [e for e in world.service.store.audit_entries() if e.action == "export.download"]
    assert len(downloads) == 1 and out["name"] in downloads[0].detail
    for name in (
        "..%2F..%2Fstate.db",
        f"{A1}-police-20240101T000000Z.zip",
        "case-x-police-20240101T000000Z.zip",
    ):
        assert client.get(f"/api/v1/cases/{A1}/exports/{name}").status_code in (404, 422)


ROUTES = (
    ("post", f"/api/v1/cases/{A1}/preservations", {"mode": "hashes"}, {"reporter"}),
    ("post", f"/api/v1/cases/{A1}/gate/override", {"reason": "a long enough reason"}, {"admin"}),
    ("post", f"/api/v1/cases/{A1}/actions", {"verb": "suspend"}, {"approver"}),
    ("post", f"/api/v1/cases/{A1}/exports", {"recipient": "hotline"}, {"reporter"}),
    ("post", f"/api/v1/cases/{A1}/holds", {"kind": "voluntary", "days": 30}, {"reporter", "approver"}),
    ("get", f"/api/v1/cases/{A1}/gate", None, {"triage", "reviewer", "reporter", "approver", "auditor"}),
)


@pytest.mark.parametrize(
    "role", ["triage", "reviewer", "reporter", "approver", "admin", "auditor", "researcher"]
)
def test_each_role_reaches_exactly_its_response_routes(world: World, role: str) -> None:
    client, h = session(world, role)
    for method, path, body, allowed in ROUTES:
        r = client.request(method.upper(), path, json=body, headers=h)
        if role in allowed:
            assert r.status_code != 403, (
                role,
                path,
                r.text,
            )  # may be refused for the case's state, not the role
        else:
            assert r.status_code == 403, (role, path, r.status_code)


def test_ncmec_report_over_http(state_url: str, tmp_path: Path) -> None:
    from tests.fakes.ncmec import PASSWORD as NCMEC_PASSWORD  # noqa: PLC0415
    from tests.fakes.ncmec import USER, XSD, running_fake  # noqa: PLC0415

    from cordon.app.report_content import NcmecSettings  # noqa: PLC0415
    from cordon.respond.reports.client import CyberTipClient  # noqa: PLC0415

    with running_fake() as fake:
        cfg = NcmecSettings(base_url=fake.url, xsd=str(XSD), first_name="Ada", last_name="Lovelace",
                            email="ts@social.example")  # fmt: skip
        world = build_world(state_url, tmp_path, ncmec=cfg)
        world.service.report_client = lambda s: CyberTipClient(s.base_url, USER, NCMEC_PASSWORD, retries=0)
        try:
            client, h = session(world)
            triage, th = session(world, "triage")
            assert triage.post(f"/api/v1/cases/{A1}/reports", headers=th).status_code == 403
            early = client.post(f"/api/v1/cases/{A1}/reports", headers=h)
            assert early.status_code == 409 and "confirms it" in early.json()["detail"]
            client.post(f"/api/v1/cases/{A1}/decisions", json={"decision": "confirm"}, headers=h)
            client.post(f"/api/v1/cases/{A1}/preservations", json={"mode": "copies"}, headers=h)
            draft = client.post(f"/api/v1/cases/{A1}/reports", headers=h)
            assert draft.status_code == 201, draft.text
            rid = draft.json()["id"]
            assert draft.json()["xml"].startswith("<?xml") and draft.json()["status"] == "draft"
            same = client.post(f"/api/v1/reports/{rid}/approve", headers=h)
            assert same.status_code == 409 and "another approver" in same.json()["detail"]
            approver, ah = session(world, "approver")
            assert approver.post(f"/api/v1/reports/{rid}/approve", headers=ah).json()["status"] == "approved"
            sent = client.post(f"/api/v1/reports/{rid}/submit", headers=h)
            assert sent.status_code == 200, sent.text
            body = sent.json()
            assert body["status"] == "finished" and fake.reports[body["external_id"]].status == "finished"
            assert client.get(f"/api/v1/reports/{rid}").json()["transcript"][-1]["path"] == "/finish"
            assert client.get(f"/api/v1/cases/{A1}").json()["status"] == "reported"
            assert client.get("/api/v1/reports/ncmec-000000000000000000000000").status_code == 404
            assert client.get("/api/v1/reports/..%2Fetc").status_code in (404, 422)
        finally:
            world.service.close()
