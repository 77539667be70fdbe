"""`cordon report draft|approve|submit|retract|show`: NCMEC CyberTipline reports from the command line, on the
same state store and signing key as `cordon serve`. The operator's NCMEC set-up (reporting person, XSD path,
base URL, names of the credential environment variables) is a JSON file of `NcmecSettings` fields.

Like the other response commands, the command line acts as `cli:<login>` with the role the step needs
(reporter to draft, submit and retract; approver to approve). With four-eyes approval on (the default), the
approval must come from someone else: through `cordon serve`, or a command line run by another login.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Annotated

import msgspec
import typer

from cordon.app import reports
from cordon.app.report_content import NcmecSettings
from cordon.cli.respond_cmds import DEFAULT_KEY, KeyOpt, StateOpt, _fail, _principal, _store, console
from cordon.errors import ConfigError, CordonError
from cordon.respond.access import Role
from cordon.respond.evidence import SigningKey
from cordon.respond.state.store import DEFAULT_URL, StateStore

report_app = typer.Typer(
    help="NCMEC CyberTipline reports: draft, approve, submit, retract, show.", no_args_is_help=True
)
ConfigOpt = Annotated[
    Path, typer.Option("--ncmec", help="JSON file of NCMEC settings (reporting person, xsd, base_url, ...).")
]
ReportArg = Annotated[str, typer.Argument(help="The report id (ncmec-...).")]


def _settings(path: Path) -> NcmecSettings:
    try:
        return msgspec.json.decode(path.read_bytes(), type=NcmecSettings)
    except (OSError, msgspec.DecodeError, msgspec.ValidationError) as exc:
        raise ConfigError(f"{path}: not readable NCMEC settings ({exc})") from exc


def _show(view: reports.ReportView) -> None:
    console.print(f"report {view.id} of case {view.case_id}: {view.status}"
                  + (f", NCMEC report {view.external_id}" if view.external_id else "")
                  + f"; drafted by {view.created_by}" + (f", approved by {view.approved_by}" if view.approved_by else "")
                  + f"; XML sha256 {view.sha256}")  # fmt: skip


def _step(state: str, step: Callable[[StateStore], reports.ReportView]) -> None:
    try:
        with _store(state) as store:
            view = step(store)
    except CordonError as exc:
        raise _fail(exc) from exc
    _show(view)


@report_app.command("draft")
def draft(
    case: Annotated[str, typer.Argument(help="The case id.")],
    ncmec: ConfigOpt,
    state: StateOpt = DEFAULT_URL,
    key: KeyOpt = DEFAULT_KEY,
) -> None:
    """Draft a report from the case's verified preservation package (validated against NCMEC's XSD)."""
    _step(state, lambda store: reports.draft_report(store, case, _principal(Role.REPORTER), _settings(ncmec),
                                                    key=SigningKey.load_or_create(key)))  # fmt: skip


@report_app.command("approve")
def approve(report: ReportArg, ncmec: ConfigOpt, state: StateOpt = DEFAULT_URL) -> None:
    """Approve a draft's exact XML (four eyes: not by the person who drafted it)."""
    _step(
        state,
        lambda store: reports.approve_report(store, report, _principal(Role.APPROVER), _settings(ncmec)),
    )


@report_app.command("submit")
def submit(
    report: ReportArg, ncmec: ConfigOpt, state: StateOpt = DEFAULT_URL, key: KeyOpt = DEFAULT_KEY
) -> None:
    """Send an approved report: submit, upload the preserved copies with their details, finish."""
    _step(state, lambda store: reports.submit_report(store, report, _principal(Role.REPORTER), _settings(ncmec),
                                                     key=SigningKey.load_or_create(key)))  # fmt: skip


@report_app.command("retract")
def retract(report: ReportArg, ncmec: ConfigOpt, state: StateOpt = DEFAULT_URL) -> None:
    """Retract a report that is not finished (NCMEC cancels it if it was submitted)."""
    _step(
        state,
        lambda store: reports.retract_report(store, report, _principal(Role.REPORTER), _settings(ncmec)),
    )


@report_app.command("show")
def show(
    report: ReportArg,
    state: StateOpt = DEFAULT_URL,
    xml: Annotated[bool, typer.Option("--xml", help="Print the report XML.")] = False,
    transcript: Annotated[bool, typer.Option("--transcript", help="Print the exchange with NCMEC.")] = False,
) -> None:
    """A report's status, and its XML or transcript."""
    try:
        with _store(state) as store:
            view = reports.report_view(store, report, _principal(Role.AUDITOR))
    except CordonError as exc:
        raise _fail(exc) from exc
    _show(view)
    if xml:
        console.print(view.xml, markup=False, highlight=False)
    if transcript:
        for entry in view.transcript:
            console.print(json.dumps(entry, sort_keys=True), markup=False, highlight=False)


def register(app: typer.Typer) -> None:
    app.add_typer(report_app, name="report")
