"""Access control on the real state store (SQLite and PostgreSQL): the role matrix, argon2 passwords, sessions
with CSRF tokens, API tokens stored as hashes, disabling users, and an audit entry for every change."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from datetime import timedelta

import pytest
from argon2 import PasswordHasher
from sqlalchemy import select

from cordon.errors import ResponseError
from cordon.respond.access import (
    PERMISSIONS,
    AccessControl,
    AccessDeniedError,
    AuthError,
    CsrfError,
    Permission,
    Role,
    check_csrf,
    parse_roles,
    require,
)
from cordon.respond.state.store import StateStore
from cordon.respond.state.tables import ApiTokenRow, SessionRow, UserRow

PW = "a long enough passphrase"
FAST = PasswordHasher(time_cost=1, memory_cost=8192)

# The issue's division of work, written out independently of the code: what each role exists to do.
SPEC: dict[Role, set[str]] = {
    Role.TRIAGE: {"queue.read", "case.read", "media.preview", "case.triage"},
    Role.REVIEWER: {"queue.read", "case.read", "media.preview", "case.triage", "case.decide", "media.reveal"},
    Role.REPORTER: {"queue.read", "case.read", "media.preview", "case.preserve", "report.build"},
    Role.APPROVER: {"queue.read", "case.read", "case.act", "report.approve"},
    Role.ADMIN: {"users.manage", "cases.import", "gate.override", "exposure.read"},
    Role.AUDITOR: {"queue.read", "case.read", "audit.read", "exposure.read"},
    Role.RESEARCHER: {"stats.read"},
}


@pytest.fixture
def access(state_url: str) -> Iterator[AccessControl]:
    store = StateStore(state_url)
    yield AccessControl(store, hasher=FAST)
    store.close()


def test_each_role_holds_exactly_its_permissions() -> None:
    assert set(PERMISSIONS) == set(Role)
    for role in Role:
        assert {str(p) for p in PERMISSIONS[role]} == SPEC[role], role
    # only reviewers see media itself; nobody but an admin manages users; researchers see aggregates only
    assert [r for r in Role if Permission.MEDIA_REVEAL in PERMISSIONS[r]] == [Role.REVIEWER]
    assert [r for r in Role if Permission.USERS_MANAGE in PERMISSIONS[r]] == [Role.ADMIN]
    assert Permission.CASE_READ not in PERMISSIONS[Role.RESEARCHER]


def test_passwords_are_argon2_hashes_and_login_checks_them(access: AccessControl) -> None:
    access.add_user("setup", "rita", PW, [Role.REVIEWER])
    with access.store.session() as s:
        stored = s.scalars(select(UserRow.password_hash).where(UserRow.name == "rita")).one()
    assert stored.startswith("$argon2id$") and PW not in stored
    issued = access.login("rita", PW)
    assert issued.principal.roles == {Role.REVIEWER} and issued.principal.via == "session"
    with pytest.raises(AuthError, match="wrong user name or password"):
        access.login("rita", PW + "x")
    with pytest.raises(AuthError, match="wrong user name or password"):  # same answer for an unknown name
        access.login("nobody", PW)
    fails = [e for e in access.store.audit_entries() if e.action == "session.fail"]
    assert [e.subject for e in fails] == ["user:rita", "user:nobody"]
    assert access.store.verify_audit().ok


def test_sessions_are_stored_hashed_and_end_on_logout_expiry_and_disable(access: AccessControl) -> None:
    access.add_user("setup", "sam", PW, [Role.TRIAGE, Role.AUDITOR])
    issued = access.login("sam", PW)
    with access.store.session() as s:
        hashes = s.scalars(select(SessionRow.token_hash)).all()
    assert hashes == [hashlib.sha256(issued.token.encode()).hexdigest()]  # the cookie value is not stored
    principal = access.session(issued.token)
    assert principal is not None and principal.csrf == issued.csrf and principal.name == "sam"
    assert access.session(issued.token + "x") is None
    access.logout(issued.token)
    assert access.session(issued.token) is None

    short = AccessControl(access.store, hasher=FAST, session_ttl=timedelta(seconds=-1))
    assert short.session(short.login("sam", PW).token) is None  # already expired

    live = access.login("sam", PW)
    access.disable_user("admin1", "sam")
    assert access.session(live.token) is None
    with pytest.raises(AuthError):
        access.login("sam", PW)


def test_csrf_is_required_for_sessions_and_not_for_tokens(access: AccessControl) -> None:
    access.add_user("setup", "rita", PW, [Role.REVIEWER])
    issued = access.login("rita", PW)
    principal = access.session(issued.token)
    assert principal is not None
    check_csrf(principal, issued.csrf)
    for wrong in (None, "", issued.csrf[:-1] + ("A" if issued.csrf[-1] != "A" else "B")):
        with pytest.raises(CsrfError):
            check_csrf(principal, wrong)
    token = access.issue_token(principal, "script")
    by_token = access.token(token.token)
    assert by_token is not None and by_token.via == "token"
    check_csrf(by_token, None)  # a bearer token is never sent by a browser on its own


def test_api_tokens_are_hashed_listed_revoked_and_expire(access: AccessControl) -> None:
    access.add_user("setup", "ana", PW, [Role.AUDITOR])
    me = access.session(access.login("ana", PW).token)
    assert me is not None
    issued = access.issue_token(me, "nightly export", days=30)
    assert issued.token.startswith("cordon_")
    with access.store.session() as s:
        row = s.scalars(select(ApiTokenRow)).one()
    assert (
        row.token_hash == hashlib.sha256(issued.token.encode()).hexdigest() and issued.token not in row.name
    )
    principal = access.token(issued.token)
    assert principal is not None and principal.roles == {Role.AUDITOR}
    assert [t.name for t in access.tokens(me)] == ["nightly export"]
    assert access.token("cordon_" + "x" * 43) is None and access.token("not-a-token") is None
    access.revoke_token(me, issued.info.id)
    assert access.token(issued.token) is None
    with pytest.raises(ResponseError, match="not one of your tokens"):
        access.revoke_token(me, "0" * 16)
    expired = access.issue_token(me, "old", days=None)
    with access.store.session() as s:  # age it past an expiry, as time would
        tok = s.get(ApiTokenRow, hashlib.sha256(expired.token.encode()).hexdigest())
        assert tok is not None
        tok.expires_at = tok.created_at - timedelta(days=1)
    assert access.token(expired.token) is None
    actions = [e.action for e in access.store.audit_entries()]
    assert actions.count("token.issue") == 2 and actions.count("token.revoke") == 1


def test_user_rules_and_role_changes(access: AccessControl) -> None:
    with pytest.raises(ResponseError, match="user name"):
        access.add_user("setup", "Bad Name", PW, [Role.TRIAGE])
    with pytest.raises(ResponseError, match="at least 12"):
        access.add_user("setup", "short", "pw", [Role.TRIAGE])
    access.add_user("setup", "lee", PW, [Role.TRIAGE])
    with pytest.raises(ResponseError, match="already exists"):
        access.add_user("setup", "lee", PW, [Role.ADMIN])
    with pytest.raises(ResponseError, match="role 'boss' does not exist"):
        parse_roles("triage,boss")
    live = access.login("lee", PW)
    access.set_roles("admin1", "lee", parse_roles("reviewer, auditor"))
    principal = access.session(live.token)  # roles are read at each request, not frozen in the session
    assert principal is not None and principal.roles == {Role.REVIEWER, Role.AUDITOR}
    assert [(u.name, set(u.roles)) for u in access.users()] == [("lee", {Role.REVIEWER, Role.AUDITOR})]


def test_require_denies_by_default_and_names_the_role_needed(access: AccessControl) -> None:
    access.add_user("setup", "res", PW, [Role.RESEARCHER])
    principal = access.session(access.login("res", PW).token)
    assert principal is not None
    require(principal, Permission.STATS_READ)
    for permission in set(Permission) - {Permission.STATS_READ}:
        with pytest.raises(AccessDeniedError):
            require(principal, permission)
    with pytest.raises(AccessDeniedError, match="needs the role reviewer"):
        require(principal, Permission.MEDIA_REVEAL)
