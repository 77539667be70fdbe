"""Schemathesis against the published OpenAPI spec, on SQLite and PostgreSQL: generated requests (valid and
invalid) to every operation, authenticated with an API token that holds every role. No server error, and every
response conforms to the spec (documented status, content type and body schema)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from tests.e2e.service_world import World, build_world

from cordon.api.server import create_app
from cordon.respond.access import Principal, Role


@pytest.fixture
def world(state_url: str, tmp_path: Path) -> Iterator[World]:
    w = build_world(state_url, tmp_path)
    yield w
    w.service.close()


def test_no_server_error_and_responses_match_the_spec(world: World) -> None:
    user = world.service.access.add_user("test-setup", "fuzzer", "fuzzer passphrase", list(Role))
    principal = Principal(user.id, user.name, user.roles, "token")
    token = world.service.access.issue_token(principal, "schemathesis", days=1).token
    schema = schemathesis.openapi.from_asgi("/api/v1/openapi.json", create_app(service=world.service))
    operations = [result.ok() for result in schema.get_all_operations()]  # type: ignore[union-attr]
    assert len(operations) >= 18
    exercised: list[str] = []
    for operation in operations:

        @given(case=operation.as_strategy())
        @settings(max_examples=20, deadline=None, suppress_health_check=list(HealthCheck), database=None)
        def run(case: schemathesis.Case[Any]) -> None:
            case.call_and_validate(headers={"Authorization": f"Bearer {token}"})

        run()
        exercised.append(operation.label)
    assert "POST /api/v1/cases/{case_id}/media/{sha256}/reveal" in exercised
