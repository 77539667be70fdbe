"""Holds: legal durations, the police extension chain, expiry alerts."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from cordon.errors import ResponseError
from cordon.respond.holds import HoldKind, deletable, expiring, new_hold

T0 = datetime(2026, 1, 1, tzinfo=UTC)


def test_durations_and_extension_chain() -> None:
    ncmec = new_hold("c", HoldKind.NCMEC, T0, "sam", reference="R-1")
    police = new_hold("c", HoldKind.POLICE, T0, "sam", reference="LE-9")
    ext = new_hold("c", HoldKind.POLICE_EXTENSION, T0, "sam", extends=police)
    assert ncmec.expires_at == T0 + timedelta(days=365)
    assert police.expires_at == T0 + timedelta(days=90)
    assert ext.starts_at == police.expires_at and ext.expires_at == T0 + timedelta(days=180)
    assert len({ncmec.id, police.id, ext.id}) == 3


def test_extension_needs_a_police_hold_and_voluntary_needs_days() -> None:
    with pytest.raises(ResponseError):
        new_hold("c", HoldKind.POLICE_EXTENSION, T0, "sam")
    with pytest.raises(ResponseError):
        new_hold("c", HoldKind.VOLUNTARY, T0, "sam")
    assert new_hold("c", HoldKind.VOLUNTARY, T0, "sam", days=30).expires_at == T0 + timedelta(days=30)


def test_expiry_alerts_and_deletion_guard() -> None:
    police = new_hold("c", HoldKind.POLICE, T0, "sam")
    ncmec = new_hold("c", HoldKind.NCMEC, T0, "sam")
    day80 = T0 + timedelta(days=80)
    assert expiring([police, ncmec], day80) == (police,)
    assert expiring([police, ncmec], T0 + timedelta(days=10)) == ()
    assert not deletable([police, ncmec], day80)
    assert deletable([police, ncmec], T0 + timedelta(days=366))
