"""vPDQ video hashing (Meta's `vpdq` package, the `video` extra) and vPDQ's frame-share matching.

A video hash is one PDQ hash per decoded frame (`MediaHash` with ``algo=vpdq``, ``frame`` and
``timestamp_s``). Two videos match by the share of frames that find a partner: vPDQ drops repeated hashes and
frames of quality < 50, then counts the query frames within `threshold` bits of some target frame and the
target frames within `threshold` of some query frame.
"""

from __future__ import annotations

import hashlib
import os
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Protocol

import numpy as np

from cordon.errors import HashError
from cordon.model import HashAlgo, MediaHash
from cordon.signals.media.pdq import MIN_MATCH_QUALITY

DEFAULT_VIDEO_THRESHOLD = 31  # vPDQ's frame distance threshold (inclusive)


class FrameHash(Protocol):
    """Anything carrying a PDQ hex and its quality: `MediaHash`, `PdqResult`-like frame records."""

    @property
    def value(self) -> str: ...

    @property
    def quality(self) -> int | None: ...


def hash_video(
    source: bytes | str | Path,
    *,
    name: str | None = None,
    seconds_per_hash: float = 0.0,
    downsample: tuple[int, int] | None = None,
) -> tuple[MediaHash, ...]:
    """vPDQ of a video file or its bytes: one `MediaHash` per frame (every frame when seconds_per_hash=0).

    `downsample` (width, height) scales frames before hashing, as vPDQ's ``-128x128`` reference variant does;
    leave it unset for the native-resolution hashes. Raises `HashError` for unreadable files, files without
    a video stream and videos that decode to no frame.
    """
    vpdq = _import_vpdq()
    label = name or (str(source) if not isinstance(source, bytes) else "<bytes>")
    if isinstance(source, bytes):
        if not source:
            raise HashError(
                f"{label}: empty file (0 bytes); nothing to hash - check the download or the path"
            )
        sha256 = hashlib.sha256(source).hexdigest()
        with tempfile.TemporaryDirectory(prefix="cordon-vpdq-") as tmp:
            path = Path(tmp) / "video"
            path.write_bytes(source)
            features = _compute(vpdq, path, label, seconds_per_hash, downsample)
    else:
        path = Path(source)
        if not path.is_file():
            raise HashError(f"{label}: no such file")
        if path.stat().st_size == 0:
            raise HashError(
                f"{label}: empty file (0 bytes); nothing to hash - check the download or the path"
            )
        sha256 = _sha256_of_file(path)
        features = _compute(vpdq, path, label, seconds_per_hash, downsample)
    if not features:
        raise HashError(f"{label}: the video decodes to no frame; it cannot be hashed")
    return tuple(
        MediaHash(
            sha256=sha256,
            algo=HashAlgo.VPDQ,
            value=str(feature.hex),
            quality=int(feature.quality),
            frame=int(feature.frame_number),
            timestamp_s=float(feature.timestamp),
        )
        for feature in features
    )


def video_match(
    query_frames: Sequence[FrameHash],
    target_frames: Sequence[FrameHash],
    threshold: int = DEFAULT_VIDEO_THRESHOLD,
    *,
    min_quality: int = MIN_MATCH_QUALITY,
) -> tuple[float, float]:
    """vPDQ's match: (share of query frames matched in the target, share of target frames matched in the
    query), each in 0..1 (vPDQ prints them as percentages). Frames are deduplicated by hash and those below
    `min_quality` dropped first; a frame matches when some frame of the other side is <= `threshold` bits
    away. A side left with no frame gives 0.0."""
    query = _unique_matchable(query_frames, min_quality)
    target = _unique_matchable(target_frames, min_quality)
    if len(query) == 0 or len(target) == 0:
        return 0.0, 0.0
    close = _pairwise_distance(query, target) <= threshold
    return float(close.any(axis=1).mean()), float(close.any(axis=0).mean())


def _unique_matchable(frames: Sequence[FrameHash], min_quality: int) -> np.ndarray:
    seen: dict[str, None] = {}
    for frame in frames:
        if (frame.quality or 0) >= min_quality:
            seen.setdefault(frame.value.lower(), None)
    if not seen:
        return np.zeros((0, 32), dtype=np.uint8)
    try:
        return np.frombuffer(bytes.fromhex("".join(seen)), dtype=np.uint8).reshape(len(seen), 32)
    except ValueError as exc:
        raise HashError(f"a frame hash is not 64 hex digits ({exc}); check the vPDQ input") from exc


def _pairwise_distance(query: np.ndarray, target: np.ndarray) -> np.ndarray:
    query_words = query.view(np.uint64)  # (n, 4)
    target_words = target.view(np.uint64)  # (m, 4)
    distance = np.zeros((len(query_words), len(target_words)), dtype=np.int32)
    for word in range(4):
        xor = np.bitwise_xor(query_words[:, word, None], target_words[None, :, word])
        distance += np.bitwise_count(xor).astype(np.int32)
    return distance


def _compute(
    vpdq: Any, path: Path, label: str, seconds_per_hash: float, downsample: tuple[int, int] | None
) -> list[Any]:
    width, height = downsample or (0, 0)
    try:
        features: list[Any] = vpdq.computeHash(
            os.fspath(path),
            seconds_per_hash=seconds_per_hash,
            downsample_width=width,
            downsample_height=height,
        )
    except Exception as exc:  # vpdq raises bare Exception for unreadable input
        raise HashError(f"{label}: not a readable video or no video stream ({exc})") from exc
    return features


def _import_vpdq() -> Any:
    try:
        import vpdq  # noqa: PLC0415 - optional extra
    except ImportError as exc:
        raise HashError(
            "video hashing needs the vpdq package: pip install 'cordon[video]' (and FFmpeg, see `make sysdeps`)"
        ) from exc
    return vpdq


def _sha256_of_file(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()
