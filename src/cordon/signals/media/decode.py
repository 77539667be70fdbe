"""Image decoding for hashing: the one fixed preprocessing that every PDQ hash in cordon goes through.

Steps, always in this order:

1. refuse empty input, unknown formats and decompression bombs (declared pixels over the limit) with a
   `HashError` that names the file and the reason;
2. in ``fast`` mode, ask the JPEG decoder for DCT-scaled output (Pillow ``draft``) no smaller than
   `FAST_SIDE` on either side, so a 12-megapixel photo decodes at 1/4 of its size;
3. decode (truncated or corrupt data is a `HashError`), apply the EXIF orientation;
4. convert every Pillow mode to 8-bit RGB correctly (`to_rgb`);
5. in ``fast`` mode, shrink each side longer than `FAST_SIDE` to exactly `FAST_SIDE` with Pillow's
   antialiased bilinear (triangle) filter.

Why 640 and bilinear: PDQ blurs with a Jarosz box filter of ``(side + 127) // 128`` pixels and samples 64x64
points at ``(i + 0.5) * side / 64``, so how well a shrunken image reproduces the full-resolution hash depends
on that window and sampling grid, not monotonically on the size. Measured on 28 real photographs (12 MP,
`make bench-hash` and docs/media-signals.md): median drift from the full-resolution hash 12 bits at 512 px,
2 at 576 and 640, 8 at 768. 640 with the bilinear filter keeps the median at 2 bits (box: 4) and stays within
10 bits of the 512-px hashes that Meta's WebAssembly build asserts (576: 14). The JPEG decode dominates the
cost, so 640 costs no more than 576 in practice. PDQ squeezes every image to 64x64 whatever its aspect
ratio, so resizing the two sides independently is safe.
"""

from __future__ import annotations

import io
import warnings
from collections.abc import Iterator
from enum import StrEnum

import numpy as np
from PIL import Image, ImageOps, ImageSequence, UnidentifiedImageError

from cordon.errors import HashError


class HashMode(StrEnum):
    """How much of the image the hasher decodes."""

    FAST = "fast"  # DCT-scaled JPEG decode, each side <= FAST_SIDE: the default
    FULL = "full"  # full-resolution decode, as the reference implementations do (conformance, comparison)


FAST_SIDE = 640
# Transparent pixels are composited on black: python-threatexchange and HMA drop alpha, and transparent
# pixels are almost always stored as (0, 0, 0, 0), so black keeps cordon's hashes closest to theirs.
ALPHA_BACKGROUND = (0, 0, 0)
DEFAULT_MAX_PIXELS = Image.MAX_IMAGE_PIXELS or 89_478_485
DEFAULT_MAX_FRAMES = 3_000

_ANIMATED_FORMATS = {"GIF", "WEBP", "PNG"}
_ALPHA_MODES = {"LA", "La", "PA", "RGBA", "RGBa"}
_SIXTEEN_BIT_MODES = {"I;16", "I;16L", "I;16B", "I;16N"}
_DECODE_ERRORS = (OSError, SyntaxError, ValueError, EOFError, IndexError, TypeError, MemoryError)


def open_image(data: bytes, *, name: str, max_pixels: int = DEFAULT_MAX_PIXELS) -> Image.Image:
    """Open (header only) an encoded image, refusing empty, unknown and oversize input."""
    if not data:
        raise HashError(f"{name}: empty file (0 bytes); nothing to hash - check the download or the path")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            img = Image.open(io.BytesIO(data))
    except Image.DecompressionBombError as exc:
        raise HashError(f"{name}: refused as a decompression bomb ({exc})") from exc
    except UnidentifiedImageError as exc:
        raise HashError(
            f"{name}: not an image format cordon can read (unsupported, corrupt or not an image)"
        ) from exc
    except _DECODE_ERRORS as exc:
        raise HashError(f"{name}: cannot read the image header ({exc})") from exc
    width, height = img.size
    if width <= 0 or height <= 0:
        raise HashError(f"{name}: image has no pixels ({width}x{height})")
    if width * height > max_pixels:
        raise HashError(
            f"{name}: refused as a possible decompression bomb: {width}x{height} = {width * height:,} pixels "
            f"exceeds the limit of {max_pixels:,}; raise max_pixels if the file is trusted"
        )
    return img


def decode_rgb(
    data: bytes,
    *,
    name: str = "<bytes>",
    mode: HashMode = HashMode.FAST,
    max_pixels: int = DEFAULT_MAX_PIXELS,
) -> Image.Image:
    """The first frame of an encoded image, oriented and in 8-bit RGB, after the fixed preprocessing."""
    img = open_image(data, name=name, max_pixels=max_pixels)
    if mode is HashMode.FAST and img.format == "JPEG":
        img.draft(img.mode, (FAST_SIDE, FAST_SIDE))
    return _prepare_frame(img, name=name, mode=mode)


def iter_frames_rgb(
    data: bytes,
    *,
    name: str = "<bytes>",
    mode: HashMode = HashMode.FAST,
    max_pixels: int = DEFAULT_MAX_PIXELS,
    max_frames: int = DEFAULT_MAX_FRAMES,
) -> Iterator[Image.Image]:
    """Every frame of an animated GIF/WebP/PNG (one frame for a still image), each preprocessed alike."""
    for _, frame in iter_timed_frames_rgb(
        data, name=name, mode=mode, max_pixels=max_pixels, max_frames=max_frames
    ):
        yield frame


def iter_timed_frames_rgb(
    data: bytes,
    *,
    name: str = "<bytes>",
    mode: HashMode = HashMode.FAST,
    max_pixels: int = DEFAULT_MAX_PIXELS,
    max_frames: int = DEFAULT_MAX_FRAMES,
) -> Iterator[tuple[float, Image.Image]]:
    """(start time in seconds, frame) for every frame of an animated GIF/WebP/PNG, each preprocessed like
    `decode_rgb`; a still image (and a multi-picture JPEG, whose extra pictures are previews) gives its first
    frame at 0.0. The header is read once."""
    img = open_image(data, name=name, max_pixels=max_pixels)
    if not is_animation(img):
        if mode is HashMode.FAST and img.format == "JPEG":
            img.draft(img.mode, (FAST_SIDE, FAST_SIDE))
        yield 0.0, _prepare_frame(img, name=name, mode=mode)
        return
    frames = int(getattr(img, "n_frames", 1))
    if frames > max_frames:
        raise HashError(
            f"{name}: {frames} frames exceed the limit of {max_frames}; raise max_frames if trusted"
        )
    start_ms = 0.0
    try:
        for frame in ImageSequence.Iterator(img):
            yield start_ms / 1000.0, _prepare_frame(frame, name=name, mode=mode)
            start_ms += float(frame.info.get("duration") or 0)
    except HashError:
        raise
    except _DECODE_ERRORS as exc:
        raise HashError(f"{name}: cannot decode a frame ({exc})") from exc


def is_animated(data: bytes) -> bool:
    """True when the bytes are an animated GIF, WebP or PNG (header only; False for anything unreadable, whose
    error the decoding itself then reports)."""
    if data[:3] != b"GIF" and data[:4] != b"RIFF" and data[:8] != b"\x89PNG\r\n\x1a\n":
        return False
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            with Image.open(io.BytesIO(data)) as img:
                return is_animation(img)
    except (Image.DecompressionBombError, UnidentifiedImageError, *_DECODE_ERRORS):
        return False


def is_animation(img: Image.Image) -> bool:
    """True for an animated GIF, WebP or PNG (APNG) with more than one frame."""
    return img.format in _ANIMATED_FORMATS and bool(getattr(img, "is_animated", False))


def _prepare_frame(img: Image.Image, *, name: str, mode: HashMode) -> Image.Image:
    try:
        img.load()
    except _DECODE_ERRORS as exc:
        raise HashError(f"{name}: truncated or corrupt image data ({exc})") from exc
    try:
        oriented = ImageOps.exif_transpose(img)
    except _DECODE_ERRORS:  # broken EXIF: hash the pixels as stored
        oriented = img
    try:
        rgb = to_rgb(oriented)
    except _DECODE_ERRORS as exc:
        raise HashError(f"{name}: cannot convert pixel mode {img.mode!r} to RGB ({exc})") from exc
    if mode is HashMode.FAST:
        target = (min(rgb.width, FAST_SIDE), min(rgb.height, FAST_SIDE))
        if target != rgb.size:
            rgb = rgb.resize(target, Image.Resampling.BILINEAR)
    return rgb


def to_rgb(img: Image.Image) -> Image.Image:
    """Convert any Pillow mode to 8-bit RGB as a viewer would see it.

    - ``CMYK`` (Adobe-inverted JPEGs included: Pillow's decoder undoes the inversion), ``YCbCr``, ``LAB``,
      ``HSV``, ``1``, ``L``, ``P`` without transparency, ``RGBX``: Pillow's colour conversion.
    - Alpha (``LA``, ``PA``, ``RGBA``, premultiplied ``La``/``RGBa``, ``P`` with a transparent index):
      composited on `ALPHA_BACKGROUND` (black).
    - 16-bit (``I;16*``): scaled to 8 bits (value / 257). ``I`` (32-bit): as is when every value fits 0..255
      (an 8-bit image widened), else /257 when it fits 16 bits, else min-max stretched.
    - ``F`` (float): x255 when every value is within 0..1, as is within 0..255, else min-max stretched.
    """
    if img.mode == "RGB":
        return img
    if img.mode == "P" and "transparency" in img.info:
        img = img.convert("RGBA")
    if img.mode in _ALPHA_MODES:
        return _composite(img)
    if img.mode in _SIXTEEN_BIT_MODES:
        grey = np.asarray(img).astype(np.float64) / 257.0
        return _grey_to_rgb(grey)
    if img.mode == "I":
        values = np.asarray(img).astype(np.float64)
        return _grey_to_rgb(_scale_wide(values, sixteen_bit_ok=True))
    if img.mode == "F":
        values = np.asarray(img).astype(np.float64)
        values = np.nan_to_num(values, nan=0.0, posinf=0.0, neginf=0.0)
        if values.size and values.min() >= 0.0 and values.max() <= 1.0:
            return _grey_to_rgb(values * 255.0)
        return _grey_to_rgb(_scale_wide(values, sixteen_bit_ok=False))
    return img.convert("RGB")


def _composite(img: Image.Image) -> Image.Image:
    if img.mode == "La":  # premultiplied grey: Pillow converts it only to LA
        img = img.convert("LA")
    rgba = img.convert("RGBA")
    background = Image.new("RGBA", rgba.size, (*ALPHA_BACKGROUND, 255))
    return Image.alpha_composite(background, rgba).convert("RGB")


def _scale_wide(values: np.ndarray, *, sixteen_bit_ok: bool) -> np.ndarray:
    if values.size == 0:
        return values
    low, high = float(values.min()), float(values.max())
    if low >= 0.0 and high <= 255.0:
        return values
    if sixteen_bit_ok and low >= 0.0 and high <= 65535.0:
        return values / 257.0
    if high == low:
        return np.zeros_like(values)
    return (values - low) * (255.0 / (high - low))


def _grey_to_rgb(grey: np.ndarray) -> Image.Image:
    eight_bit = np.clip(np.rint(grey), 0, 255).astype(np.uint8)
    return Image.fromarray(np.ascontiguousarray(np.repeat(eight_bit[:, :, np.newaxis], 3, axis=2)))
