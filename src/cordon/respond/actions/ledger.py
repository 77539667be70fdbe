"""What the state store keeps of actions: one row per (case, adapter, verb, target, dry run) with its latest
outcome and transcript; the history of every attempt is in the audit chain.

A target whose real action is `done` or `queued` is not acted on again when the same network action is
repeated (after a failure, or after new members were added by a re-analysis): the repeat acts on the rest.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Sequence
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from cordon.respond.actions.base import ActionOutcome, ActionStatus, Exchange
from cordon.respond.state.tables import ActionRow

SETTLED = frozenset({ActionStatus.DONE.value, ActionStatus.QUEUED.value})


def action_id(case_id: str, adapter: str, verb: str, target_key: str, dry_run: bool) -> str:
    """Stable per (case, adapter, verb, target, dry run): the receiver's de-duplication key too."""
    key = f"{case_id}|{adapter}|{verb}|{target_key}|{'dry' if dry_run else 'real'}"
    return "act-" + hashlib.sha256(key.encode()).hexdigest()[:32]


def settled_targets(s: Session, case_id: str, adapter: str, verb: str) -> dict[str, str]:
    """Targets whose real `verb` through `adapter` is done or queued: target key -> status."""
    rows = s.execute(
        select(ActionRow.target, ActionRow.status).where(
            ActionRow.case_id == case_id, ActionRow.adapter == adapter, ActionRow.kind == verb,
            ActionRow.dry_run.is_(False), ActionRow.status.in_(sorted(SETTLED)),
        )
    )  # fmt: skip
    return {str(t): str(st) for t, st in rows}


def _exchange_json(e: Exchange) -> dict[str, object]:
    return {
        "method": e.method, "url": e.url, "request": e.request, "status": e.status, "response": e.response,
        "at": e.at.isoformat(), "elapsed_ms": e.elapsed_ms, "attempt": e.attempt,
    }  # fmt: skip


def outcome_json(outcome: ActionOutcome) -> dict[str, object]:
    return {
        "verb": outcome.verb.value,
        "target": outcome.target.key,
        "status": outcome.status.value,
        "detail": outcome.detail,
        "external_ref": outcome.external_ref,
        "planned": [c.describe() for c in outcome.planned],
        "exchanges": [_exchange_json(e) for e in outcome.exchanges],
    }


def outcomes_digest(outcomes: Iterable[ActionOutcome]) -> str:
    """SHA-256 over the outcomes' canonical JSON lines: the audit entry commits to every per-target result."""
    digest = hashlib.sha256()
    for outcome in outcomes:
        digest.update(
            json.dumps(outcome_json(outcome), sort_keys=True, separators=(",", ":")).encode() + b"\n"
        )
    return digest.hexdigest()


def record_outcomes(
    s: Session,
    case_id: str,
    adapter: str,
    *,
    dry_run: bool,
    actor: str,
    at: datetime,
    outcomes: Sequence[ActionOutcome],
) -> None:
    """Insert or refresh the rows of these outcomes (a skipped repeat leaves the settled row as it was)."""
    ids = {action_id(case_id, adapter, o.verb.value, o.target.key, dry_run): o for o in outcomes}
    known = {r.id: r for r in s.scalars(select(ActionRow).where(ActionRow.id.in_(list(ids))))}
    for row_id, outcome in ids.items():
        detail = json.dumps(outcome_json(outcome), sort_keys=True, ensure_ascii=False)
        row = known.get(row_id)
        if row is None:
            s.add(
                ActionRow(
                    id=row_id, case_id=case_id, adapter=adapter, kind=outcome.verb.value,
                    target=outcome.target.key, dry_run=dry_run, status=outcome.status.value, at=at,
                    actor=actor, detail=detail,
                )
            )  # fmt: skip
        elif not (row.status in SETTLED and outcome.status is ActionStatus.SKIPPED):
            row.status, row.at, row.actor, row.detail = outcome.status.value, at, actor, detail
    s.flush()
