"""The canary: proof that hashing and matching still work, on demand (`cordon doctor`) and on a schedule.

A matcher that is silently off for weeks (a broken decoder, an empty index after a bad deploy, a threshold set
to 0) finds nothing and raises nothing. So cordon carries one benign, procedurally drawn image and a bank
entry for it, and keeps checking that the production hashing path (`hashing.hash_media`) and the production
matcher find it. The expected PDQ hash is a constant measured once with the reference `pdqhash.compute` on
the raw pixels (tests recompute it independently); it is not recomputed at run time, because a hasher that
had drifted would then agree with itself.

A failure raises `CanaryError`, logs at ERROR level and, in `CanaryScheduler`, increments a failure counter
that a health endpoint or metrics exporter reads.
"""

from __future__ import annotations

import hashlib
import io
import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache
from typing import NoReturn

import numpy as np
from PIL import Image

from cordon.errors import CanaryError
from cordon.model import Bank, BankCategory, BankEntry, HashAlgo
from cordon.signals.media import hashing
from cordon.signals.media.bank_formats import EntryColumns
from cordon.signals.media.matcher import Matcher

log = logging.getLogger("cordon.canary")

CANARY_BANK = "cordon-canary"
CANARY_ENTRY_ID = "cordon-canary-v1"
CANARY_SIDE = 256
# pdqhash.compute on `canary_pixels()`, quality 100 (see the module docstring for why it is a constant)
CANARY_PDQ = "2fa20a91ffa22e95ffb2ba91ffb10299001102df00dfaf45551f551a02bf56ea"
# The production path may drift a few bits from the reference (fast decode); more than this means hashing
# has changed, even if the match would still pass at the bank threshold of 31.
CANARY_MAX_DISTANCE = 8


def canary_pixels() -> np.ndarray:
    """The canary image: three procedural layers (diagonal waves, rings, a checkerboard), 256x256 RGB.
    Pure arithmetic, so every installation draws the same pixels."""
    y, x = np.mgrid[0:CANARY_SIDE, 0:CANARY_SIDE].astype(np.float64) / CANARY_SIDE
    red = np.sin(2 * np.pi * (3 * x + y)) * 0.5 + 0.5
    green = np.cos(2 * np.pi * np.hypot(x - 0.3, y - 0.6) * 5) * 0.5 + 0.5
    blue = ((np.floor(x * 4) + np.floor(y * 4)) % 2) * 0.6 + 0.2 * x
    return np.asarray((np.stack([red, green, blue], axis=-1) * 255).round(), dtype=np.uint8)


@lru_cache(maxsize=1)
def canary_png() -> bytes:
    """The canary image encoded as PNG (lossless, so decoding gives back `canary_pixels()` exactly)."""
    out = io.BytesIO()
    Image.fromarray(canary_pixels()).save(out, format="PNG")
    return out.getvalue()


def canary_bank() -> tuple[Bank, EntryColumns]:
    """The built-in canary bank: the canary's PDQ hash and its SHA-256 (which exercises the exact join)."""
    bank = Bank(name=CANARY_BANK, category=BankCategory.OTHER, threshold=31, version=1, source="built-in")
    entries = [
        BankEntry(
            CANARY_BANK, CANARY_ENTRY_ID, HashAlgo.PDQ, CANARY_PDQ, BankCategory.OTHER, "cordon canary"
        ),
        BankEntry(
            CANARY_BANK,
            CANARY_ENTRY_ID,
            HashAlgo.SHA256,
            hashlib.sha256(canary_png()).hexdigest(),
            BankCategory.OTHER,
            "cordon canary",
        ),
    ]
    return bank, EntryColumns.from_entries(entries)


@dataclass(frozen=True, slots=True)
class CanaryResult:
    """A passed canary check: the PDQ distance found and how long hashing + matching took."""

    pdq: str
    distance: int
    seconds: float


def check_canary(matcher: Matcher) -> CanaryResult:
    """Hash the canary through the production path and match it with `matcher` (which must hold the canary
    bank, as `cordon.app.matching.load_matcher` builds it). Raises `CanaryError` (and logs) on any failure."""
    started = time.perf_counter()
    try:
        hashed = hashing.hash_media(canary_png(), name="<canary>")
        matches = matcher.match_media([hashed])
    except Exception as exc:  # whatever broke (decoder, index, bank data), the verdict is the same: failed
        _fail(f"hashing or matching the canary raised {type(exc).__name__}: {exc}", exc)
    pdq = next((h.value for h in hashed.perceptual if h.algo is HashAlgo.PDQ), "")
    ours = [m for m in matches if m.bank == CANARY_BANK and m.entry_id == CANARY_ENTRY_ID]
    pdq_hits = [m for m in ours if m.algo is HashAlgo.PDQ]
    problems = []
    if not pdq_hits:
        problems.append(f"PDQ did not match (canary hashed to {pdq or 'nothing'}, expected {CANARY_PDQ})")
    elif min(m.distance for m in pdq_hits) > CANARY_MAX_DISTANCE:
        problems.append(
            f"PDQ matched at {min(m.distance for m in pdq_hits)} bits, more than {CANARY_MAX_DISTANCE}: "
            "hashing has drifted"
        )
    if not any(m.algo is HashAlgo.SHA256 for m in ours):
        problems.append("the exact SHA-256 entry did not match")
    if problems:
        _fail("; ".join(problems))
    return CanaryResult(
        pdq=pdq, distance=min(m.distance for m in pdq_hits), seconds=time.perf_counter() - started
    )


def _fail(reason: str, cause: BaseException | None = None) -> NoReturn:
    message = f"CANARY FAILED - media matching is not working: {reason}"
    log.error(message)
    raise CanaryError(message) from cause


@dataclass(frozen=True, slots=True)
class CanaryMetrics:
    """Counters for a health endpoint: checks run, failures, the last success (epoch seconds) and error."""

    checks: int
    failures: int
    last_success: float | None
    last_error: str | None
    healthy: bool


class CanaryScheduler:
    """Runs `check_canary` every `interval_s` seconds in a daemon thread, against whatever matcher
    `matcher_provider` returns at that moment (so a reloaded bank set is checked too).

    `healthy` is false after a failure, or when no check has succeeded for two intervals (a stuck thread).
    `on_failure` is called with each `CanaryError` (page someone; stop auto-actions).
    """

    def __init__(
        self,
        matcher_provider: Callable[[], Matcher],
        *,
        interval_s: float = 300.0,
        on_failure: Callable[[CanaryError], None] | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        if interval_s <= 0:
            raise ValueError("interval_s must be positive")
        self._provider = matcher_provider
        self.interval_s = interval_s
        self._on_failure = on_failure
        self._clock = clock
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._checks = 0
        self._failures = 0
        self._last_success: float | None = None
        self._last_error: str | None = None

    def run_once(self) -> bool:
        """One check now; True when it passed."""
        try:
            check_canary(self._provider())
        except CanaryError as exc:
            self._record(ok=False, error=str(exc))
            if self._on_failure is not None:
                self._on_failure(exc)
            return False
        except Exception as exc:  # a provider that cannot build a matcher is a failure too, never silent
            log.exception("canary check could not run")
            self._record(ok=False, error=f"canary check could not run: {exc}")
            if self._on_failure is not None:
                self._on_failure(CanaryError(str(exc)))
            return False
        self._record(ok=True, error=None)
        return True

    def _record(self, *, ok: bool, error: str | None) -> None:
        with self._lock:
            self._checks += 1
            if ok:
                self._last_success = self._clock()
                self._last_error = None
            else:
                self._failures += 1
                self._last_error = error

    def metrics(self) -> CanaryMetrics:
        with self._lock:
            fresh = (
                self._last_success is not None and self._clock() - self._last_success <= 2 * self.interval_s
            )
            return CanaryMetrics(
                checks=self._checks,
                failures=self._failures,
                last_success=self._last_success,
                last_error=self._last_error,
                healthy=fresh and self._last_error is None,
            )

    def start(self) -> None:
        """Check now, then every `interval_s` seconds until `stop()`."""
        if self._thread is not None and self._thread.is_alive():
            return
        self._stop.clear()
        self._thread = threading.Thread(target=self._loop, name="cordon-canary", daemon=True)
        self._thread.start()

    def _loop(self) -> None:
        while not self._stop.is_set():
            self.run_once()
            self._stop.wait(self.interval_s)

    def stop(self, timeout: float | None = 5.0) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout)
            self._thread = None
