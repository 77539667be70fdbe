"""Over HTTP, each role can do exactly its own: every route is tried by every role, and the outcome (allowed,
or 401/403) must match what the role exists to do (the independent table in tests/unit/respond/test_access.py)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from tests.e2e.service_world import PASSWORD, World, build_world
from tests.unit.respond.test_access import SPEC

from cordon.api.server import create_app
from cordon.respond.access import Role

CASE = "case-00000000000000a1"
EMPTY_DOC: dict[str, object] = {
    "schema": "cordon.cases/1",
    "meta": {"source": "s", "bank": "b", "generated_at": "2024-05-21T00:00:00Z", "posts": 0, "accounts": 0,
             "media": 0, "matches": 0, "elapsed_s": 0.0},
    "cases": [],
}  # fmt: skip


@pytest.fixture
def world(state_url: str, tmp_path: Path) -> Iterator[World]:
    w = build_world(state_url, tmp_path)
    yield w
    w.service.close()


def routes(sha: str) -> list[tuple[str, str, str, object]]:
    """(permission it needs, method, path, JSON body): one row per route of the service."""
    return [
        ("queue.read", "GET", "/api/v1/queue", None),
        ("queue.read", "GET", "/queue", None),
        ("case.read", "GET", f"/api/v1/cases/{CASE}", None),
        ("case.read", "GET", f"/cases/{CASE}", None),
        ("case.read", "GET", f"/cases/{CASE}/graph.svg", None),
        ("media.preview", "GET", f"/api/v1/cases/{CASE}/media/{sha}/preview", None),
        ("media.reveal", "POST", f"/api/v1/cases/{CASE}/media/{sha}/reveal", None),
        ("case.triage", "POST", f"/api/v1/cases/{CASE}/decisions", {"decision": "claim"}),
        (
            "case.decide",
            "POST",
            f"/api/v1/cases/{CASE}/decisions",
            {"decision": "second-review", "note": "n"},
        ),
        ("users.manage", "GET", "/api/v1/users", None),
        (
            "users.manage",
            "POST",
            "/api/v1/users",
            {"name": "newbie", "password": PASSWORD, "roles": ["triage"]},
        ),
        ("cases.import", "POST", "/api/v1/cases/import", EMPTY_DOC),
        ("exposure.read", "GET", "/api/v1/exposure", None),
        ("audit.read", "GET", "/api/v1/audit", None),
        ("audit.read", "GET", "/api/v1/audit/verify", None),
        ("audit.read", "GET", "/audit", None),
        ("stats.read", "GET", "/api/v1/stats", None),
    ]


@pytest.mark.parametrize("role", list(Role))
def test_role_can_do_exactly_its_own(world: World, role: Role) -> None:
    client = TestClient(create_app(service=world.service))
    login = client.post("/api/v1/session", json={"name": str(role), "password": PASSWORD})
    assert login.status_code == 200
    csrf = login.json()["csrf"]
    sha = world.cases[0].media_queue[0].sha256
    outcomes = {}
    for permission, method, path, body in routes(sha):
        r = client.request(method, path, json=body, headers={"X-CSRF-Token": csrf, "accept": "text/html"},
                           follow_redirects=False)  # fmt: skip
        allowed = r.status_code not in (401, 403)
        outcomes[(method, path, permission)] = allowed
        assert allowed == (permission in SPEC[role]), (role, method, path, r.status_code, r.text[:200])
        if allowed:
            assert r.status_code < 400, (role, method, path, r.status_code, r.text[:200])
    assert any(outcomes.values())  # every role has something to do


def test_nobody_gets_anything_without_logging_in(world: World) -> None:
    client = TestClient(create_app(service=world.service))
    sha = world.cases[0].media_queue[0].sha256
    for _, method, path, body in routes(sha):
        r = client.request(method, path, json=body, follow_redirects=False)
        assert r.status_code == 401, (method, path, r.status_code)
        page = client.request(
            method, path, json=body, headers={"accept": "text/html"}, follow_redirects=False
        )
        assert page.status_code in (401, 303), (method, path, page.status_code)
        if page.status_code == 303:
            assert page.headers["location"].startswith("/login?next=")
    assert world.service.store.exposure() == {}  # nothing was revealed
