"""`cordon analyze`: an export and a hash bank in, network cases out (cases.json and report.html)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from cordon.app.analyze import AnalysisResult, analyze
from cordon.errors import ConfigError, CordonError, UnknownFormatError
from cordon.model import CaseLabel

EXIT_OK, EXIT_FAILURE, EXIT_USAGE, EXIT_PARTIAL = 0, 1, 2, 3


def analyze_cmd(
    export: Annotated[
        Path,
        typer.Argument(
            help="The export to analyse: a Mastodon export directory or API JSON, an X API v2 (twarc2) file "
            "or Bluesky Jetstream events.",
            show_default=False,
        ),
    ],
    bank: Annotated[
        Path,
        typer.Option(
            "--bank",
            help="The hash list to match media against: CSV (pdq, md5, sha1, sha256 columns; optional id, "
            "category, note) or a ThreatExchange .te file. Entries without a category count as child-safety.",
            exists=True,
            dir_okay=False,
        ),
    ],
    out: Annotated[
        Path,
        typer.Option(
            "--out", help="Where cases.json, report.html and the corpus (corpus.duckdb) are written."
        ),
    ] = Path("cordon-out"),
    db: Annotated[
        Path | None,
        typer.Option("--db", help="The corpus database (default: OUT/corpus.duckdb). Reused across runs."),
    ] = None,
    workers: Annotated[
        int | None, typer.Option("--workers", help="Processes for media hashing (default: all cores).", min=1)
    ] = None,
    memory_limit: Annotated[
        str, typer.Option("--memory-limit", help="DuckDB's memory limit, e.g. 4GB.")
    ] = "4GB",
) -> None:
    """Find the networks in an export: ingest it (resuming), hash and match its media against the bank,
    extract entities, run the detectors, group findings into cases, and write OUT/cases.json (schema in
    docs/cases-json.md) and OUT/report.html (self-contained; no media in it).

    A case is labelled child-safety only when anchored by a bank match (or by ties to accounts that carry
    one). Re-running on a grown export ingests, hashes, matches and extracts only what is new.

    Exit codes: 0 done; 3 done, but some records were quarantined at ingest; 2 usage error; 1 failure.
    """
    err = Console(stderr=True, soft_wrap=True)
    try:
        with err.status("analysing") as status:
            result = analyze(
                export,
                bank,
                out,
                db=db,
                workers=workers,
                memory_limit=memory_limit,
                step=lambda name: status.update(f"analysing: {name}"),
            )
    except (UnknownFormatError, ConfigError) as exc:
        err.print(f"[red]error:[/red] {exc}", highlight=False)
        raise typer.Exit(EXIT_USAGE) from exc
    except CordonError as exc:
        err.print(f"[red]analysis failed:[/red] {exc}", highlight=False)
        raise typer.Exit(EXIT_FAILURE) from exc
    _print(result)
    if result.ingest.partial:
        err.print(
            f"[yellow]{result.ingest.quarantined} record(s) quarantined at ingest[/yellow]; "
            f"list them with: cordon quarantine --db {result.db}",
            highlight=False,
        )
        raise typer.Exit(EXIT_PARTIAL)


def _print(result: AnalysisResult) -> None:
    out = Console(soft_wrap=True)
    table = Table(title="cases", title_justify="left")
    for name in ("case", "label", "score", "members", "tags to suppress", "media queued"):
        table.add_column(name, justify="left" if name in ("case", "label") else "right")
    for d in result.dossiers[:20]:
        label = d.case.label.value
        shown = f"[bold red]{label}[/bold red]" if d.case.label is CaseLabel.CHILD_SAFETY else label
        table.add_row(
            d.case.id, shown, f"{d.case.score:.2f}", str(len(d.case.members)), str(len(d.suppress_tags)),
            str(len(d.media_queue)),
        )  # fmt: skip
    out.print(table)
    if len(result.dossiers) > 20:
        out.print(f"... and {len(result.dossiers) - 20} more (all in cases.json)")
    steps = ", ".join(f"{name} {secs:.1f}s" for name, secs in result.timings if secs >= 0.05)
    out.print(
        f"{result.child_safety_cases} child-safety case(s) of {len(result.dossiers)}; "
        f"{result.hashed:,} media hashed ({result.hash_failures} failed), {result.matches:,} bank matches.\n"
        f"steps: {steps}\n"
        f"cases:  {result.cases_json}\nreport: {result.report_html}\ncorpus: {result.db}",
        highlight=False,
    )


def register(app: typer.Typer) -> None:
    """Register `cordon analyze` on `app`."""
    app.command("analyze")(analyze_cmd)
