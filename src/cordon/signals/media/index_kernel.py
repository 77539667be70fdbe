"""The compiled search loop of `HammingIndex` (numba), used when numba is installed (the `index` extra).

The search is bound by memory latency: at 10M entries a query makes about 2,800 bucket probes into the
offset arrays, 2,000 reads of bucket slices and 3,300 reads of candidate rows, each a cache miss in a
1.2 GB structure. So each query runs in three stages over small buffers, each stage issuing a software
prefetch (x86 `prefetcht0`, through LLVM's `llvm.prefetch` intrinsic) for the item `AHEAD` places later:

1. every probe key of every table, then every bucket's bounds (two offset reads, prefetched);
2. every bucket's entry ids into a candidate list (bucket slices prefetched);
3. every candidate's four words XORed and popcounted (rows prefetched), no early exit, survivors kept.

Many misses are then in flight at once instead of one after another behind unpredictable branches (bucket
sizes, early exits), which doubled queries/s at 10M entries (see docs/media-signals.md). Survivors are kept
only from the first table whose threshold they meet, so each entry is reported once with no "seen" set; a
query's hits are sorted by entry at the end (hits are few). Buffers grow with the largest query's candidate
count and are reused, so memory stays flat. If this numba/LLVM cannot compile the prefetch, it is a no-op
and the answer is the same.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from llvmlite import ir  # type: ignore[import-untyped]
from numba import njit, types
from numba.core import cgutils as _cgutils
from numba.extending import intrinsic

_M1 = np.uint64(0x5555555555555555)
_M2 = np.uint64(0x3333333333333333)
_M4 = np.uint64(0x0F0F0F0F0F0F0F0F)
_H01 = np.uint64(0x0101010101010101)
AHEAD = 16  # prefetch distance, items (10M: 16 and 24 alike, 8 a little slower, 4 and 32 clearly)


cgutils: Any = _cgutils  # untyped helpers


def _prefetch_typing(typingctx: Any, array: Any, index: Any) -> Any:
    """Prefetch array[index] (1-D) into all cache levels, for reading; no effect on the program's result."""

    def codegen(context: Any, builder: Any, signature: Any, args: Any) -> Any:
        array_type = signature.args[0]
        view = context.make_array(array_type)(context, builder, args[0])
        pointer = cgutils.get_item_pointer(context, builder, array_type, view, [args[1]], wraparound=False)
        i8p, i32 = ir.IntType(8).as_pointer(), ir.IntType(32)
        fn_type = ir.FunctionType(ir.VoidType(), [i8p, i32, i32, i32])
        fn = cgutils.get_or_insert_function(builder.module, fn_type, "llvm.prefetch.p0")
        builder.call(fn, [builder.bitcast(pointer, i8p), i32(0), i32(3), i32(1)])  # read, high locality, data
        return context.get_dummy_value()

    return types.void(array, index), codegen


_llvm_prefetch: Any = intrinsic(_prefetch_typing)


@njit(cache=True, nogil=True)
def _no_prefetch(array: np.ndarray, index: int) -> None:
    pass


@njit(cache=True, nogil=True)
def _prefetch_probe(array: np.ndarray) -> np.uint64:
    _llvm_prefetch(array, 1)
    return np.uint64(array[0])


try:  # compile the prefetch once here: if this LLVM names the intrinsic otherwise, search without it
    _prefetch_probe(np.zeros(2, dtype=np.uint64))
    _prefetch: Any = _llvm_prefetch
except Exception:  # pragma: no cover - depends on the numba/llvmlite version
    _prefetch = _no_prefetch


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
def _grow(a: np.ndarray, need: int) -> np.ndarray:
    if need <= a.shape[0]:
        return a
    b = np.empty(max(need, 2 * a.shape[0]), dtype=a.dtype)
    b[: a.shape[0]] = a
    return b


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
    n_q, n, n_tables = q_words.shape[0], words.shape[0], thresholds.shape[0]
    cap = max(16, n_q * 4)
    out_q = np.empty(cap, dtype=np.int64)
    out_e = np.empty(cap, dtype=np.int64)
    out_d = np.empty(cap, dtype=np.int64)
    count = 0
    n_probes = 0
    for t in range(n_tables):
        if thresholds[t] >= 0:
            n_probes += mask_starts[t + 1] - mask_starts[t]
    probe = np.empty(n_probes, dtype=np.int64)  # offsets index of each probed bucket
    probe_t = np.empty(n_probes, dtype=np.int64)  # its table
    lo = np.empty(n_probes, dtype=np.int64)
    hi = np.empty(n_probes, dtype=np.int64)
    cand = np.empty(n_probes * 2, dtype=np.int64)  # candidate entry rows
    cand_t = np.empty(n_probes * 2, dtype=np.int64)  # the table that found each
    order_flat = order.reshape(-1)
    words_flat = words.reshape(-1)
    qw = np.empty(4, dtype=np.uint64)
    x = np.empty(4, dtype=np.uint64)
    for qi in range(n_q):
        for k in range(4):
            qw[k] = q_words[qi, k]
        p = 0
        for t in range(n_tables):
            if thresholds[t] < 0:
                continue
            key = _sub(qw, start[t], width[t])
            for mi in range(mask_starts[t], mask_starts[t + 1]):
                probe[p] = np.int64(key ^ masks[mi]) + base[t]
                probe_t[p] = t
                p += 1
        total = 0  # stage 1: bucket bounds
        for j in range(p):
            if j + AHEAD < p:
                _prefetch(offsets, probe[j + AHEAD])
            a, z = np.int64(offsets[probe[j]]), np.int64(offsets[probe[j] + 1])
            lo[j], hi[j] = a, z
            total += int(z - a)
        cand, cand_t = _grow(cand, total), _grow(cand_t, total)
        c = 0  # stage 2: candidates
        for j in range(p):
            if j + AHEAD < p:
                _prefetch(order_flat, probe_t[j + AHEAD] * n + lo[j + AHEAD])
            t = probe_t[j]
            for pos in range(lo[j], hi[j]):
                cand[c] = order[t, pos]
                cand_t[c] = t
                c += 1
        s = 0  # stage 3: distances, survivors compacted in place
        for j in range(c):
            if j + AHEAD < c:
                _prefetch(words_flat, cand[j + AHEAD] * 4)
            e = cand[j]
            d = (_popcount(qw[0] ^ words[e, 0]) + _popcount(qw[1] ^ words[e, 1])
                 + _popcount(qw[2] ^ words[e, 2]) + _popcount(qw[3] ^ words[e, 3]))  # fmt: skip
            cand[s] = e
            cand_t[s] = cand_t[j]
            s += int(d <= radius)
        first = count
        for j in range(s):
            e, t = cand[j], cand_t[j]
            for k in range(4):
                x[k] = qw[k] ^ words[e, k]
            earlier = False  # met an earlier table's threshold: reported from that table
            for jj in range(t):
                if thresholds[jj] >= 0 and _popcount(_sub(x, start[jj], width[jj])) <= thresholds[jj]:
                    earlier = True
                    break
            if earlier:
                continue
            if count == out_q.shape[0]:
                out_q, out_e, out_d = (
                    _grow(out_q, count + 1),
                    _grow(out_e, count + 1),
                    _grow(out_d, count + 1),
                )
            out_q[count] = qi
            out_e[count] = e
            out_d[count] = _popcount(x[0]) + _popcount(x[1]) + _popcount(x[2]) + _popcount(x[3])
            count += 1
        if count - first > 1:  # in entry order
            idx = np.argsort(out_e[first:count], kind="mergesort")
            out_e[first:count] = out_e[first:count][idx]
            out_d[first:count] = out_d[first:count][idx]
    return out_q[:count], out_e[:count], out_d[:count]
