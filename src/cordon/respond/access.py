"""Who may do what: users with roles, argon2 password hashes, sessions with CSRF tokens, API tokens.

Deny by default: a principal holds exactly the permissions of its roles (`PERMISSIONS`), nothing is implied
by any role (an admin manages users but does not review media). Secrets are never stored: sessions and API
tokens are kept as the SHA-256 of the random value handed out once. Every change of users, sessions and tokens
is an audit entry.

    role        may
    triage      read the queue and cases, see blurred previews, claim and escalate cases
    reviewer    all of triage, reveal media (logged), confirm, dismiss, ask for a second review
    reporter    read cases, see blurred previews, preserve evidence, build and submit reports
    approver    read cases, act on cases, approve (finish) reports
    admin       manage users, import cases, override the preservation gate, read exposure counts
    auditor     read cases, the audit log and exposure counts, verify the chain
    researcher  read aggregate statistics only
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from enum import StrEnum

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import bindparam, delete, select
from sqlalchemy.orm import Session

from cordon.errors import ResponseError
from cordon.respond.state.store import StateStore, utc
from cordon.respond.state.tables import ApiTokenRow, SessionRow, UserRow


class Role(StrEnum):
    TRIAGE = "triage"
    REVIEWER = "reviewer"
    REPORTER = "reporter"
    APPROVER = "approver"
    ADMIN = "admin"
    AUDITOR = "auditor"
    RESEARCHER = "researcher"


class Permission(StrEnum):
    QUEUE_READ = "queue.read"
    CASE_READ = "case.read"
    CASE_TRIAGE = "case.triage"  # claim, escalate
    CASE_DECIDE = "case.decide"  # confirm, dismiss, second review
    MEDIA_PREVIEW = "media.preview"  # the blurred, greyscale preview
    MEDIA_REVEAL = "media.reveal"  # the media itself, logged per item
    CASE_PRESERVE = "case.preserve"
    CASE_ACT = "case.act"
    GATE_OVERRIDE = "gate.override"  # act without a verified preservation, with a logged reason
    REPORT_BUILD = "report.build"  # build and submit, up to the approval
    REPORT_APPROVE = "report.approve"  # finish a submitted report
    AUDIT_READ = "audit.read"
    EXPOSURE_READ = "exposure.read"
    USERS_MANAGE = "users.manage"
    CASES_IMPORT = "cases.import"
    STATS_READ = "stats.read"


P = Permission
PERMISSIONS: dict[Role, frozenset[Permission]] = {
    Role.TRIAGE: frozenset({P.QUEUE_READ, P.CASE_READ, P.MEDIA_PREVIEW, P.CASE_TRIAGE}),
    Role.REVIEWER: frozenset(
        {P.QUEUE_READ, P.CASE_READ, P.MEDIA_PREVIEW, P.CASE_TRIAGE, P.CASE_DECIDE, P.MEDIA_REVEAL}
    ),
    Role.REPORTER: frozenset({P.QUEUE_READ, P.CASE_READ, P.MEDIA_PREVIEW, P.CASE_PRESERVE, P.REPORT_BUILD}),
    Role.APPROVER: frozenset({P.QUEUE_READ, P.CASE_READ, P.CASE_ACT, P.REPORT_APPROVE}),
    Role.ADMIN: frozenset({P.USERS_MANAGE, P.CASES_IMPORT, P.GATE_OVERRIDE, P.EXPOSURE_READ}),
    Role.AUDITOR: frozenset({P.QUEUE_READ, P.CASE_READ, P.AUDIT_READ, P.EXPOSURE_READ}),
    Role.RESEARCHER: frozenset({P.STATS_READ}),
}

NAME_RE = re.compile(r"^[a-z0-9][a-z0-9._-]{1,63}$")
MIN_PASSWORD = 12
TOKEN_PREFIX = "cordon_"


class AuthError(ResponseError):
    """Not authenticated: bad name or password, expired or unknown session or token."""


class AccessDeniedError(ResponseError):
    """Authenticated, but the roles do not grant the permission."""


class UnknownSubjectError(ResponseError):
    """The user or token named does not exist (for the caller)."""


class ConflictError(ResponseError):
    """The user to add already exists."""


class CsrfError(ResponseError):
    """A state-changing request over a session cookie came without the session's CSRF token."""


def permissions_of(roles: Iterable[Role]) -> frozenset[Permission]:
    granted: frozenset[Permission] = frozenset()
    for role in roles:
        granted |= PERMISSIONS[role]
    return granted


def parse_roles(text: str | Iterable[str]) -> frozenset[Role]:
    """Role names (comma-separated or a list) to roles; an unknown name is an error naming the choices."""
    names = [n.strip() for n in (text.split(",") if isinstance(text, str) else text) if n.strip()]
    roles = set()
    for name in names:
        try:
            roles.add(Role(name))
        except ValueError:
            raise ResponseError(
                f"role {name!r} does not exist; choose from {', '.join(r.value for r in Role)}"
            ) from None
    return frozenset(roles)


@dataclass(frozen=True, slots=True)
class User:
    id: str
    name: str
    roles: frozenset[Role]
    disabled: bool
    created_at: datetime


@dataclass(frozen=True, slots=True)
class Principal:
    """An authenticated caller: through a session cookie (with its CSRF token) or an API token."""

    user_id: str
    name: str
    roles: frozenset[Role]
    via: str  # "session" | "token"
    csrf: str = ""

    @property
    def permissions(self) -> frozenset[Permission]:
        return permissions_of(self.roles)

    def can(self, permission: Permission) -> bool:
        return permission in self.permissions


@dataclass(frozen=True, slots=True)
class IssuedSession:
    token: str  # the cookie value, handed out once
    csrf: str
    expires_at: datetime
    principal: Principal


@dataclass(frozen=True, slots=True)
class TokenInfo:
    id: str  # the first 16 hex digits of the token's hash: names it without revealing it
    name: str
    created_at: datetime
    expires_at: datetime | None
    revoked: bool


@dataclass(frozen=True, slots=True)
class IssuedToken:
    token: str  # handed out once
    info: TokenInfo


def require(principal: Principal, permission: Permission) -> None:
    if not principal.can(permission):
        roles = ", ".join(sorted(principal.roles)) or "no role"
        holders = ", ".join(r.value for r in Role if permission in PERMISSIONS[r])
        raise AccessDeniedError(
            f"user {principal.name} ({roles}) may not {permission.value}; it needs the role {holders}"
        )


def check_csrf(principal: Principal, presented: str | None) -> None:
    """Session-authenticated state changes must echo the session's CSRF token; API tokens need none."""
    if principal.via != "session":
        return
    if not presented or not hmac.compare_digest(presented, principal.csrf):
        raise CsrfError(
            "missing or wrong CSRF token: send the session's token in the X-CSRF-Token header or the csrf field"
        )


def digest(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


class AccessControl:
    """Users, sessions and API tokens over the state store."""

    def __init__(
        self,
        store: StateStore,
        *,
        hasher: PasswordHasher | None = None,
        session_ttl: timedelta = timedelta(hours=8),
    ) -> None:
        self.store = store
        self.hasher = hasher or PasswordHasher()
        self.session_ttl = session_ttl
        self._dummy_hash = self.hasher.hash(secrets.token_hex(16))  # equalises timing for unknown names

    # -- users ---------------------------------------------------------------------------------------------
    def add_user(self, actor: str, name: str, password: str, roles: Iterable[Role]) -> User:
        if not NAME_RE.fullmatch(name):
            raise ResponseError(
                f"user name {name!r}: use 2-64 lower-case letters, digits, '.', '_' or '-', starting with a "
                "letter or digit"
            )
        if len(password) < MIN_PASSWORD:
            raise ResponseError(f"user {name}: the password needs at least {MIN_PASSWORD} characters")
        role_set = frozenset(roles)
        now = datetime.now(UTC)
        with self.store.session() as s:
            if s.scalar(select(UserRow.id).where(UserRow.name == name)) is not None:
                raise ConflictError(f"user {name} already exists; change its roles instead")
            row = UserRow(
                id="user-" + secrets.token_hex(8), name=name, password_hash=self.hasher.hash(password),
                roles=_roles_text(role_set), created_at=now, disabled=False,
            )  # fmt: skip
            s.add(row)
            s.flush()
            self.store.audit(s, actor, "user.add", f"user:{name}", {"roles": _roles_text(role_set)})
            return _user(row)

    def set_roles(self, actor: str, name: str, roles: Iterable[Role]) -> User:
        role_set = frozenset(roles)
        with self.store.session() as s:
            row = self._user_row(s, name)
            row.roles = _roles_text(role_set)
            self.store.audit(s, actor, "user.roles", f"user:{name}", {"roles": row.roles})
            return _user(row)

    def disable_user(self, actor: str, name: str) -> User:
        """Disable a user and end its sessions and tokens (the row stays: the audit log names it)."""
        with self.store.session() as s:
            row = self._user_row(s, name)
            row.disabled = True
            s.execute(delete(SessionRow).where(SessionRow.user_id == row.id))
            for tok in s.scalars(select(ApiTokenRow).where(ApiTokenRow.user_id == row.id)):
                tok.revoked = True
            self.store.audit(s, actor, "user.disable", f"user:{name}")
            return _user(row)

    def users(self) -> tuple[User, ...]:
        with self.store.session() as s:
            return tuple(_user(r) for r in s.scalars(select(UserRow).order_by(UserRow.name)))

    def _user_row(self, s: Session, name: str) -> UserRow:
        row = s.scalars(select(UserRow).where(UserRow.name == name)).first()
        if row is None:
            raise UnknownSubjectError(f"user {name} does not exist; add it with `cordon user add {name}`")
        return row

    # -- sessions ------------------------------------------------------------------------------------------
    def login(self, name: str, password: str) -> IssuedSession:
        """Check the password and open a session; a failure is audited and names no reason to the caller."""
        printable = name[:64].replace("\x00", "\ufffd")
        with self.store.session() as s:
            row = None if "\x00" in name else s.scalars(select(UserRow).where(UserRow.name == name)).first()
            ok = self._verify(row.password_hash if row else self._dummy_hash, password)
            if row is None or row.disabled or not ok:
                self.store.audit(s, "anonymous", "session.fail", f"user:{printable}")
                failed = True
            else:
                failed = False
                if self.hasher.check_needs_rehash(row.password_hash):
                    row.password_hash = self.hasher.hash(password)
                token, csrf = secrets.token_urlsafe(32), secrets.token_urlsafe(32)
                now = datetime.now(UTC)
                expires = now + self.session_ttl
                s.add(SessionRow(token_hash=digest(token), user_id=row.id, csrf=csrf, created_at=now,
                                 expires_at=expires))  # fmt: skip
                self.store.audit(s, name, "session.open", f"user:{name}")
                principal = Principal(row.id, row.name, _parse_stored(row.roles), "session", csrf)
        if failed:  # raised after the commit so that the failure stays in the audit log
            raise AuthError("wrong user name or password")
        return IssuedSession(token, csrf, expires, principal)

    def _verify(self, stored: str, password: str) -> bool:
        try:
            return self.hasher.verify(stored, password)
        except (VerificationError, InvalidHashError):
            return False

    def session(self, token: str) -> Principal | None:
        """The principal of a live session cookie, or None (unknown, expired, or the user is disabled)."""
        with self.store.reading() as c:  # every request asks: a Core read, no ORM session
            found = c.execute(_SESSION, {"digest": digest(token)}).first()
        if found is None or found.disabled or utc(found.expires_at) <= datetime.now(UTC):
            return None
        return Principal(found.id, found.name, _parse_stored(found.roles), "session", found.csrf)

    def logout(self, token: str) -> None:
        with self.store.session() as s:
            row = s.get(SessionRow, digest(token))
            if row is not None:
                user = s.get(UserRow, row.user_id)
                s.delete(row)
                name = user.name if user else row.user_id
                self.store.audit(s, name, "session.close", f"user:{name}")

    # -- API tokens ----------------------------------------------------------------------------------------
    def issue_token(self, principal: Principal, name: str, days: int | None = 90) -> IssuedToken:
        """A bearer token acting as `principal`'s user (with that user's roles at each use)."""
        if not name or len(name) > 128:
            raise ResponseError("an API token needs a name of 1-128 characters (what it is for)")
        token = TOKEN_PREFIX + secrets.token_urlsafe(32)
        now = datetime.now(UTC)
        expires = now + timedelta(days=days) if days else None
        with self.store.session() as s:
            row = ApiTokenRow(token_hash=digest(token), user_id=principal.user_id, name=name, created_at=now,
                              revoked=False, expires_at=expires)  # fmt: skip
            s.add(row)
            s.flush()
            info = _token_info(row)
            self.store.audit(s, principal.name, "token.issue", f"token:{info.id}", {"name": name})
        return IssuedToken(token, info)

    def token(self, bearer: str) -> Principal | None:
        if not bearer.startswith(TOKEN_PREFIX):
            return None
        with self.store.reading() as c:
            found = c.execute(_TOKEN, {"digest": digest(bearer)}).first()
        if found is None:
            return None
        expired = found.expires_at is not None and utc(found.expires_at) <= datetime.now(UTC)
        if found.revoked or found.disabled or expired:
            return None
        return Principal(found.id, found.name, _parse_stored(found.roles), "token")

    def tokens(self, principal: Principal) -> tuple[TokenInfo, ...]:
        with self.store.session() as s:
            rows = s.scalars(
                select(ApiTokenRow)
                .where(ApiTokenRow.user_id == principal.user_id)
                .order_by(ApiTokenRow.created_at)
            )
            return tuple(_token_info(r) for r in rows)

    def revoke_token(self, principal: Principal, token_id: str) -> TokenInfo:
        with self.store.session() as s:
            rows = s.scalars(
                select(ApiTokenRow).where(
                    ApiTokenRow.user_id == principal.user_id, ApiTokenRow.token_hash.startswith(token_id)
                )
            ).all()
            if len(token_id) != 16 or len(rows) != 1:
                raise UnknownSubjectError(f"token {token_id!r} is not one of your tokens; list them first")
            rows[0].revoked = True
            self.store.audit(s, principal.name, "token.revoke", f"token:{token_id}")
            return _token_info(rows[0])


_SESSION = (
    select(UserRow.id, UserRow.name, UserRow.roles, UserRow.disabled, SessionRow.csrf, SessionRow.expires_at)
    .join_from(SessionRow, UserRow, UserRow.id == SessionRow.user_id)
    .where(SessionRow.token_hash == bindparam("digest"))
)
_TOKEN = (
    select(
        UserRow.id, UserRow.name, UserRow.roles, UserRow.disabled, ApiTokenRow.revoked, ApiTokenRow.expires_at
    )
    .join_from(ApiTokenRow, UserRow, UserRow.id == ApiTokenRow.user_id)
    .where(ApiTokenRow.token_hash == bindparam("digest"))
)


def _roles_text(roles: frozenset[Role]) -> str:
    return ",".join(sorted(r.value for r in roles))


def _parse_stored(text: str) -> frozenset[Role]:
    known = {r.value for r in Role}
    return frozenset(Role(n) for n in text.split(",") if n in known)


def _user(row: UserRow) -> User:
    return User(row.id, row.name, _parse_stored(row.roles), row.disabled, utc(row.created_at))


def _token_info(row: ApiTokenRow) -> TokenInfo:
    expires = utc(row.expires_at) if row.expires_at is not None else None
    return TokenInfo(row.token_hash[:16], row.name, utc(row.created_at), expires, row.revoked)
