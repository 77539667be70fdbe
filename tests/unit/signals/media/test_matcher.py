"""The matcher: PDQ within each bank's threshold, exact joins, quality, safelists, video frame shares."""

from __future__ import annotations

import io

import numpy as np
import pytest
from PIL import Image, ImageEnhance

from cordon.model import Bank, BankCategory, BankEntry, HashAlgo, MediaHash
from cordon.signals.media.bank_formats import EntryColumns
from cordon.signals.media.hashing import hash_media
from cordon.signals.media.matcher import BruteForceIndex, Matcher, hex_matrix, media_hashes


def _procedural(seed: int, side: int = 384) -> Image.Image:
    """Benign procedural image: a 12x12 grid of random colours, smoothly interpolated (bicubic)."""
    rng = np.random.default_rng(seed)
    small = Image.fromarray(rng.integers(0, 256, (12, 12, 3), dtype=np.uint8))
    return small.resize((side, side), Image.Resampling.BICUBIC)


def _encode(image: Image.Image, fmt: str = "PNG", **kw: object) -> bytes:
    out = io.BytesIO()
    image.save(out, format=fmt, **kw)
    return out.getvalue()


def _flip_bits(hex_value: str, n: int) -> str:
    bits = np.unpackbits(np.frombuffer(bytes.fromhex(hex_value), np.uint8))
    bits[:n] ^= 1
    return np.packbits(bits).tobytes().hex()


def _bank(name: str, entries: list[tuple[str, HashAlgo, str]], *, category: BankCategory = BankCategory.CHILD_SAFETY,
          threshold: int = 31, version: int = 1) -> tuple[Bank, EntryColumns]:  # fmt: skip
    bank = Bank(name=name, category=category, threshold=threshold, version=version)
    return bank, EntryColumns.from_entries(BankEntry(name, i, a, v, category) for i, a, v in entries)


def _pdq(data: bytes) -> MediaHash:
    return hash_media(data).perceptual[0]


def test_transformed_copies_match_and_unrelated_images_do_not() -> None:
    original = _procedural(1)
    known = _pdq(_encode(original))
    bank = _bank("cs", [("known-1", HashAlgo.PDQ, known.value)])
    matcher = Matcher([bank])
    copies = {
        "jpeg q70": _encode(original.convert("RGB"), "JPEG", quality=70),
        "half size": _encode(original.resize((192, 192))),
        "brighter": _encode(ImageEnhance.Brightness(original).enhance(1.15)),
        "1% crop": _encode(original.crop((2, 2, 382, 382))),
    }
    for label, data in copies.items():
        matches = matcher.match([_pdq(data)])
        assert [(m.bank, m.entry_id) for m in matches] == [("cs", "known-1")], label
        assert 0 <= matches[0].distance <= 31
    for seed in range(2, 12):
        assert matcher.match([_pdq(_encode(_procedural(seed)))]) == [], seed


def test_each_bank_keeps_its_own_threshold_and_records_version_and_category() -> None:
    base = _procedural(11)
    value = _pdq(_encode(base)).value
    query = MediaHash(sha256="q", algo=HashAlgo.PDQ, value=_flip_bits(value, 20), quality=90)
    matcher = Matcher([
        _bank("loose", [("l", HashAlgo.PDQ, value)], threshold=31, version=4),
        _bank("tight", [("t", HashAlgo.PDQ, value)], threshold=10, category=BankCategory.SPAM),
    ])  # fmt: skip
    (match,) = matcher.match([query])
    assert (match.bank, match.bank_version, match.entry_id, match.distance) == ("loose", 4, "l", 20)
    assert match.category is BankCategory.CHILD_SAFETY


def test_low_quality_hashes_are_never_matched() -> None:
    value = "ab" * 32
    matcher = Matcher([_bank("b", [("e", HashAlgo.PDQ, value)])])
    assert matcher.match([MediaHash("s", HashAlgo.PDQ, value, quality=49)]) == []
    assert len(matcher.match([MediaHash("s", HashAlgo.PDQ, value, quality=50)])) == 1


def test_exact_hashes_join_on_equal_values_only_and_keep_duplicates_across_banks() -> None:
    md5 = "0f" * 16
    matcher = Matcher([
        _bank("a", [("x", HashAlgo.MD5, md5), ("y", HashAlgo.SHA1, "11" * 20)]),
        _bank("b", [("z", HashAlgo.MD5, md5)]),
    ])  # fmt: skip
    found = matcher.match([
        MediaHash("m1", HashAlgo.MD5, md5.upper()),
        MediaHash("m2", HashAlgo.MD5, "0e" * 16),
        MediaHash("m3", HashAlgo.MD5, md5),
    ])  # fmt: skip
    assert sorted((m.sha256, m.bank, m.entry_id, m.distance) for m in found) == [
        ("m1", "a", "x", 0), ("m1", "b", "z", 0), ("m3", "a", "x", 0), ("m3", "b", "z", 0),
    ]  # fmt: skip


def test_safelist_suppresses_matches_within_its_threshold() -> None:
    value = "5a" * 32
    near = _flip_bits(value, 3)
    far = _flip_bits(value, 25)
    matcher = Matcher([
        _bank("cs", [("e", HashAlgo.PDQ, value)]),
        _bank("fp", [("known-fp", HashAlgo.PDQ, value)], category=BankCategory.SAFELIST, threshold=8),
    ])  # fmt: skip
    assert matcher.match([MediaHash("a", HashAlgo.PDQ, near, quality=100)]) == []
    (kept,) = matcher.match([MediaHash("b", HashAlgo.PDQ, far, quality=100)])
    assert (kept.bank, kept.distance) == ("cs", 25)


def test_safelist_entries_inside_an_ordinary_bank_file_also_suppress() -> None:
    value = "c3" * 32
    bank = Bank(name="mixed", category=BankCategory.CHILD_SAFETY, threshold=31, version=1)
    cols = EntryColumns.from_entries([
        BankEntry("mixed", "bad", HashAlgo.PDQ, value, BankCategory.CHILD_SAFETY),
        BankEntry("mixed", "fp", HashAlgo.PDQ, _flip_bits(value, 2), BankCategory.SAFELIST),
    ])  # fmt: skip
    assert Matcher([(bank, cols)]).match([MediaHash("q", HashAlgo.PDQ, value, quality=100)]) == []


def test_video_matches_by_share_of_matching_frames() -> None:
    rng = np.random.default_rng(5)
    frames = [bytes(rng.integers(0, 256, 32, dtype=np.uint8)).hex() for _ in range(10)]
    bank = _bank("vid", [("video-1", HashAlgo.VPDQ, f) for f in frames])
    matcher = Matcher([bank])
    # 9 of 10 query frames near a bank frame (90% >= 80%), one unrelated frame
    query = [
        MediaHash("v", HashAlgo.VPDQ, _flip_bits(f, 4), quality=100, frame=i)
        for i, f in enumerate(frames[:9])
    ]
    query.append(MediaHash("v", HashAlgo.VPDQ, "00" * 32, quality=100, frame=9))
    (vm,) = matcher.match_videos(query)
    assert (vm.match.entry_id, vm.match.distance) == ("video-1", 4)
    assert vm.query_share == pytest.approx(0.9)
    assert vm.entry_share == pytest.approx(0.9)
    # 7 of 10 is below the 80% rule
    unrelated = [bytes(rng.integers(0, 256, 32, dtype=np.uint8)).hex() for _ in range(3)]
    weak = query[:7] + [
        MediaHash("w", HashAlgo.VPDQ, u, quality=100, frame=7 + i) for i, u in enumerate(unrelated)
    ]
    weak = [MediaHash("w", h.algo, h.value, h.quality, h.frame) for h in weak]
    assert matcher.match_videos(weak) == []
    assert [m.entry_id for m in matcher.match(query)] == ["video-1"]


def test_brute_force_index_agrees_with_a_direct_popcount() -> None:
    rng = np.random.default_rng(9)
    entries = rng.integers(0, 256, (300, 32), dtype=np.uint8)
    queries = entries[:40].copy()
    queries[:, 0] ^= rng.integers(0, 256, 40, dtype=np.uint8)
    result = BruteForceIndex(entries).range_search(queries, 31)
    direct = np.unpackbits(queries[:, None, :] ^ entries[None, :, :], axis=2).sum(axis=2)
    expected = set(zip(*np.nonzero(direct <= 31), strict=True))
    assert set(zip(result.query.tolist(), result.entry.tolist(), strict=True)) == {
        (int(a), int(b)) for a, b in expected
    }
    assert all(direct[q, e] == d for q, e, d in zip(result.query, result.entry, result.distance, strict=True))


def test_media_hashes_carries_exact_hashes_and_matchable_perceptual_ones() -> None:
    hashed = hash_media(_encode(_procedural(3)))
    algos = [h.algo for h in media_hashes(hashed)]
    assert algos == [HashAlgo.MD5, HashAlgo.SHA1, HashAlgo.SHA256, HashAlgo.PDQ]
    assert hex_matrix([hashed.perceptual[0].value]).shape == (1, 32)
    matcher = Matcher([_bank("b", [("e", HashAlgo.SHA256, hashed.media.sha256)])])
    assert [m.algo for m in matcher.match_media([hashed])] == [HashAlgo.SHA256]
