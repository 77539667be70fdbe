"""The web UI: server-rendered pages (Jinja2 templates of `cordon.web`), htmx for in-place fragments.

Pages work without JavaScript (plain forms, POST-redirect-GET); with htmx a reveal swaps the blurred preview
for the item in place. Forms carry the session's CSRF token in a hidden field, htmx sends it as a header
(`hx-headers` on the body). The login form is protected by a double-submit token of its own.
"""

from __future__ import annotations

import hmac
import secrets
import threading
from collections import OrderedDict
from collections.abc import Callable
from datetime import datetime
from typing import Annotated, TypeVar

from fastapi import APIRouter, Depends, Form, HTTPException, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.templating import Jinja2Templates
from jinja2 import Environment, PackageLoader, select_autoescape
from markupsafe import Markup, escape
from starlette.concurrency import run_in_threadpool

from cordon.api.deps import (
    LOGIN_CSRF_COOKIE,
    SESSION_COOKIE,
    ServiceDep,
    authorise,
    optional_caller,
    reader,
    writer,
)
from cordon.api.routes_auth import set_session_cookie
from cordon.api.routes_cases import CaseId, Sha256, reveal_item
from cordon.app import response as app_response
from cordon.app.reporting import ROLE_COLOURS
from cordon.app.service import CaseView, Service
from cordon.model import CaseStatus
from cordon.respond import oversight, review
from cordon.respond.access import AuthError, CsrfError, Permission, Principal, require
from cordon.respond.actions import Verb
from cordon.respond.holds import HoldKind

router = APIRouter(include_in_schema=False)
MEMBERS_PER_PAGE = 100
MEDIA_PER_PAGE = 48
templates = Jinja2Templates(
    env=Environment(
        loader=PackageLoader("cordon.web", "templates"), autoescape=select_autoescape(), auto_reload=False
    )
)

QueueReader = Annotated[Principal, Depends(reader(Permission.QUEUE_READ))]
CaseReader = Annotated[Principal, Depends(reader(Permission.CASE_READ))]
AuditReader = Annotated[Principal, Depends(reader(Permission.AUDIT_READ))]
Triager = Annotated[Principal, Depends(writer(Permission.CASE_TRIAGE))]
RevealWriter = Annotated[Principal, Depends(writer(Permission.MEDIA_REVEAL))]
AnyWriter = Annotated[Principal, Depends(writer(None))]


def render(
    request: Request, name: str, principal: Principal | None, status: int = 200, **ctx: object
) -> Response:
    context = {"me": principal, "P": Permission, **ctx}
    return templates.TemplateResponse(request, name, context, status_code=status)


def error_page(request: Request, status: int, message: str) -> Response:
    return render(request, "error.html", None, status=status, status_code=status, message=message)


def _safe_next(target: str) -> str:
    return (
        target if target.startswith("/") and not target.startswith("//") and "\\" not in target else "/queue"
    )


@router.get("/", response_class=RedirectResponse)
def home() -> RedirectResponse:
    return RedirectResponse("/queue", status_code=303)


@router.get("/login", response_class=HTMLResponse)
def login_form(request: Request, next: str = "/queue", failed: bool = False) -> Response:
    token = secrets.token_urlsafe(24)
    response = render(request, "login.html", None, login_csrf=token, next=_safe_next(next), failed=failed)
    response.set_cookie(LOGIN_CSRF_COOKIE, token, httponly=True, samesite="strict", max_age=3600, path="/login",
                        secure=request.app.state.service.settings.secure_cookies)  # fmt: skip
    return response


@router.post("/login")
def login(
    request: Request,
    svc: ServiceDep,
    name: Annotated[str, Form(max_length=128)],
    password: Annotated[str, Form(max_length=1024)],
    csrf: Annotated[str, Form(max_length=128)],
    next: Annotated[str, Form(max_length=512)] = "/queue",
) -> Response:
    expected = request.cookies.get(LOGIN_CSRF_COOKIE, "")
    if not expected or not hmac.compare_digest(expected, csrf):
        raise CsrfError("the login form expired or came from elsewhere; load /login again")
    try:
        issued = svc.access.login(name, password)
    except AuthError:
        return RedirectResponse(f"/login?failed=1&next={_safe_next(next)}", status_code=303)
    response = RedirectResponse(_safe_next(next), status_code=303)
    set_session_cookie(response, svc, issued)
    response.delete_cookie(LOGIN_CSRF_COOKIE, path="/login")
    return response


@router.post("/logout")
def logout(request: Request, svc: ServiceDep, principal: AnyWriter) -> Response:
    cookie = request.cookies.get(SESSION_COOKIE)
    if principal.via == "session" and cookie:
        svc.access.logout(cookie)
    response = RedirectResponse("/login", status_code=303)
    response.delete_cookie(SESSION_COOKIE, path="/")
    return response


@router.get("/queue", response_class=HTMLResponse)
def queue_page(
    request: Request,
    svc: ServiceDep,
    principal: QueueReader,
    status: Annotated[list[CaseStatus] | None, Query()] = None,
    offset: Annotated[int, Query(ge=0, le=10_000_000)] = 0,
) -> Response:
    statuses = frozenset(status) if status else review.OPEN_WORK
    page = review.queue(svc.store, statuses=statuses, limit=50, offset=offset)
    return render(request, "queue.html", principal, page=page, statuses=sorted(statuses),
                  all_statuses=list(CaseStatus))  # fmt: skip


@router.get("/cases/{case_id}", response_class=HTMLResponse)
async def case_page(
    request: Request,
    case_id: CaseId,
    svc: ServiceDep,
    members: Annotated[int, Query(ge=1, le=100_000)] = MEMBERS_PER_PAGE,
    media_offset: Annotated[int, Query(ge=0, le=10_000_000)] = 0,
) -> Response:
    """A case page (for case readers: `authorise` comes first, in the same thread hop as the page's work)."""
    return await run_in_threadpool(_case_page, request, case_id, svc, members, media_offset)


def _case_page(request: Request, case_id: str, svc: Service, members: int, media_offset: int) -> Response:
    """The reader's parts (CSRF token, permissions, reveals, exposure, decisions) and the case's state (status,
    events, response) are rendered for each request; the media grid and the dossier sections come from caches
    per case version (the grid with a slot for the reader's CSRF token), and the dossier's encoded bytes are
    spliced in as they are. The network graph is an image of its own (`case_graph`)."""
    with svc.store.reading():  # the page's reads on one connection
        return _case_page_read(request, case_id, svc, members, media_offset)


def _case_page_read(
    request: Request, case_id: str, svc: Service, members: int, media_offset: int
) -> Response:
    principal = authorise(request, svc, Permission.CASE_READ)
    view = svc.case_view(case_id, ties_limit=0)
    mine = (
        review.reveals_of(svc.store, principal.name, case_id)
        if principal.can(Permission.MEDIA_REVEAL)
        else ()
    )
    decisions = [d for d in review.Decision if principal.can(review.DECISION_PERMISSION[d])]
    html = templates.env.get_template("case.html").render(
        me=principal, P=Permission, case=view, decisions=decisions, my_reveals=mine,
        exposure=review.exposure_of(svc.store, principal.name), dossier_html=Markup(DOSSIER_SLOT),
        media_grid=_media_grid(svc, view, media_offset, principal),
        response=oversight.response_records(svc.store, case_id), holds=app_response.holds_of(svc.store, case_id),
        verbs=list(Verb), hold_kinds=list(HoldKind), media_offset=media_offset, media_per_page=MEDIA_PER_PAGE,
    )  # fmt: skip
    head, _, tail = html.encode().partition(DOSSIER_SLOT.encode())
    return HTMLResponse(b"".join((head, _dossier_bytes(svc, view, members), tail)))


@router.get("/cases/{case_id}/graph.svg", response_class=Response)
async def case_graph(request: Request, case_id: CaseId, svc: ServiceDep) -> Response:
    """The case's network graph, an SVG image that its case page loads with <img>. It may stay in the reader's
    browser (`private`) but is revalidated at each use (`no-cache`), so every use passes the session and
    permission checks (`authorise`, in the same thread hop); an unchanged graph is answered with 304."""
    return await run_in_threadpool(_case_graph, request, case_id, svc)


def _case_graph(request: Request, case_id: str, svc: Service) -> Response:
    with svc.store.reading():  # the session's and the case version's look on one connection
        authorise(request, svc, Permission.CASE_READ)
        pictures = svc.graphics(case_id)
    if not pictures.graph_document:
        raise HTTPException(404, f"case {case_id} has no network graph (no members)")
    headers = {"ETag": pictures.graph_etag, "Cache-Control": "private, no-cache"}
    if etag_matches(request.headers.get("if-none-match", ""), pictures.graph_etag):
        return Response(status_code=304, headers=headers)
    return Response(pictures.graph_document, media_type="image/svg+xml", headers=headers)


def etag_matches(if_none_match: str, etag: str) -> bool:
    """Whether an If-None-Match header names `etag` (weak comparison, as RFC 9110 wants for it) or is `*`."""
    tags = {t.strip().removeprefix("W/") for t in if_none_match.split(",")}
    return bool(etag) and (etag in tags or "*" in tags)


DOSSIER_SLOT = "<!--cordon:dossier-->"  # escaped text cannot contain "<": only the template writes this
CSRF_SLOT = "<!--cordon:csrf-->"
_CACHE_SIZE = 64
_DOSSIER_HTML: OrderedDict[tuple[int, str, datetime, int], bytes] = OrderedDict()
_MEDIA_GRID: OrderedDict[tuple[int, str, datetime, int, bool, bool], str] = OrderedDict()
_CACHE_LOCK = threading.Lock()
K = TypeVar("K")
V = TypeVar("V")


def _cached(cache: OrderedDict[K, V], key: K, make: Callable[[], V]) -> V:
    with _CACHE_LOCK:
        if key in cache:
            cache.move_to_end(key)
            return cache[key]
    value = make()
    with _CACHE_LOCK:
        cache[key] = value
        while len(cache) > _CACHE_SIZE:
            cache.popitem(last=False)
    return value


def _dossier_bytes(svc: Service, view: CaseView, members: int) -> bytes:
    """The sections of a case page that depend only on the imported dossier (graph image, timeline, members,
    tags, entities, evasion), rendered and encoded once per version of the case: the same for every reader."""

    def make() -> bytes:
        return (
            templates.env.get_template("fragments/dossier.html")
            .render(
                case=view, pictures=svc.graphics(view.id), colours=ROLE_COLOURS, members_shown=members,
                acc={a.account_id: a for a in view.accounts},
            )
            .encode()
        )  # fmt: skip

    return _cached(_DOSSIER_HTML, (id(svc), view.id, view.imported_at, members), make)


def _media_grid(svc: Service, view: CaseView, offset: int, principal: Principal) -> Markup:
    """A page of the case's media (blurred previews, reveal forms): rendered once per case version, page and
    permissions, with the reader's CSRF token put in the slot of each form."""
    preview, reveal = principal.can(Permission.MEDIA_PREVIEW), principal.can(Permission.MEDIA_REVEAL)

    def make() -> str:
        return templates.env.get_template("fragments/media_grid.html").render(
            case=view, media_page=view.media[offset : offset + MEDIA_PER_PAGE], can_preview=preview,
            can_reveal=reveal, csrf=Markup(CSRF_SLOT),
        )  # fmt: skip

    grid = _cached(_MEDIA_GRID, (id(svc), view.id, view.imported_at, offset, preview, reveal), make)
    return Markup(grid.replace(CSRF_SLOT, str(escape(principal.csrf))))


@router.post("/cases/{case_id}/decide")
def decide(
    case_id: CaseId,
    svc: ServiceDep,
    principal: Triager,
    decision: Annotated[review.Decision, Form()],
    note: Annotated[str, Form(max_length=4000)] = "",
) -> Response:
    require(principal, review.DECISION_PERMISSION[decision])
    review.decide(svc.store, case_id, decision, principal.name, note)
    return RedirectResponse(f"/cases/{case_id}", status_code=303)


@router.post("/ui/cases/{case_id}/media/{sha256}/reveal", response_class=HTMLResponse)
def reveal_fragment(
    request: Request, case_id: CaseId, sha256: Sha256, svc: ServiceDep, principal: RevealWriter
) -> Response:
    revealed = reveal_item(svc, principal, case_id, sha256)
    name = "fragments/revealed.html" if request.headers.get("hx-request") else "revealed_page.html"
    return render(request, name, principal, r=revealed)


@router.get("/audit", response_class=HTMLResponse)
def audit_page(
    request: Request,
    svc: ServiceDep,
    principal: AuditReader,
    subject: Annotated[str | None, Query(max_length=256, pattern=r"^[^\x00]*$")] = None,
) -> Response:
    entries = oversight.audit_page(svc.store, after=0, limit=10_000, subject=subject)[-500:]
    return render(request, "audit.html", principal, entries=entries[::-1], verdict=svc.store.verify_audit(),
                  exposure=svc.store.exposure(), subject=subject or "")  # fmt: skip


@router.get("/whoami", response_class=HTMLResponse)
def whoami(request: Request, principal: Annotated[Principal | None, Depends(optional_caller)]) -> Response:
    if principal is None:
        raise AuthError("log in first")
    return render(request, "whoami.html", principal)
