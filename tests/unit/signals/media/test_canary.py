"""The canary proves hashing and matching work; breaking either must fail loudly."""

from __future__ import annotations

import logging
import time
from pathlib import Path

import numpy as np
import pdqhash
import pytest

from cordon.app.doctor import run_doctor
from cordon.app.matching import load_matcher
from cordon.errors import CanaryError
from cordon.model import Bank, BankCategory
from cordon.signals.media import hashing
from cordon.signals.media.bank_formats import EntryColumns
from cordon.signals.media.banks import BankStore
from cordon.signals.media.canary import (
    CANARY_BANK,
    CANARY_PDQ,
    CanaryScheduler,
    canary_bank,
    canary_pixels,
    canary_png,
    check_canary,
)
from cordon.signals.media.matcher import Matcher
from cordon.signals.media.pdq import PdqResult


def _shifted(hex_value: str, bits: int) -> str:
    raw = np.unpackbits(np.frombuffer(bytes.fromhex(hex_value), np.uint8))
    raw[:bits] ^= 1
    return np.packbits(raw).tobytes().hex()


def test_the_canary_constant_is_the_reference_pdq_of_the_canary_pixels() -> None:
    # independent of cordon's decode path: the reference library on the raw pixels
    bits, quality = pdqhash.compute(canary_pixels())
    assert np.packbits(np.asarray(bits, np.uint8)).tobytes().hex() == CANARY_PDQ
    assert quality >= 90
    assert canary_png()[:8] == b"\x89PNG\r\n\x1a\n"


def test_a_working_matcher_detects_the_canary() -> None:
    result = check_canary(Matcher([canary_bank()]))
    assert result.pdq == CANARY_PDQ
    assert result.distance == 0


def test_broken_hashing_fails_loudly(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    def wrong_hash(data: bytes, **_: object) -> PdqResult:
        return PdqResult(hex=_shifted(CANARY_PDQ, 64), quality=100)

    monkeypatch.setattr(hashing, "hash_image", wrong_hash)
    with (
        caplog.at_level(logging.ERROR, logger="cordon.canary"),
        pytest.raises(CanaryError, match="PDQ did not match"),
    ):
        check_canary(Matcher([canary_bank()]))
    assert any("CANARY FAILED" in r.getMessage() for r in caplog.records)


def test_drifted_hashing_fails_even_within_the_bank_threshold(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(
        hashing, "hash_image", lambda data, **_: PdqResult(hex=_shifted(CANARY_PDQ, 20), quality=100)
    )
    with pytest.raises(CanaryError, match="drifted"):
        check_canary(Matcher([canary_bank()]))


def test_an_empty_index_fails() -> None:
    with pytest.raises(CanaryError, match="did not match"):
        check_canary(Matcher([]))


def test_threshold_zero_with_a_shifted_hash_fails(monkeypatch: pytest.MonkeyPatch) -> None:
    bank, columns = canary_bank()
    zero = Bank(name=bank.name, category=bank.category, threshold=0, version=1)
    monkeypatch.setattr(
        hashing, "hash_image", lambda data, **_: PdqResult(hex=_shifted(CANARY_PDQ, 2), quality=100)
    )
    with pytest.raises(CanaryError, match="PDQ did not match"):
        check_canary(Matcher([(zero, columns)]))


def test_a_safelisted_canary_fails() -> None:
    bank, columns = canary_bank()
    safelist = Bank(name="fp", category=BankCategory.SAFELIST, threshold=31, version=1)
    with pytest.raises(CanaryError):
        check_canary(Matcher([(bank, columns), (safelist, EntryColumns(columns.table))]))


def test_doctor_passes_on_a_fresh_store_and_fails_when_hashing_breaks(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    store = BankStore(tmp_path / "banks")
    report = run_doctor(store)
    assert report.ok, report.problems
    assert dict(report.versions)["pdqhash"] != "not installed"
    monkeypatch.setattr(hashing, "hash_image", lambda data, **_: PdqResult(hex="00" * 32, quality=100))
    broken = run_doctor(store)
    assert not broken.ok
    assert "CANARY FAILED" in broken.problems[0]


def test_load_matcher_always_carries_the_canary_bank(tmp_path: Path) -> None:
    matcher = load_matcher(BankStore(tmp_path))
    assert [b.name for b in matcher.banks] == [CANARY_BANK]


def test_scheduler_counts_checks_and_failures_and_reports_health() -> None:
    now = [1000.0]
    good = Matcher([canary_bank()])
    current = [good]
    failures: list[CanaryError] = []
    scheduler = CanaryScheduler(
        lambda: current[0], interval_s=60, on_failure=failures.append, clock=lambda: now[0]
    )
    assert not scheduler.metrics().healthy  # nothing proven yet
    assert scheduler.run_once()
    assert scheduler.metrics().healthy
    current[0] = Matcher([])  # matching silently off
    assert not scheduler.run_once()
    metrics = scheduler.metrics()
    assert (metrics.checks, metrics.failures, metrics.healthy) == (2, 1, False)
    assert metrics.last_success == 1000.0 and metrics.last_error and len(failures) == 1
    current[0] = good
    assert scheduler.run_once()
    now[0] += 121  # no success for two intervals: unhealthy (a stuck thread)
    assert not scheduler.metrics().healthy


def test_scheduler_thread_runs_and_stops() -> None:
    scheduler = CanaryScheduler(lambda: Matcher([canary_bank()]), interval_s=0.01)
    scheduler.start()
    try:
        for _ in range(200):
            if scheduler.metrics().checks >= 2:
                break
            time.sleep(0.01)
    finally:
        scheduler.stop()
    assert scheduler.metrics().checks >= 2
    assert scheduler.metrics().failures == 0
