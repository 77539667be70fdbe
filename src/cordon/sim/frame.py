"""Posts as columns: every generator returns a `PostFrame`; the world concatenates and sorts them by time.

A row is one post. Hashtags and media are ragged (offsets + values). `target` is the row a reply or reblog
points at, as an index into the same frame (shifted on concatenation), or -1 when the target is to be chosen
after sorting (`target_mode`: a recent post of an account the author follows, or a popular recent post).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

ORIGINAL, REPLY, REBLOG = 0, 1, 2
EXPLICIT, FOLLOWEE, POPULAR = 0, 1, 2

# what produced a row (decides how its text is rendered and whether benign replies may land on it)
BACKGROUND, BOT, MEME, BURST, CELEBRITY, FAN, MARKETING, CRYPTO = 0, 1, 2, 3, 4, 5, 6, 7
NET_ORIGINAL, NET_SWARM, NET_REBLOG, NET_FLOOD = 10, 11, 12, 13
BENIGN_TARGET_SOURCES = (BACKGROUND, BOT, MEME, BURST, CELEBRITY, FAN)


@dataclass(frozen=True, slots=True)
class Ragged:
    """A column of variable-length int32 lists: row i holds values[offsets[i]:offsets[i+1]]."""

    offsets: np.ndarray  # int64, len n + 1
    values: np.ndarray  # int32

    @staticmethod
    def empty(n: int) -> Ragged:
        return Ragged(np.zeros(n + 1, dtype=np.int64), np.zeros(0, dtype=np.int32))

    @staticmethod
    def from_lengths(lengths: np.ndarray, values: np.ndarray) -> Ragged:
        offsets = np.zeros(len(lengths) + 1, dtype=np.int64)
        np.cumsum(lengths, out=offsets[1:])
        if offsets[-1] != len(values):
            raise ValueError(f"ragged column: lengths sum to {offsets[-1]} but {len(values)} values given")
        return Ragged(offsets, np.asarray(values, dtype=np.int32))

    @staticmethod
    def from_lists(rows: Sequence[Sequence[int]]) -> Ragged:
        lengths = np.fromiter((len(r) for r in rows), dtype=np.int64, count=len(rows))
        flat = np.fromiter((v for r in rows for v in r), dtype=np.int32, count=int(lengths.sum()))
        return Ragged.from_lengths(lengths, flat)

    @staticmethod
    def from_pairs(rows: np.ndarray, values: np.ndarray, n: int) -> Ragged:
        """`n` rows from (row, value) pairs, each value once per row (in ascending order)."""
        pairs = np.unique(np.asarray(rows, np.int64) << 32 | np.asarray(values, np.int64))
        return Ragged.from_lengths(
            np.bincount(pairs >> 32, minlength=n), (pairs & 0xFFFFFFFF).astype(np.int32)
        )

    @property
    def lengths(self) -> np.ndarray:
        return np.diff(self.offsets)

    def take(self, idx: np.ndarray) -> Ragged:
        """The rows `idx`, in that order (vectorised gather)."""
        lengths = self.lengths[idx]
        total = int(lengths.sum())
        starts = self.offsets[idx]
        out_offsets = np.zeros(len(idx) + 1, dtype=np.int64)
        np.cumsum(lengths, out=out_offsets[1:])
        gather = np.repeat(starts - out_offsets[:-1], lengths) + np.arange(total, dtype=np.int64)
        return Ragged(out_offsets, self.values[gather])

    @staticmethod
    def concat(parts: Sequence[Ragged]) -> Ragged:
        lengths = np.concatenate([p.lengths for p in parts])
        return Ragged.from_lengths(lengths, np.concatenate([p.values for p in parts]))


@dataclass(frozen=True, slots=True)
class PostFrame:
    """Posts as columns. `extra` indexes `texts` (link-outs, templated text), -1 for none."""

    ts: np.ndarray  # int64 epoch milliseconds
    author: np.ndarray  # int32 account index
    kind: np.ndarray  # int8 ORIGINAL | REPLY | REBLOG
    target: np.ndarray  # int64 row in this frame, or -1
    target_mode: np.ndarray  # int8 EXPLICIT | FOLLOWEE | POPULAR
    source: np.ndarray  # int8, see the constants above
    phrases: np.ndarray  # int32 (n, 3) phrase ids, -1 for none
    extra: np.ndarray  # int32 index into `texts`, -1 for none
    lang: np.ndarray  # int8 index into vocab.LANGS, -1 for the author's language
    sensitive: np.ndarray  # bool
    tags: Ragged  # global tag ids
    media: Ragged  # global media ids
    texts: tuple[str, ...]

    def __len__(self) -> int:
        return len(self.ts)

    @staticmethod
    def build(
        *, ts: np.ndarray, author: np.ndarray, source: int | np.ndarray, kind: int | np.ndarray = ORIGINAL,
        target: np.ndarray | None = None, target_mode: int | np.ndarray = EXPLICIT,
        phrases: np.ndarray | None = None, extra: np.ndarray | None = None, lang: np.ndarray | None = None,
        sensitive: np.ndarray | bool = False, tags: Ragged | None = None, media: Ragged | None = None,
        texts: Sequence[str] = (),
    ) -> PostFrame:  # fmt: skip
        n = len(ts)

        def full(value: int | bool | np.ndarray, dtype: type) -> np.ndarray:
            return np.asarray(value, dtype=dtype) if np.ndim(value) else np.full(n, value, dtype=dtype)

        return PostFrame(
            ts=np.asarray(ts, dtype=np.int64),
            author=np.asarray(author, dtype=np.int32),
            kind=full(kind, np.int8),
            target=np.full(n, -1, np.int64) if target is None else np.asarray(target, np.int64),
            target_mode=full(target_mode, np.int8),
            source=full(source, np.int8),
            phrases=np.full((n, 3), -1, np.int32) if phrases is None else np.asarray(phrases, np.int32),
            extra=np.full(n, -1, np.int32) if extra is None else np.asarray(extra, np.int32),
            lang=np.full(n, -1, np.int8) if lang is None else np.asarray(lang, np.int8),
            sensitive=full(sensitive, np.bool_),
            tags=Ragged.empty(n) if tags is None else tags,
            media=Ragged.empty(n) if media is None else media,
            texts=tuple(texts),
        )

    @staticmethod
    def concat(frames: Sequence[PostFrame]) -> PostFrame:
        """One frame of all rows; explicit targets and text indexes are shifted to stay pointing right."""
        row_offset = 0
        text_offset = 0
        targets, extras = [], []
        for f in frames:
            targets.append(np.where(f.target >= 0, f.target + row_offset, f.target))
            extras.append(np.where(f.extra >= 0, f.extra + text_offset, f.extra))
            row_offset += len(f)
            text_offset += len(f.texts)
        return PostFrame(
            ts=np.concatenate([f.ts for f in frames]),
            author=np.concatenate([f.author for f in frames]),
            kind=np.concatenate([f.kind for f in frames]),
            target=np.concatenate(targets),
            target_mode=np.concatenate([f.target_mode for f in frames]),
            source=np.concatenate([f.source for f in frames]),
            phrases=np.concatenate([f.phrases for f in frames]),
            extra=np.concatenate(extras).astype(np.int32),
            lang=np.concatenate([f.lang for f in frames]),
            sensitive=np.concatenate([f.sensitive for f in frames]),
            tags=Ragged.concat([f.tags for f in frames]),
            media=Ragged.concat([f.media for f in frames]),
            texts=tuple(t for f in frames for t in f.texts),
        )

    def keep(self, mask: np.ndarray) -> PostFrame:
        """Only the rows where `mask` is true; a kept row whose explicit target was dropped gets its target
        chosen later among popular recent posts."""
        index = np.cumsum(mask) - 1
        target = self.target[mask]
        lost = (target >= 0) & ~mask[np.maximum(target, 0)]
        target = np.where(target >= 0, index[np.maximum(target, 0)], target)
        target[lost] = -1
        mode = self.target_mode[mask].copy()
        mode[lost] = POPULAR
        rows = np.nonzero(mask)[0]
        return PostFrame(
            ts=self.ts[rows], author=self.author[rows], kind=self.kind[rows], target=target, target_mode=mode,
            source=self.source[rows], phrases=self.phrases[rows], extra=self.extra[rows], lang=self.lang[rows],
            sensitive=self.sensitive[rows], tags=self.tags.take(rows), media=self.media.take(rows),
            texts=self.texts,
        )  # fmt: skip

    def sorted_by_time(self) -> PostFrame:
        """Rows in time order (ties in row order); explicit targets renumbered to the new positions."""
        order = np.lexsort((np.arange(len(self)), self.ts))
        position = np.empty(len(self), dtype=np.int64)
        position[order] = np.arange(len(self), dtype=np.int64)
        target = self.target[order]
        target = np.where(target >= 0, position[np.maximum(target, 0)], target)
        return PostFrame(
            ts=self.ts[order],
            author=self.author[order],
            kind=self.kind[order],
            target=target,
            target_mode=self.target_mode[order],
            source=self.source[order],
            phrases=self.phrases[order],
            extra=self.extra[order],
            lang=self.lang[order],
            sensitive=self.sensitive[order],
            tags=self.tags.take(order),
            media=self.media.take(order),
            texts=self.texts,
        )
