"""`cordon audit verify`, `cordon preserve`, `cordon act`, `cordon holds`, `cordon export`: the response on a
case from the command line, on the same state store, evidence directory and signing key as `cordon serve`.

The command line is the operator's own tool (it holds the state store and the key): it acts as
`cli:<login>` with the role the command needs (reporter to preserve, hold and export, approver to act, and
admin as well when --override-reason is given). Everything it does is audited under that name.
"""

from __future__ import annotations

import getpass
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta
from pathlib import Path
from typing import Annotated

import duckdb
import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from cordon.app import response
from cordon.corpus import BlobStore
from cordon.errors import ConfigError, CordonError
from cordon.respond.access import Principal, Role
from cordon.respond.actions import Verb
from cordon.respond.actions.config import AdapterSettings, make_adapter
from cordon.respond.evidence import SigningKey
from cordon.respond.holds import Hold, HoldKind
from cordon.respond.state.store import DEFAULT_URL, StateStore

console = Console(highlight=False, soft_wrap=True)
EXIT_FAILURE, EXIT_USAGE, EXIT_PARTIAL = 1, 2, 3

StateOpt = Annotated[
    str, typer.Option("--state", envvar="CORDON_STATE_URL", help="The state store (a SQLAlchemy URL).")
]
KeyOpt = Annotated[
    Path, typer.Option("--key", help="Ed25519 key that signs manifests (created on first use).")
]
EvidenceOpt = Annotated[Path, typer.Option("--evidence", help="Where preservation packages go.")]
CorpusOpt = Annotated[
    Path | None, typer.Option("--corpus", help="The corpus.duckdb of the analysis (opened read-only).")
]
DEFAULT_KEY = Path("keys/evidence-ed25519.pem")

audit_app = typer.Typer(help="The hash-chained audit log.", no_args_is_help=True)
holds_app = typer.Typer(help="Preservation holds and their expiry alerts.", invoke_without_command=True)


def _principal(*roles: Role) -> Principal:
    name = f"cli:{getpass.getuser()}"
    return Principal(user_id=name, name=name, roles=frozenset(roles), via="cli")


def _fail(exc: CordonError) -> typer.Exit:
    console.print(f"[red]error:[/red] {exc}")
    return typer.Exit(EXIT_USAGE if isinstance(exc, ConfigError) else EXIT_FAILURE)


@contextmanager
def _store(url: str) -> Iterator[StateStore]:
    store = StateStore(url)
    try:
        yield store
    finally:
        store.close()


@contextmanager
def _corpus(path: Path | None) -> Iterator[duckdb.DuckDBPyConnection | None]:
    if path is None:
        yield None
        return
    if not path.is_file():
        raise ConfigError(f"corpus {path} does not exist; pass the corpus.duckdb that `cordon analyze` wrote")
    con = duckdb.connect(str(path), read_only=True)
    try:
        yield con
    finally:
        con.close()


@audit_app.command("verify")
def audit_verify(state: StateOpt = DEFAULT_URL) -> None:
    """Walk the audit chain: every entry must link to the one before and match its hash."""
    try:
        with _store(state) as store:
            verdict = store.verify_audit()
    except CordonError as exc:
        raise _fail(exc) from exc
    if verdict.ok:
        console.print(f"audit chain intact: {verdict.entries} entries")
        return
    console.print(f"[red]audit chain BROKEN[/red] at entry {verdict.first_bad_seq}: {verdict.reason}")
    raise typer.Exit(EXIT_FAILURE)


def preserve_cmd(
    case: Annotated[str, typer.Argument(help="The case id.")],
    state: StateOpt = DEFAULT_URL,
    corpus: CorpusOpt = None,
    blobs: Annotated[Path | None, typer.Option("--blobs", help="Media bytes by SHA-256.")] = None,
    evidence: EvidenceOpt = Path("evidence"),
    key: KeyOpt = DEFAULT_KEY,
    mode: Annotated[
        str, typer.Option("--mode", help="copies (the media bytes) or hashes (hashes and URLs).")
    ] = "copies",
) -> None:
    """Preserve a case's evidence: a signed package of the dossier, the records as captured and the media."""
    try:
        blob_dir = blobs or (corpus.parent / "blobs" if corpus else None)
        with _store(state) as store, _corpus(corpus) as con:
            result = response.preserve_case(
                store, case, _principal(Role.REPORTER), evidence_dir=evidence, key=SigningKey.load_or_create(key),
                mode=mode, corpus=con, blobs=BlobStore(blob_dir) if blob_dir else None,
            )  # fmt: skip
    except CordonError as exc:
        raise _fail(exc) from exc
    console.print(f"preserved {case}: package {result.package_id} ({result.mode}, {result.files} files, "
                  f"{result.media} media) at {result.path}, verified")  # fmt: skip


def act_cmd(
    case: Annotated[str, typer.Argument(help="The case id.")],
    verb: Annotated[Verb, typer.Option("--verb", help="What to do to every member account.")],
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Plan and record, send nothing.")] = False,
    adapter: Annotated[str, typer.Option("--adapter", help="dry-run, mastodon or webhook.")] = "dry-run",
    url: Annotated[str, typer.Option("--url", help="Mastodon instance or webhook receiver URL.")] = "",
    token_env: Annotated[
        str, typer.Option("--token-env", help="Env var with the Mastodon admin token.")
    ] = "CORDON_MASTODON_TOKEN",
    secret_env: Annotated[
        str, typer.Option("--secret-env", help="Env var with the webhook's whsec_ secret.")
    ] = "CORDON_WEBHOOK_SECRET",
    webhook_key: Annotated[
        str, typer.Option("--webhook-key", help="Ed25519 PEM that also signs webhooks.")
    ] = "",
    role: Annotated[list[str], typer.Option("--role", help="Only members with this role (repeatable).")] = [],  # noqa: B006
    note: Annotated[str, typer.Option("--note", help="The reason sent to the platform.")] = "",
    override_reason: Annotated[
        str,
        typer.Option(
            "--override-reason", help="Admin: act without a verified preservation, for this reason."
        ),
    ] = "",
    state: StateOpt = DEFAULT_URL,
    corpus: CorpusOpt = None,
    key: KeyOpt = DEFAULT_KEY,
) -> None:
    """Act on every member of a confirmed case through an adapter (after the preservation gate)."""
    roles = (Role.APPROVER, Role.ADMIN) if override_reason else (Role.APPROVER,)
    principal = _principal(*roles)
    try:
        settings = AdapterSettings(kind=adapter, url=url, token_env=token_env, secret_env=secret_env,
                                   ed25519_key=webhook_key)  # fmt: skip
        chosen = make_adapter(settings)
        with _store(state) as store, _corpus(corpus) as con, _progress() as progress:
            if override_reason:
                seq = response.override_gate(store, case, principal, override_reason)
                console.print(f"[yellow]gate overridden[/yellow] (case event {seq}): {override_reason}")
            task = progress.add_task(f"{verb.value} {'(dry run)' if dry_run else ''}", total=None)
            try:
                result = response.act_on_case(
                    store, case, principal, chosen, verb, key=SigningKey.load_or_create(key), dry_run=dry_run,
                    corpus=con, roles=role, note=note,
                    on_progress=lambda done, total: progress.update(task, completed=done, total=total),
                )  # fmt: skip
            finally:
                chosen.close()
    except CordonError as exc:
        raise _fail(exc) from exc
    table = Table("account", "role", "status", "detail")
    for o in result.outcomes:
        table.add_row(o.target.account_id, o.target.role, o.status.value, o.detail[:160])
    console.print(table)
    counts = ", ".join(f"{n} {k}" for k, n in result.counts.items())
    console.print(f"{verb.value} via {result.adapter}{' (dry run)' if result.dry_run else ''} on {case}: {counts}; "
                  f"gate: {result.gate.detail}")  # fmt: skip
    if result.counts.get("failed"):
        raise typer.Exit(EXIT_PARTIAL)


@contextmanager
def _progress() -> Iterator[Progress]:
    columns = (TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn())
    with Progress(*columns, console=Console(stderr=True), transient=True) as progress:
        yield progress


@holds_app.callback()
def holds_overview(ctx: typer.Context, state: StateOpt = DEFAULT_URL) -> None:
    """Without a sub-command: every hold, and the alerts for those that run out within 14 days."""
    if ctx.invoked_subcommand is not None:
        return
    try:
        with _store(state) as store:
            holds, alerts = response.holds_of(store), response.hold_alerts(store)
    except CordonError as exc:
        raise _fail(exc) from exc
    _print_holds(holds)
    for h in alerts:
        console.print(f"[yellow]alert:[/yellow] {h.kind.value} hold {h.id} on {h.case_id} ends "
                      f"{h.expires_at:%Y-%m-%d %H:%M} UTC: extend it or let it lapse")  # fmt: skip


def _print_holds(holds: tuple[Hold, ...]) -> None:
    table = Table("hold", "case", "kind", "starts", "expires", "reference")
    for h in holds:
        table.add_row(
            h.id, h.case_id, h.kind.value, f"{h.starts_at:%Y-%m-%d}", f"{h.expires_at:%Y-%m-%d}", h.reference
        )
    console.print(table)


@holds_app.command("add")
def holds_add(
    case: Annotated[str, typer.Argument(help="The case id.")],
    kind: Annotated[HoldKind, typer.Option("--kind", help="ncmec, police, police-extension or voluntary.")],
    reference: Annotated[str, typer.Option("--reference", help="Report id or request reference.")] = "",
    days: Annotated[int | None, typer.Option("--days", help="Length of a voluntary hold.")] = None,
    extends: Annotated[
        str, typer.Option("--extends", help="The police hold a police-extension extends.")
    ] = "",
    state: StateOpt = DEFAULT_URL,
) -> None:
    """Put a hold on a case's evidence."""
    try:
        with _store(state) as store:
            hold = response.place_hold(store, case, _principal(Role.REPORTER), kind, reference=reference,
                                       days=days, extends=extends)  # fmt: skip
    except CordonError as exc:
        raise _fail(exc) from exc
    console.print(f"hold {hold.id} ({hold.kind.value}) on {case} until {hold.expires_at:%Y-%m-%d %H:%M} UTC")


@holds_app.command("alerts")
def holds_alerts(
    within_days: Annotated[int, typer.Option("--within-days", min=1, help="Alert window.")] = 14,
    state: StateOpt = DEFAULT_URL,
) -> None:
    """Holds that run out within the window (exit 3 when there are any, for cron)."""
    try:
        with _store(state) as store:
            alerts = response.hold_alerts(store, within=timedelta(days=within_days))
    except CordonError as exc:
        raise _fail(exc) from exc
    _print_holds(alerts)
    if alerts:
        raise typer.Exit(EXIT_PARTIAL)


def export_cmd(
    case: Annotated[str, typer.Argument(help="The case id.")],
    to: Annotated[str, typer.Option("--to", help="police or hotline.")],
    out: Annotated[Path, typer.Option("--out", help="The zip to write (never overwritten).")],
    include_media: Annotated[
        bool, typer.Option("--include-media", help="Put the media bytes in (default: hashes only).")
    ] = False,
    state: StateOpt = DEFAULT_URL,
    key: KeyOpt = DEFAULT_KEY,
) -> None:
    """Export a preserved case for police or a hotline: a zip with a signed manifest."""
    try:
        with _store(state) as store:
            result = response.export_case(store, case, _principal(Role.REPORTER), out=out, recipient=to,
                                          key=SigningKey.load_or_create(key), include_media=include_media)  # fmt: skip
    except CordonError as exc:
        raise _fail(exc) from exc
    console.print(f"exported {case} to {result.path} (sha256 {result.sha256}; {result.files} files, "
                  f"{result.withheld} withheld)")  # fmt: skip


def register(app: typer.Typer) -> None:
    """Register `cordon audit`, `preserve`, `act`, `holds` and `export` on `app`."""
    app.add_typer(audit_app, name="audit")
    app.command("preserve")(preserve_cmd)
    app.command("act")(act_cmd)
    app.add_typer(holds_app, name="holds")
    app.command("export")(export_cmd)
