"""What every action adapter speaks: verbs, targets, planned calls, transcripts and outcomes.

An adapter turns one `ActionRequest` (a verb on one account of a case) into HTTP calls. `plan` is pure: it
returns the calls it would make (no secrets in them: credentials are added when a call is sent), so that a
dry run shows exactly what a real run would send. `perform` sends them and returns an `ActionOutcome` with a
transcript of every exchange.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Protocol

from cordon.errors import ResponseError


class Verb(StrEnum):
    SUSPEND = "suspend"  # the account is suspended (its posts vanish from view)
    SILENCE = "silence"  # limited: its posts are hidden from people who do not follow it
    SENSITIVE = "sensitive"  # its media are marked sensitive (hidden behind a warning)
    DELETE_STATUSES = "delete-statuses"  # the statuses of the case are removed
    FORWARD_FLAG = "forward-flag"  # a report goes to the account's home instance as an ActivityPub Flag


class ActionStatus(StrEnum):
    DONE = "done"  # the platform carried it out (and, where it can, confirmed it)
    QUEUED = "queued"  # handed to the platform's moderators or the receiver, not yet carried out
    DRY_RUN = "dry-run"  # planned, nothing sent
    SKIPPED = "skipped"  # nothing to do for this target (already done, or the verb does not apply)
    FAILED = "failed"  # refused by the platform or not reachable; the detail says why


class ActionRefusedError(ResponseError):
    """The adapter cannot carry out this verb on this target: an unsupported verb or a malformed id."""


class NotApplicableError(ActionRefusedError):
    """The verb does not apply to this target (no statuses to remove, a local account to forward...)."""


@dataclass(frozen=True, slots=True)
class Target:
    """One member account of a case, as an adapter needs it."""

    platform: str
    account_id: str
    acct: str = ""  # "user@home.example" for an account of another instance, "user" for a local one
    uri: str = ""  # the account's URL or ActivityPub id, when the corpus has it
    role: str = ""
    status_ids: tuple[str, ...] = ()  # the statuses of the case that this account posted
    media_sha256: tuple[str, ...] = ()  # the media of those statuses, by SHA-256

    @property
    def domain(self) -> str:
        """The home instance of a remote account ("" for a local one or when unknown)."""
        _, _, domain = self.acct.rpartition("@")
        return domain.lower() if "@" in self.acct else ""

    @property
    def key(self) -> str:
        return f"account:{self.platform}:{self.account_id}"


@dataclass(frozen=True, slots=True)
class ActionRequest:
    case_id: str
    verb: Verb
    target: Target
    note: str = ""  # the reason sent to the platform with the action (never evidence details)
    evidence_ref: str = ""  # the preservation package id (or the gate override) the action rests on
    request_id: str = ""  # a stable id for this (case, adapter, verb, target): receivers de-duplicate on it


@dataclass(frozen=True, slots=True)
class PlannedCall:
    """One HTTP request an adapter will send. `form` is x-www-form-urlencoded, `body` is raw JSON bytes."""

    method: str
    url: str
    form: tuple[tuple[str, str], ...] = ()
    body: bytes = b""
    purpose: str = ""  # "action", "verify", "report", "deliver"
    headers: tuple[tuple[str, str], ...] = ()  # non-secret headers (e.g. a webhook's signature)
    idempotent: bool = True  # may be sent again after a timeout (a report may not: it would be filed twice)

    def describe(self) -> str:
        params = "&".join(f"{k}={v}" for k, v in self.form)
        return f"{self.method} {self.url}" + (f" {params}" if params else "")


@dataclass(frozen=True, slots=True)
class Exchange:
    """One request and its response, as kept in the action's transcript (credentials never included)."""

    method: str
    url: str
    request: str  # the form or JSON body sent
    status: int  # 0 when no response came
    response: str  # the response body (cut at EXCERPT characters), or the transport error
    at: datetime
    elapsed_ms: float
    attempt: int


@dataclass(frozen=True, slots=True)
class ActionOutcome:
    verb: Verb
    target: Target
    status: ActionStatus
    detail: str
    external_ref: str = ""  # e.g. the platform's report id
    planned: tuple[PlannedCall, ...] = ()
    exchanges: tuple[Exchange, ...] = ()


class ActionAdapter(Protocol):
    """A way to act on a platform. `name` is what the state store records as the adapter."""

    @property
    def name(self) -> str: ...

    def supports(self, verb: Verb) -> bool: ...

    def plan(self, request: ActionRequest) -> tuple[PlannedCall, ...]:
        """The calls `perform` would send; ActionRefusedError when the verb or target does not fit."""
        ...

    def perform(self, request: ActionRequest) -> ActionOutcome: ...

    def close(self) -> None: ...


PLATFORM_ID_RE = re.compile(r"^[0-9]{1,20}$")


def check_numeric_id(value: str, what: str, request: ActionRequest) -> str:
    """Mastodon ids are decimal snowflakes: anything else (a path, a URL) is refused before it reaches a URL."""
    if not PLATFORM_ID_RE.fullmatch(value):
        raise ActionRefusedError(
            f"case {request.case_id}, target {request.target.key}: field '{what}' must be a numeric "
            f"platform id, got {value[:40]!r}"
        )
    return value
