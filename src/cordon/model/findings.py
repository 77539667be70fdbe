"""Findings and cases (stdlib only)."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime

from cordon.model.enums import CaseLabel, CaseStatus, Platform


@dataclass(frozen=True, slots=True)
class Subject:
    """What a finding is about: an account, a post, a hashtag, an entity or a media item."""

    kind: str  # "account" | "post" | "hashtag" | "entity" | "media"
    id: str
    platform: Platform | None = None


@dataclass(frozen=True, slots=True)
class EvidenceItem:
    """One fact that supports a finding, in words a reviewer can check."""

    kind: str  # e.g. "hash-match", "co-reply", "shared-entity"
    detail: str
    refs: tuple[Subject, ...] = ()
    weight: float = 1.0


@dataclass(frozen=True, slots=True)
class Finding:
    """What a detector returns: typed, scored, explained; its id is deterministic."""

    detector: str
    kind: str
    subjects: tuple[Subject, ...]
    score: float
    evidence: tuple[EvidenceItem, ...] = ()
    window_start: datetime | None = None
    window_end: datetime | None = None

    @property
    def id(self) -> str:
        key = "|".join(
            [self.detector, self.kind, *sorted(f"{s.kind}:{s.platform or ''}:{s.id}" for s in self.subjects)]
        )
        return hashlib.sha256(key.encode()).hexdigest()[:24]


@dataclass(frozen=True, slots=True)
class CaseMember:
    """An account in a case, with its role and the evidence for its membership."""

    account_id: str
    platform: Platform
    role: str  # e.g. "poster", "amplifier", "evader", "hub"
    evidence: tuple[EvidenceItem, ...] = ()


@dataclass(frozen=True, slots=True)
class CaseEvent:
    """One append-only event in a case's life; the status is derived from these."""

    case_id: str
    seq: int
    kind: str  # "opened" | "confirm" | "dismiss" | "escalate" | "second-review" | ...
    actor: str
    at: datetime
    note: str = ""


@dataclass(frozen=True, slots=True)
class Case:
    """A network: accounts, posts, entities and the findings that tie them."""

    id: str
    label: CaseLabel
    score: float
    members: tuple[CaseMember, ...]
    finding_ids: tuple[str, ...] = ()
    post_ids: tuple[str, ...] = ()
    entities: tuple[str, ...] = ()
    hashtags: tuple[str, ...] = ()
    status: CaseStatus = CaseStatus.OPEN
