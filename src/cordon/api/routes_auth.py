"""Sessions, the caller, API tokens and users."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Path, Request, Response

from cordon.api.deps import SESSION_COOKIE, Caller, ServiceDep, reader, writer
from cordon.api.schemas import (
    ERRORS,
    IssuedTokenOut,
    LoginRequest,
    MeOut,
    NewUser,
    RolesUpdate,
    SessionOut,
    TokenOut,
    TokenRequest,
    UserOut,
)
from cordon.app.service import Service
from cordon.respond.access import IssuedSession, Permission, Principal, TokenInfo, User

UserName = Annotated[str, Path(max_length=128, pattern=r"^[^\x00]+$")]

router = APIRouter(prefix="/api/v1", tags=["access"], responses=ERRORS)


def set_session_cookie(response: Response, svc: Service, issued: IssuedSession) -> None:
    response.set_cookie(
        SESSION_COOKIE, issued.token, max_age=int(svc.settings.session_hours * 3600), httponly=True,
        secure=svc.settings.secure_cookies, samesite="strict", path="/",
    )  # fmt: skip


def user_out(user: User) -> UserOut:
    return UserOut(
        name=user.name, roles=sorted(user.roles), disabled=user.disabled, created_at=user.created_at
    )


def token_out(info: TokenInfo) -> TokenOut:
    return TokenOut(id=info.id, name=info.name, created_at=info.created_at, expires_at=info.expires_at,
                    revoked=info.revoked)  # fmt: skip


@router.post("/session", response_model=SessionOut, summary="Log in: sets the session cookie")
def login(body: LoginRequest, response: Response, svc: ServiceDep) -> SessionOut:
    issued = svc.access.login(body.name, body.password)
    set_session_cookie(response, svc, issued)
    p = issued.principal
    return SessionOut(name=p.name, roles=sorted(p.roles), csrf=issued.csrf, expires_at=issued.expires_at)


@router.delete("/session", status_code=204, summary="Log out")
def logout(
    request: Request,
    response: Response,
    svc: ServiceDep,
    principal: Annotated[Principal, Depends(writer(None))],
) -> None:
    cookie = request.cookies.get(SESSION_COOKIE)
    if principal.via == "session" and cookie:
        svc.access.logout(cookie)
    response.delete_cookie(SESSION_COOKIE, path="/")


@router.get("/me", response_model=MeOut)
def me(principal: Caller) -> MeOut:
    return MeOut(name=principal.name, roles=sorted(principal.roles),
                 permissions=sorted(principal.permissions), via=principal.via)  # fmt: skip


@router.get("/tokens", response_model=list[TokenOut], summary="Your API tokens")
def tokens(principal: Caller, svc: ServiceDep) -> list[TokenOut]:
    return [token_out(t) for t in svc.access.tokens(principal)]


@router.post("/tokens", response_model=IssuedTokenOut, status_code=201, summary="Issue an API token")
def issue_token(
    body: TokenRequest, svc: ServiceDep, principal: Annotated[Principal, Depends(writer(None))]
) -> IssuedTokenOut:
    issued = svc.access.issue_token(principal, body.name, body.days)
    return IssuedTokenOut(token=issued.token, info=token_out(issued.info))


@router.delete("/tokens/{token_id}", response_model=TokenOut, summary="Revoke one of your API tokens")
def revoke_token(
    token_id: Annotated[str, Path(pattern=r"^[0-9a-f]{16}$", description="from GET /api/v1/tokens")],
    svc: ServiceDep,
    principal: Annotated[Principal, Depends(writer(None))],
) -> TokenOut:
    return token_out(svc.access.revoke_token(principal, token_id))


@router.get("/users", response_model=list[UserOut])
def users(
    svc: ServiceDep, principal: Annotated[Principal, Depends(reader(Permission.USERS_MANAGE))]
) -> list[UserOut]:
    del principal
    return [user_out(u) for u in svc.access.users()]


@router.post("/users", response_model=UserOut, status_code=201)
def add_user(
    body: NewUser,
    svc: ServiceDep,
    principal: Annotated[Principal, Depends(writer(Permission.USERS_MANAGE))],
) -> UserOut:
    return user_out(svc.access.add_user(principal.name, body.name, body.password, body.roles))


@router.put("/users/{name}/roles", response_model=UserOut)
def set_roles(
    name: UserName,
    body: RolesUpdate,
    svc: ServiceDep,
    principal: Annotated[Principal, Depends(writer(Permission.USERS_MANAGE))],
) -> UserOut:
    return user_out(svc.access.set_roles(principal.name, name, body.roles))


@router.post("/users/{name}/disable", response_model=UserOut)
def disable_user(
    name: UserName, svc: ServiceDep, principal: Annotated[Principal, Depends(writer(Permission.USERS_MANAGE))]
) -> UserOut:
    return user_out(svc.access.disable_user(principal.name, name))
