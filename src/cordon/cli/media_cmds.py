"""`cordon hash FILES...`: exact and perceptual hashes of images and videos, one result per file."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

from cordon.errors import HashError
from cordon.model import HashAlgo, MediaHash, MediaKind
from cordon.signals.media.decode import HashMode
from cordon.signals.media.hashing import HashedMedia, hash_many
from cordon.signals.media.pdq import MIN_MATCH_QUALITY

EXIT_SOME_FAILED = 3


def register(app: typer.Typer) -> None:
    """Register `cordon hash` on `app`."""
    app.command("hash")(hash_command)


def hash_command(
    files: Annotated[list[Path], typer.Argument(help="Image or video files to hash.")],
    as_json: Annotated[
        bool, typer.Option("--json", help="One JSON object per line (frames for videos).")
    ] = False,
    mode: Annotated[
        HashMode, typer.Option("--mode", help="fast (default, DCT-scaled decode) or full (conformance).")
    ] = HashMode.FAST,
    workers: Annotated[int, typer.Option("--workers", min=1, help="Hashing processes.")] = 1,
    progress: Annotated[
        bool, typer.Option("--progress/--no-progress", help="Progress bar on stderr.")
    ] = True,
) -> None:
    """Print SHA-256, MD5, PDQ hash and quality of each file; videos get vPDQ frame hashes.

    A file that cannot be hashed prints an error line naming it and the reason; the others go on. Exit code 3
    when some file failed, 0 otherwise. Media is never shown or sent anywhere.
    """
    results = hash_many(files, workers=workers, mode=mode, progress=None if progress else False)
    failed = 0
    for path, result in zip(files, results, strict=True):
        if isinstance(result, HashError):
            failed += 1
            typer.echo(f"error: {result}", err=True)
            if as_json:
                typer.echo(json.dumps({"file": str(path), "error": str(result)}))
            continue
        typer.echo(_as_json(result) if as_json else _as_line(result))
    if failed:
        raise typer.Exit(EXIT_SOME_FAILED)


def _as_line(result: HashedMedia) -> str:
    first = result.perceptual[0]
    flag = " low-quality" if (first.quality or 0) < MIN_MATCH_QUALITY else ""
    if result.kind is MediaKind.VIDEO:
        matchable = len(result.matchable)
        return (
            f"{result.source}\tsha256={result.media.sha256}\tmd5={result.media.md5}\tvpdq "
            f"frames={len(result.perceptual)} matchable={matchable}\tfirst={first.value}"
        )
    frames = _frames(result)
    animation = f"\tframes={len(frames)}" if frames else ""
    return (
        f"{result.source}\tsha256={result.media.sha256}\tmd5={result.media.md5}\t"
        f"pdq={first.value}\tquality={first.quality}{flag}{animation}"
    )


def _frames(result: HashedMedia) -> tuple[MediaHash, ...]:
    """The per-frame (vPDQ) hashes: every frame of a video, or of an animated image."""
    return tuple(h for h in result.perceptual if h.algo is HashAlgo.VPDQ)


def _as_json(result: HashedMedia) -> str:
    record: dict[str, object] = {
        "file": result.source,
        "kind": str(result.kind),
        "sha256": result.media.sha256,
        "sha1": result.media.sha1,
        "md5": result.media.md5,
        "size": result.media.size,
    }
    if result.kind is not MediaKind.VIDEO:
        pdq = result.perceptual[0]
        record["pdq"] = pdq.value
        record["quality"] = pdq.quality
        record["low_quality"] = (pdq.quality or 0) < MIN_MATCH_QUALITY
    frames = _frames(result)
    if frames:
        record["frame_count"] = len(frames)
        record["frames"] = [
            {"frame": h.frame, "quality": h.quality, "pdq": h.value, "timestamp_s": h.timestamp_s}
            for h in frames
        ]
    return json.dumps(record)
