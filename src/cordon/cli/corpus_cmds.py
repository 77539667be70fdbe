"""`cordon ingest`, `cordon stats` and `cordon quarantine`: fill the corpus and look at it."""

from __future__ import annotations

import json
from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from cordon.app.ingest import IngestReport, MediaMode, ingest
from cordon.corpus import CorpusStats, DuckDBCorpus
from cordon.errors import ConfigError, CordonError, UnknownFormatError

EXIT_OK, EXIT_FAILURE, EXIT_USAGE, EXIT_PARTIAL = 0, 1, 2, 3

DbOption = Annotated[
    Path,
    typer.Option("--db", help="The corpus database file (DuckDB); created when missing.", dir_okay=False),
]


class FormatChoice(StrEnum):
    AUTO = "auto"
    MASTODON = "mastodon"
    X = "x"
    BLUESKY = "bluesky"


def _out() -> Console:
    return Console(soft_wrap=True)


def _err() -> Console:
    return Console(stderr=True, soft_wrap=True)


def ingest_cmd(
    export: Annotated[
        Path,
        typer.Argument(
            help="An export: a Mastodon export directory or API JSON file, an X API v2 (twarc2) file, "
            "or Bluesky Jetstream events (JSON Lines).",
            show_default=False,
        ),
    ],
    db: DbOption = Path("corpus.duckdb"),
    format: Annotated[
        FormatChoice,
        typer.Option("--format", help="The export's format; 'auto' detects it from the content."),
    ] = FormatChoice.AUTO,
    media: Annotated[
        MediaMode,
        typer.Option(
            "--media",
            help="keep: hash media and store the bytes content-addressed beside the database (blobs/); "
            "reference: hash them and store only hashes and where they are; skip: do not read media.",
        ),
    ] = MediaMode.REFERENCE,
    media_dir: Annotated[
        Path | None,
        typer.Option(
            "--media-dir",
            help="Where media files are, named by the last path segment of their URL (default: the export's media/ directory).",
            file_okay=False,
        ),
    ] = None,
    fetch: Annotated[
        bool,
        typer.Option(
            "--fetch/--no-fetch",
            help="Fetch media that is not in the media directory from the platform's own media URLs over "
            "HTTP(S), within size and time limits. Links found in posts are never visited.",
        ),
    ] = False,
    max_media_mb: Annotated[
        int, typer.Option("--max-media-mb", help="Refuse media larger than this.", min=1)
    ] = 64,
    batch_size: Annotated[
        int, typer.Option("--batch-size", help="Records per stored batch.", min=1)
    ] = 10_000,
    restart: Annotated[
        bool,
        typer.Option("--restart", help="Read the export from the start instead of resuming (idempotent)."),
    ] = False,
) -> None:
    """Read an export into the corpus. Idempotent and resumable: running it again stores nothing twice and
    continues where an interrupted run stopped. Bad records are quarantined with file, line, field and reason.

    Exit codes: 0 all stored; 3 stored, but some records were quarantined (list them with `cordon quarantine`);
    2 usage error or unknown format; 1 failure.
    """
    try:
        report = ingest(
            export,
            db,
            format=format.value,
            media=media,
            media_dir=media_dir,
            fetch_remote=fetch,
            max_media_bytes=max_media_mb * 1024 * 1024,
            batch_size=batch_size,
            restart=restart,
        )
    except (UnknownFormatError, ConfigError) as exc:
        _err().print(f"[red]error:[/red] {exc}", markup=True, highlight=False)
        raise typer.Exit(EXIT_USAGE) from exc
    except CordonError as exc:
        _err().print(f"[red]ingest failed:[/red] {exc}", markup=True, highlight=False)
        _err().print("Everything stored before the failure is kept; run the same command again to resume.")
        raise typer.Exit(EXIT_FAILURE) from exc
    _print_report(report)
    if report.partial:
        _err().print(
            f"[yellow]{report.quarantined} record(s) quarantined[/yellow]; the rest was stored. "
            f"List them with: cordon quarantine --db {db}",
            markup=True,
            highlight=False,
        )
        raise typer.Exit(EXIT_PARTIAL)


def _print_report(report: IngestReport) -> None:
    table = Table(title=f"ingest of {report.source} ({report.connector})", title_justify="left")
    for name in ("table", "inserted", "updated", "unchanged"):
        table.add_column(name, justify="left" if name == "table" else "right")
    for name, counts in report.counts.per_table():
        table.add_row(name, f"{counts.inserted:,}", f"{counts.updated:,}", f"{counts.unchanged:,}")
    table.add_row("quarantine", f"{report.counts.quarantined:,}", "", "")
    out = _out()
    out.print(table)
    resumed = f", resumed at line {report.resumed_from.line}" if report.resumed_from else ""
    out.print(
        f"{report.posts_read:,} statuses in {report.elapsed_s:.1f} s ({report.statuses_per_s:,.0f}/s), "
        f"{report.quarantined:,} quarantined, media: {report.media.value}{resumed}. Corpus: {report.db}",
        highlight=False,
    )


def _open_existing(db: Path) -> DuckDBCorpus:
    if not db.is_file():
        _err().print(
            f"[red]error:[/red] {db}: no corpus here; create one with `cordon ingest EXPORT --db {db}`"
        )
        raise typer.Exit(EXIT_USAGE)
    try:
        return DuckDBCorpus(db)
    except CordonError as exc:
        _err().print(f"[red]error:[/red] {exc}", highlight=False)
        raise typer.Exit(EXIT_FAILURE) from exc


def stats_cmd(
    db: DbOption = Path("corpus.duckdb"),
    as_json: Annotated[bool, typer.Option("--json", help="Print the figures as JSON.")] = False,
) -> None:
    """Show what the corpus holds: rows per table and platform, the time range of posts, quarantine by reason."""
    with _open_existing(db) as store:
        stats = store.stats()
    if as_json:
        typer.echo(json.dumps(stats_as_json(stats), indent=2))
        return
    table = Table(title=f"corpus {db}", title_justify="left")
    table.add_column("table")
    table.add_column("platform")
    table.add_column("rows", justify="right")
    for size in stats.sizes:
        table.add_row(size.table, size.platform or "-", f"{size.rows:,}")
    out = _out()
    out.print(table)
    out.print(f"posts from {stats.first_post_at or '-'} to {stats.last_post_at or '-'}", highlight=False)
    for reason in stats.quarantine_by_reason:
        out.print(f"quarantined {reason.count:,}: {reason.reason}", highlight=False)


def stats_as_json(stats: CorpusStats) -> dict[str, object]:
    tables: dict[str, dict[str, int]] = {}
    for size in stats.sizes:
        tables.setdefault(size.table, {})[size.platform or "all"] = size.rows
    return {
        "tables": tables,
        "first_post_at": stats.first_post_at.isoformat() if stats.first_post_at else None,
        "last_post_at": stats.last_post_at.isoformat() if stats.last_post_at else None,
        "quarantine_by_reason": {r.reason: r.count for r in stats.quarantine_by_reason},
    }


def quarantine_cmd(
    db: DbOption = Path("corpus.duckdb"),
    limit: Annotated[
        int | None, typer.Option("--limit", help="Show at most this many records.", min=1)
    ] = None,
    raw: Annotated[bool, typer.Option("--raw", help="Also print each record as it was read.")] = False,
) -> None:
    """List quarantined records, one per line: file:line, record id, field, reason (tab-separated)."""
    with _open_existing(db) as store:
        records = store.quarantined(limit=limit)
    for q in records:
        where = q.source + (f":{q.line}" if q.line is not None else "")
        typer.echo(f"{where}\t{q.record_id or '-'}\t{q.field or '-'}\t{q.reason}")
        if raw:
            typer.echo(f"\t{q.raw}")


def register(app: typer.Typer) -> None:
    """Register the corpus commands on `app`."""
    app.command("ingest")(ingest_cmd)
    app.command("stats")(stats_cmd)
    app.command("quarantine")(quarantine_cmd)
