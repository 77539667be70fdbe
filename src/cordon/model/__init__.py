"""cordon's records: frozen, typed, stdlib only. Every stage speaks these; no dicts cross module boundaries."""

from cordon.model.batch import Cursor, RecordBatch
from cordon.model.columns import EdgeColumns, MediaColumns, PostColumns, TextLists
from cordon.model.corpus import (
    Account,
    Edge,
    Media,
    MediaLink,
    MediaRef,
    ModerationEvent,
    Post,
    ProfileField,
    Quarantined,
)
from cordon.model.enums import (
    BankCategory,
    CaseLabel,
    CaseStatus,
    EdgeKind,
    EntityKind,
    HashAlgo,
    MediaKind,
    ModerationAction,
    Platform,
)
from cordon.model.findings import Case, CaseEvent, CaseMember, EvidenceItem, Finding, Subject
from cordon.model.response import Action, Evidence, Report
from cordon.model.signals import Bank, BankEntry, Entity, Match, MediaHash, Signal

__all__ = [
    "Account",
    "Action",
    "Bank",
    "BankCategory",
    "BankEntry",
    "Case",
    "CaseEvent",
    "CaseLabel",
    "CaseMember",
    "CaseStatus",
    "Cursor",
    "Edge",
    "EdgeColumns",
    "EdgeKind",
    "Entity",
    "EntityKind",
    "Evidence",
    "EvidenceItem",
    "Finding",
    "HashAlgo",
    "Match",
    "Media",
    "MediaColumns",
    "MediaHash",
    "MediaKind",
    "MediaLink",
    "MediaRef",
    "ModerationAction",
    "ModerationEvent",
    "Platform",
    "Post",
    "PostColumns",
    "ProfileField",
    "Quarantined",
    "RecordBatch",
    "Report",
    "Signal",
    "Subject",
    "TextLists",
]
