"""Account waves: a burst of accounts with one handle shape stands out of a steady background."""

from __future__ import annotations

from datetime import timedelta

from tests.factories import EPOCH, make_account
from tests.unit.detectors.world import corpus

from cordon.detectors import account_waves
from cordon.model import Platform


def test_patterned_burst_is_a_wave_and_background_is_not() -> None:
    background = [make_account(handle=f"person_{chr(97 + i % 26)}{i}x", created_at=EPOCH + timedelta(hours=i))
                  for i in range(200)]  # fmt: skip
    burst_at = EPOCH + timedelta(days=3, minutes=5)
    bots = [
        make_account(handle=f"abcd{1000 + i}", created_at=burst_at + timedelta(seconds=60 * i))
        for i in range(15)
    ]
    odd = make_account(handle="someone_else", created_at=burst_at + timedelta(minutes=30))
    with corpus([*background, *bots, odd]) as con:
        waves = account_waves.find_waves(con, Platform.MASTODON)
        findings = list(account_waves.detect(con, Platform.MASTODON))
    assert len(waves) == 1
    wave = waves[0]
    # that hour holds the 15 bots, the odd one and the one background account of every hour
    assert wave.n_accounts == 17 and wave.shape == "aaaa0000"
    assert set(wave.members) == {b.id for b in bots}  # the other two carry neither pattern
    assert len(findings) == 1 and "aaaa0000" in findings[0].evidence[0].detail


def test_equally_common_shapes_give_the_first_shape_every_time() -> None:
    background = [make_account(handle=f"person_{chr(97 + i % 26)}{i}x", created_at=EPOCH + timedelta(hours=i))
                  for i in range(200)]  # fmt: skip
    burst_at = EPOCH + timedelta(days=3, minutes=5)
    # 8 + 8 bots of two shapes in one hour: a tie that any-of-the-maxima (arg_max) settles by row order
    bots = [
        make_account(handle=name, created_at=burst_at + timedelta(seconds=60 * i))
        for i, name in enumerate([f"zz{10 + i}" for i in range(8)] + [f"abcd{1000 + i}" for i in range(8)])
    ]
    for order in (bots, bots[::-1]):
        with corpus([*background, *order]) as con:
            (wave,) = account_waves.find_waves(con, Platform.MASTODON)
        assert wave.shape == "aa00"  # "aa00" < "aaaa0000"
        assert set(wave.members) == {b.id for b in bots if b.handle.startswith("zz")}
