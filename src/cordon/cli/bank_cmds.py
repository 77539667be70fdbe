"""`cordon bank import|list|export|diff|ncmec-sync` and `cordon match FILES...`."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Annotated

import typer

from cordon.app import matching
from cordon.errors import CanaryError, CordonError
from cordon.model import BankCategory
from cordon.signals.media.bank_formats import BankFormat, write_csv
from cordon.signals.media.banks import BANKS_ENV, BankStore
from cordon.signals.media.canary import check_canary

EXIT_MATCHED = 1
EXIT_ERROR = 2
EXIT_SOME_FAILED = 3
EXIT_CANARY = 4

bank_app = typer.Typer(
    help="Hash banks (hash lists): import, list, export, diff, NCMEC sync.", no_args_is_help=True
)

BanksDir = Annotated[
    Path | None,
    typer.Option(
        "--banks", help=f"Bank store folder (default: ${BANKS_ENV} or ~/.local/share/cordon/banks)."
    ),
]


def register(app: typer.Typer) -> None:
    """Register `cordon bank ...` and `cordon match` on `app`."""
    app.add_typer(bank_app, name="bank")
    app.command("match")(match_command)


def _fail(exc: CordonError) -> typer.Exit:
    typer.echo(f"error: {exc}", err=True)
    return typer.Exit(EXIT_ERROR)


@bank_app.command("import")
def import_command(
    file: Annotated[Path, typer.Argument(help="The bank file.")],
    name: Annotated[str, typer.Option("--name", help="Bank name (a new version when it exists).")],
    category: Annotated[
        BankCategory | None, typer.Option("--category", help="Category; required for a new bank.")
    ] = None,
    threshold: Annotated[
        int | None,
        typer.Option("--threshold", min=0, max=256, help="PDQ bits (default 31; exact hashes: 0)."),
    ] = None,
    fmt: Annotated[
        BankFormat, typer.Option("--format", help="csv, te (ThreatExchange) or hma.")
    ] = BankFormat.CSV,
    banks: BanksDir = None,
) -> None:
    """Import FILE as the next version of bank NAME (the file is the whole list: absent entries are removed).

    CSV columns: pdq, md5, sha1, sha256 (any, at least one), optional id, category, note. A file with bad rows
    is refused whole, each bad row named by line and column. Exit 2 on error.
    """
    try:
        version = matching.import_bank_file(
            BankStore(banks), file, name=name, category=category, threshold=threshold, fmt=fmt
        )
    except CordonError as exc:
        raise _fail(exc) from exc
    typer.echo(
        f"{name} v{version.version}: {version.entries} entries (+{version.added} -{version.removed}) from {file}"
    )


@bank_app.command("list")
def list_command(banks: BanksDir = None) -> None:
    """List banks: name, category, threshold, latest version, entries."""
    store = BankStore(banks)
    try:
        found = store.banks()
        for bank in found:
            latest = store.versions(bank.name)[-1]
            typer.echo(
                f"{bank.name}\t{bank.category}\tthreshold={bank.threshold}\tv{bank.version}\t"
                f"{latest.entries} entries\t{bank.source}"
            )
    except CordonError as exc:
        raise _fail(exc) from exc
    if not found:
        typer.echo(f"no banks in {store.directory}", err=True)


@bank_app.command("export")
def export_command(
    name: Annotated[str, typer.Argument(help="Bank name.")],
    out: Annotated[Path, typer.Option("--out", help="CSV file to write.")],
    version: Annotated[
        int | None, typer.Option("--version", min=1, help="Version (default: latest).")
    ] = None,
    banks: BanksDir = None,
) -> None:
    """Write bank NAME (at --version) as cordon's bank CSV; `bank import` reads it back unchanged."""
    try:
        rows = write_csv(matching.entries_of(BankStore(banks), name, version), out)
    except CordonError as exc:
        raise _fail(exc) from exc
    typer.echo(f"wrote {rows} rows to {out}")


@bank_app.command("diff")
def diff_command(
    name: Annotated[str, typer.Argument(help="Bank name.")],
    from_version: Annotated[int, typer.Argument(help="Old version.")],
    to_version: Annotated[int, typer.Argument(help="New version.")],
    banks: BanksDir = None,
) -> None:
    """Entries added (+) and removed (-) between two versions: `+ id algo value category`."""
    try:
        diff = BankStore(banks).diff(name, from_version, to_version)
    except CordonError as exc:
        raise _fail(exc) from exc
    for sign, columns in (("-", diff.removed), ("+", diff.added)):
        for entry in columns.entries(name):
            typer.echo(f"{sign} {entry.entry_id}\t{entry.algo}\t{entry.value}\t{entry.category}")
    typer.echo(f"{name} v{from_version} -> v{to_version}: +{len(diff.added)} -{len(diff.removed)}", err=True)


@bank_app.command("ncmec-sync")
def ncmec_sync_command(
    name: Annotated[str, typer.Option("--name", help="Bank name.")] = "ncmec",
    user: Annotated[str, typer.Option("--user", envvar="NCMEC_USER", help="NCMEC hash-sharing user.")] = "",
    password_env: Annotated[
        str, typer.Option("--password-env", help="Environment variable holding the password.")
    ] = "NCMEC_PASSWORD",
    environment: Annotated[str, typer.Option("--environment", help="NCMECEnvironment name.")] = "Industry",
    base_url: Annotated[
        str | None, typer.Option("--base-url", help="Override the host (proxy, test).")
    ] = None,
    since: Annotated[int | None, typer.Option("--since", help="Unix time (default: the last sync).")] = None,
    banks: BanksDir = None,
) -> None:
    """Fetch NCMEC hash-sharing updates into bank NAME as its next version (deletions applied)."""
    try:
        version = matching.sync_ncmec(
            BankStore(banks),
            name=name,
            username=user,
            password=os.environ.get(password_env, ""),
            environment=environment,
            base_url=base_url,
            since=since,
        )
    except CordonError as exc:
        raise _fail(exc) from exc
    typer.echo(f"{name} v{version.version}: {version.entries} entries (+{version.added} -{version.removed})")


def match_command(
    files: Annotated[list[Path], typer.Argument(help="Image or video files.")],
    bank: Annotated[
        list[str] | None, typer.Option("--bank", help="Bank name (repeat; default: all).")
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="One JSON object per file.")] = False,
    workers: Annotated[int, typer.Option("--workers", min=1, help="Hashing processes.")] = 1,
    banks: BanksDir = None,
) -> None:
    """Hash FILES and match them against banks (safelists always apply). Media is never shown or sent.

    Before matching, the built-in canary is checked through the same matcher.

    Exit codes: 0 no file matched; 1 some file matched; 2 usage or bank error; 3 no match but some file could
    not be hashed; 4 the canary failed (matching is broken: trust no result).
    """
    try:
        matcher = matching.load_matcher(BankStore(banks), bank or ())
        check_canary(matcher)
    except CanaryError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(EXIT_CANARY) from exc
    except CordonError as exc:
        raise _fail(exc) from exc
    results = matching.match_files(files, matcher, workers=workers, progress=None)
    matched = failed = 0
    for result in results:
        matched += bool(result.matches)
        failed += result.error is not None
        if result.error:
            typer.echo(f"error: {result.error}", err=True)
        if as_json:
            typer.echo(
                json.dumps(
                    {
                        "file": result.source,
                        "sha256": result.sha256,
                        "error": result.error,
                        "matches": [
                            {
                                "bank": m.bank,
                                "version": m.bank_version,
                                "entry": m.entry_id,
                                "algo": str(m.algo),
                                "distance": m.distance,
                                "category": str(m.category),
                            }
                            for m in result.matches
                        ],
                    }
                )
            )
            continue
        for m in result.matches:
            typer.echo(
                f"{result.source}\t{m.bank}@v{m.bank_version}\t{m.entry_id}\t{m.algo}\t"
                f"distance={m.distance}\t{m.category}"
            )
    typer.echo(f"{len(results)} files, {matched} matched, {failed} failed", err=True)
    if matched:
        raise typer.Exit(EXIT_MATCHED)
    if failed:
        raise typer.Exit(EXIT_SOME_FAILED)
