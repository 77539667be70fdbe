"""Exact Hamming range search over 256-bit hashes (PDQ, vPDQ frames) by multi-index hashing.

Multi-index hashing (Norouzi, Punjani and Fleet, "Fast exact search in Hamming space with multi-index
hashing", 2014) with the generalised pigeonhole principle (Qin et al., "GPH: similarity search in Hamming
space", 2018): the 256 bits are cut into m contiguous substrings, m = 256 / log2(n) rounded and kept within
11..16 (Norouzi's choice: buckets of about one entry), e.g. 16 of 16 bits up to ~100k entries, 13 of 19-20 bits
at 1M, 11 of 23-24 bits at 10M. If two hashes are within r bits and every substring i gets a threshold t_i
with sum(t_i + 1) >= r + 1, then some substring i differs by at most t_i bits. So every entry within r of a query sits in a bucket of some table i
whose key is within t_i bits of the query's substring. The thresholds are chosen per query batch, greedily, to
make the expected work (probes plus candidates, from the index's size) smallest: at 10M entries and r = 31,
about 3,000 probes and 3,000 candidates per query, where 16 tables of 16 bits give 272 probes but 42,000
candidates.

Each table is compact and sorted: the entry ids ordered by their substring (uint32, 4 bytes per entry) and a
CSR offset array over its 2^width keys (uint32), so a bucket is a slice and there are no Python objects
per entry. A candidate is verified with popcounts over four uint64 words; an entry is reported only from the
first table whose threshold it meets, so no entry is reported twice and no "seen" set is needed. The result
is exact (every entry within the radius, nothing else); `BruteForceIndex` in `matcher.py` is the reference it
is tested against. The search loop is compiled with numba (the `index` extra): each query in three stages
(bucket bounds, bucket slices, candidate rows) with a software prefetch ahead, so that many cache misses are in
flight at once (`index_kernel`); without numba, a vectorised NumPy path gives the same answer, more slowly.
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
FORMAT = 3  # of saved index files
MIN_TABLES, MAX_TABLES = 11, 16
MAX_SUB_RADIUS = 3
MAX_RADIUS = MIN_TABLES * (MAX_SUB_RADIUS + 1) - 1  # 43 with 11 tables (47 with 12 or more)
PROBE_COST = 1.0  # a probe (two offset reads) costs about as much as verifying one candidate


def tables_for(n: int) -> int:
    """m = 256 / log2(n), within 11..16."""
    return int(min(MAX_TABLES, max(MIN_TABLES, round(BITS / np.log2(max(n, 2))))))


@dataclass(frozen=True, slots=True)
class Splits:
    """The m contiguous substrings: start bit and width of each (widths differ by at most one)."""

    start: np.ndarray  # int64
    width: np.ndarray  # int64

    @classmethod
    def even(cls, m: int) -> Splits:
        widths = np.full(m, BITS // m, dtype=np.int64)
        widths[: BITS % m] += 1
        return cls(np.concatenate([[0], np.cumsum(widths)[:-1]]).astype(np.int64), widths)

    @property
    def base(self) -> np.ndarray:
        """Where each table's CSR offsets start in the one offsets array."""
        return np.concatenate([[0], np.cumsum((np.int64(1) << self.width) + 1)]).astype(np.int64)

    def keys(self, words: np.ndarray, t: int) -> np.ndarray:
        """Substring t of every row of `words` ((n, 4) uint64), as int64 keys."""
        return substring(words, int(self.start[t]), int(self.width[t])).astype(np.int64)


def substring(words: np.ndarray, start: int, width: int) -> np.ndarray:
    """Bits start..start+width of each row (bit i is bit i % 64 of word i // 64), spilling into the next word."""
    a, o = divmod(start, 64)
    key = words[:, a] >> np.uint64(o)
    if o + width > 64:
        key = key | (words[:, a + 1] << np.uint64(64 - o))
    return key & np.uint64((1 << width) - 1)


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


def _check_radius(radius: int, tables: int = MIN_TABLES) -> None:
    top = tables * (MAX_SUB_RADIUS + 1) - 1
    if not 0 <= radius <= top:
        raise HashError(f"radius {radius} is outside 0..{top} that this index searches exactly")


def thresholds(splits: Splits, n: int, radius: int) -> np.ndarray:
    """Per-table substring thresholds t_i (-1: table not probed) with sum(t_i + 1) = radius + 1, chosen
    greedily for the least expected work: probes plus candidates (n / 2^width per bucket)."""
    _check_radius(radius, len(splits.width))
    m = len(splits.width)
    t = np.full(m, -1, dtype=np.int64)
    for _ in range(radius + 1):
        best, best_cost = -1, float("inf")
        for i, width in enumerate(splits.width.tolist()):
            if t[i] >= MAX_SUB_RADIUS:
                continue
            cost = comb(width, int(t[i]) + 1) * (PROBE_COST + n / 2**width)
            if cost < best_cost:
                best, best_cost = i, cost
        t[best] += 1
    return t


def probe_masks(splits: Splits, t: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Every XOR mask within t_i bits of zero, per table: (masks uint64, CSR starts per table)."""
    masks: list[int] = []
    starts = [0]
    for width, ti in zip(splits.width.tolist(), t.tolist(), strict=True):
        for k in range(ti + 1):
            masks += [sum(1 << b for b in bits) for bits in itertools.combinations(range(width), k)]
        starts.append(len(masks))
    return np.array(masks, dtype=np.uint64), np.array(starts, dtype=np.int64)


class HammingIndex:
    """Exact range search: every entry within `radius` bits of each query. Build once, query in batches."""

    def __init__(self, words: np.ndarray, order: np.ndarray, offsets: np.ndarray) -> None:
        self._words = words  # (n, 4) uint64: the hashes, for verification
        self._order = order  # (m, n) uint32: entry ids sorted by each substring
        self._offsets = offsets  # uint32, the tables' CSR offsets end to end (table t from splits.base[t])
        self._splits = Splits.even(len(order))
        self._base = self._splits.base

    @classmethod
    def build(cls, hashes: np.ndarray, radius: int = 31, *, tables: int | None = None) -> HammingIndex:
        """Index `hashes` ((n, 32) uint8) in `tables` substrings (default: from n). `radius` is only checked:
        the index answers any radius up to 4 m - 1 (43 at 10M entries, 63 for small banks)."""
        matrix = _as_matrix(hashes, "index entries")
        if len(matrix) >= 2**32:
            raise HashError(f"{len(matrix):,} entries exceed the index's 2^32 limit; split the bank")
        m = tables or tables_for(len(matrix))
        if not MIN_TABLES <= m <= MAX_TABLES:
            raise HashError(f"{m} tables: choose {MIN_TABLES}..{MAX_TABLES}")
        _check_radius(radius, m)
        splits = Splits.even(m)
        words = matrix.view(np.uint64).reshape(len(matrix), 4)
        order = np.empty((m, len(matrix)), dtype=np.uint32)
        offsets = np.zeros(int(splits.base[-1]), dtype=np.uint32)
        for t in range(m):
            keys = splits.keys(words, t)
            order[t] = np.argsort(keys, kind="stable").astype(np.uint32)
            lo, size = int(splits.base[t]), 1 << int(splits.width[t])
            np.cumsum(np.bincount(keys, minlength=size), out=offsets[lo + 1 : lo + size + 1])
        return cls(words, order, offsets)

    def __len__(self) -> int:
        return len(self._words)

    @property
    def tables(self) -> int:
        return len(self._order)

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
        m = len(order) if order.ndim == 2 else 0
        if (
            words.ndim != 2
            or words.shape[1] != 4
            or not MIN_TABLES <= m <= MAX_TABLES
            or order.shape != (m, len(words))
            or offsets.shape != (int(Splits.even(m).base[-1]),)
        ):
            raise HashError(f"{path}: not a cordon Hamming index file (unexpected array shapes)")
        return cls(words, order, offsets)

    def range_search(self, queries: np.ndarray, radius: int = 31, *, batch: int = 256) -> RangeResult:
        """Every entry within `radius` bits of each query ((m, 32) uint8), exactly."""
        q = _as_matrix(queries, "queries")
        t = thresholds(self._splits, len(self), radius)
        empty = np.zeros(0, dtype=np.int64)
        if len(self) == 0 or len(q) == 0:
            return RangeResult(empty, empty, empty)
        masks, mask_starts = probe_masks(self._splits, t)
        q_words = q.view(np.uint64).reshape(len(q), 4)
        if _KERNEL is not None:
            sp = self._splits
            return RangeResult(*_KERNEL.search(q_words, self._words, self._order, self._offsets, self._base,
                                               sp.start, sp.width, t, masks, mask_starts, radius))  # fmt: skip
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
        n_q, sp = len(q_words), self._splits
        hits: list[tuple[np.ndarray, np.ndarray, np.ndarray]] = []
        for tab in range(self.tables):
            if t[tab] < 0:
                continue
            m = masks[starts[tab] : starts[tab + 1]]
            keys = sp.keys(q_words, tab)[:, None] ^ m[None, :].astype(np.int64)  # (n_q, |m|)
            at = keys + self._base[tab]
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
                if t[j] >= 0 and len(cand):
                    sub = np.bitwise_count(substring(diff, int(sp.start[j]), int(sp.width[j]))).astype(
                        np.int64
                    )
                    keep = sub > t[j]
                    cand, cand_q, dist, diff = cand[keep], cand_q[keep], dist[keep], diff[keep]
            hits.append((cand_q, cand, dist))
        if not hits:
            empty = np.zeros(0, dtype=np.int64)
            return empty, empty, empty
        hq, he, hd = (np.concatenate(c) for c in zip(*hits, strict=True))
        order = np.lexsort((he, hq))
        return hq[order] + first, he[order], hd[order]
