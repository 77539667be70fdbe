"""PDQ image hashing on pdqhash, after the one fixed preprocessing of `cordon.signals.media.decode`.

`hash_image(data)` is the entry point. Its result keeps PDQ's quality (0..100); a hash whose quality is below
`MIN_MATCH_QUALITY` is recorded but flagged (`PdqResult.low_quality`) and must not be matched: flat or
nearly blank images give unstable hashes that collide with each other.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pdqhash
from PIL import Image

from cordon.errors import HashError
from cordon.signals.media.decode import (
    DEFAULT_MAX_FRAMES,
    DEFAULT_MAX_PIXELS,
    HashMode,
    decode_rgb,
    iter_frames_rgb,
    iter_timed_frames_rgb,
)

MIN_MATCH_QUALITY = 50  # PDQ's and vPDQ's own rule: lower-quality hashes are not matched
PDQ_HEX_LENGTH = 64  # 256 bits


@dataclass(frozen=True, slots=True)
class PdqResult:
    """A PDQ hash (64 hex digits, 256 bits) and its quality (0..100)."""

    hex: str
    quality: int

    @property
    def low_quality(self) -> bool:
        """True when the hash is too unreliable to match (quality < MIN_MATCH_QUALITY)."""
        return self.quality < MIN_MATCH_QUALITY


def hash_rgb(image: Image.Image | np.ndarray) -> PdqResult:
    """PDQ of decoded pixels (an RGB image or an HxWx3 uint8 array) with no further preprocessing."""
    pixels = np.ascontiguousarray(np.asarray(image), dtype=np.uint8)
    if pixels.ndim != 3 or pixels.shape[2] != 3 or pixels.shape[0] == 0 or pixels.shape[1] == 0:
        raise HashError(
            f"PDQ needs HxWx3 RGB pixels, got an array of shape {pixels.shape}; convert to RGB first"
        )
    bits, quality = pdqhash.compute(pixels)
    return PdqResult(hex=np.packbits(np.asarray(bits, dtype=np.uint8)).tobytes().hex(), quality=int(quality))


def hash_image(
    data: bytes,
    *,
    name: str = "<bytes>",
    mode: HashMode | str = HashMode.FAST,
    max_pixels: int = DEFAULT_MAX_PIXELS,
) -> PdqResult:
    """PDQ of an encoded image (JPEG, PNG, GIF, WebP, TIFF, BMP, ...): its first frame, oriented, in RGB.

    `mode` is for conformance and comparison only: ``full`` decodes at full resolution as the reference
    implementations do; leave the default (``fast``) everywhere else so that every stored hash was made the
    same way. Raises `HashError` naming `name` and the reason for empty, corrupt, truncated, oversize and
    unsupported input.
    """
    rgb = decode_rgb(data, name=name, mode=HashMode(mode), max_pixels=max_pixels)
    return hash_rgb(rgb)


def hash_image_frames(
    data: bytes,
    *,
    name: str = "<bytes>",
    mode: HashMode | str = HashMode.FAST,
    max_pixels: int = DEFAULT_MAX_PIXELS,
    max_frames: int = DEFAULT_MAX_FRAMES,
) -> tuple[PdqResult, ...]:
    """PDQ of every frame of an animated GIF/WebP/PNG (a still image gives one), for rules that treat an
    animation like a video (see `cordon.signals.media.video.video_match`)."""
    frames = iter_frames_rgb(
        data, name=name, mode=HashMode(mode), max_pixels=max_pixels, max_frames=max_frames
    )
    return tuple(hash_rgb(frame) for frame in frames)


@dataclass(frozen=True, slots=True)
class FramePdq:
    """The PDQ hash of one frame of an animation, with the frame's index and start time."""

    frame: int
    timestamp_s: float
    pdq: PdqResult


def hash_timed_frames(
    data: bytes,
    *,
    name: str = "<bytes>",
    mode: HashMode | str = HashMode.FAST,
    max_pixels: int = DEFAULT_MAX_PIXELS,
    max_frames: int = DEFAULT_MAX_FRAMES,
) -> tuple[FramePdq, ...]:
    """`hash_image_frames` with each frame's index and start time; one decode of the header and of each
    frame. The first entry is always `hash_image` of the same bytes."""
    frames = iter_timed_frames_rgb(
        data, name=name, mode=HashMode(mode), max_pixels=max_pixels, max_frames=max_frames
    )
    return tuple(
        FramePdq(frame=i, timestamp_s=start, pdq=hash_rgb(image)) for i, (start, image) in enumerate(frames)
    )


def hamming_distance(hex_a: str, hex_b: str) -> int:
    """Bits that differ between two PDQ hashes given as 64 hex digits."""
    if len(hex_a) != PDQ_HEX_LENGTH or len(hex_b) != PDQ_HEX_LENGTH:
        raise HashError(f"PDQ hashes are {PDQ_HEX_LENGTH} hex digits; got {len(hex_a)} and {len(hex_b)}")
    return (int(hex_a, 16) ^ int(hex_b, 16)).bit_count()
