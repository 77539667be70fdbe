"""The review queue and decisions on cases.

Priority: the category of the bank that anchored the case outranks everything (a child-safety case always comes
before any spam case), then the size of the network, how recent its activity is (half-life of a week), the
media it posted that matches no bank (possible new material) and the detection score. A case's status is
derived from its append-only events; the queue filters on that derived status in SQL, so that it stays one
query however many cases and events there are.

Decisions are events: claim, escalate (triage or review), confirm, dismiss, second-review (review). A second
review is a four-eyes rule: the confirm or dismiss that follows must come from another reviewer. Dismissing,
escalating and asking for a second review need a note saying why.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import DateTime, Row, String, bindparam, func, select, text
from sqlalchemy.orm import Session

from cordon.errors import ResponseError
from cordon.model import CaseEvent, CaseLabel, CaseStatus
from cordon.respond.access import Permission
from cordon.respond.audit import AuditEntry
from cordon.respond.state.store import STATUS_AFTER, StateStore, derive_status, utc
from cordon.respond.state.tables import CaseEventRow, CaseRow, MediaViewRow

CATEGORY_WEIGHT: dict[CaseLabel, float] = {
    CaseLabel.CHILD_SAFETY: 1000.0,
    CaseLabel.UNDETERMINED: 100.0,
    CaseLabel.COORDINATED_SPAM: 50.0,
    CaseLabel.ORGANIC: 0.0,
}
RECENCY_HALF_LIFE_DAYS = 7.0

OPEN_WORK = frozenset({CaseStatus.OPEN, CaseStatus.IN_REVIEW, CaseStatus.SECOND_REVIEW, CaseStatus.ESCALATED})


class Decision(StrEnum):
    CLAIM = "claim"
    ESCALATE = "escalate"
    SECOND_REVIEW = "second-review"
    CONFIRM = "confirm"
    DISMISS = "dismiss"


DECISION_PERMISSION: dict[Decision, Permission] = {
    Decision.CLAIM: Permission.CASE_TRIAGE,
    Decision.ESCALATE: Permission.CASE_TRIAGE,
    Decision.SECOND_REVIEW: Permission.CASE_DECIDE,
    Decision.CONFIRM: Permission.CASE_DECIDE,
    Decision.DISMISS: Permission.CASE_DECIDE,
}
NEEDS_NOTE = frozenset({Decision.ESCALATE, Decision.SECOND_REVIEW, Decision.DISMISS})


class CaseNotFoundError(ResponseError):
    """No case with this id was imported."""


class DecisionRefusedError(ResponseError):
    """The decision does not fit the case's current status or the four-eyes rule."""


@dataclass(frozen=True, slots=True)
class CaseImport:
    """One case to put into the state store, with its dossier as the JSON of cases.json."""

    id: str
    label: CaseLabel
    score: float
    platform: str
    members: int
    novel_media: int
    latest_activity: datetime | None
    dossier: Mapping[str, object]


@dataclass(frozen=True, slots=True)
class ImportResult:
    added: int
    updated: int
    unchanged: int
    rejected: tuple[str, ...] = ()  # one message per case left out, naming the case and the field


CASE_ID_RE = re.compile(r"^[A-Za-z0-9._:-]{1,64}$")


def _problem(index: int, c: CaseImport) -> str | None:
    """Why a case cannot be imported (naming it and the field), or None."""
    if not CASE_ID_RE.fullmatch(c.id):
        return (
            f"case #{index} (id {c.id[:80]!r}): field 'id' must be 1-64 letters, digits, '.', '_', ':' or '-'"
        )
    if len(c.platform) > 32 or "\x00" in c.platform:
        return f"case {c.id}: field 'platform' must be a short platform name"
    if not (0.0 <= c.score <= 1.0) or c.members < 0 or c.novel_media < 0:
        return f"case {c.id}: fields 'score' (0..1), 'members' and 'novel_media' (>= 0) are out of range"
    return None


@dataclass(frozen=True, slots=True)
class QueueItem:
    id: str
    label: CaseLabel
    score: float
    platform: str
    members: int
    novel_media: int
    priority: float
    latest_activity: datetime | None
    status: CaseStatus
    claimed_by: str  # the reviewer who claimed it, when the case is in review


@dataclass(frozen=True, slots=True)
class QueuePage:
    items: tuple[QueueItem, ...]
    total: int
    offset: int
    limit: int


def priority(
    label: CaseLabel,
    members: int,
    novel_media: int,
    latest_activity: datetime | None,
    score: float,
    now: datetime,
) -> float:
    """The queue priority of a case (higher first); see the module docstring for the terms."""
    size = 40.0 * math.log10(1 + max(members, 0))
    if latest_activity is None:
        recency = 0.0
    else:
        age_days = max(0.0, (now - latest_activity).total_seconds() / 86400)
        recency = 60.0 * 0.5 ** (age_days / RECENCY_HALF_LIFE_DAYS)
    novel = 30.0 * math.log10(1 + max(novel_media, 0))
    return round(CATEGORY_WEIGHT[label] + size + recency + novel + 20.0 * score, 3)


def import_cases(
    store: StateStore, cases: Iterable[CaseImport], actor: str, now: datetime | None = None
) -> ImportResult:
    """Add new cases (each with an `opened` event) and refresh the dossier of known ones; events are kept."""
    now = now or datetime.now(UTC)
    items, rejected = [], []
    for index, c in enumerate(cases):
        problem = _problem(index, c)
        if problem is None:
            items.append(c)
        else:
            rejected.append(problem)
    added = updated = unchanged = 0
    with store.session() as s:
        known = {r.id: r for r in s.scalars(select(CaseRow).where(CaseRow.id.in_([c.id for c in items])))}
        for c in items:
            prio = priority(c.label, c.members, c.novel_media, c.latest_activity, c.score, now)
            row = known.get(c.id)
            if row is None:
                row = CaseRow(
                    id=c.id, label=str(c.label), score=c.score, platform=c.platform, members=c.members,
                    novel_media=c.novel_media, priority=prio, latest_activity=c.latest_activity,
                    imported_at=now, dossier=dict(c.dossier),
                )  # fmt: skip
                s.add(row)
                s.flush()
                store.append_event(s, c.id, "opened", actor, f"imported, priority {prio}")
                known[c.id] = row
                added += 1
            elif row.dossier != dict(c.dossier):
                row.label, row.score, row.platform = str(c.label), c.score, c.platform
                row.members, row.novel_media, row.priority = c.members, c.novel_media, prio
                row.latest_activity, row.dossier, row.imported_at = c.latest_activity, dict(c.dossier), now
                store.append_event(s, c.id, "updated", actor, "dossier refreshed by a new analysis")
                updated += 1
            else:
                unchanged += 1
        store.audit(s, actor, "cases.import", "cases",
                    {"added": added, "updated": updated, "rejected": len(rejected)})  # fmt: skip
    return ImportResult(added, updated, unchanged, tuple(rejected))


def _status_sql() -> str:
    """Cases with their status derived in SQL from the latest status-changing event (as derive_status).

    Plain SQL that SQLite and PostgreSQL both run; built once from STATUS_AFTER (constants, never input). It
    reads the cases' small columns only, never the dossier (which can be tens of megabytes)."""
    kinds = ", ".join(f"'{kind}'" for kind in STATUS_AFTER)
    whens = " ".join(f"WHEN '{kind}' THEN '{status}'" for kind, status in STATUS_AFTER.items())
    return f"""
        WITH last AS (
            SELECT case_id, max(seq) AS seq FROM case_events WHERE kind IN ({kinds}) GROUP BY case_id
        )
        SELECT c.id, c.label, c.score, c.platform, c.members, c.novel_media, c.priority, c.latest_activity,
               CASE e.kind {whens} ELSE '{CaseStatus.OPEN}' END AS status, e.actor AS actor
        FROM cases c
        LEFT JOIN last l ON l.case_id = c.id
        LEFT JOIN case_events e ON e.case_id = l.case_id AND e.seq = l.seq"""


_WITH_STATUS = _status_sql()
_QUEUE = (
    text(f"""
        SELECT q.*, count(*) OVER () AS total FROM ({_WITH_STATUS}) q
        WHERE q.status IN :statuses AND (:label IS NULL OR q.label = :label)
        ORDER BY q.priority DESC, (q.latest_activity IS NULL), q.latest_activity DESC, q.id
        LIMIT :limit OFFSET :offset""")
    .bindparams(bindparam("statuses", expanding=True), bindparam("label", type_=String()))
    .columns(latest_activity=DateTime(timezone=True))
)
_COUNT = text(f"""
    SELECT count(*) FROM ({_WITH_STATUS}) q
    WHERE q.status IN :statuses AND (:label IS NULL OR q.label = :label)""").bindparams(
    bindparam("statuses", expanding=True), bindparam("label", type_=String())
)
_BY_STATUS = text(f"SELECT q.status, count(*) FROM ({_WITH_STATUS}) q GROUP BY q.status")


def queue(
    store: StateStore,
    *,
    statuses: frozenset[CaseStatus] = OPEN_WORK,
    label: CaseLabel | None = None,
    limit: int = 50,
    offset: int = 0,
) -> QueuePage:
    """Cases whose derived status is in `statuses`, highest priority first, newest activity breaking ties."""
    params = {
        "statuses": sorted(str(st) for st in statuses), "label": str(label) if label else None,
        "limit": limit, "offset": offset,
    }  # fmt: skip
    with store.reading() as c:
        rows = c.execute(_QUEUE, params).all() if limit > 0 else []
        if rows:
            total = int(rows[0].total)
        else:  # an empty page says nothing about the total
            total = int(c.scalar(_COUNT, {"statuses": params["statuses"], "label": params["label"]}) or 0)
        items = tuple(_queue_item(row) for row in rows)
    return QueuePage(items, total, offset, limit)


def _queue_item(row: Row[Any]) -> QueueItem:
    in_review = row.status == CaseStatus.IN_REVIEW
    return QueueItem(
        id=row.id, label=CaseLabel(row.label), score=row.score, platform=row.platform, members=row.members,
        novel_media=row.novel_media, priority=row.priority,
        latest_activity=utc(row.latest_activity) if row.latest_activity else None,
        status=CaseStatus(row.status), claimed_by=(row.actor or "") if in_review else "",
    )  # fmt: skip


@dataclass(frozen=True, slots=True)
class CaseSummary:
    """A case's row without its dossier."""

    id: str
    label: CaseLabel
    score: float
    platform: str
    members: int
    novel_media: int
    priority: float
    latest_activity: datetime | None
    imported_at: datetime


_SUMMARY = select(
    CaseRow.id, CaseRow.label, CaseRow.score, CaseRow.platform, CaseRow.members, CaseRow.novel_media,
    CaseRow.priority, CaseRow.latest_activity, CaseRow.imported_at,
).where(CaseRow.id == bindparam("case_id"))  # fmt: skip


def case_summary(store: StateStore, case_id: str) -> CaseSummary:
    with store.reading() as c:
        row = c.execute(_SUMMARY, {"case_id": case_id}).first()
    if row is None:
        raise CaseNotFoundError(f"case {case_id[:80]} does not exist; import it with `cordon cases import`")
    return CaseSummary(
        row.id, CaseLabel(row.label), row.score, row.platform, row.members, row.novel_media, row.priority,
        utc(row.latest_activity) if row.latest_activity else None, utc(row.imported_at),
    )  # fmt: skip


def case_dossier(store: StateStore, case_id: str) -> dict[str, object]:
    """The dossier JSON of a case, as imported from cases.json."""
    with store.session() as s:
        found = s.scalar(select(CaseRow.dossier).where(CaseRow.id == case_id))
    if found is None:
        raise CaseNotFoundError(f"case {case_id[:80]} does not exist; import it with `cordon cases import`")
    return found


def _events_in(s: Session, case_id: str) -> tuple[CaseEvent, ...]:
    rows = s.scalars(select(CaseEventRow).where(CaseEventRow.case_id == case_id).order_by(CaseEventRow.seq))
    return tuple(CaseEvent(r.case_id, r.seq, r.kind, r.actor, utc(r.at), r.note) for r in rows)


def decide(store: StateStore, case_id: str, decision: Decision, actor: str, note: str = "") -> CaseEvent:
    """Append a decision to a case after checking that it fits the case's status and the four-eyes rule."""
    note = note.strip()
    if "\x00" in note:
        raise DecisionRefusedError(f"case {case_id}: the note holds a NUL character; remove it")
    if decision in NEEDS_NOTE and not note:
        raise DecisionRefusedError(f"case {case_id}: a {decision.value} needs a note saying why")
    with store.session() as s:
        if s.get(CaseRow, case_id) is None:
            raise CaseNotFoundError(f"case {case_id} does not exist; import it with `cordon cases import`")
        events = _events_in(s, case_id)
        status = derive_status(events)
        if status not in OPEN_WORK:
            raise DecisionRefusedError(
                f"case {case_id} is {status.value}: a {decision.value} needs a case that is still open"
            )
        if decision is Decision.CLAIM and status is CaseStatus.IN_REVIEW:
            holder = next(e.actor for e in reversed(events) if e.kind == "claim")
            if holder != actor:
                raise DecisionRefusedError(f"case {case_id} is already claimed by {holder}")
        if decision in (Decision.CONFIRM, Decision.DISMISS) and status is CaseStatus.SECOND_REVIEW:
            asker = next(e.actor for e in reversed(events) if e.kind == "second-review")
            if asker == actor:
                raise DecisionRefusedError(
                    f"case {case_id}: {actor} asked for a second review, so another reviewer must "
                    f"{decision.value} it"
                )
        return store.append_event(s, case_id, decision.value, actor, note)


def reveal(store: StateStore, actor: str, case_id: str, sha256: str) -> AuditEntry:
    """Log that `actor` reveals one media item of a case (a view row and an audit entry, atomically)."""
    with store.session() as s:
        return store.record_view(s, actor, case_id, sha256)


def revealed_since(store: StateStore, actor: str, case_id: str, sha256: str, since: datetime) -> bool:
    """Whether `actor` revealed this item of this case at or after `since` (the grant to fetch it)."""
    with store.reading() as c:
        found = c.scalar(
            select(MediaViewRow.id)
            .where(
                MediaViewRow.user_id == actor,
                MediaViewRow.case_id == case_id,
                MediaViewRow.sha256 == sha256,
                MediaViewRow.at >= since,
            )
            .limit(1)
        )
        return found is not None


_EXPOSURE = select(func.count()).where(MediaViewRow.user_id == bindparam("actor"))
_REVEALS = (
    select(MediaViewRow.sha256, MediaViewRow.at)
    .where(MediaViewRow.user_id == bindparam("actor"), MediaViewRow.case_id == bindparam("case_id"))
    .order_by(MediaViewRow.id)
)


def exposure_of(store: StateStore, actor: str) -> int:
    """How many media items `actor` has revealed in all (each reveal counts)."""
    with store.reading() as c:
        return int(c.execute(_EXPOSURE, {"actor": actor}).scalar() or 0)


def reveals_of(store: StateStore, actor: str, case_id: str) -> tuple[tuple[str, datetime], ...]:
    """The media items of a case that `actor` revealed, with when (oldest first)."""
    with store.reading() as c:
        rows = c.execute(_REVEALS, {"actor": actor, "case_id": case_id}).all()
        return tuple((str(sha), utc(at)) for sha, at in rows)


def status_counts(store: StateStore) -> dict[CaseStatus, int]:
    """How many cases are in each derived status (aggregate statistics, no case details)."""
    with store.session() as s:
        rows = s.execute(_BY_STATUS).all()
    out = dict.fromkeys(CaseStatus, 0)
    out.update({CaseStatus(st): int(n) for st, n in rows})
    return out
