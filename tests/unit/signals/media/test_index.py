"""The Hamming index answers exactly what a brute-force scan answers: every entry within the radius."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from cordon.errors import HashError
from cordon.signals.media import index as index_module
from cordon.signals.media.index import HammingIndex
from cordon.signals.media.matcher import BRUTE_FORCE_MAX_ENTRIES, BruteForceIndex, hamming_index, hex_matrix

SHARED = Path(__file__).resolve().parents[4].parent / "shared" / "vectors" / "pdq" / "reg-test-input"


def _flip(rng: np.random.Generator, rows: np.ndarray, counts: np.ndarray) -> np.ndarray:
    bits = np.unpackbits(rows, axis=1)
    for i, k in enumerate(counts):
        bits[i, rng.choice(256, int(k), replace=False)] ^= 1
    return np.packbits(bits, axis=1)


def _triples(result: object) -> set[tuple[int, int, int]]:
    q, e, d = (np.asarray(getattr(result, f)).tolist() for f in ("query", "entry", "distance"))
    return set(zip(q, e, d, strict=True))


@pytest.fixture(params=["compiled", "numpy"])
def engine(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    """Both search paths: the numba loop (when installed) and the vectorised NumPy one."""
    if request.param == "numpy":
        monkeypatch.setattr(index_module, "_KERNEL", None)
    elif index_module._KERNEL is None:
        pytest.skip("numba is not installed")
    return str(request.param)


@settings(max_examples=25, deadline=None)
@given(seed=st.integers(0, 2**32 - 1), n=st.integers(1, 400), radius=st.integers(0, 47))
def test_clustered_hashes_match_brute_force(seed: int, n: int, radius: int) -> None:
    rng = np.random.default_rng(seed)
    centres = rng.integers(0, 256, (max(1, n // 20), 32), dtype=np.uint8)
    entries = _flip(rng, centres[rng.integers(0, len(centres), n)], rng.integers(0, 41, n))
    queries = _flip(rng, entries[rng.integers(0, n, 30)], rng.integers(0, 48, 30))
    queries = np.vstack([queries, rng.integers(0, 256, (5, 32), dtype=np.uint8)])  # and non-matches
    expected = _triples(BruteForceIndex(entries).range_search(queries, radius))
    for kernel in (index_module._KERNEL, None):
        saved = index_module._KERNEL
        index_module._KERNEL = kernel
        try:
            assert _triples(HammingIndex.build(entries).range_search(queries, radius)) == expected
        finally:
            index_module._KERNEL = saved


def test_every_distance_up_to_the_radius_and_not_beyond(engine: str) -> None:
    rng = np.random.default_rng(7)
    entries = rng.integers(0, 256, (2000, 32), dtype=np.uint8)
    picked = rng.integers(0, len(entries), 64)
    queries = _flip(rng, entries[picked], np.arange(64) % 34)  # distances 0..33 from a stored entry
    result = HammingIndex.build(entries).range_search(queries, 31)
    hits = _triples(result)
    for row, (entry, k) in enumerate(zip(picked.tolist(), (np.arange(64) % 34).tolist(), strict=True)):
        assert ((row, entry, k) in hits) == (k <= 31)
    assert hits == _triples(BruteForceIndex(entries).range_search(queries, 31))
    assert np.all(np.diff(result.query) >= 0)  # grouped by query


def test_duplicates_empty_index_and_radius_zero(engine: str) -> None:
    rng = np.random.default_rng(3)
    one = rng.integers(0, 256, (1, 32), dtype=np.uint8)
    entries = np.vstack([one, one, one, rng.integers(0, 256, (10, 32), dtype=np.uint8)])
    found = HammingIndex.build(entries).range_search(one, 0)
    assert sorted(found.entry.tolist()) == [0, 1, 2] and found.distance.tolist() == [0, 0, 0]
    empty = HammingIndex.build(np.zeros((0, 32), dtype=np.uint8))
    assert len(empty) == 0 and len(empty.range_search(one, 31).query) == 0


def test_real_pdq_haystack_and_needles(engine: str) -> None:
    haystack = hex_matrix([h for h in (SHARED / "haystack.txt").read_text().split() if len(h) == 64])
    needles = hex_matrix([h for h in (SHARED / "needles.txt").read_text().split() if len(h) == 64])
    index = HammingIndex.build(haystack)
    got = _triples(index.range_search(needles, 31))
    assert got == _triples(BruteForceIndex(haystack).range_search(needles, 31))
    assert got  # the needles are there to be found


def test_save_load_round_trip(tmp_path: Path) -> None:
    rng = np.random.default_rng(5)
    entries = rng.integers(0, 256, (500, 32), dtype=np.uint8)
    index = HammingIndex.build(entries)
    index.save(tmp_path / "bank.npz")
    again = HammingIndex.load(tmp_path / "bank.npz")
    queries = _flip(rng, entries[:20], np.full(20, 10))
    assert _triples(again.range_search(queries, 31)) == _triples(index.range_search(queries, 31))
    assert again.nbytes == index.nbytes


def test_bad_input_is_refused_with_the_shape_named() -> None:
    with pytest.raises(HashError, match=r"\(n, 32\)"):
        HammingIndex.build(np.zeros((3, 31), dtype=np.uint8))
    with pytest.raises(HashError, match="uint8"):
        HammingIndex.build(np.zeros((3, 32), dtype=np.int16))
    with pytest.raises(HashError, match="radius"):
        HammingIndex.build(np.zeros((3, 32), dtype=np.uint8)).range_search(np.zeros((1, 32), np.uint8), 64)


def test_the_matcher_uses_this_index_past_a_small_bank() -> None:
    small = np.zeros((BRUTE_FORCE_MAX_ENTRIES, 32), dtype=np.uint8)
    large = np.zeros((BRUTE_FORCE_MAX_ENTRIES + 1, 32), dtype=np.uint8)
    assert isinstance(hamming_index(small, 31), BruteForceIndex)
    assert isinstance(hamming_index(large, 31), HammingIndex)


@pytest.mark.parametrize("tables", [11, 12, 13, 14, 16])
def test_every_table_layout_matches_brute_force(engine: str, tables: int) -> None:
    """The layouts chosen for large banks (substrings of 20-24 bits that cross 64-bit words), on a small bank."""
    rng = np.random.default_rng(tables)
    centres = rng.integers(0, 256, (40, 32), dtype=np.uint8)
    entries = _flip(rng, centres[rng.integers(0, 40, 3000)], rng.integers(0, 30, 3000))
    queries = _flip(rng, entries[rng.integers(0, 3000, 80)], rng.integers(0, 45, 80))
    index = HammingIndex.build(entries, tables=tables)
    assert index.tables == tables
    for radius in (0, 8, 31, 4 * tables - 1):
        expected = _triples(BruteForceIndex(entries).range_search(queries, radius))
        assert _triples(index.range_search(queries, radius)) == expected, radius
    with pytest.raises(HashError, match="outside"):
        index.range_search(queries, 4 * tables)


def test_tables_follow_the_bank_size() -> None:
    assert [index_module.tables_for(n) for n in (10, 100_000, 1_000_000, 10_000_000, 10**9)] == [
        16,
        15,
        13,
        11,
        11,
    ]


def test_buckets_larger_than_the_candidate_buffer(engine: str) -> None:
    """Thousands of near-copies of a few hashes: a query's candidates outgrow the kernel's first buffers."""
    rng = np.random.default_rng(11)
    centres = rng.integers(0, 256, (3, 32), dtype=np.uint8)
    entries = _flip(rng, centres[rng.integers(0, 3, 6000)], rng.integers(0, 4, 6000))
    queries = np.vstack([centres, _flip(rng, centres, np.full(3, 20))])
    got = HammingIndex.build(entries).range_search(queries, 31)
    assert _triples(got) == _triples(BruteForceIndex(entries).range_search(queries, 31))
    assert len(got.query) == 2 * len(
        entries
    )  # each entry within 3 bits of its centre, 23 of its flipped query


def test_the_compiled_search_prefetches() -> None:
    """The kernel's software prefetch compiled on this numba/LLVM (otherwise it silently runs without it)."""
    kernel = pytest.importorskip("cordon.signals.media.index_kernel")
    assert kernel._prefetch is kernel._llvm_prefetch
