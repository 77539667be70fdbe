"""Hashing entry points: one media item (image or video) to exact + perceptual hashes, and batches of them
over a process pool (pdqhash holds the GIL, so threads would not help)."""

from __future__ import annotations

import hashlib
import os
import sys
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ProcessPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

from cordon.errors import HashError
from cordon.model import HashAlgo, Media, MediaHash, MediaKind
from cordon.signals.media.decode import DEFAULT_MAX_PIXELS, HashMode
from cordon.signals.media.pdq import MIN_MATCH_QUALITY, hash_image
from cordon.signals.media.video import hash_video

MediaSource = bytes | str | Path

# ISO-BMFF (mp4/mov/3gp), Matroska/WebM, AVI, FLV, MPEG-PS, MPEG-TS, ASF/WMV
_VIDEO_BRANDS = (b"ftyp", b"moov", b"mdat", b"wide", b"free")
_VIDEO_PREFIXES = (b"\x1a\x45\xdf\xa3", b"FLV\x01", b"\x00\x00\x01\xba", b"\x30\x26\xb2\x75\x8e\x66\xcf\x11")
_HEIF_BRANDS = (b"heic", b"heix", b"mif1", b"msf1", b"avif", b"heim", b"heis")


@dataclass(frozen=True, slots=True)
class HashedMedia:
    """Everything cordon hashes from one media item: its exact hashes and its PDQ hash (one per frame for
    video). `source` is the path or label it was read from."""

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


def exact_hashes_of(data: bytes, mime: str = "") -> Media:
    """MD5, SHA-1, SHA-256 of the bytes (cordon.signals.media.exact when present)."""
    try:
        from cordon.signals.media.exact import exact_hashes  # noqa: PLC0415 - written alongside this module
    except ImportError:  # pragma: no cover - exact.py ships with cordon
        return Media(
            sha256=hashlib.sha256(data).hexdigest(),
            md5=hashlib.md5(data, usedforsecurity=False).hexdigest(),
            sha1=hashlib.sha1(data, usedforsecurity=False).hexdigest(),
            size=len(data),
            mime=mime,
        )
    return exact_hashes(data, mime=mime)


def hash_media(
    source: MediaSource,
    *,
    name: str | None = None,
    mode: HashMode | str = HashMode.FAST,
    max_pixels: int = DEFAULT_MAX_PIXELS,
) -> HashedMedia:
    """Exact and perceptual hashes of one image or video (a path or its bytes). Raises `HashError`."""
    label, data = _read(source, name)
    kind = sniff_kind(data)
    media = exact_hashes_of(data)
    if kind is MediaKind.VIDEO:
        frames = hash_video(data, name=label)
        return HashedMedia(source=label, kind=kind, media=media, perceptual=frames)
    pdq = hash_image(data, name=label, mode=mode, max_pixels=max_pixels)
    image_hash = MediaHash(sha256=media.sha256, algo=HashAlgo.PDQ, value=pdq.hex, quality=pdq.quality)
    return HashedMedia(source=label, kind=kind, media=media, perceptual=(image_hash,))


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


def _run(
    jobs: list[tuple[MediaSource, HashMode]], worker_count: int, chunksize: int
) -> Iterator[HashedMedia | HashError]:
    if worker_count == 1:
        yield from map(_hash_one, jobs)
        return
    with ProcessPoolExecutor(max_workers=worker_count) as pool:
        yield from pool.map(_hash_one, jobs, chunksize=max(1, chunksize))


def _hash_one(job: tuple[MediaSource, HashMode]) -> HashedMedia | HashError:
    source, mode = job
    try:
        return hash_media(source, mode=mode)
    except HashError as exc:
        return exc


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
