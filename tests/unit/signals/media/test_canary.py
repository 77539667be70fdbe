"""The canary proves hashing and matching work; breaking either must fail loudly."""

from __future__ import annotations

import logging
import time
from pathlib import Path

import numpy as np
import pdqhash
import pytest

from cordon.app.doctor import report_metrics, run_doctor, video_engine, watch
from cordon.app.matching import load_matcher
from cordon.errors import CanaryError
from cordon.model import Bank, BankCategory
from cordon.signals.media import hashing
from cordon.signals.media import matcher as matcher_module
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


def test_doctor_names_the_video_engine_that_will_run() -> None:
    assert video_engine({"vpdq": "0.2.5", "av": "12"}) == "vpdq"
    assert video_engine({"vpdq": "not installed", "av": "12"}).startswith("pyav")
    assert video_engine({"vpdq": "not installed", "av": "not installed"}).startswith("none")


def test_doctor_reports_a_matcher_that_cannot_be_built(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken_factory(hashes: np.ndarray, radius: int) -> object:
        raise MemoryError("index allocation failed")

    monkeypatch.setattr(matcher_module, "hamming_index", broken_factory)
    report = run_doctor(BankStore(tmp_path))
    assert not report.ok
    assert "MemoryError: index allocation failed" in report.problems[0]
    assert report_metrics(report).healthy is False


def test_watch_counts_failures_and_writes_prometheus_text(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    store = BankStore(tmp_path / "banks")
    metrics_file = tmp_path / "m.prom"
    slept: list[float] = []
    seen: list[bool] = []
    final = watch(
        store, interval_s=30, checks=2, metrics_path=metrics_file, on_check=lambda ok, _: seen.append(ok),
        sleep=slept.append,
    )  # fmt: skip
    assert (final.checks, final.failures, final.healthy, seen, slept) == (2, 0, True, [True, True], [30])
    monkeypatch.setattr(
        hashing, "hash_image", lambda data, **_: PdqResult(hex=_shifted(CANARY_PDQ, 64), quality=90)
    )
    final = watch(store, interval_s=30, checks=3, metrics_path=metrics_file, sleep=slept.append)
    assert (final.checks, final.failures, final.healthy) == (3, 3, False)
    values = dict(
        line.split(" ") for line in metrics_file.read_text().splitlines() if not line.startswith("#")
    )
    assert values["cordon_canary_healthy"] == "0"
    assert values["cordon_canary_failures_total"] == "3"
    assert "cordon_canary_last_success_timestamp_seconds" not in values
    assert list(tmp_path.glob(".cordon-*")) == []  # the temporary file was renamed into place
