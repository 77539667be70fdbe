"""The compiled search loop of `HammingIndex` (numba), used when numba is installed (the `index` extra).

One pass per query over its probe buckets: each candidate is verified at once with four SWAR popcounts and
kept if within the radius; an entry met in several tables is kept once (the query's hits are sorted and
compacted at the end, and hits are few). No candidate list is ever materialised, so memory stays flat.
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
def search(
    q_words: np.ndarray,
    words: np.ndarray,
    order: np.ndarray,
    offsets: np.ndarray,
    masks: np.ndarray,
    radius: int,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    n_q = q_words.shape[0]
    cap = max(16, n_q * 4)
    out_q = np.empty(cap, dtype=np.int64)
    out_e = np.empty(cap, dtype=np.int64)
    out_d = np.empty(cap, dtype=np.int64)
    count = 0
    q_subs = q_words.view(np.uint16).reshape(n_q, 16)
    for qi in range(n_q):
        w0, w1, w2, w3 = q_words[qi, 0], q_words[qi, 1], q_words[qi, 2], q_words[qi, 3]
        first = count
        for t in range(16):
            key = q_subs[qi, t]
            for mask in masks:
                k = np.int64(key ^ mask)
                for pos in range(offsets[t, k], offsets[t, k + 1]):
                    e = np.int64(order[t, pos])
                    d = _popcount(w0 ^ words[e, 0]) + _popcount(w1 ^ words[e, 1])
                    if d > radius:
                        continue
                    d += _popcount(w2 ^ words[e, 2]) + _popcount(w3 ^ words[e, 3])
                    if d > radius:
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
        if count - first > 1:  # keep each entry once, in entry order
            idx = np.argsort(out_e[first:count], kind="mergesort")
            es = out_e[first:count][idx]
            ds = out_d[first:count][idx]
            write = first
            for j in range(len(es)):
                if j == 0 or es[j] != es[j - 1]:
                    out_e[write] = es[j]
                    out_d[write] = ds[j]
                    out_q[write] = qi
                    write += 1
            count = write
    return out_q[:count], out_e[:count], out_d[:count]
