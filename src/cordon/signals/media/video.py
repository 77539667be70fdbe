"""Video hashing (vPDQ: one PDQ hash per frame) and vPDQ's frame-share matching.

A video hash is one PDQ hash per decoded frame (`MediaHash` with ``algo=vpdq``, ``frame`` and
``timestamp_s``). Meta's `vpdq` package computes it (the ``video`` extra). When vpdq is not installed, or
fails on a file that FFmpeg still decodes (a truncated upload), PyAV decodes the frames and the same PDQ
(pdqhash) hashes them: both paths agree with vPDQ's reference hashes within vPDQ's own rule (see
tests/unit/signals/media/test_vpdq_conformance.py), so a damaged video still gets the frames it has.

Two videos match by the share of frames that find a partner: vPDQ drops repeated hashes and frames of
quality < 50, then counts the query frames within `threshold` bits of some target frame and the target frames
within `threshold` of some query frame.
"""

from __future__ import annotations

import hashlib
import logging
import os
import tempfile
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

import numpy as np

from cordon.errors import HashError
from cordon.model import HashAlgo, MediaHash
from cordon.signals.media.pdq import MIN_MATCH_QUALITY, hash_rgb

log = logging.getLogger("cordon.video")

DEFAULT_VIDEO_THRESHOLD = 31  # vPDQ's frame distance threshold (inclusive, as python-threatexchange matches)
_INSTALL_HINT = "pip install 'cordon[video]' (vpdq needs FFmpeg's headers, see `make sysdeps`)"


class FrameHash(Protocol):
    """Anything carrying a PDQ hex and its quality: `MediaHash`, `PdqResult`-like frame records."""

    @property
    def value(self) -> str: ...

    @property
    def quality(self) -> int | None: ...


@dataclass(frozen=True, slots=True)
class _Frame:
    frame: int
    hex: str
    quality: int
    timestamp_s: float


def hash_video(
    source: bytes | str | Path,
    *,
    name: str | None = None,
    seconds_per_hash: float = 0.0,
    downsample: tuple[int, int] | None = None,
    sha256: str | None = None,
    engine: str = "auto",
) -> tuple[MediaHash, ...]:
    """vPDQ of a video file or its bytes: one `MediaHash` per frame (every frame when seconds_per_hash=0).

    `downsample` (width, height) scales frames before hashing, as vPDQ's ``-128x128`` reference variant does;
    leave it unset for the native-resolution hashes. `sha256` (the media id) is computed from the bytes when
    not given. `engine` is ``auto`` (vpdq, else PyAV), ``vpdq`` or ``pyav``. Raises `HashError` naming the
    file and the reason for unreadable files, files without a video stream and videos without a frame.
    """
    label = name or (str(source) if not isinstance(source, bytes) else "<bytes>")
    if isinstance(source, bytes):
        if not source:
            raise HashError(
                f"{label}: empty file (0 bytes); nothing to hash - check the download or the path"
            )
        sha256 = sha256 or hashlib.sha256(source).hexdigest()
        with tempfile.TemporaryDirectory(prefix="cordon-video-") as tmp:
            path = Path(tmp) / "video"
            path.write_bytes(source)
            frames = _hash_path(path, label, seconds_per_hash, downsample, engine)
    else:
        path = Path(source)
        if not path.is_file():
            raise HashError(f"{label}: no such file")
        if path.stat().st_size == 0:
            raise HashError(
                f"{label}: empty file (0 bytes); nothing to hash - check the download or the path"
            )
        sha256 = sha256 or _sha256_of_file(path)
        frames = _hash_path(path, label, seconds_per_hash, downsample, engine)
    if not frames:
        raise HashError(f"{label}: the video decodes to no frame; it cannot be hashed")
    return tuple(
        MediaHash(
            sha256=sha256,
            algo=HashAlgo.VPDQ,
            value=f.hex,
            quality=f.quality,
            frame=f.frame,
            timestamp_s=f.timestamp_s,
        )
        for f in frames
    )


def _hash_path(
    path: Path, label: str, seconds_per_hash: float, downsample: tuple[int, int] | None, engine: str
) -> list[_Frame]:
    if engine not in ("auto", "vpdq", "pyav"):
        raise HashError(f"unknown video engine {engine!r}; use auto, vpdq or pyav")
    vpdq = _import_optional("vpdq") if engine != "pyav" else None
    if vpdq is None and engine == "vpdq":
        raise HashError(f"{label}: video hashing with vpdq needs the vpdq package: {_INSTALL_HINT}")
    if vpdq is not None:
        width, height = downsample or (0, 0)
        try:
            features: list[Any] = vpdq.computeHash(
                os.fspath(path),
                seconds_per_hash=seconds_per_hash,
                downsample_width=width,
                downsample_height=height,
            )
        except Exception as exc:  # vpdq raises a bare Exception for any unreadable input
            if engine == "vpdq":
                raise HashError(f"{label}: {diagnose_video(path)} (vpdq: {exc})") from exc
            return _pyav_frames(path, label, seconds_per_hash, downsample, after_vpdq_failed=True)
        return [_Frame(int(f.frame_number), str(f.hex), int(f.quality), float(f.timestamp)) for f in features]
    return _pyav_frames(path, label, seconds_per_hash, downsample, after_vpdq_failed=False)


def _pyav_frames(
    path: Path,
    label: str,
    seconds_per_hash: float,
    downsample: tuple[int, int] | None,
    *,
    after_vpdq_failed: bool,
) -> list[_Frame]:
    """Decode with PyAV and hash each kept frame with pdqhash; the frames decoded before any damage count."""
    av = _import_optional("av")
    if av is None:
        raise HashError(f"{label}: video hashing needs vpdq or PyAV: {_INSTALL_HINT}")
    frames: list[_Frame] = []
    try:
        for index, timestamp, pixels in _decoded_frames(av, path, seconds_per_hash, downsample):
            pdq = hash_rgb(pixels)
            frames.append(_Frame(index, pdq.hex, pdq.quality, timestamp))
    except Exception as exc:
        if not frames:
            raise HashError(f"{label}: {diagnose_video(path)}") from exc
        log.warning("%s: hashed the first %d frames; decoding stopped there (%s)", label, len(frames), exc)
    if after_vpdq_failed and frames:
        log.warning("%s: vpdq could not read it; hashed %d frames decoded by PyAV", label, len(frames))
    if not frames:
        raise HashError(f"{label}: {diagnose_video(path)}")
    return frames


def _decoded_frames(
    av: Any, path: Path, seconds_per_hash: float, downsample: tuple[int, int] | None
) -> Iterator[tuple[int, float, np.ndarray]]:
    """(frame index, timestamp in seconds, HxWx3 RGB pixels) of the first video stream, one frame every
    `seconds_per_hash` seconds (every frame at 0), as vpdq picks them."""
    size = {"width": downsample[0], "height": downsample[1]} if downsample else {}
    next_time = 0.0
    with av.open(os.fspath(path)) as container:
        if not container.streams.video:
            raise HashError("no video stream")
        stream = container.streams.video[0]
        stream.thread_type = "AUTO"
        for index, frame in enumerate(container.decode(stream)):
            timestamp = float(frame.time or 0.0)
            if seconds_per_hash > 0:
                if timestamp + 1e-9 < next_time:
                    continue
                next_time += seconds_per_hash
            yield index, timestamp, frame.to_ndarray(format="rgb24", **size)


def diagnose_video(path: Path) -> str:
    """Why a video cannot be hashed, as far as PyAV (FFmpeg) can tell: not a container it can open, no video
    stream, or no decodable frame. Only called after hashing failed, so the happy path never decodes twice."""
    av = _import_optional("av")
    if av is None:
        return "not a readable video, or no video stream"
    try:
        with av.open(os.fspath(path)) as container:
            if not container.streams.video:
                kinds: list[str] = sorted({str(s.type) for s in container.streams}) or ["none"]
                return f"has no video stream (streams: {', '.join(kinds)})"
            for _ in container.decode(video=0):
                return "FFmpeg decodes its first frame, but hashing failed"
            return "its video stream has no decodable frame"
    except av.FFmpegError as exc:
        return f"not a readable video (FFmpeg: {exc})"
    except Exception as exc:
        return f"not a readable video ({type(exc).__name__}: {exc})"


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


def _import_optional(module: str) -> Any:
    try:
        return __import__(module)
    except ImportError:
        return None


def _sha256_of_file(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()
