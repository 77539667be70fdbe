"""Exact Hamming range search over 256-bit hashes (PDQ, vPDQ frames) by multi-index hashing.

Multi-index hashing (Norouzi, Punjani and Fleet, "Fast exact search in Hamming space with multi-index
hashing", 2014): the 256 bits are cut into `m` substrings of 16 bits. Two hashes within `r` bits of each other
differ by at most `r // m` bits in at least one substring (pigeonhole), so every entry within `r` of a query
sits in a bucket of some table whose 16-bit key is within `r // m` bits of the query's substring. With m = 16
and r = 31, that is the query's own key and its 16 one-bit neighbours in each of the 16 tables.

Each table is compact and sorted: the entry ids ordered by their substring (uint32, 4 bytes per entry) and a
CSR offset array over the 65,536 keys, so a bucket is a slice and there are no Python objects per entry. A
batch of queries is answered at once: probe keys, bucket slices turned into candidate ids with one
`np.repeat`, duplicates dropped, then every candidate verified with popcounts over four uint64 words. The
result is exact (every entry within the radius, nothing else); `BruteForceIndex` in `matcher.py` is the
reference it is tested against.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from cordon.errors import HashError

try:  # the compiled search loop, when numba is installed (the `index` extra); NumPy otherwise
    from cordon.signals.media import index_kernel as _kernel
except ImportError:  # pragma: no cover - depends on the installation
    _kernel = None  # type: ignore[assignment]
_KERNEL = _kernel

BITS = 256
SUB_BITS = 16
TABLES = BITS // SUB_BITS  # 16 substrings of 16 bits
_KEYS = 1 << SUB_BITS
MAX_RADIUS = TABLES * 2 - 1  # substring radius <= 1 (17 probes per table) covers r <= 31 ...
_HARD_MAX_RADIUS = TABLES * 3 - 1  # ... and substring radius 2 (137 probes) r <= 47, slower
_FLIPS = [np.uint16(1 << b) for b in range(SUB_BITS)]


@dataclass(frozen=True, slots=True)
class RangeResult:
    """Every (query row, entry row, distance) with distance <= radius, sorted by query then entry."""

    query: np.ndarray
    entry: np.ndarray
    distance: np.ndarray


def _as_matrix(hashes: np.ndarray, what: str) -> np.ndarray:
    if hashes.ndim != 2 or hashes.shape[1] != BITS // 8:
        raise HashError(f"{what}: expected an (n, 32) array of 256-bit hashes, got shape {hashes.shape}")
    if hashes.dtype != np.uint8:
        raise HashError(f"{what}: expected dtype uint8, got {hashes.dtype}")
    return np.ascontiguousarray(hashes)


def _probe_masks(sub_radius: int) -> np.ndarray:
    """XOR masks of every 16-bit key within `sub_radius` bits of zero (0, one-bit, two-bit ...)."""
    masks = [np.uint16(0)]
    if sub_radius >= 1:
        masks += _FLIPS
    if sub_radius >= 2:
        masks += [np.uint16((1 << a) | (1 << b)) for a in range(SUB_BITS) for b in range(a + 1, SUB_BITS)]
    return np.array(masks, dtype=np.uint16)


class HammingIndex:
    """Exact range search: every entry within `radius` bits of each query. Build once, query in batches."""

    def __init__(self, words: np.ndarray, order: np.ndarray, offsets: np.ndarray) -> None:
        self._words = words  # (n, 4) uint64: the hashes, for verification
        self._subs = words.view(np.uint16)  # (n, 16): the substrings
        self._order = order  # (TABLES, n) uint32: entry ids sorted by each substring
        self._offsets = offsets  # (TABLES, 65537) int64: bucket k of table t is order[t, off[k]:off[k+1]]

    @classmethod
    def build(cls, hashes: np.ndarray, radius: int = 31) -> HammingIndex:
        """Index `hashes` ((n, 32) uint8). `radius` is only checked: any radius up to 47 can be queried."""
        matrix = _as_matrix(hashes, "index entries")
        if not 0 <= radius <= _HARD_MAX_RADIUS:
            raise HashError(
                f"radius {radius} is outside 0..{_HARD_MAX_RADIUS} that this index searches exactly"
            )
        if len(matrix) >= 2**32:
            raise HashError(f"{len(matrix):,} entries exceed the index's 2^32 limit; split the bank")
        words = matrix.view(np.uint64).reshape(len(matrix), 4)
        subs = words.view(np.uint16)
        order = np.empty((TABLES, len(matrix)), dtype=np.uint32)
        offsets = np.zeros((TABLES, _KEYS + 1), dtype=np.int64)
        for t in range(TABLES):
            keys = subs[:, t]
            order[t] = np.argsort(keys, kind="stable").astype(np.uint32)
            np.cumsum(np.bincount(keys, minlength=_KEYS), out=offsets[t, 1:])
        return cls(words, order, offsets)

    def __len__(self) -> int:
        return len(self._words)

    @property
    def nbytes(self) -> int:
        return int(self._words.nbytes + self._order.nbytes + self._offsets.nbytes)

    def save(self, path: Path) -> None:
        """Write the index to one uncompressed .npz file, so that a large bank is not re-indexed on each run."""
        with path.open("wb") as f:
            np.savez(f, words=self._words, order=self._order, offsets=self._offsets)

    @classmethod
    def load(cls, path: Path) -> HammingIndex:
        with np.load(path) as data:
            words, order, offsets = data["words"], data["order"], data["offsets"]
        if words.ndim != 2 or words.shape[1] != 4 or order.shape != (TABLES, len(words)):
            raise HashError(f"{path}: not a cordon Hamming index file (unexpected array shapes)")
        return cls(words, order, offsets)

    def range_search(self, queries: np.ndarray, radius: int = 31, *, batch: int = 256) -> RangeResult:
        """Every entry within `radius` bits of each query ((m, 32) uint8), exactly."""
        q = _as_matrix(queries, "queries")
        if not 0 <= radius <= _HARD_MAX_RADIUS:
            raise HashError(
                f"radius {radius} is outside 0..{_HARD_MAX_RADIUS} that this index searches exactly"
            )
        masks = _probe_masks(radius // TABLES)
        if _KERNEL is not None and len(self):
            q_words = q.view(np.uint64).reshape(len(q), 4)
            hit_q, hit, dist = _KERNEL.search(q_words, self._words, self._order, self._offsets, masks, radius)
            return RangeResult(hit_q, hit, dist)
        parts = [self._search(q[i : i + batch], i, radius, masks) for i in range(0, len(q), batch)]
        if not parts or len(self) == 0:
            empty = np.zeros(0, dtype=np.int64)
            return RangeResult(empty, empty, empty)
        return RangeResult(*(np.concatenate(cols) for cols in zip(*parts, strict=True)))

    def _search(
        self, q: np.ndarray, first: int, radius: int, masks: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        n_q = len(q)
        q_words = q.view(np.uint64).reshape(n_q, 4)
        q_subs = q_words.view(np.uint16)  # (n_q, 16)
        # probe keys for every (query, table, mask): (n_q, TABLES, n_masks)
        keys = (q_subs[:, :, None] ^ masks[None, None, :]).astype(np.int64)
        tables = np.broadcast_to(np.arange(TABLES)[None, :, None], keys.shape)
        starts = self._offsets[tables, keys].ravel()
        ends = self._offsets[tables, keys + 1].ravel()
        sizes = ends - starts
        owner = np.broadcast_to(np.arange(n_q)[:, None, None], keys.shape).ravel()
        table_of = tables.ravel()
        total = int(sizes.sum())
        if total == 0:
            empty = np.zeros(0, dtype=np.int64)
            return empty, empty, empty
        # bucket slices -> positions in the tables' order arrays, without a Python loop
        nz = sizes > 0
        starts, sizes, owner, table_of = starts[nz], sizes[nz], owner[nz], table_of[nz]
        run_start = np.cumsum(sizes) - sizes
        within = np.arange(total, dtype=np.int64) - np.repeat(run_start, sizes)
        flat = np.repeat(table_of.astype(np.int64) * len(self) + starts, sizes) + within
        cand = self._order.reshape(-1)[flat].astype(np.int64)
        cand_q = np.repeat(owner, sizes).astype(np.int64)
        # exact distances of every candidate; an entry found in several tables is kept once (it is a hit, and
        # hits are few, so only they are sorted)
        diff = q_words[cand_q] ^ self._words[cand]
        dist = np.bitwise_count(diff).sum(axis=1, dtype=np.int64)
        keep = dist <= radius
        pair = cand_q[keep] * len(self) + cand[keep]
        order = np.argsort(pair, kind="stable")
        pair, dist = pair[order], dist[keep][order]
        first_of = np.ones(len(pair), dtype=bool)
        first_of[1:] = pair[1:] != pair[:-1]
        hit_q, hit = np.divmod(pair[first_of], len(self))
        return hit_q + first, hit, dist[first_of]
