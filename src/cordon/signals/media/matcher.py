"""Match media hashes against hash banks, in bulk.

- PDQ: one `HammingIndex` range search over every PDQ entry of every bank at the largest bank threshold,
  then each candidate is kept only within its own bank's threshold.
- MD5 / SHA-1 / SHA-256: a sorted-array hash join (`np.searchsorted` over fixed-width bytes), distance 0.
- vPDQ (video): frames are range-searched like PDQ; a bank video matches when the share of the query's
  distinct frames that find a frame of it reaches `query_share` (vPDQ's rule, 80% by default) and the share of
  its frames found reaches `entry_share`.
- Hashes with PDQ quality < 50 are never matched (flat images collide with each other).
- Safelists (banks of category safelist, or entries of that category in any bank): a query hash within a
  safelist entry's bank threshold matches nothing of the same algorithm.

Everything runs on NumPy arrays; the only Python loops are over banks, algorithms and the final `Match`
records.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Protocol

import numpy as np

from cordon.errors import HashError
from cordon.model import Bank, BankCategory, HashAlgo, Match, MediaHash
from cordon.signals.media.bank_formats import EntryColumns
from cordon.signals.media.hashing import HashedMedia
from cordon.signals.media.pdq import MIN_MATCH_QUALITY

EXACT_ALGOS = (HashAlgo.MD5, HashAlgo.SHA1, HashAlgo.SHA256)
DEFAULT_QUERY_SHARE = 0.8  # vPDQ: share of the query video's frames that must match
DEFAULT_ENTRY_SHARE = 0.0  # vPDQ: share of the bank video's frames that must match (a clip of it counts)


class RangeResultLike(Protocol):
    """Pairs (query row, entry row, Hamming distance) of a range search."""

    @property
    def query(self) -> np.ndarray: ...
    @property
    def entry(self) -> np.ndarray: ...
    @property
    def distance(self) -> np.ndarray: ...


class RangeIndex(Protocol):
    """What the matcher needs from `cordon.signals.media.index.HammingIndex`."""

    def range_search(self, queries: np.ndarray, radius: int) -> RangeResultLike: ...


IndexFactory = Callable[[np.ndarray, int], RangeIndex]


# up to this many entries an exact scan answers: building the Hamming index (and compiling or loading its
# kernel, ~1 s warm and ~8 s the first time) costs more than scanning a small bank (~14 ns per query and entry)
BRUTE_FORCE_MAX_ENTRIES = 1024


def hamming_index(hashes: np.ndarray, radius: int) -> RangeIndex:
    """The production index: `cordon.signals.media.index.HammingIndex` (exact Hamming range search over
    256-bit hashes), or for a bank of at most `BRUTE_FORCE_MAX_ENTRIES` entries an exact scan. Should that
    module be missing from an installation, the exact scan answers for any size: slower, never wrong, so
    matching is never silently off."""
    if len(hashes) <= BRUTE_FORCE_MAX_ENTRIES:
        return BruteForceIndex(hashes)
    try:
        module = importlib.import_module("cordon.signals.media.index")
    except ModuleNotFoundError:
        return BruteForceIndex(hashes)
    index: RangeIndex = module.HammingIndex.build(hashes, radius=radius)
    return index


@dataclass(frozen=True, slots=True)
class RangeResult:
    """Pairs (query row, entry row, distance) found by `BruteForceIndex`."""

    query: np.ndarray
    entry: np.ndarray
    distance: np.ndarray


class BruteForceIndex:
    """Exact range search by scanning every entry (popcount of XOR over 4 uint64 words), in query blocks
    that keep the distance matrix near 16 MB. The reference the fast index is tested against."""

    def __init__(self, hashes: np.ndarray) -> None:
        self._words = np.ascontiguousarray(hashes, dtype=np.uint8).view(np.uint64)  # (n, 4)

    def range_search(self, queries: np.ndarray, radius: int) -> RangeResult:
        words = np.ascontiguousarray(queries, dtype=np.uint8).view(np.uint64)
        block = max(1, (1 << 22) // max(1, len(self._words)))
        found: list[tuple[np.ndarray, np.ndarray, np.ndarray]] = []
        for start in range(0, len(words), block):
            chunk = words[start : start + block]
            distance = np.zeros((len(chunk), len(self._words)), dtype=np.int32)
            for w in range(4):
                distance += np.bitwise_count(chunk[:, w, None] ^ self._words[None, :, w]).astype(np.int32)
            q, e = np.nonzero(distance <= radius)
            found.append((q + start, e, distance[q, e]))
        if not found:
            empty = np.zeros(0, dtype=np.int64)
            return RangeResult(empty, empty, empty)
        return RangeResult(*(np.concatenate(parts).astype(np.int64) for parts in zip(*found, strict=True)))


def hex_matrix(hexes: Sequence[str]) -> np.ndarray:
    """64-hex-digit hashes as an (n, 32) uint8 matrix (one C-level parse of the joined string)."""
    if not hexes:
        return np.zeros((0, 32), dtype=np.uint8)
    try:
        return np.frombuffer(bytes.fromhex("".join(hexes)), dtype=np.uint8).reshape(len(hexes), 32)
    except ValueError as exc:
        raise HashError(f"a PDQ/vPDQ hash is not 64 hex digits ({exc})") from exc


@dataclass(frozen=True, slots=True)
class _Table:
    """Entries of one algorithm over all banks, as parallel arrays."""

    bank: np.ndarray  # int index into Matcher.banks
    entry_id: np.ndarray  # object (str)
    value: np.ndarray  # object (str)
    threshold: np.ndarray  # int, the bank's threshold (0 for exact hashes)
    category: np.ndarray  # object (str), the entry's own category


@dataclass(frozen=True, slots=True)
class VideoMatch:
    """A video matched a bank video: the `Match` (distance = the closest frame) and vPDQ's two shares."""

    match: Match
    query_share: float
    entry_share: float


class Matcher:
    """Immutable matcher over a set of banks; build it once per bank-set version and share it."""

    def __init__(
        self,
        banks: Sequence[tuple[Bank, EntryColumns]],
        *,
        index_factory: IndexFactory | None = None,
        query_share: float = DEFAULT_QUERY_SHARE,
        entry_share: float = DEFAULT_ENTRY_SHARE,
    ) -> None:
        self.banks: tuple[Bank, ...] = tuple(bank for bank, _ in banks)
        self.query_share = query_share
        self.entry_share = entry_share
        factory = index_factory or hamming_index
        self._tables: dict[tuple[bool, HashAlgo], _Table] = {}
        for safelist in (False, True):
            for algo in HashAlgo:
                self._tables[(safelist, algo)] = _collect(banks, algo, safelist=safelist)
        self._indexes: dict[tuple[bool, HashAlgo], RangeIndex] = {}
        self._sorted: dict[tuple[bool, HashAlgo], tuple[np.ndarray, np.ndarray]] = {}
        for key, table in self._tables.items():
            if len(table.value) == 0:
                continue
            if key[1] in (HashAlgo.PDQ, HashAlgo.VPDQ):
                self._indexes[key] = factory(hex_matrix(list(table.value)), int(table.threshold.max()))
            else:
                keys = np.array([bytes.fromhex(v) for v in table.value])
                order = np.argsort(keys, kind="stable")
                self._sorted[key] = (keys[order], order)

    @property
    def size(self) -> int:
        """Entries loaded (safelists included)."""
        return sum(len(t.value) for t in self._tables.values())

    def match(self, hashes: Iterable[MediaHash]) -> list[Match]:
        """Every bank entry each hash matches (vPDQ frames are grouped per video by `sha256`)."""
        by_algo: dict[HashAlgo, list[MediaHash]] = {}
        for h in hashes:
            if (
                h.quality is not None
                and h.quality < MIN_MATCH_QUALITY
                and h.algo in (HashAlgo.PDQ, HashAlgo.VPDQ)
            ):
                continue
            by_algo.setdefault(h.algo, []).append(h)
        out: list[Match] = []
        for algo, group in by_algo.items():
            if algo is HashAlgo.VPDQ:
                out.extend(vm.match for vm in self.match_videos(group))
            else:
                out.extend(self._match_algo(algo, group))
        return out

    def match_media(self, items: Iterable[HashedMedia]) -> list[Match]:
        """Matches of hashed media items: exact hashes and every matchable perceptual hash."""
        return self.match(h for item in items for h in media_hashes(item))

    def _match_algo(self, algo: HashAlgo, group: list[MediaHash]) -> list[Match]:
        values = np.array([h.value.lower() for h in group], dtype=object)
        unique, inverse = np.unique(values, return_inverse=True)
        q, e, d = self._pairs(False, algo, unique)
        if len(q):
            sq, _, _ = self._pairs(True, algo, unique)
            q, e, d = _drop_queries(q, e, d, sq)
        table = self._tables[(False, algo)]
        out: list[Match] = []
        for query_row, pos in _expand(inverse, q):
            bank = self.banks[int(table.bank[e[pos]])]
            out.append(
                Match(
                    sha256=group[query_row].sha256,
                    bank=bank.name,
                    bank_version=bank.version,
                    entry_id=str(table.entry_id[e[pos]]),
                    algo=algo,
                    distance=int(d[pos]),
                    category=BankCategory(table.category[e[pos]]),
                )
            )
        return out

    def _pairs(self, safelist: bool, algo: HashAlgo, unique: np.ndarray) -> tuple[np.ndarray, ...]:
        """(query row, entry row, distance) of every query within its entry's bank threshold."""
        table = self._tables[(safelist, algo)]
        empty = np.zeros(0, dtype=np.int64)
        if len(table.value) == 0 or len(unique) == 0:
            return empty, empty, empty
        if algo in (HashAlgo.PDQ, HashAlgo.VPDQ):
            result = self._indexes[(safelist, algo)].range_search(
                hex_matrix(list(unique)), int(table.threshold.max())
            )
            q, e, d = (np.asarray(a, dtype=np.int64) for a in (result.query, result.entry, result.distance))
            keep = d <= table.threshold[e]
            return q[keep], e[keep], d[keep]
        keys, order = self._sorted[(safelist, algo)]
        try:
            raw = [bytes.fromhex(v) for v in unique]
        except ValueError as exc:
            raise HashError(f"a {algo} hash is not hex ({exc})") from exc
        if any(len(r) != keys.dtype.itemsize for r in raw):
            raise HashError(
                f"a {algo} hash has the wrong length: {algo} hashes are {keys.dtype.itemsize} bytes"
            )
        probe = np.array(raw, dtype=keys.dtype)
        lo, hi = np.searchsorted(keys, probe, "left"), np.searchsorted(keys, probe, "right")
        counts = hi - lo
        q = np.repeat(np.arange(len(unique)), counts)
        starts = np.repeat(lo - np.concatenate(([0], np.cumsum(counts)[:-1])), counts)
        e = order[starts + np.arange(int(counts.sum()))]
        return q, e.astype(np.int64), np.zeros(len(q), dtype=np.int64)

    def match_videos(self, frames: Sequence[MediaHash]) -> list[VideoMatch]:
        """vPDQ matching of whole videos: `frames` of one or more videos (told apart by `sha256`)."""
        table = self._tables[(False, HashAlgo.VPDQ)]
        good = [f for f in frames if f.quality is None or f.quality >= MIN_MATCH_QUALITY]
        if len(table.value) == 0 or not good:
            return []
        sha = np.array([f.sha256 for f in good], dtype=object)
        values = np.array([f.value.lower() for f in good], dtype=object)
        pairs = np.unique(np.stack([sha, values], axis=1).astype(str), axis=0)  # distinct frames per video
        videos, video_of = np.unique(pairs[:, 0], return_inverse=True)
        q, e, d = self._pairs(False, HashAlgo.VPDQ, pairs[:, 1])
        if len(q):
            sq, _, _ = self._pairs(True, HashAlgo.VPDQ, pairs[:, 1])
            q, e, d = _drop_queries(q, e, d, sq)
        # bank videos: (bank, entry_id) groups of frames
        group_keys = np.char.add(table.bank.astype(str), np.char.add("\x00", table.entry_id.astype(str)))
        groups, group_of = np.unique(group_keys, return_inverse=True)
        entry_frames = np.bincount(group_of, minlength=len(groups))
        query_frames = np.bincount(video_of, minlength=len(videos))
        out: list[VideoMatch] = []
        pair_v, pair_g = video_of[q], group_of[e]
        combos = np.unique(np.stack([pair_v, pair_g], axis=1), axis=0) if len(q) else np.zeros((0, 2), int)
        for v, g in combos:
            here = (pair_v == v) & (pair_g == g)
            q_share = len(np.unique(q[here])) / query_frames[v]
            e_share = len(np.unique(e[here])) / entry_frames[g]
            if q_share < self.query_share or e_share < self.entry_share:
                continue
            first = int(e[here][0])
            bank = self.banks[int(table.bank[first])]
            match = Match(
                sha256=str(videos[v]),
                bank=bank.name,
                bank_version=bank.version,
                entry_id=str(table.entry_id[first]),
                algo=HashAlgo.VPDQ,
                distance=int(d[here].min()),
                category=BankCategory(table.category[first]),
            )
            out.append(VideoMatch(match=match, query_share=float(q_share), entry_share=float(e_share)))
        return out


def media_hashes(item: HashedMedia) -> tuple[MediaHash, ...]:
    """The hashes of a hashed media item that can be matched: MD5, SHA-1, SHA-256 and its perceptual
    hashes of quality >= 50."""
    media = item.media
    exact = tuple(
        MediaHash(sha256=media.sha256, algo=algo, value=value)
        for algo, value in (
            (HashAlgo.MD5, media.md5),
            (HashAlgo.SHA1, media.sha1),
            (HashAlgo.SHA256, media.sha256),
        )
        if value
    )
    return exact + item.matchable


def _collect(banks: Sequence[tuple[Bank, EntryColumns]], algo: HashAlgo, *, safelist: bool) -> _Table:
    bank_idx, ids, values, thresholds, cats = [], [], [], [], []
    for i, (bank, columns) in enumerate(banks):
        table = columns.table
        categories = table.column("category").to_numpy(zero_copy_only=False)
        in_safelist = (categories == str(BankCategory.SAFELIST)) | (bank.category is BankCategory.SAFELIST)
        mask = np.asarray(table.column("algo").to_numpy(zero_copy_only=False) == str(algo), dtype=bool)
        mask &= in_safelist if safelist else ~in_safelist
        count = int(mask.sum())
        if not count:
            continue
        ids.append(table.column("entry_id").to_numpy(zero_copy_only=False)[mask])
        values.append(table.column("value").to_numpy(zero_copy_only=False)[mask])
        cats.append(categories[mask])
        bank_idx.append(np.full(count, i, dtype=np.int64))
        thresholds.append(np.full(count, bank.threshold if algo in (HashAlgo.PDQ, HashAlgo.VPDQ) else 0))
    if not values:
        empty = np.zeros(0, dtype=object)
        return _Table(np.zeros(0, np.int64), empty, empty, np.zeros(0, np.int64), empty)
    return _Table(
        np.concatenate(bank_idx),
        np.concatenate(ids).astype(object),
        np.concatenate(values).astype(object),
        np.concatenate(thresholds).astype(np.int64),
        np.concatenate(cats).astype(object),
    )


def _drop_queries(
    q: np.ndarray, e: np.ndarray, d: np.ndarray, suppressed: np.ndarray
) -> tuple[np.ndarray, ...]:
    keep = ~np.isin(q, suppressed)
    return q[keep], e[keep], d[keep]


def _expand(inverse: np.ndarray, pair_query: np.ndarray) -> list[tuple[int, int]]:
    """(original query row, pair row) for every original row whose distinct value has pairs."""
    if len(pair_query) == 0:
        return []
    order = np.argsort(pair_query, kind="stable")
    sorted_q = pair_query[order]
    out: list[tuple[int, int]] = []
    lo = np.searchsorted(sorted_q, inverse, "left")
    hi = np.searchsorted(sorted_q, inverse, "right")
    for row in np.flatnonzero(hi > lo):
        out.extend((int(row), int(p)) for p in order[lo[row] : hi[row]])
    return out
