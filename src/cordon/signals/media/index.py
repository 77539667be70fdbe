"""Exact Hamming range search over 256-bit hashes (PDQ, vPDQ frames) by multi-index hashing.

Multi-index hashing (Norouzi, Punjani and Fleet, "Fast exact search in Hamming space with multi-index
hashing", 2014) with the generalised pigeonhole principle (Qin et al., "GPH: similarity search in Hamming
space", 2018): the 256 bits are cut into m = 12 substrings (each 64-bit word into 21 + 21 + 22 bits). If two
hashes are within r bits and every substring i gets a threshold t_i with sum(t_i + 1) >= r + 1, then some
substring i differs by at most t_i bits. So every entry within r of a query sits in a bucket of some table i
whose key is within t_i bits of the query's substring. The thresholds are chosen per query batch, greedily, to
make the expected work (probes plus candidates, from the index's size) smallest: at 10M entries and r = 31,
about 2,000 probes and 7,000 candidates per query, where 16 tables of 16 bits give 272 probes but 42,000
candidates.

Each table is compact and sorted: the entry ids ordered by their substring (uint32, 4 bytes per entry) and a
CSR offset array over the 2^21 or 2^22 keys (uint32), so a bucket is a slice and there are no Python objects
per entry. A candidate is verified with popcounts over four uint64 words; an entry is reported only from the
first table whose threshold it meets, so no entry is reported twice and no "seen" set is needed. The result
is exact (every entry within the radius, nothing else); `BruteForceIndex` in `matcher.py` is the reference it
is tested against. The search loop is compiled with numba (the `index` extra); without it, a vectorised NumPy
path gives the same answer, more slowly.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from math import comb
from pathlib import Path

import numpy as np

from cordon.errors import HashError

try:  # the compiled search loop, when numba is installed (the `index` extra); NumPy otherwise
    from cordon.signals.media import index_kernel as _kernel
except ImportError:  # pragma: no cover - depends on the installation
    _kernel = None  # type: ignore[assignment]
_KERNEL = _kernel

BITS = 256
FORMAT = 2  # of saved index files
# (word, shift, width) of each substring: every 64-bit word cut into 21 + 21 + 22 bits
SPLITS = tuple((w, s, b) for w in range(4) for s, b in ((0, 21), (21, 21), (42, 22)))
TABLES = len(SPLITS)
MAX_SUB_RADIUS = 3
MAX_RADIUS = TABLES * (MAX_SUB_RADIUS + 1) - 1  # 47
PROBE_COST = 1.0  # a probe (two offset reads) costs about as much as verifying one candidate


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


def _check_radius(radius: int) -> None:
    if not 0 <= radius <= MAX_RADIUS:
        raise HashError(f"radius {radius} is outside 0..{MAX_RADIUS} that this index searches exactly")


def _keys(words: np.ndarray, t: int) -> np.ndarray:
    w, shift, width = SPLITS[t]
    return ((words[:, w] >> np.uint64(shift)) & np.uint64((1 << width) - 1)).astype(np.int64)


def thresholds(n: int, radius: int) -> np.ndarray:
    """Per-table substring thresholds t_i (-1: table not probed) with sum(t_i + 1) = radius + 1, chosen
    greedily for the least expected work: probes plus candidates (n / 2^width per bucket)."""
    _check_radius(radius)
    t = np.full(TABLES, -1, dtype=np.int64)
    for _ in range(radius + 1):
        best, best_cost = -1, float("inf")
        for i, (_, _, width) in enumerate(SPLITS):
            if t[i] >= MAX_SUB_RADIUS:
                continue
            cost = comb(width, int(t[i]) + 1) * (PROBE_COST + n / 2**width)
            if cost < best_cost:
                best, best_cost = i, cost
        t[best] += 1
    return t


def probe_masks(t: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Every XOR mask within t_i bits of zero, per table: (masks uint64, CSR starts per table)."""
    masks: list[int] = []
    starts = [0]
    for (_, _, width), ti in zip(SPLITS, t.tolist(), strict=True):
        for k in range(ti + 1):
            masks += [sum(1 << b for b in bits) for bits in itertools.combinations(range(width), k)]
        starts.append(len(masks))
    return np.array(masks, dtype=np.uint64), np.array(starts, dtype=np.int64)


def _split_arrays() -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    word = np.array([w for w, _, _ in SPLITS], dtype=np.int64)
    shift = np.array([s for _, s, _ in SPLITS], dtype=np.uint64)
    mask = np.array([(1 << b) - 1 for _, _, b in SPLITS], dtype=np.uint64)
    base = np.concatenate([[0], np.cumsum([(1 << b) + 1 for _, _, b in SPLITS])]).astype(np.int64)
    return word, shift, mask, base


WORD, SHIFT, SUBMASK, OFFSET_BASE = _split_arrays()


class HammingIndex:
    """Exact range search: every entry within `radius` bits of each query. Build once, query in batches."""

    def __init__(self, words: np.ndarray, order: np.ndarray, offsets: np.ndarray) -> None:
        self._words = words  # (n, 4) uint64: the hashes, for verification
        self._order = order  # (TABLES, n) uint32: entry ids sorted by each substring
        self._offsets = offsets  # uint32, the tables' CSR offsets end to end (table t from OFFSET_BASE[t])

    @classmethod
    def build(cls, hashes: np.ndarray, radius: int = 31) -> HammingIndex:
        """Index `hashes` ((n, 32) uint8). `radius` is only checked: any radius up to 47 can be queried."""
        matrix = _as_matrix(hashes, "index entries")
        _check_radius(radius)
        if len(matrix) >= 2**32:
            raise HashError(f"{len(matrix):,} entries exceed the index's 2^32 limit; split the bank")
        words = matrix.view(np.uint64).reshape(len(matrix), 4)
        order = np.empty((TABLES, len(matrix)), dtype=np.uint32)
        offsets = np.zeros(int(OFFSET_BASE[-1]), dtype=np.uint32)
        for t, (_, _, width) in enumerate(SPLITS):
            keys = _keys(words, t)
            order[t] = np.argsort(keys, kind="stable").astype(np.uint32)
            base = int(OFFSET_BASE[t])
            np.cumsum(
                np.bincount(keys, minlength=1 << width), out=offsets[base + 1 : base + (1 << width) + 1]
            )
        return cls(words, order, offsets)

    def __len__(self) -> int:
        return len(self._words)

    @property
    def nbytes(self) -> int:
        return int(self._words.nbytes + self._order.nbytes + self._offsets.nbytes)

    def save(self, path: Path) -> None:
        """Write the index to one uncompressed .npz file, so that a large bank is not re-indexed on each run."""
        with path.open("wb") as f:
            np.savez(f, format=np.int64(FORMAT), words=self._words, order=self._order, offsets=self._offsets)

    @classmethod
    def load(cls, path: Path) -> HammingIndex:
        with np.load(path) as data:
            if "format" not in data or int(data["format"]) != FORMAT:
                raise HashError(f"{path}: an index file of another format; build the index again")
            words, order, offsets = data["words"], data["order"], data["offsets"]
        if (
            words.ndim != 2
            or words.shape[1] != 4
            or order.shape != (TABLES, len(words))
            or (offsets.shape != (int(OFFSET_BASE[-1]),))
        ):
            raise HashError(f"{path}: not a cordon Hamming index file (unexpected array shapes)")
        return cls(words, order, offsets)

    def range_search(self, queries: np.ndarray, radius: int = 31, *, batch: int = 256) -> RangeResult:
        """Every entry within `radius` bits of each query ((m, 32) uint8), exactly."""
        q = _as_matrix(queries, "queries")
        t = thresholds(len(self), radius)
        empty = np.zeros(0, dtype=np.int64)
        if len(self) == 0 or len(q) == 0:
            return RangeResult(empty, empty, empty)
        masks, mask_starts = probe_masks(t)
        q_words = q.view(np.uint64).reshape(len(q), 4)
        if _KERNEL is not None:
            return RangeResult(*_KERNEL.search(q_words, self._words, self._order, self._offsets, OFFSET_BASE,
                                               WORD, SHIFT, SUBMASK, t, masks, mask_starts, radius))  # fmt: skip
        parts = [self._search(q_words[i : i + batch], i, radius, t, masks, mask_starts)
                 for i in range(0, len(q), batch)]  # fmt: skip
        return RangeResult(*(np.concatenate(cols) for cols in zip(*parts, strict=True)))

    def _search(
        self,
        q_words: np.ndarray,
        first: int,
        radius: int,
        t: np.ndarray,
        masks: np.ndarray,
        starts: np.ndarray,
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """The vectorised NumPy path: bucket slices to candidates with `np.repeat`, verified at once."""
        n_q = len(q_words)
        hits: list[tuple[np.ndarray, np.ndarray, np.ndarray]] = []
        for tab in range(TABLES):
            if t[tab] < 0:
                continue
            m = masks[starts[tab] : starts[tab + 1]]
            keys = ((q_words[:, WORD[tab]] >> SHIFT[tab]) & SUBMASK[tab])[:, None] ^ m[None, :]  # (n_q, |m|)
            at = keys.astype(np.int64) + OFFSET_BASE[tab]
            lo, hi = (
                self._offsets[at].astype(np.int64).ravel(),
                self._offsets[at + 1].astype(np.int64).ravel(),
            )
            sizes = hi - lo
            total = int(sizes.sum())
            if total == 0:
                continue
            owner = np.repeat(np.arange(n_q), m.size)
            run_start = np.cumsum(sizes) - sizes
            pos = np.repeat(lo - run_start, sizes) + np.arange(total, dtype=np.int64)
            cand = self._order[tab][pos].astype(np.int64)
            cand_q = np.repeat(owner, sizes)
            diff = q_words[cand_q] ^ self._words[cand]
            dist = np.bitwise_count(diff).sum(axis=1, dtype=np.int64)
            keep = dist <= radius
            cand, cand_q, dist, diff = cand[keep], cand_q[keep], dist[keep], diff[keep]
            for j in range(tab):  # reported from the first table whose threshold it meets
                if t[j] >= 0:
                    sub = np.bitwise_count((diff[:, WORD[j]] >> SHIFT[j]) & SUBMASK[j]).astype(np.int64)
                    keep = sub > t[j]
                    cand, cand_q, dist, diff = cand[keep], cand_q[keep], dist[keep], diff[keep]
            hits.append((cand_q, cand, dist))
        if not hits:
            empty = np.zeros(0, dtype=np.int64)
            return empty, empty, empty
        hq, he, hd = (np.concatenate(c) for c in zip(*hits, strict=True))
        order = np.lexsort((he, hq))
        return hq[order] + first, he[order], hd[order]
