"""Fixtures shared by every test: where ../shared is, and a scratch directory."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[1]
SHARED = REPO_ROOT.parent / "shared"


@pytest.fixture(scope="session")
def shared() -> Path:
    """The read-only ../shared folder (design, reference vectors, recorded payloads)."""
    if not SHARED.is_dir():
        pytest.fail(f"../shared not found beside the repository at {SHARED}")
    return SHARED


PG_URL = os.environ.get("CORDON_TEST_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")


def _reset_postgres(url: str) -> None:
    """Drop everything in the test database's public schema: each state-store test starts from nothing."""
    from sqlalchemy import create_engine, text  # noqa: PLC0415 - only the tests that use PostgreSQL need it

    engine = create_engine(url)
    with engine.begin() as conn:
        conn.execute(text("DROP SCHEMA public CASCADE"))
        conn.execute(text("CREATE SCHEMA public"))
    engine.dispose()


@pytest.fixture(params=["sqlite", "postgresql"])
def state_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A URL for an empty state store: SQLite in a temp file, and PostgreSQL over a real connection."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'state.db'}"
    _reset_postgres(PG_URL)
    return PG_URL
