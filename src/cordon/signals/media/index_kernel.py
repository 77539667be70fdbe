"""The compiled search loop of `HammingIndex` (numba), used when numba is installed (the `index` extra).

One pass per query over its probe buckets, table by table: each candidate is verified at once with four SWAR
popcounts and kept if within the radius and if no earlier table's threshold finds it too (so each entry is
reported once, with no "seen" set). A query's hits are sorted by entry at the end (hits are few). No
candidate list is ever materialised, so memory stays flat.
"""

from __future__ import annotations

import numpy as np
from numba import njit

_M1 = np.uint64(0x5555555555555555)
_M2 = np.uint64(0x3333333333333333)
_M4 = np.uint64(0x0F0F0F0F0F0F0F0F)
_H01 = np.uint64(0x0101010101010101)


@njit(cache=True, nogil=True)
def _popcount(x: np.uint64) -> np.int64:
    x = x - ((x >> np.uint64(1)) & _M1)
    x = (x & _M2) + ((x >> np.uint64(2)) & _M2)
    x = (x + (x >> np.uint64(4))) & _M4
    return np.int64((x * _H01) >> np.uint64(56))


@njit(cache=True, nogil=True)
def _sub(x: np.ndarray, start: np.int64, width: np.int64) -> np.uint64:
    """Bits start..start+width of the 256-bit value x (four uint64 words), spilling into the next word."""
    a = start // 64
    o = np.uint64(start % 64)
    key = x[a] >> o
    if start % 64 + width > 64:
        key |= x[a + 1] << (np.uint64(64) - o)
    return np.uint64(key & ((np.uint64(1) << np.uint64(width)) - np.uint64(1)))


@njit(cache=True, nogil=True)
def search(
    q_words: np.ndarray,
    words: np.ndarray,
    order: np.ndarray,
    offsets: np.ndarray,
    base: np.ndarray,
    start: np.ndarray,
    width: np.ndarray,
    thresholds: np.ndarray,
    masks: np.ndarray,
    mask_starts: np.ndarray,
    radius: int,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    n_q = q_words.shape[0]
    n_tables = thresholds.shape[0]
    cap = max(16, n_q * 4)
    out_q = np.empty(cap, dtype=np.int64)
    out_e = np.empty(cap, dtype=np.int64)
    out_d = np.empty(cap, dtype=np.int64)
    count = 0
    qw = np.empty(4, dtype=np.uint64)
    x = np.empty(4, dtype=np.uint64)
    for qi in range(n_q):
        for k in range(4):
            qw[k] = q_words[qi, k]
        first = count
        for t in range(n_tables):
            if thresholds[t] < 0:
                continue
            key = _sub(qw, start[t], width[t])
            b = base[t]
            for mi in range(mask_starts[t], mask_starts[t + 1]):
                k = np.int64(key ^ masks[mi]) + b
                for pos in range(np.int64(offsets[k]), np.int64(offsets[k + 1])):
                    e = np.int64(order[t, pos])
                    x[0] = qw[0] ^ words[e, 0]
                    x[1] = qw[1] ^ words[e, 1]
                    d = _popcount(x[0]) + _popcount(x[1])
                    if d > radius:
                        continue
                    x[2] = qw[2] ^ words[e, 2]
                    x[3] = qw[3] ^ words[e, 3]
                    d += _popcount(x[2]) + _popcount(x[3])
                    if d > radius:
                        continue
                    earlier = False  # reported from an earlier table already?
                    for j in range(t):
                        if thresholds[j] >= 0 and _popcount(_sub(x, start[j], width[j])) <= thresholds[j]:
                            earlier = True
                            break
                    if earlier:
                        continue
                    if count == cap:
                        cap *= 2
                        out_q = np.concatenate((out_q, np.empty(cap - count, dtype=np.int64)))
                        out_e = np.concatenate((out_e, np.empty(cap - count, dtype=np.int64)))
                        out_d = np.concatenate((out_d, np.empty(cap - count, dtype=np.int64)))
                    out_q[count] = qi
                    out_e[count] = e
                    out_d[count] = d
                    count += 1
        if count - first > 1:  # in entry order
            idx = np.argsort(out_e[first:count], kind="mergesort")
            out_e[first:count] = out_e[first:count][idx]
            out_d[first:count] = out_d[first:count][idx]
    return out_q[:count], out_e[:count], out_d[:count]
