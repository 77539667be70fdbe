"""Signal records: media hashes, entities, bank entries and matches (stdlib only)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from cordon.model.enums import BankCategory, EntityKind, HashAlgo, Platform


@dataclass(frozen=True, slots=True)
class MediaHash:
    """A perceptual or exact hash of one media item (one frame for video)."""

    sha256: str  # the media id
    algo: HashAlgo
    value: str  # hex
    quality: int | None = None  # PDQ quality 0..100
    frame: int | None = None  # vPDQ frame number
    timestamp_s: float | None = None


@dataclass(frozen=True, slots=True)
class Entity:
    """A normalised entity (URL, domain, invite, wallet, ...) stored as an opaque string."""

    kind: EntityKind
    value: str  # normalised
    raw: str = ""  # as found


@dataclass(frozen=True, slots=True)
class Signal:
    """Where an entity or a media hash was seen: in a post or in an account's bio/profile."""

    platform: Platform
    account_id: str
    post_id: str | None
    entity: Entity | None = None
    media_hash: MediaHash | None = None
    seen_at: datetime | None = None


@dataclass(frozen=True, slots=True)
class BankEntry:
    """One entry of a hash bank (hash list)."""

    bank: str
    entry_id: str
    algo: HashAlgo
    value: str
    category: BankCategory
    note: str = ""


@dataclass(frozen=True, slots=True)
class Bank:
    """A versioned hash list with its own threshold."""

    name: str
    category: BankCategory
    threshold: int
    version: int
    source: str = ""


@dataclass(frozen=True, slots=True)
class Match:
    """A media hash that matched a bank entry."""

    sha256: str  # the media id
    bank: str
    bank_version: int
    entry_id: str
    algo: HashAlgo
    distance: int
    category: BankCategory
