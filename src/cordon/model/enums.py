"""Enumerations shared by every stage (stdlib only)."""

from __future__ import annotations

from enum import StrEnum


class Platform(StrEnum):
    MASTODON = "mastodon"
    X = "x"
    BLUESKY = "bluesky"


class EdgeKind(StrEnum):
    FOLLOW = "follow"
    REPLY = "reply"
    REBLOG = "reblog"
    QUOTE = "quote"
    MENTION = "mention"
    LIKE = "like"


class MediaKind(StrEnum):
    IMAGE = "image"
    VIDEO = "video"
    GIFV = "gifv"
    AUDIO = "audio"
    UNKNOWN = "unknown"


class ModerationAction(StrEnum):
    SUSPEND = "suspend"
    SILENCE = "silence"
    DISABLE = "disable"
    SENSITIVE = "sensitive"
    DELETE = "delete"
    WARN = "warn"
    OTHER = "other"


class EntityKind(StrEnum):
    URL = "url"
    DOMAIN = "domain"
    TELEGRAM = "telegram"
    DISCORD = "discord"
    MESSENGER = "messenger"
    WALLET = "wallet"
    EMAIL = "email"
    PHONE = "phone"
    PRICE = "price"
    HASHTAG = "hashtag"


class HashAlgo(StrEnum):
    PDQ = "pdq"
    VPDQ = "vpdq"
    MD5 = "md5"
    SHA1 = "sha1"
    SHA256 = "sha256"


class BankCategory(StrEnum):
    CHILD_SAFETY = "child-safety"
    SPAM = "spam"
    TERRORISM = "terrorism"
    OTHER = "other"
    SAFELIST = "safelist"


class CaseLabel(StrEnum):
    CHILD_SAFETY = "child-safety"
    COORDINATED_SPAM = "coordinated-spam"
    ORGANIC = "organic"
    UNDETERMINED = "undetermined"


class CaseStatus(StrEnum):
    OPEN = "open"
    IN_REVIEW = "in-review"
    SECOND_REVIEW = "second-review"
    ESCALATED = "escalated"
    CONFIRMED = "confirmed"
    DISMISSED = "dismissed"
    ACTIONED = "actioned"
    REPORTED = "reported"
