"""`cordon serve` (the review service), `cordon user ...` (accounts and roles), `cordon cases import`."""

from __future__ import annotations

import getpass
import os
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from cordon.app.service import ENV_VAR, Service, ServiceSettings
from cordon.errors import ConfigError, CordonError
from cordon.respond.access import parse_roles
from cordon.respond.state.store import DEFAULT_URL

console = Console(highlight=False, soft_wrap=True)
EXIT_FAILURE, EXIT_USAGE = 1, 2

StateOpt = Annotated[
    str,
    typer.Option(
        "--state", envvar="CORDON_STATE_URL",
        help="The state store: a SQLAlchemy URL (sqlite:///cordon-state.db, postgresql+psycopg://...).",
    ),
]  # fmt: skip
RoleOpt = Annotated[
    list[str],
    typer.Option(
        "--role", "-r",
        help="A role (repeat for several): triage, reviewer, reporter, approver, admin, auditor, researcher.",
    ),
]  # fmt: skip

user_app = typer.Typer(help="Users of the review service and their roles.", no_args_is_help=True)
cases_app = typer.Typer(help="Cases in the review service's state store.", no_args_is_help=True)


def _actor() -> str:
    return f"cli:{getpass.getuser()}"


def _fail(exc: CordonError) -> typer.Exit:
    console.print(f"[red]error:[/red] {exc}")
    return typer.Exit(EXIT_USAGE if isinstance(exc, ConfigError) else EXIT_FAILURE)


def _service(state: str) -> Service:
    return Service(ServiceSettings(state_url=state))


def serve_cmd(
    state: StateOpt = DEFAULT_URL,
    corpus: Annotated[
        Path | None,
        typer.Option("--corpus", help="The corpus.duckdb written by `cordon analyze` (opened read-only)."),
    ] = None,
    blobs: Annotated[
        Path | None,
        typer.Option("--blobs", help="Media bytes by SHA-256 (default: blobs/ beside the corpus)."),
    ] = None,
    evidence: Annotated[Path, typer.Option("--evidence", help="Where preservation packages go.")] = Path(
        "evidence"
    ),
    key: Annotated[
        Path, typer.Option("--key", help="Ed25519 key that signs manifests (created on first use).")
    ] = Path("keys/evidence-ed25519.pem"),
    host: Annotated[str, typer.Option("--host", help="Interface to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option("--port", min=1, max=65535)] = 8600,
    workers: Annotated[int, typer.Option("--workers", min=1, help="Server processes.")] = 1,
    insecure_cookies: Annotated[
        bool,
        typer.Option(
            "--insecure-cookies", help="Send the session cookie over plain HTTP (development only)."
        ),
    ] = False,
) -> None:
    """Run the review service: web UI at /, JSON API at /api/v1 (spec at /api/v1/openapi.json).

    Put it behind a TLS-terminating proxy; cookies are `Secure` unless --insecure-cookies. Create the first
    admin with `cordon user add NAME --role admin`; import cases with `cordon cases import cases.json`.
    """
    import uvicorn  # noqa: PLC0415 - the `serve` extra

    settings = ServiceSettings(
        state_url=state, corpus=str(corpus or ""), blobs=str(blobs or ""), evidence_dir=str(evidence),
        signing_key=str(key), secure_cookies=not insecure_cookies,
    )  # fmt: skip
    try:
        Service(settings).close()  # fail here, with a clear message, rather than inside the server process
    except CordonError as exc:
        raise _fail(exc) from exc
    os.environ[ENV_VAR] = settings.to_env()
    console.print(f"cordon review service on http://{host}:{port}/ (state {state})")
    uvicorn.run(
        "cordon.api.server:create_app_from_env", factory=True, host=host, port=port, workers=workers,
        proxy_headers=True, log_level="info",
    )  # fmt: skip


@user_app.command("add")
def user_add(
    name: Annotated[str, typer.Argument(help="Lower-case user name.")],
    role: RoleOpt,
    state: StateOpt = DEFAULT_URL,
    password: Annotated[
        str,
        typer.Option(
            "--password",
            envvar="CORDON_NEW_PASSWORD",
            prompt=True,
            hide_input=True,
            confirmation_prompt=True,
            help="At least 12 characters (prompted when not given).",
        ),
    ] = "",
) -> None:
    """Add a user with one or more roles."""
    try:
        svc = _service(state)
        try:
            user = svc.access.add_user(_actor(), name, password, parse_roles(role))
        finally:
            svc.close()
    except CordonError as exc:
        raise _fail(exc) from exc
    console.print(f"added {user.name} with roles {', '.join(sorted(user.roles)) or 'none'}")


@user_app.command("roles")
def user_roles(name: str, role: RoleOpt, state: StateOpt = DEFAULT_URL) -> None:
    """Replace a user's roles."""
    try:
        svc = _service(state)
        try:
            user = svc.access.set_roles(_actor(), name, parse_roles(role))
        finally:
            svc.close()
    except CordonError as exc:
        raise _fail(exc) from exc
    console.print(f"{user.name} now has roles {', '.join(sorted(user.roles)) or 'none'}")


@user_app.command("disable")
def user_disable(name: str, state: StateOpt = DEFAULT_URL) -> None:
    """Disable a user: its sessions end and its API tokens are revoked."""
    try:
        svc = _service(state)
        try:
            svc.access.disable_user(_actor(), name)
        finally:
            svc.close()
    except CordonError as exc:
        raise _fail(exc) from exc
    console.print(f"disabled {name}")


@user_app.command("list")
def user_list(state: StateOpt = DEFAULT_URL) -> None:
    """List users and their roles."""
    try:
        svc = _service(state)
        try:
            users = svc.access.users()
        finally:
            svc.close()
    except CordonError as exc:
        raise _fail(exc) from exc
    table = Table("user", "roles", "disabled", "created")
    for u in users:
        table.add_row(
            u.name, ", ".join(sorted(u.roles)), "yes" if u.disabled else "", f"{u.created_at:%Y-%m-%d}"
        )
    console.print(table)


@cases_app.command("import")
def cases_import(
    cases_json: Annotated[
        Path, typer.Argument(help="cases.json written by `cordon analyze`.", exists=True, dir_okay=False)
    ],
    state: StateOpt = DEFAULT_URL,
) -> None:
    """Import the cases of an analysis into the review queue (new cases open; known ones get the new dossier)."""
    try:
        svc = _service(state)
        try:
            result = svc.import_cases_json(cases_json, _actor())
        finally:
            svc.close()
    except CordonError as exc:
        raise _fail(exc) from exc
    for problem in result.rejected:
        console.print(f"[yellow]left out:[/yellow] {problem}")
    console.print(
        f"imported {cases_json}: {result.added} new, {result.updated} updated, {result.unchanged} unchanged, "
        f"{len(result.rejected)} left out"
    )
    if result.rejected:
        raise typer.Exit(3)  # partial: the rest went in


def register(app: typer.Typer) -> None:
    """Register `cordon serve`, `cordon user ...` and `cordon cases ...` on `app`."""
    app.command("serve")(serve_cmd)
    app.add_typer(user_app, name="user")
    app.add_typer(cases_app, name="cases")
