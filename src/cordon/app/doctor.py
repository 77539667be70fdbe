"""`cordon doctor`: is this installation able to detect known material right now?

It reports the versions of the libraries hashing depends on, which video engine is available, the banks
loaded, and runs the canary through the production matcher (`load_matcher`, the one the CLI and the server
use). Anything wrong makes `DoctorReport.ok` false, is logged at ERROR level, and the CLI exits non-zero: a
deployment check or a cron job sees a broken matcher at once.

`watch` repeats the canary on a schedule (`CanaryScheduler`) against a freshly loaded matcher each time, so a
new bank version is proven too, and writes the counters as a Prometheus text-format file
(`write_prometheus`) for node_exporter's textfile collector or any scraper: ``cordon_canary_healthy`` drops
to 0 on the first failure.
"""

from __future__ import annotations

import importlib.metadata
import logging
import os
import platform
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from cordon.app.matching import load_matcher
from cordon.errors import CanaryError
from cordon.model import Bank
from cordon.signals.media.banks import BankStore
from cordon.signals.media.canary import CanaryMetrics, CanaryResult, CanaryScheduler, check_canary

log = logging.getLogger("cordon.doctor")

_PACKAGES = ("cordon", "pdqhash", "pillow", "numpy", "duckdb", "pyarrow", "vpdq", "av", "threatexchange")


@dataclass(frozen=True, slots=True)
class DoctorReport:
    """What `cordon doctor` found: versions, video engine, banks, matcher size, the canary's result, and
    every problem (any problem means matching cannot be trusted)."""

    versions: tuple[tuple[str, str], ...]
    video_engine: str
    banks: tuple[Bank, ...]
    entries: int
    canary: CanaryResult | None
    problems: tuple[str, ...]

    @property
    def ok(self) -> bool:
        return self.canary is not None and not self.problems


def versions() -> tuple[tuple[str, str], ...]:
    """Python and the installed versions of the packages hashing and matching depend on."""
    found = [("python", platform.python_version())]
    for name in _PACKAGES:
        try:
            found.append((name, importlib.metadata.version(name)))
        except importlib.metadata.PackageNotFoundError:
            found.append((name, "not installed"))
    return tuple(found)


def video_engine(installed: dict[str, str]) -> str:
    """Which video hasher `hash_video` will use: vpdq, the PyAV fallback, or none (videos fail to hash)."""
    if installed.get("vpdq", "not installed") != "not installed":
        return "vpdq"
    if installed.get("av", "not installed") != "not installed":
        return "pyav (vpdq not installed)"
    return "none: videos cannot be hashed (pip install 'cordon[video]')"


def run_doctor(store: BankStore) -> DoctorReport:
    """Load every bank the way production does, and prove with the canary that it detects."""
    problems: list[str] = []
    banks: tuple[Bank, ...] = ()
    entries = 0
    canary: CanaryResult | None = None
    found = versions()
    try:
        banks = tuple(store.banks())
        matcher = load_matcher(store)
        entries = matcher.size
        canary = check_canary(matcher)
    except CanaryError as exc:  # check_canary has logged it
        problems.append(str(exc))
    except Exception as exc:  # a store or matcher that cannot even be built is the same failure: loud
        message = f"cannot load the banks or build the matcher: {type(exc).__name__}: {exc}"
        log.error("DOCTOR FAILED - %s", message)
        problems.append(message)
    return DoctorReport(found, video_engine(dict(found)), banks, entries, canary, tuple(problems))


def write_prometheus(path: Path, metrics: CanaryMetrics, *, distance: int | None = None) -> None:
    """Write the canary counters in Prometheus text format, atomically (a scraper never reads half a file)."""
    lines = [
        "# HELP cordon_canary_healthy 1 when the last canary check passed and is recent, else 0.",
        "# TYPE cordon_canary_healthy gauge",
        f"cordon_canary_healthy {int(metrics.healthy)}",
        "# HELP cordon_canary_checks_total Canary checks run.",
        "# TYPE cordon_canary_checks_total counter",
        f"cordon_canary_checks_total {metrics.checks}",
        "# HELP cordon_canary_failures_total Canary checks that failed.",
        "# TYPE cordon_canary_failures_total counter",
        f"cordon_canary_failures_total {metrics.failures}",
    ]
    if metrics.last_success is not None:
        lines += [
            "# HELP cordon_canary_last_success_timestamp_seconds When the canary last passed (Unix time).",
            "# TYPE cordon_canary_last_success_timestamp_seconds gauge",
            f"cordon_canary_last_success_timestamp_seconds {metrics.last_success:.3f}",
        ]
    if distance is not None:
        lines += [
            "# HELP cordon_canary_pdq_distance PDQ bits between the canary's hash and its bank entry.",
            "# TYPE cordon_canary_pdq_distance gauge",
            f"cordon_canary_pdq_distance {distance}",
        ]
    path.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.NamedTemporaryFile("w", dir=path.parent, prefix=".cordon-", delete=False) as handle:
        handle.write("\n".join(lines) + "\n")
    os.replace(handle.name, path)


def watch(
    store: BankStore,
    *,
    interval_s: float,
    checks: int = 0,
    metrics_path: Path | None = None,
    on_check: Callable[[bool, CanaryMetrics], None] | None = None,
    sleep: Callable[[float], None] = time.sleep,
) -> CanaryMetrics:
    """Run the canary every `interval_s` seconds against a freshly loaded production matcher; stop after
    `checks` checks (0: run until interrupted). Each failure is logged at ERROR level; the counters go to
    `metrics_path` after every check. Returns the final counters."""
    scheduler = CanaryScheduler(lambda: load_matcher(store), interval_s=interval_s)
    done = 0
    while True:
        passed = scheduler.run_once()
        metrics = scheduler.metrics()
        if metrics_path is not None:
            write_prometheus(metrics_path, metrics)
        if on_check is not None:
            on_check(passed, metrics)
        done += 1
        if checks and done >= checks:
            return metrics
        sleep(interval_s)


def report_metrics(report: DoctorReport) -> CanaryMetrics:
    """The counters of one `run_doctor` check, for `write_prometheus`."""
    return CanaryMetrics(
        checks=1,
        failures=0 if report.ok else 1,
        last_success=time.time() if report.ok else None,
        last_error=None if report.ok else "; ".join(report.problems) or "the canary did not run",
        healthy=report.ok,
    )
