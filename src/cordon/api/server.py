"""The FastAPI application: JSON API under /api/v1, web pages (Jinja2 + htmx), static files, OpenAPI spec.

`create_app(settings)` builds it around a `Service`; `cordon serve` runs `create_app_from_env` in uvicorn
(settings as JSON in $CORDON_SERVICE_SETTINGS). Cross-cutting rules live here: request bodies over the limit
are refused with 413 before they are read, every response carries strict security headers and is never
cached, and cordon's errors map to HTTP statuses (401 not logged in, 403 not allowed or no CSRF token,
404 unknown case or media, 409 a decision that does not fit, 400 other refusals, 503 the store is unavailable).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any
from urllib.parse import quote

from fastapi import FastAPI, HTTPException, Request
from fastapi.responses import JSONResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles

from cordon.api import pages, pages_response, routes_auth, routes_cases, routes_response
from cordon.app.reports import ReportNotFoundError, ReportRefusedError
from cordon.app.service import MediaNotFoundError, Service, ServiceSettings
from cordon.app.service_response import ExportNotFoundError
from cordon.errors import ResponseError, StoreError
from cordon.respond.access import (
    AccessDeniedError,
    AuthError,
    ConflictError,
    CsrfError,
    UnknownSubjectError,
)
from cordon.respond.actions.gate import GateRefusedError
from cordon.respond.review import CaseNotFoundError, DecisionRefusedError

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
Asgi = Callable[[Scope, Receive, Send], Awaitable[None]]

SECURITY_HEADERS = [
    (b"content-security-policy",
     b"default-src 'self'; img-src 'self' data:; style-src 'self' 'unsafe-inline'; script-src 'self'; "
     b"frame-ancestors 'none'; form-action 'self'; base-uri 'none'"),
    (b"x-frame-options", b"DENY"),
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"no-referrer"),
    (b"cache-control", b"no-store"),
]  # fmt: skip

STATUS: tuple[tuple[type[Exception], int], ...] = (
    (AuthError, 401),
    (AccessDeniedError, 403),
    (CsrfError, 403),
    (CaseNotFoundError, 404),
    (MediaNotFoundError, 404),
    (UnknownSubjectError, 404),
    (DecisionRefusedError, 409),
    (ConflictError, 409),
    (GateRefusedError, 409),
    (ReportRefusedError, 409),
    (ExportNotFoundError, 404),
    (ReportNotFoundError, 404),
    (StoreError, 503),
    (ResponseError, 400),
)


class BodyLimit:
    """Refuse request bodies over `limit` bytes: by Content-Length at once, and while streaming otherwise."""

    def __init__(self, app: Asgi, limit: int) -> None:
        self.app, self.limit = app, limit

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = dict(scope["headers"]).get(b"content-length")
        if declared is not None and (not declared.isdigit() or int(declared) > self.limit):
            await _too_large(send, self.limit)
            return
        seen = 0

        async def counted() -> Message:
            nonlocal seen
            message = await receive()
            seen += len(message.get("body", b""))
            if seen > self.limit:  # an HTTPException passes through FastAPI's body parsing as it is
                raise HTTPException(413, f"request body over the limit of {self.limit} bytes")
            return message

        await self.app(scope, counted, send)


async def _too_large(send: Send, limit: int) -> None:
    body = f'{{"detail":"request body over the limit of {limit} bytes"}}'.encode()
    await send({"type": "http.response.start", "status": 413,
                "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]})  # fmt: skip
    await send({"type": "http.response.body", "body": body})


class SecurityHeaders:
    def __init__(self, app: Asgi) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                present = {k.lower() for k, _ in message.get("headers", [])}
                extra = [(k, v) for k, v in SECURITY_HEADERS if k not in present]
                message["headers"] = [*message.get("headers", []), *extra]
            await send(message)

        await self.app(scope, receive, with_headers)


def _wants_html(request: Request) -> bool:
    path = request.url.path
    return not path.startswith("/api/") and "text/html" in request.headers.get("accept", "")


def _handler(status: int) -> Callable[[Request, Exception], Response]:
    def handle(request: Request, exc: Exception) -> Response:
        if status == 401 and _wants_html(request) and request.method == "GET":
            return RedirectResponse(f"/login?next={quote(request.url.path)}", status_code=303)
        if _wants_html(request):
            return pages.error_page(request, status, str(exc))
        return JSONResponse({"detail": str(exc)}, status_code=status)

    return handle


def create_app(settings: ServiceSettings | None = None, *, service: Service | None = None) -> FastAPI:
    svc = service or Service(settings or ServiceSettings())
    app = FastAPI(
        title="cordon review service",
        version="1",
        description=(
            "Review queue, cases, logged media reveals, decisions, evidence, actions and reports. "
            "Every route needs a session cookie (POST /api/v1/session) or an API token, except this spec "
            "and login. State-changing requests over a cookie need the X-CSRF-Token header."
        ),
        openapi_url="/api/v1/openapi.json",
        docs_url=None,
        redoc_url=None,
    )
    app.state.service = svc
    for exc_type, status in STATUS:
        app.add_exception_handler(exc_type, _handler(status))
    app.include_router(pages.router)  # first: the paths of pages and API routes never overlap, and routes are
    app.include_router(pages_response.router)  # matched in order, so the busiest (case and queue pages) early
    app.include_router(routes_auth.router)
    app.include_router(routes_cases.router)
    app.include_router(routes_response.router)
    app.mount("/static", StaticFiles(packages=[("cordon.web", "static")]), name="static")
    app.add_middleware(SecurityHeaders)
    app.add_middleware(BodyLimit, limit=svc.settings.max_body_bytes)
    return app


def create_app_from_env() -> FastAPI:
    """The uvicorn factory of `cordon serve`."""
    return create_app(ServiceSettings.from_env())
