"""Reply and reblog targets of benign posts, chosen after every post is in time order (vectorised).

Most replies and reblogs go to the latest post of an account the author follows (found with one binary
search over posts keyed by (author, position)); the rest, and those whose followees posted nothing in the
last days, go to a popular recent post (the most followed author among three recent candidates). Only benign
posts are candidates. A reblog's target stays within `reblog_window` posts of it (the export writer embeds
the reblogged status and keeps only that many recent ones).
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np

from cordon.sim.accounts import DAY_MS
from cordon.sim.frame import BENIGN_TARGET_SOURCES, FOLLOWEE, ORIGINAL, REBLOG, PostFrame

MAX_REPLY_AGE_MS = 3 * DAY_MS
RECENT_MEAN = 300.0  # candidates back from the post, on average, for a popular-recent target


def _popular_recent(
    rng: np.random.Generator, rows: np.ndarray, cand_pos: np.ndarray, cand_pop: np.ndarray, window: np.ndarray
) -> np.ndarray:
    """For each row, a recent candidate position (-1 when none): the most popular of three draws."""
    last = np.searchsorted(cand_pos, rows, side="left") - 1
    best = np.full(len(rows), -1, np.int64)
    best_pop = np.full(len(rows), -np.inf)
    for _ in range(3):
        back = rng.geometric(1.0 / RECENT_MEAN, size=len(rows)) - 1
        back = np.minimum(back, window)
        idx = last - back
        ok = idx >= 0
        idx = np.maximum(idx, 0)
        pop = np.where(ok, cand_pop[idx], -np.inf)
        better = ok & (pop > best_pop)
        best = np.where(better, cand_pos[idx], best)
        best_pop = np.where(better, pop, best_pop)
    fallback = (best < 0) & (last >= 0)
    best[fallback] = cand_pos[last[fallback]]
    return best


def assign_targets(
    rng: np.random.Generator, frame: PostFrame, *, follow_offsets: np.ndarray, follow_targets: np.ndarray,
    popularity: np.ndarray, reblog_window: int,
) -> PostFrame:  # fmt: skip
    """`frame` (sorted by time) with a target for every reply and reblog that had none; rows for which no
    earlier candidate exists are dropped (and replies to them get another target)."""
    while True:
        frame, complete = _assign_once(rng, frame, follow_offsets, follow_targets, popularity, reblog_window)
        if complete:
            return frame


def _assign_once(
    rng: np.random.Generator, frame: PostFrame, follow_offsets: np.ndarray, follow_targets: np.ndarray,
    popularity: np.ndarray, reblog_window: int,
) -> tuple[PostFrame, bool]:  # fmt: skip
    n = len(frame)
    target = frame.target.copy()
    need = np.nonzero((frame.kind != ORIGINAL) & (target < 0))[0]
    cand = np.isin(frame.source, BENIGN_TARGET_SOURCES) & (frame.kind != REBLOG)
    cand_pos = np.nonzero(cand)[0]
    cand_author = frame.author[cand_pos].astype(np.int64)
    keys = np.sort(cand_author * n + cand_pos)

    # a recent post of a followee
    followee_rows = need[frame.target_mode[need] == FOLLOWEE]
    author = frame.author[followee_rows].astype(np.int64)
    degree = follow_offsets[author + 1] - follow_offsets[author]
    has = degree > 0
    pick = follow_offsets[author] + (rng.random(len(author)) * np.maximum(degree, 1)).astype(np.int64)
    followee = np.where(has, follow_targets[np.minimum(pick, len(follow_targets) - 1)], -1)
    q = np.searchsorted(keys, followee * n + followee_rows, side="left") - 1
    qk = keys[np.maximum(q, 0)]
    found = has & (q >= 0) & (qk // n == followee)
    pos = qk % n
    fresh = frame.ts[followee_rows] - frame.ts[np.where(found, pos, 0)] <= MAX_REPLY_AGE_MS
    is_reblog = frame.kind[followee_rows] == REBLOG
    near = ~is_reblog | (followee_rows - pos < reblog_window)
    ok = found & fresh & near
    target[followee_rows[ok]] = pos[ok]

    # everything else: a popular recent post
    rest = need[target[need] < 0]
    window = np.where(frame.kind[rest] == REBLOG, reblog_window // 2, 1 << 40)
    target[rest] = _popular_recent(rng, rest, cand_pos, popularity[cand_author], window)
    valid = (frame.kind == ORIGINAL) | (target >= 0)
    out = replace(frame, target=target)
    if bool(valid.all()):
        return out, True
    return out.keep(valid), False
