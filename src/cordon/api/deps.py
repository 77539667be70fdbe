"""Request dependencies: the service, the caller (session cookie or bearer token), permission and CSRF checks.

Only `optional_caller` touches the state store (a plain function, run in the thread pool); the others are
coroutines, so that a request costs one thread hop for authentication and one for its handler. The busiest
pages (a case page and its graph) call `authorise` at the start of their handler instead: one hop in all.

Deny by default: every route but login, the OpenAPI document and static files depends on `caller`, and every
state-changing route on `writer(permission)`, which also demands the session's CSRF token when the caller came
with a cookie (a bearer token is not sent by browsers on their own, so it needs none).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Annotated

from fastapi import Depends, Request

from cordon.app.service import Service
from cordon.respond.access import AuthError, Permission, Principal, check_csrf, require

SESSION_COOKIE = "cordon_session"
LOGIN_CSRF_COOKIE = "cordon_login_csrf"
CSRF_HEADER = "x-csrf-token"


async def service(request: Request) -> Service:
    svc = request.app.state.service
    assert isinstance(svc, Service)
    return svc


ServiceDep = Annotated[Service, Depends(service)]


def optional_caller(request: Request, svc: ServiceDep) -> Principal | None:
    auth = request.headers.get("authorization", "")
    if auth.lower().startswith("bearer "):
        principal = svc.access.token(auth[7:].strip())
        if principal is None:
            raise AuthError("the API token is unknown, revoked or expired")
        return principal
    cookie = request.cookies.get(SESSION_COOKIE)
    if cookie:
        return svc.access.session(cookie)
    return None


def _logged_in(principal: Principal | None) -> Principal:
    if principal is None:
        raise AuthError("log in first (POST /api/v1/session) or send 'Authorization: Bearer <token>'")
    return principal


async def caller(principal: Annotated[Principal | None, Depends(optional_caller)]) -> Principal:
    return _logged_in(principal)


Caller = Annotated[Principal, Depends(caller)]


def reader(permission: Permission) -> Callable[[Principal], Awaitable[Principal]]:
    """A dependency: the caller, who must hold `permission`."""

    async def dep(principal: Caller) -> Principal:
        require(principal, permission)
        return principal

    return dep


def authorise(request: Request, svc: Service, permission: Permission) -> Principal:
    """`reader(permission)` as a plain function: for the busiest pages, which authenticate and do their work in
    one thread hop (an anyio hop costs ~0.25 ms of CPU; a case page view makes two requests)."""
    principal = _logged_in(optional_caller(request, svc))
    require(principal, permission)
    return principal


def writer(permission: Permission | None) -> Callable[[Request, Principal], Awaitable[Principal]]:
    """A dependency for state changes: the caller must hold `permission` and echo the CSRF token."""

    async def dep(request: Request, principal: Caller) -> Principal:
        if permission is not None:
            require(principal, permission)
        presented = request.headers.get(CSRF_HEADER)
        if presented is None and principal.via == "session":
            content_type = request.headers.get("content-type", "")
            if content_type.startswith(("application/x-www-form-urlencoded", "multipart/form-data")):
                value = (await request.form()).get("csrf")
                presented = value if isinstance(value, str) else None
        check_csrf(principal, presented)
        return principal

    return dep
