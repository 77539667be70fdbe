"""`cordon doctor`: prove that hashing and matching detect the built-in canary, once or on a schedule."""

from __future__ import annotations

import contextlib
import logging
from pathlib import Path
from typing import Annotated

import typer

from cordon.app.doctor import report_metrics, run_doctor, watch, write_prometheus
from cordon.signals.media.banks import BANKS_ENV, BankStore
from cordon.signals.media.canary import CanaryMetrics

EXIT_UNHEALTHY = 1


def register(app: typer.Typer) -> None:
    """Register `cordon doctor` on `app`."""
    app.command("doctor")(doctor_command)


def doctor_command(
    banks: Annotated[
        Path | None,
        typer.Option(
            "--banks", help=f"Bank store folder (default: ${BANKS_ENV} or ~/.local/share/cordon/banks)."
        ),
    ] = None,
    metrics_file: Annotated[
        Path | None,
        typer.Option("--metrics-file", help="Write the canary counters here (Prometheus text format)."),
    ] = None,
    every: Annotated[
        float | None,
        typer.Option("--every", min=0.001, help="Repeat the canary every SECONDS instead of checking once."),
    ] = None,
    checks: Annotated[
        int, typer.Option("--checks", min=0, help="With --every: stop after N checks (0: until interrupted).")
    ] = 0,
) -> None:
    """Check that hashing and matching work: versions, video engine, banks, and the built-in canary through
    the production matcher. Exit 0 when healthy, 1 when anything is wrong (the reason is printed and logged
    at ERROR level; with --metrics-file, cordon_canary_healthy becomes 0)."""
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    store = BankStore(banks)
    if every is not None:
        _watch(store, every, checks, metrics_file)
        return
    report = run_doctor(store)
    for name, version in report.versions:
        typer.echo(f"{name:16} {version}")
    typer.echo(f"video engine     {report.video_engine}")
    typer.echo(f"banks: {len(report.banks)} ({report.entries} entries incl. the canary)")
    for bank in report.banks:
        typer.echo(f"  {bank.name} v{bank.version} {bank.category} threshold={bank.threshold}")
    if report.canary is not None:
        typer.echo(f"canary: ok (distance {report.canary.distance}, {report.canary.seconds * 1000:.0f} ms)")
    for problem in report.problems:
        typer.echo(f"FAIL: {problem}", err=True)
    if metrics_file is not None:
        write_prometheus(
            metrics_file,
            report_metrics(report),
            distance=report.canary.distance if report.canary is not None else None,
        )
    if not report.ok:
        raise typer.Exit(EXIT_UNHEALTHY)


def _watch(store: BankStore, every: float, checks: int, metrics_file: Path | None) -> None:
    latest: list[CanaryMetrics] = []

    def show(passed: bool, metrics: CanaryMetrics) -> None:
        latest[:] = [metrics]
        if passed:
            typer.echo(f"canary ok ({metrics.checks} checks, {metrics.failures} failed)")
        else:
            typer.echo(f"FAIL: {metrics.last_error}", err=True)

    with contextlib.suppress(KeyboardInterrupt):
        watch(store, interval_s=every, checks=checks, metrics_path=metrics_file, on_check=show)
    if latest and latest[0].failures:
        raise typer.Exit(EXIT_UNHEALTHY)
