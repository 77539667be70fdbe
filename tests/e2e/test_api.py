"""The review service over HTTP (in-process ASGI client), on SQLite and PostgreSQL: log in, queue, case, a
blurred preview, a logged reveal that grants the item, a decision; and the abuse cases: CSRF, bad payloads,
oversize bodies, path traversal through media ids, tokens, and no media without an authorised session."""

from __future__ import annotations

import hashlib
import io
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
from fastapi.testclient import TestClient
from PIL import Image
from tests.e2e.service_world import OPERATOR, PASSWORD, World, build_world

from cordon.api.server import create_app

A1 = "case-00000000000000a1"


@pytest.fixture
def world(state_url: str, tmp_path: Path) -> Iterator[World]:
    w = build_world(state_url, tmp_path, max_body_bytes=64 * 1024)
    yield w
    w.service.close()


def login(client: TestClient, name: str = OPERATOR) -> str:
    r = client.post("/api/v1/session", json={"name": name, "password": PASSWORD})
    assert r.status_code == 200, r.text
    return str(r.json()["csrf"])


def detail_energy(png: bytes) -> float:
    """Mean absolute difference between neighbouring pixels of the greyscale image: how much detail it shows."""
    grey = np.asarray(Image.open(io.BytesIO(png)).convert("L"), dtype=np.float64)
    return float(np.abs(np.diff(grey, axis=1)).mean() + np.abs(np.diff(grey, axis=0)).mean())


def test_login_queue_case_reveal_decide(world: World) -> None:
    client = TestClient(create_app(service=world.service))
    csrf = login(client)
    queue = client.get("/api/v1/queue").json()
    # the child-safety cases first (the recent one before the old one), the larger spam network last
    assert [i["id"] for i in queue["items"]] == [d.case.id for d in world.cases]
    assert queue["items"][0]["label"] == "child-safety" and queue["items"][-1]["label"] == "coordinated-spam"

    view = client.get(f"/api/v1/cases/{A1}").json()
    dossier = world.cases[0]
    assert view["status"] == "open" and len(view["dossier"]["case"]["members"]) == len(dossier.case.members)
    assert view["dossier"]["suppress_tags"][0]["tag"] == "tagA1"
    expected_media = [q.sha256 for q in dossier.media_queue] + [
        r.id for m in dossier.case.members for e in m.evidence for r in e.refs if r.kind == "media"
    ]
    assert sorted(view["media"]) == sorted(expected_media)

    sha = dossier.media_queue[0].sha256
    original = world.media[sha]
    preview = client.get(f"/api/v1/cases/{A1}/media/{sha}/preview")
    assert preview.status_code == 200 and preview.headers["content-type"] == "image/png"
    assert Image.open(io.BytesIO(preview.content)).mode == "L"  # greyscale
    assert detail_energy(preview.content) < detail_energy(original) / 20  # blurred beyond recognition
    assert world.service.store.exposure() == {}  # a blurred preview is not a view of the media

    item = f"/api/v1/cases/{A1}/media/{sha}"
    assert client.get(item).status_code == 403  # not before a logged reveal
    revealed = client.post(f"{item}/reveal", headers={"X-CSRF-Token": csrf})
    assert revealed.status_code == 201
    receipt = revealed.json()
    got = client.get(receipt["url"])
    assert got.status_code == 200 and hashlib.sha256(got.content).hexdigest() == sha
    assert got.headers["cache-control"] == "no-store" and got.headers["content-type"] == "image/png"
    audit = world.service.store.audit_entries()
    entry = next(e for e in audit if e.seq == receipt["audit_seq"])
    assert (entry.actor, entry.action, entry.subject, entry.hash) == (
        OPERATOR,
        "media.reveal",
        f"media:{sha}",
        receipt["audit_hash"],
    )
    assert world.service.store.exposure() == {OPERATOR: 1}

    decided = client.post(f"/api/v1/cases/{A1}/decisions", json={"decision": "confirm"},
                          headers={"X-CSRF-Token": csrf})  # fmt: skip
    assert decided.status_code == 201 and decided.json()["kind"] == "confirm"
    assert client.get(f"/api/v1/cases/{A1}").json()["status"] == "confirmed"
    assert A1 not in [i["id"] for i in client.get("/api/v1/queue").json()["items"]]  # no longer open work
    again = client.post(f"/api/v1/cases/{A1}/decisions", json={"decision": "dismiss", "note": "x"},
                        headers={"X-CSRF-Token": csrf})  # fmt: skip
    assert again.status_code == 409 and "is confirmed" in again.json()["detail"]
    assert world.service.store.verify_audit().ok


def test_html_pages_show_blurred_media_and_a_reveal_receipt(world: World) -> None:
    client = TestClient(create_app(service=world.service))
    csrf = login(client)
    page = client.get(f"/cases/{A1}")
    assert page.status_code == 200 and 'class="blurred"' in page.text and "Reveal (logged)" in page.text
    assert f"/api/v1/cases/{A1}/media/" in page.text and "/preview" in page.text
    assert "<svg" in page.text  # the network graph and the timeline
    sha = world.cases[0].media_queue[1].sha256
    fragment = client.post(
        f"/ui/cases/{A1}/media/{sha}/reveal", headers={"X-CSRF-Token": csrf, "HX-Request": "true"}
    )
    assert fragment.status_code == 200 and fragment.text.lstrip().startswith("<figure")
    seq = max(e.seq for e in world.service.store.audit_entries())
    assert f"audit entry #{seq}" in fragment.text and f"/api/v1/cases/{A1}/media/{sha}" in fragment.text
    form = client.post(f"/cases/{A1}/decide", data={"decision": "escalate", "note": "needs legal", "csrf": csrf},
                       follow_redirects=False)  # fmt: skip
    assert form.status_code == 303 and form.headers["location"] == f"/cases/{A1}"
    assert world.service.store.status(A1) == "escalated"
    no_csrf = client.post(f"/cases/{A1}/decide", data={"decision": "claim"}, follow_redirects=False)
    assert no_csrf.status_code == 403


def test_login_form_with_double_submit_token(world: World) -> None:
    client = TestClient(create_app(service=world.service))
    form = client.get("/login")
    token = form.cookies.get("cordon_login_csrf")
    assert token and f'value="{token}"' in form.text
    bad = client.post(
        "/login", data={"name": OPERATOR, "password": PASSWORD, "csrf": "forged"}, follow_redirects=False
    )
    assert bad.status_code == 403
    wrong = client.post(
        "/login", data={"name": OPERATOR, "password": "nope", "csrf": token}, follow_redirects=False
    )
    assert wrong.status_code == 303 and "failed=1" in wrong.headers["location"]
    ok = client.post("/login", data={"name": OPERATOR, "password": PASSWORD, "csrf": token, "next": "//evil.example"},
                     follow_redirects=False)  # fmt: skip
    assert ok.status_code == 303 and ok.headers["location"] == "/queue"  # no open redirect
    assert (
        "httponly" in ok.headers["set-cookie"].lower()
        and "samesite=strict" in ok.headers["set-cookie"].lower()
    )
    assert client.get("/queue").status_code == 200


def test_malformed_payloads_get_field_errors(world: World) -> None:
    client = TestClient(create_app(service=world.service))
    csrf = login(client)
    h = {"X-CSRF-Token": csrf}
    r = client.post(f"/api/v1/cases/{A1}/decisions", json={"decision": "approve-everything"}, headers=h)
    assert r.status_code == 422 and r.json()["detail"][0]["loc"] == ["body", "decision"]
    r = client.post(f"/api/v1/cases/{A1}/decisions", json={"decision": "confirm", "extra": 1}, headers=h)
    assert r.status_code == 422 and r.json()["detail"][0]["loc"] == ["body", "extra"]
    r = client.post("/api/v1/session", json={"name": "x"})
    assert r.status_code == 422 and r.json()["detail"][0]["loc"] == ["body", "password"]
    r = client.post(
        f"/api/v1/cases/{A1}/decisions",
        content=b"{not json",
        headers={**h, "content-type": "application/json"},
    )
    assert r.status_code == 422
    r = client.get("/api/v1/queue", params={"limit": 0})
    assert r.status_code == 422 and r.json()["detail"][0]["loc"] == ["query", "limit"]


def test_oversize_bodies_are_refused_before_reading(world: World) -> None:
    client = TestClient(create_app(service=world.service))
    csrf = login(client)
    big = {"decision": "escalate", "note": "x" * (70 * 1024)}
    r = client.post(f"/api/v1/cases/{A1}/decisions", json=big, headers={"X-CSRF-Token": csrf})
    assert r.status_code == 413 and "over the limit" in r.json()["detail"]

    def chunks() -> Iterator[bytes]:  # no Content-Length: counted while streaming
        yield b'{"decision": "escalate", "note": "'
        for _ in range(80):
            yield b"y" * 1024
        yield b'"}'

    r = client.post(f"/api/v1/cases/{A1}/decisions", content=chunks(),
                    headers={"X-CSRF-Token": csrf, "content-type": "application/json"})  # fmt: skip
    assert r.status_code == 413
    assert [e.kind for e in world.service.store.events(A1)] == ["opened"]


@pytest.mark.parametrize(
    "media_id",
    [
        "../../../../etc/passwd",
        "..%2F..%2Fstate.db",
        "%2e%2e%2f%2e%2e%2fkeys",
        "A" * 64,
        "ab" * 31,
        "ab" * 33,
    ],
)
def test_no_path_traversal_through_media_ids(world: World, media_id: str) -> None:
    client = TestClient(create_app(service=world.service))
    csrf = login(client)
    for path in (f"/api/v1/cases/{A1}/media/{media_id}", f"/api/v1/cases/{A1}/media/{media_id}/preview"):
        r = client.get(path)
        assert r.status_code in (404, 422), (path, r.status_code)
        assert b"root:" not in r.content and b"SQLite format" not in r.content
    r = client.post(f"/api/v1/cases/{A1}/media/{media_id}/reveal", headers={"X-CSRF-Token": csrf})
    assert r.status_code in (404, 422)
    assert world.service.store.exposure() == {}


def test_media_of_another_case_or_unstored_is_not_served(world: World) -> None:
    client = TestClient(create_app(service=world.service))
    csrf = login(client)
    other = world.cases[1].media_queue[0].sha256  # belongs to case b2
    r = client.post(f"/api/v1/cases/{A1}/media/{other}/reveal", headers={"X-CSRF-Token": csrf})
    assert r.status_code == 404 and "not part of case" in r.json()["detail"]
    unstored = world.cases[0].media_queue[2].sha256  # hash known, bytes never stored
    assert (
        client.post(f"/api/v1/cases/{A1}/media/{unstored}/reveal", headers={"X-CSRF-Token": csrf}).status_code
        == 201
    )
    r = client.get(f"/api/v1/cases/{A1}/media/{unstored}")
    assert r.status_code == 404 and "not stored" in r.json()["detail"]
    preview = client.get(f"/api/v1/cases/{A1}/media/{unstored}/preview")
    assert preview.status_code == 200 and detail_energy(preview.content) == 0.0  # a flat placeholder


def test_tampered_blob_is_never_served(world: World) -> None:
    client = TestClient(create_app(service=world.service))
    csrf = login(client)
    sha = world.cases[0].media_queue[0].sha256
    path = world.blobs / sha[:2] / sha[2:4] / sha
    path.write_bytes(b"replaced bytes")
    client.post(f"/api/v1/cases/{A1}/media/{sha}/reveal", headers={"X-CSRF-Token": csrf})
    r = client.get(f"/api/v1/cases/{A1}/media/{sha}")
    assert r.status_code == 404 and "no longer match" in r.json()["detail"]


def test_api_tokens_work_without_csrf_and_stop_when_revoked(world: World) -> None:
    client = TestClient(create_app(service=world.service))
    csrf = login(client)
    issued = client.post(
        "/api/v1/tokens", json={"name": "triage bot", "days": 7}, headers={"X-CSRF-Token": csrf}
    )
    assert issued.status_code == 201
    token, token_id = issued.json()["token"], issued.json()["info"]["id"]
    bot = TestClient(create_app(service=world.service))
    bearer = {"Authorization": f"Bearer {token}"}
    assert bot.get("/api/v1/me", headers=bearer).json()["via"] == "token"
    r = bot.post(f"/api/v1/cases/{A1}/decisions", json={"decision": "claim"}, headers=bearer)
    assert r.status_code == 201 and r.json()["actor"] == OPERATOR
    assert client.delete(f"/api/v1/tokens/{token_id}", headers={"X-CSRF-Token": csrf}).status_code == 200
    assert bot.get("/api/v1/me", headers=bearer).status_code == 401
    assert bot.get("/api/v1/me", headers={"Authorization": "Bearer cordon_forged"}).status_code == 401


def test_logout_ends_the_session_on_the_server(world: World) -> None:
    client = TestClient(create_app(service=world.service))
    csrf = login(client)
    cookie = client.cookies.get("cordon_session")
    assert client.delete("/api/v1/session", headers={"X-CSRF-Token": csrf}).status_code == 204
    replay = TestClient(create_app(service=world.service), cookies={"cordon_session": cookie or ""})
    assert replay.get("/api/v1/me").status_code == 401


def test_security_headers_on_every_response(world: World) -> None:
    client = TestClient(create_app(service=world.service))
    for path in ("/login", "/api/v1/openapi.json", "/api/v1/queue", "/static/cordon.js"):
        r = client.get(path)
        assert r.headers["x-frame-options"] == "DENY", path
        assert "frame-ancestors 'none'" in r.headers["content-security-policy"], path
        assert r.headers["x-content-type-options"] == "nosniff", path
