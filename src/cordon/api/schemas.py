"""Request and response bodies of the JSON API (pydantic models: validated, published in the OpenAPI spec).

Records that already exist as typed dataclasses (the queue page, the case view, the dossier, audit entries)
are returned as they are; pydantic derives their schema.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field

from cordon.respond.access import Permission, Role
from cordon.respond.actions import Verb
from cordon.respond.holds import HoldKind
from cordon.respond.review import Decision

Name = Annotated[str, Field(pattern=r"^[a-z0-9][a-z0-9._-]{1,63}$", description="lower-case user name")]
Note = Annotated[str, Field(max_length=4000, pattern=r"^[^\x00]*$")]
Text = Annotated[str, Field(min_length=1, max_length=128, pattern=r"^[^\x00]+$")]


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class LoginRequest(Strict):
    name: Text
    password: Annotated[str, Field(min_length=1, max_length=1024)]


class UserOut(BaseModel):
    name: str
    roles: list[Role]
    disabled: bool
    created_at: datetime


class SessionOut(BaseModel):
    name: str
    roles: list[Role]
    csrf: str = Field(description="send it back in the X-CSRF-Token header of every state-changing request")
    expires_at: datetime


class MeOut(BaseModel):
    name: str
    roles: list[Role]
    permissions: list[Permission]
    via: str


class NewUser(Strict):
    name: Name
    password: Annotated[str, Field(min_length=12, max_length=1024)]
    roles: Annotated[list[Role], Field(min_length=1)]


class RolesUpdate(Strict):
    roles: list[Role]


class TokenRequest(Strict):
    name: Annotated[Text, Field(description="what the token is for")]
    days: Annotated[int | None, Field(ge=1, le=3650, description="lifetime; null = until revoked")] = 90


class TokenOut(BaseModel):
    id: str
    name: str
    created_at: datetime
    expires_at: datetime | None
    revoked: bool


class IssuedTokenOut(BaseModel):
    token: str = Field(description="shown once: store it now")
    info: TokenOut


class DecisionRequest(Strict):
    decision: Decision
    note: Note = ""


class EventOut(BaseModel):
    case_id: str
    seq: int
    kind: str
    actor: str
    at: datetime
    note: str


class ImportOut(BaseModel):
    added: int
    updated: int
    unchanged: int
    rejected: list[str] = Field(description="cases left out, each naming the case and the field")


class RevealOut(BaseModel):
    case_id: str
    sha256: str
    actor: str
    at: datetime
    audit_seq: int
    audit_hash: str
    url: str = Field(description="GET it (same credentials) within `expires_at`; reveal again after that")
    expires_at: datetime


class ExposureOut(BaseModel):
    reveals: dict[str, int] = Field(description="media items revealed, per user")


class AuditEntryOut(BaseModel):
    seq: int
    at: datetime
    actor: str
    action: str
    subject: str
    detail: str
    prev_hash: str
    hash: str


class VerdictOut(BaseModel):
    ok: bool
    entries: int
    first_bad_seq: int | None
    reason: str


class StatsOut(BaseModel):
    cases_by_status: dict[str, int]


class ErrorOut(BaseModel):
    detail: str = Field(description="what was refused and how to fix it")


ERRORS: dict[int | str, dict[str, object]] = {
    400: {"model": ErrorOut, "description": "refused: the message names the field or the rule"},
    401: {"model": ErrorOut, "description": "not logged in, or the token is unknown, revoked or expired"},
    403: {
        "model": ErrorOut,
        "description": "the caller's roles do not allow it, or the CSRF token is missing",
    },
    404: {"model": ErrorOut, "description": "no such case, media item or user"},
    409: {"model": ErrorOut, "description": "the decision does not fit the case's status"},
    413: {"model": ErrorOut, "description": "the request body is over the limit"},
    503: {"model": ErrorOut, "description": "the state store is unavailable; retry"},
}


# -- response: evidence, gate, actions, holds, exports ----------------------------------------------------
Reason = Annotated[str, Field(min_length=10, max_length=4000, pattern=r"^[^\x00]+$")]
Reference = Annotated[str, Field(max_length=256, pattern=r"^[^\x00]*$")]


class PreserveRequest(Strict):
    mode: Literal["copies", "hashes"] = Field(
        "copies", description="copies: the media bytes go into the package; hashes: hashes and URLs only"
    )


class PreservationOut(BaseModel):
    package_id: str = Field(description="SHA-256 of the signed manifest")
    case_id: str
    mode: str
    files: int
    media: int
    verified: bool


class GateOut(BaseModel):
    open: bool = Field(description="an action on the case may go ahead now")
    kind: str = Field(description="preserved | override | '' when closed")
    ref: str
    detail: str


class OverrideRequest(Strict):
    reason: Reason


class OverrideOut(BaseModel):
    case_id: str
    event_seq: int


class ActRequest(Strict):
    verb: Verb
    dry_run: bool = Field(True, description="plan and record, send nothing (the default)")
    roles: list[Annotated[str, Field(pattern=r"^[a-z-]{1,32}$")]] = Field(
        default_factory=list, max_length=16, description="only members with these roles (all when empty)"
    )
    note: Note = ""


class OutcomeOut(BaseModel):
    account_id: str
    role: str
    status: str
    detail: str


class ActionResultOut(BaseModel):
    case_id: str
    verb: str
    adapter: str
    dry_run: bool
    gate: str = Field(description="what let the action go ahead: a package id or override:<event seq>")
    counts: dict[str, int]
    outcomes: list[OutcomeOut]


class HoldRequest(Strict):
    kind: HoldKind
    reference: Reference = ""
    days: int | None = Field(None, ge=1, le=3650, description="voluntary holds only")
    extends: Annotated[str, Field(max_length=64, pattern=r"^[A-Za-z0-9._:-]*$")] = ""


class HoldOut(BaseModel):
    id: str
    case_id: str
    kind: str
    starts_at: datetime
    expires_at: datetime
    reference: str
    created_by: str


class ExportRequest(Strict):
    recipient: Literal["police", "hotline"]
    include_media: bool = Field(False, description="media bytes in the zip (else their hashes only)")


class ExportOut(BaseModel):
    name: str
    sha256: str
    manifest_sha256: str
    files: int
    withheld: int
    url: str


class ReportOut(BaseModel):
    id: str
    case_id: str
    status: str = Field(description="draft | approved | submitted | finished | retracted | failed")
    external_id: str = Field(description="NCMEC's report id, once submitted")
    created_at: datetime
    created_by: str
    approved_by: str
    sha256: str = Field(description="SHA-256 of the report XML (what the approver approved)")
    xml: str
    transcript: list[dict[str, object]] = Field(description="request/response pairs with NCMEC")
