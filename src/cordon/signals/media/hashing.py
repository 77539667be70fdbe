"""Hashing entry points: one media item (image or video) to exact + perceptual hashes, and batches of them
over a process pool (pdqhash holds the GIL, so threads would not help)."""

from __future__ import annotations

import os
import sys
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

from cordon.errors import HashError
from cordon.model import HashAlgo, Media, MediaHash, MediaKind
from cordon.signals.media.decode import DEFAULT_MAX_PIXELS, HashMode, is_animated
from cordon.signals.media.exact import exact_hashes
from cordon.signals.media.pdq import MIN_MATCH_QUALITY, hash_image, hash_timed_frames
from cordon.signals.media.video import hash_video

MediaSource = bytes | str | Path

# ISO-BMFF (mp4/mov/3gp), Matroska/WebM, AVI, FLV, MPEG-PS, MPEG-TS, ASF/WMV
_VIDEO_BRANDS = (b"ftyp", b"moov", b"mdat", b"wide", b"free")
_VIDEO_PREFIXES = (b"\x1a\x45\xdf\xa3", b"FLV\x01", b"\x00\x00\x01\xba", b"\x30\x26\xb2\x75\x8e\x66\xcf\x11")
_HEIF_BRANDS = (b"heic", b"heix", b"mif1", b"msf1", b"avif", b"heim", b"heis")


@dataclass(frozen=True, slots=True)
class HashedMedia:
    """Everything cordon hashes from one media item: its exact hashes and its perceptual hashes (the PDQ of
    an image's first frame; one vPDQ hash per frame of a video or of an animation). `source` is the path or
    label it was read from."""

    source: str
    kind: MediaKind
    media: Media
    perceptual: tuple[MediaHash, ...]

    @property
    def matchable(self) -> tuple[MediaHash, ...]:
        """The perceptual hashes good enough to match (quality >= 50); the others are kept but not matched."""
        return tuple(h for h in self.perceptual if (h.quality or 0) >= MIN_MATCH_QUALITY)


def sniff_kind(data: bytes) -> MediaKind:
    """Image or video, from the first bytes (animated GIF/WebP count as images: their first frame is hashed)."""
    head = data[:16]
    if len(head) >= 12 and head[4:8] in _VIDEO_BRANDS:
        return MediaKind.IMAGE if head[8:12] in _HEIF_BRANDS else MediaKind.VIDEO
    if head.startswith(_VIDEO_PREFIXES) or (head[:4] == b"RIFF" and head[8:12] == b"AVI "):
        return MediaKind.VIDEO
    if head[:1] == b"\x47" and len(data) > 188 and data[188:189] == b"\x47":  # MPEG-TS sync bytes
        return MediaKind.VIDEO
    return MediaKind.IMAGE


def hash_media(
    source: MediaSource,
    *,
    name: str | None = None,
    mode: HashMode | str = HashMode.FAST,
    max_pixels: int = DEFAULT_MAX_PIXELS,
    animation_frames: bool = True,
) -> HashedMedia:
    """Exact and perceptual hashes of one image or video (a path or its bytes). Raises `HashError`.

    An image gets one PDQ hash (its first frame). An animated GIF/WebP/PNG also gets one vPDQ hash per frame
    when `animation_frames` is true, so that video rules (share of matching frames) apply to it; a video
    gets its vPDQ frame hashes only.
    """
    label, data = _read(source, name)
    kind = sniff_kind(data)
    media = exact_hashes(data)
    if kind is MediaKind.VIDEO:
        # vpdq reads a file: hand it the path when there is one rather than a temporary copy of the bytes
        video_source: bytes | Path = data if isinstance(source, bytes) else Path(source)
        frames = hash_video(video_source, name=label, sha256=media.sha256)
        return HashedMedia(source=label, kind=kind, media=media, perceptual=frames)
    # a still image (the common case) takes `hash_image`, the path the canary proves
    if not (animation_frames and is_animated(data)):
        pdq = hash_image(data, name=label, mode=mode, max_pixels=max_pixels)
        first = MediaHash(sha256=media.sha256, algo=HashAlgo.PDQ, value=pdq.hex, quality=pdq.quality)
        return HashedMedia(source=label, kind=kind, media=media, perceptual=(first,))
    timed = hash_timed_frames(data, name=label, mode=mode, max_pixels=max_pixels)
    first_pdq = timed[0].pdq
    first = MediaHash(sha256=media.sha256, algo=HashAlgo.PDQ, value=first_pdq.hex, quality=first_pdq.quality)
    frames = tuple(
        MediaHash(
            sha256=media.sha256,
            algo=HashAlgo.VPDQ,
            value=f.pdq.hex,
            quality=f.pdq.quality,
            frame=f.frame,
            timestamp_s=f.timestamp_s,
        )
        for f in timed
    )
    return HashedMedia(
        source=label, kind=kind, media=media, perceptual=(first, *frames) if len(frames) > 1 else (first,)
    )


def hash_many(
    sources: Sequence[MediaSource],
    *,
    workers: int | None = None,
    mode: HashMode | str = HashMode.FAST,
    progress: bool | None = None,
    chunksize: int = 4,
) -> list[HashedMedia | HashError]:
    """Hash many media items, in input order; a bad item gives its `HashError` in its place, nothing stops.

    `workers` processes (default: the CPU count; 1 runs in this process). A rich progress bar is shown on
    stderr when `progress` is true, or, by default, when stderr is a terminal.
    """
    jobs = [(source, HashMode(mode)) for source in sources]
    worker_count = max(1, min(workers or os.cpu_count() or 1, len(jobs) or 1))
    show = sys.stderr.isatty() if progress is None else progress
    results: list[HashedMedia | HashError] = []
    with _progress_bar(show, len(jobs)) as advance:
        for result in _run(jobs, worker_count, chunksize):
            results.append(result)
            advance()
    return results


def hash_paths(paths: Sequence[str], mode: HashMode | str = HashMode.FAST) -> list[HashedMedia | HashError]:
    """Hash files one after another in this process, in order (a task for a pool of its caller's; a bad file
    gives its `HashError` in its place)."""
    return [_hash_one((Path(p), HashMode(mode))) for p in paths]


def _run(
    jobs: list[tuple[MediaSource, HashMode]], worker_count: int, chunksize: int
) -> Iterator[HashedMedia | HashError]:
    if worker_count == 1:
        yield from map(_hash_one, jobs)
        return
    done = 0
    try:
        with ProcessPoolExecutor(max_workers=worker_count) as pool:
            for result in pool.map(_hash_one, jobs, chunksize=max(1, chunksize)):
                done += 1
                yield result
    except BrokenProcessPool:
        # a decoder crashed its process (a native library on hostile input): hash what is left one file per
        # process, so that only the file that crashes fails
        for job in jobs[done:]:
            yield _isolated(job)


def _isolated(job: tuple[MediaSource, HashMode]) -> HashedMedia | HashError:
    try:
        with ProcessPoolExecutor(max_workers=1) as pool:
            return pool.submit(_hash_one, job).result()
    except BrokenProcessPool:
        return HashError(f"{_label(job[0])}: the decoder crashed on this file; it cannot be hashed")


def _hash_one(job: tuple[MediaSource, HashMode]) -> HashedMedia | HashError:
    source, mode = job
    try:
        return hash_media(source, mode=mode)
    except HashError as exc:
        return exc
    except Exception as exc:  # one bad file never stops the batch, whatever a library raises on it
        return HashError(f"{_label(source)}: unexpected {type(exc).__name__} while hashing ({exc})")


def _label(source: MediaSource) -> str:
    return "<bytes>" if isinstance(source, bytes) else str(source)


def _read(source: MediaSource, name: str | None) -> tuple[str, bytes]:
    if isinstance(source, bytes):
        return name or "<bytes>", source
    path = Path(source)
    label = name or str(path)
    try:
        return label, path.read_bytes()
    except IsADirectoryError as exc:
        raise HashError(f"{label}: is a directory, not a media file") from exc
    except OSError as exc:
        raise HashError(f"{label}: cannot read the file ({exc.strerror or exc})") from exc


@contextmanager
def _progress_bar(show: bool, total: int) -> Iterator[Callable[[], None]]:
    if not show:
        yield lambda: None
        return
    progress = Progress(
        TextColumn("hashing"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeRemainingColumn(),
        console=Console(stderr=True),
        transient=True,
    )
    task = progress.add_task("hashing", total=total)
    with progress:
        yield lambda: progress.advance(task)
