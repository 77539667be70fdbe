"""Procedural stand-in images: smooth colour fields with a few shapes and fine grain, nothing else.

Every image of a simulated world comes from here: benign photos and memes, avatars, the bank's "known"
items and the network's media. An *altered copy* of an image is what a re-upload looks like: downscaled,
re-encoded as JPEG at another quality and trimmed by a few pixels at the edges. PDQ survives that (a median
of ~15 bits); it does not survive much cropping, so crops stay under 1.5% a side.
"""

from __future__ import annotations

import io
from dataclasses import dataclass

import numpy as np
from PIL import Image, ImageDraw

BANK_SIDE = 384
PHOTO_SIDE = 384
AVATAR_SIDE = 128
MAX_CROP = 0.015


def procedural_image(
    rng: np.random.Generator, side: int = PHOTO_SIDE, *, caption: bool = False, grain: bool = True
) -> Image.Image:
    """A smooth random colour field with 2-5 flat shapes and light grain (a photo stand-in; without grain a
    screenshot or logo stand-in, which PNG compresses well); `caption` adds a meme-style bar."""
    grid = rng.integers(0, 256, size=(4, 4, 3), dtype=np.uint8)
    img = Image.fromarray(grid).resize((side, side), Image.Resampling.BICUBIC)
    draw = ImageDraw.Draw(img)
    for _ in range(int(rng.integers(2, 6))):
        x, y = (int(v) for v in rng.integers(0, side, size=2))
        w, h = (int(v) // 2 for v in rng.integers(side // 5, side // 2, size=2))
        colour = tuple(int(c) for c in rng.integers(0, 256, size=3))
        box = (x - w, y - h, x + w, y + h)
        if rng.random() < 0.5:
            draw.ellipse(box, fill=colour)
        else:
            draw.rectangle(box, fill=colour)
    if caption:
        bar = side // 6
        draw.rectangle((0, 0, side, bar), fill=(250, 250, 250))
        for i in range(int(rng.integers(3, 7))):
            x0 = 8 + i * side // 7
            draw.rectangle((x0, bar // 3, x0 + side // 9, 2 * bar // 3), fill=(20, 20, 20))
    if not grain:
        return img
    noise = rng.integers(0, 256, size=(side // 4, side // 4, 3), dtype=np.uint8)
    return Image.blend(img, Image.fromarray(noise).resize((side, side), Image.Resampling.NEAREST), 0.06)


def encode(img: Image.Image, fmt: str = "JPEG", quality: int = 88) -> bytes:
    """The image's bytes as JPEG (at `quality`) or PNG. Pillow's output is deterministic for both."""
    out = io.BytesIO()
    if fmt == "JPEG":
        img.save(out, format="JPEG", quality=quality)
    else:
        img.save(out, format="PNG", optimize=False, compress_level=3)
    return out.getvalue()


@dataclass(frozen=True, slots=True)
class Alteration:
    """How a re-upload differs from its source: scale, JPEG quality, and the crop at each edge (a share)."""

    scale: float
    quality: int
    crop: tuple[float, float, float, float]

    def milder(self) -> Alteration:
        """The same kind of change, half as strong (used when a copy drifted too far from its source)."""
        return Alteration(
            scale=min(1.0, self.scale + (1.0 - self.scale) / 2),
            quality=min(95, self.quality + 10),
            crop=(self.crop[0] / 2, self.crop[1] / 2, self.crop[2] / 2, self.crop[3] / 2),
        )


def random_alteration(rng: np.random.Generator) -> Alteration:
    crop = rng.uniform(0.0, MAX_CROP, size=4)
    return Alteration(
        scale=float(rng.uniform(0.5, 0.9)),
        quality=int(rng.integers(55, 91)),
        crop=(float(crop[0]), float(crop[1]), float(crop[2]), float(crop[3])),
    )


def altered_copy(img: Image.Image, change: Alteration) -> bytes:
    """JPEG bytes of `img` cropped, downscaled and re-encoded as `change` says."""
    w, h = img.size
    left, top = int(change.crop[0] * w), int(change.crop[1] * h)
    right, bottom = w - int(change.crop[2] * w), h - int(change.crop[3] * h)
    cropped = img.crop((left, top, right, bottom))
    size = (max(32, int(cropped.width * change.scale)), max(32, int(cropped.height * change.scale)))
    return encode(cropped.resize(size, Image.Resampling.LANCZOS), "JPEG", change.quality)
