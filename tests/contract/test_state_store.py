"""The state store, on SQLite and on PostgreSQL over a real connection: migrations, append-only events with
derived status, audited media views, and an audit chain that detects tampering."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime

import pytest
from sqlalchemy import text

from cordon.model import CaseStatus
from cordon.respond.state.store import StateStore
from cordon.respond.state.tables import CaseRow


def _case(store: StateStore, case_id: str = "case-1") -> None:
    with store.session() as s:
        s.add(CaseRow(id=case_id, label="child-safety", score=0.9, platform="mastodon", members=3,
                      novel_media=1, priority=1.0, latest_activity=None, imported_at=datetime.now(UTC),
                      dossier={"case": {"id": case_id}}))  # fmt: skip


@pytest.fixture
def store(state_url: str) -> Iterator[StateStore]:
    st = StateStore(state_url)
    yield st
    st.close()


def _alembic_head() -> str:
    """The newest revision, read from the migration scripts (not from the database under test)."""
    from alembic.config import Config  # noqa: PLC0415
    from alembic.script import ScriptDirectory  # noqa: PLC0415

    from cordon.respond.state.store import MIGRATIONS  # noqa: PLC0415

    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    head = ScriptDirectory.from_config(cfg).get_current_head()
    assert head is not None
    return head


def test_migrations_are_idempotent(state_url: str) -> None:
    StateStore(state_url).close()
    again = StateStore(state_url)  # a second open finds the schema at head and changes nothing
    with again.engine.connect() as conn:
        versions = conn.execute(text("SELECT version_num FROM alembic_version")).scalars().all()
    assert versions == [_alembic_head()]
    again.close()


def test_status_is_derived_from_append_only_events(store: StateStore) -> None:
    _case(store)
    assert store.status("case-1") is CaseStatus.OPEN
    with store.session() as s:
        store.append_event(s, "case-1", "claim", "rita")
        store.append_event(s, "case-1", "second-review", "rita", "unsure about two members")
    with store.session() as s:
        store.append_event(s, "case-1", "confirm", "sam")
    events = store.events("case-1")
    assert [(e.seq, e.kind, e.actor) for e in events] == [
        (1, "claim", "rita"),
        (2, "second-review", "rita"),
        (3, "confirm", "sam"),
    ]
    assert events[1].note == "unsure about two members" and events[0].at.tzinfo is not None
    assert store.status("case-1") is CaseStatus.CONFIRMED


def test_failed_transaction_leaves_no_event_and_no_audit(store: StateStore) -> None:
    _case(store)
    with pytest.raises(RuntimeError), store.session() as s:
        store.append_event(s, "case-1", "confirm", "sam")
        raise RuntimeError("crash before commit")
    assert store.events("case-1") == ()
    assert list(store.audit_entries()) == []


def test_media_view_is_counted_and_audited(store: StateStore) -> None:
    _case(store)
    with store.session() as s:
        store.record_view(s, "rita", "case-1", "ab" * 32)
        store.record_view(s, "rita", "case-1", "cd" * 32)
        store.record_view(s, "sam", "case-1", "ab" * 32)
    assert store.exposure() == {"rita": 2, "sam": 1}
    reveals = [e for e in store.audit_entries() if e.action == "media.reveal"]
    assert [(e.actor, e.subject) for e in reveals] == [("rita", "media:" + "ab" * 32), ("rita", "media:" + "cd" * 32),
                                                       ("sam", "media:" + "ab" * 32)]  # fmt: skip


def test_audit_chain_verifies_and_detects_tampering(store: StateStore) -> None:
    _case(store)
    with store.session() as s:
        for kind in ("claim", "confirm", "actioned"):
            store.append_event(s, "case-1", kind, "sam")
    verdict = store.verify_audit()
    assert verdict.ok and verdict.entries == 3
    with store.engine.begin() as conn:  # someone edits the database behind cordon's back
        conn.execute(text("UPDATE audit_log SET actor = 'mallory' WHERE seq = 2"))
    bad = store.verify_audit()
    assert not bad.ok and bad.first_bad_seq == 2 and "altered" in bad.reason
    with store.engine.begin() as conn:
        conn.execute(text("UPDATE audit_log SET actor = 'sam' WHERE seq = 2"))
        conn.execute(text("DELETE FROM audit_log WHERE seq = 1"))
    gone = store.verify_audit()
    assert not gone.ok and gone.first_bad_seq == 2 and "gap" in gone.reason
