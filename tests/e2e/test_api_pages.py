"""The case page as it is served since its dossier sections and media grid come from caches per case version and
its network graph is an image of its own: each reader still gets their own CSRF token, permissions, reveals and
exposure count; the graph needs an authorised session, is revalidated by ETag (304) and changes with the case."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from tests.e2e.service_world import OPERATOR, PASSWORD, World, build_world, make_dossier

from cordon.api.pages import etag_matches
from cordon.api.server import create_app
from cordon.app.reporting import AnalysisMeta, CasesDocument
from cordon.respond.access import Role

A1 = "case-00000000000000a1"
GRAPH = f"/cases/{A1}/graph.svg"


@pytest.fixture
def world(state_url: str, tmp_path: Path) -> Iterator[World]:
    w = build_world(state_url, tmp_path)
    w.service.access.add_user("test-setup", "rev2", PASSWORD, [Role.REVIEWER])
    yield w
    w.service.close()


def client_of(world: World, name: str) -> tuple[TestClient, str]:
    client = TestClient(create_app(service=world.service))
    r = client.post("/api/v1/session", json={"name": name, "password": PASSWORD})
    assert r.status_code == 200, r.text
    return client, str(r.json()["csrf"])


def csrf_values(html: str) -> set[str]:
    return set(re.findall(r'name="csrf" value="([^"]*)"', html)) | set(
        re.findall(r'"X-CSRF-Token": "([^"]*)"', html)
    )


def test_each_reader_gets_their_own_token_permissions_and_reveals(world: World) -> None:
    ops, ops_csrf = client_of(world, OPERATOR)
    rev2, rev2_csrf = client_of(world, "rev2")
    triage, triage_csrf = client_of(world, "triage")
    sha = world.cases[0].media_queue[0].sha256
    first = ops.get(f"/cases/{A1}").text  # fills the caches
    assert (
        ops.post(f"/api/v1/cases/{A1}/media/{sha}/reveal", headers={"X-CSRF-Token": ops_csrf}).status_code
        == 201
    )

    mine, other, theirs = (
        ops.get(f"/cases/{A1}").text,
        rev2.get(f"/cases/{A1}").text,
        triage.get(f"/cases/{A1}").text,
    )
    assert csrf_values(first) == csrf_values(mine) == {ops_csrf}
    assert csrf_values(other) == {rev2_csrf} and csrf_values(theirs) == {triage_csrf}
    assert "<!--cordon:" not in mine + other + theirs  # no slot left unfilled
    assert (
        mine.count("Reveal (logged)")
        == other.count("Reveal (logged)")
        == len(world.service.case_view(A1).media)
    )
    assert "Reveal (logged)" not in theirs and 'class="blurred"' in theirs  # triage: blurred previews only
    assert "you have revealed 1 item so far" in mine and "Your reveals in this case (1)" in mine
    assert "you have revealed 0 items so far" in other and "Your reveals in this case" not in other
    assert world.service.store.exposure() == {OPERATOR: 1}  # the reveal was logged, once
    entries = [e for e in world.service.store.audit_entries() if e.action == "media.reveal"]
    assert [(e.actor, e.subject) for e in entries] == [(OPERATOR, f"media:{sha}")]


def test_the_page_still_shows_the_dossier_and_loads_the_graph_as_an_image(world: World) -> None:
    ops, _ = client_of(world, OPERATOR)
    page = ops.get(f"/cases/{A1}")
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    assert page.headers["cache-control"] == "no-store" and "content-encoding" not in page.headers  # BREACH
    html = page.text
    assert f'<img class="graph" src="{GRAPH}"' in html and 'class="graph"' not in html.replace(
        '<img class="graph"', ""
    )
    assert '<svg viewBox="0 0 640 140" class="timeline"' in html  # the timeline stays inline
    dossier = world.cases[0]
    for m in dossier.case.members:
        assert f"<code>{m.account_id}</code>" in html
    assert "#tagA1" in html and "xq-folder.example" in html and 'id="events"' in html
    assert html.index("<h2>Media</h2>") < html.index("<h2>Network</h2>") < html.index('id="response"')


def test_the_graph_needs_an_authorised_session_and_is_revalidated_by_etag(world: World) -> None:
    anonymous = TestClient(create_app(service=world.service))
    assert anonymous.get(GRAPH).status_code == 401
    assert anonymous.get(GRAPH, headers={"If-None-Match": "*"}).status_code == 401  # no 304 without a session
    researcher, _ = client_of(world, "researcher")
    assert researcher.get(GRAPH).status_code == 403

    ops, _ = client_of(world, OPERATOR)
    first = ops.get(GRAPH)
    assert first.status_code == 200 and first.headers["content-type"] == "image/svg+xml"
    assert first.headers["cache-control"] == "private, no-cache"
    assert "default-src 'self'" in first.headers["content-security-policy"]
    assert first.content.startswith(
        b'<?xml version="1.0" encoding="utf-8"?>\n<svg xmlns="http://www.w3.org/2000/svg"'
    )
    assert first.content.count(b"<circle") == len(world.cases[0].case.members)
    etag = first.headers["etag"]
    again = ops.get(GRAPH, headers={"If-None-Match": etag})
    assert again.status_code == 304 and again.content == b"" and again.headers["etag"] == etag
    assert again.headers["cache-control"] == "private, no-cache"
    assert ops.get(GRAPH, headers={"If-None-Match": f'"other", W/{etag}'}).status_code == 304
    assert ops.get(GRAPH, headers={"If-None-Match": '"stale"'}).status_code == 200
    assert ops.get("/cases/case-unknown/graph.svg").status_code == 404

    # a new version of the case (more members) has another graph and another tag
    grown = make_dossier(A1, members=12, media=tuple(q.sha256 for q in world.cases[0].media_queue))
    meta = AnalysisMeta("synthetic", "bank.csv", datetime(2024, 5, 22, tzinfo=UTC), 100, 50, 4, 1, 0.1)
    doc = CasesDocument("cordon.cases/1", meta, (grown,))
    assert world.service.import_document(doc, "test-setup").updated == 1
    changed = ops.get(GRAPH, headers={"If-None-Match": etag})
    assert changed.status_code == 200 and changed.headers["etag"] != etag
    assert changed.content.count(b"<circle") == 12
    assert "acct11" in ops.get(f"/cases/{A1}").text  # the page's cached sections follow the new version too


def test_etag_comparison() -> None:
    assert etag_matches('"a"', '"a"') and etag_matches('W/"a"', '"a"') and etag_matches('"b", "a"', '"a"')
    assert etag_matches("*", '"a"') and not etag_matches('"b"', '"a"') and not etag_matches("", '"a"')
    assert not etag_matches("*", "")  # no picture, no match
