"""Preservation holds: how long preserved evidence must be kept, and alerts before a hold runs out.

- ncmec: one year from the report to NCMEC (18 U.S.C. § 2258A(h) as amended by the REPORT Act);
- police: 90 days from a law-enforcement preservation request (18 U.S.C. § 2703(f)), and
- police-extension: one renewal of another 90 days, starting when the first ends;
- voluntary: as long as the operator decides (a number of days).
While any hold on a case is active, its preservation packages may not be deleted.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

from cordon.errors import ResponseError


class HoldKind(StrEnum):
    NCMEC = "ncmec"
    POLICE = "police"
    POLICE_EXTENSION = "police-extension"
    VOLUNTARY = "voluntary"


DURATION: dict[HoldKind, timedelta] = {
    HoldKind.NCMEC: timedelta(days=365),
    HoldKind.POLICE: timedelta(days=90),
    HoldKind.POLICE_EXTENSION: timedelta(days=90),
}


@dataclass(frozen=True, slots=True)
class Hold:
    id: str
    case_id: str
    kind: HoldKind
    starts_at: datetime
    expires_at: datetime
    reference: str  # the report id, the request's reference number, ...
    created_by: str

    def active(self, now: datetime) -> bool:
        return self.starts_at <= now < self.expires_at


def new_hold(
    case_id: str,
    kind: HoldKind,
    starts_at: datetime,
    created_by: str,
    *,
    reference: str = "",
    days: int | None = None,
    extends: Hold | None = None,
) -> Hold:
    """A hold of `kind` on `case_id`. An extension starts where the police hold it `extends` ends."""
    if kind is HoldKind.POLICE_EXTENSION:
        if extends is None or extends.kind is not HoldKind.POLICE:
            raise ResponseError("a police-extension hold extends a police hold: pass the hold it extends")
        starts_at = extends.expires_at
    if kind is HoldKind.VOLUNTARY:
        if not days or days <= 0:
            raise ResponseError("a voluntary hold needs a positive number of days")
        duration = timedelta(days=days)
    else:
        duration = DURATION[kind]
    key = f"{case_id}|{kind}|{starts_at.isoformat()}|{reference}"
    return Hold(
        id="hold-" + hashlib.sha256(key.encode()).hexdigest()[:16],
        case_id=case_id,
        kind=kind,
        starts_at=starts_at,
        expires_at=starts_at + duration,
        reference=reference,
        created_by=created_by,
    )


def expiring(
    holds: Iterable[Hold], now: datetime, within: timedelta = timedelta(days=14)
) -> tuple[Hold, ...]:
    """Active holds that run out within `within`: each needs a decision (extend, or let it lapse)."""
    return tuple(
        sorted(
            (h for h in holds if h.active(now) and h.expires_at - now <= within), key=lambda h: h.expires_at
        )
    )


def deletable(holds: Iterable[Hold], now: datetime) -> bool:
    """True when no hold on the case is active."""
    return not any(h.active(now) for h in holds)
