"""`cordon doctor`: is this installation able to detect known material right now?

It reports the versions of the libraries hashing depends on, the banks loaded, and runs the canary through
the production matcher (`load_matcher`). Anything wrong makes `DoctorReport.ok` false, and the CLI exits
non-zero: a deployment check or a cron job sees a broken matcher at once.
"""

from __future__ import annotations

import importlib.metadata
import platform
from dataclasses import dataclass

from cordon.app.matching import load_matcher
from cordon.errors import CanaryError, CordonError
from cordon.model import Bank
from cordon.signals.media.banks import BankStore
from cordon.signals.media.canary import CanaryResult, check_canary

_PACKAGES = ("cordon", "pdqhash", "pillow", "numpy", "duckdb", "pyarrow", "vpdq", "threatexchange")


@dataclass(frozen=True, slots=True)
class DoctorReport:
    """What `cordon doctor` found: versions, banks, matcher size, and the canary's result or failure."""

    versions: tuple[tuple[str, str], ...]
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


def run_doctor(store: BankStore) -> DoctorReport:
    """Load every bank the way production does, and prove with the canary that it detects."""
    problems: list[str] = []
    banks: tuple[Bank, ...] = ()
    entries = 0
    canary: CanaryResult | None = None
    try:
        banks = tuple(store.banks())
        matcher = load_matcher(store)
        entries = matcher.size
        canary = check_canary(matcher)
    except CanaryError as exc:
        problems.append(str(exc))
    except CordonError as exc:
        problems.append(f"cannot load the banks: {exc}")
    return DoctorReport(versions(), banks, entries, canary, tuple(problems))
