"""The fixed preprocessing: every mode, EXIF orientation, animation, bad input, and never a crash."""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from PIL import Image, ImageOps

from cordon.errors import HashError
from cordon.signals.media.decode import FAST_SIDE, decode_rgb
from cordon.signals.media.pdq import PdqResult, hamming_distance, hash_image, hash_image_frames, hash_rgb

MODES_DIR = (
    Path(__file__).resolve().parents[4].parent / "shared" / "vectors" / "pdq" / "misc-images" / "modes"
)
BRIDGE = MODES_DIR.parents[1] / "reg-test-input" / "dih" / "bridge-1-original.jpg"
NEAR = 8


def _encode(image: Image.Image, fmt: str, **params: object) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, fmt, **params)
    return buffer.getvalue()


@pytest.fixture(scope="module")
def original() -> Image.Image:
    return Image.open(BRIDGE).convert("RGB")


@pytest.fixture(scope="module")
def original_hash() -> PdqResult:
    return hash_image(BRIDGE.read_bytes())


@pytest.mark.parametrize("mode", ["fast", "full"])
@pytest.mark.parametrize(
    "path", sorted(p for p in MODES_DIR.iterdir() if p.suffix != ".md"), ids=lambda p: p.name
)
def test_every_mode_file_near_original(path: Path, mode: str) -> None:
    reference = hash_image((MODES_DIR / "original.jpg").read_bytes(), mode=mode)
    assert hamming_distance(hash_image(path.read_bytes(), mode=mode).hex, reference.hex) <= NEAR


def test_cmyk_jpeg_near_rgb(original: Image.Image, original_hash: PdqResult) -> None:
    # python-threatexchange 1.2.17 lands 254 bits away here (it hashes C, M, Y as R, G, B).
    data = _encode(original.convert("CMYK"), "JPEG", quality=95)
    assert Image.open(io.BytesIO(data)).mode == "CMYK"
    assert hamming_distance(hash_image(data).hex, original_hash.hex) <= NEAR


@pytest.mark.parametrize("transparency", [False, True])
def test_palette_png_near_rgb(original: Image.Image, original_hash: PdqResult, transparency: bool) -> None:
    # python-threatexchange 1.2.17 hashes the palette indices as grey: 38 bits away.
    palette = original.quantize(256)
    params = {"transparency": 255} if transparency else {}
    data = _encode(palette, "PNG", **params)
    assert hamming_distance(hash_image(data).hex, original_hash.hex) <= NEAR


def test_sixteen_bit_png_near_grey(original: Image.Image) -> None:
    grey = np.asarray(original.convert("L")).astype(np.uint16) * 257
    data = _encode(Image.fromarray(grey), "PNG")
    assert Image.open(io.BytesIO(data)).mode.startswith("I;16")
    expected = hash_image(_encode(original.convert("L"), "PNG"))
    assert hamming_distance(hash_image(data).hex, expected.hex) <= 2


def test_float_and_int_modes_near_grey(original: Image.Image) -> None:
    grey = hash_image(_encode(original.convert("L"), "PNG"))
    as_float = Image.fromarray(np.asarray(original.convert("L"), dtype=np.float32) / 255.0)
    assert hamming_distance(hash_image(_encode(as_float, "TIFF")).hex, grey.hex) <= 2
    as_int = original.convert("I")
    assert hamming_distance(hash_image(_encode(as_int, "TIFF")).hex, grey.hex) <= 2


def test_alpha_is_composited_on_black(original: Image.Image) -> None:
    rgba = original.convert("RGBA")
    alpha = np.full((original.height, original.width), 255, dtype=np.uint8)
    alpha[:, : original.width // 2] = 0  # left half transparent
    rgba.putalpha(Image.fromarray(alpha))
    on_black = np.asarray(original).copy()
    on_black[:, : original.width // 2] = 0
    expected = hash_image(_encode(Image.fromarray(on_black), "PNG"))
    assert hash_image(_encode(rgba, "PNG")) == expected


@pytest.mark.parametrize("orientation", range(1, 9))
def test_exif_orientation_undone(original: Image.Image, original_hash: PdqResult, orientation: int) -> None:
    # Store the pixels so that a viewer applying `orientation` shows the upright image.
    inverse = {
        1: None,
        2: Image.Transpose.FLIP_LEFT_RIGHT,
        3: Image.Transpose.ROTATE_180,
        4: Image.Transpose.FLIP_TOP_BOTTOM,
        5: Image.Transpose.TRANSPOSE,
        6: Image.Transpose.ROTATE_90,
        7: Image.Transpose.TRANSVERSE,
        8: Image.Transpose.ROTATE_270,
    }[orientation]
    stored = original if inverse is None else original.transpose(inverse)
    exif = Image.Exif()
    exif[0x0112] = orientation
    data = _encode(stored, "JPEG", quality=95, exif=exif.tobytes())
    assert hamming_distance(hash_image(data).hex, original_hash.hex) <= NEAR


def test_reference_exif_rotations_are_applied() -> None:
    """Meta's exif-rotn images are four different photographs stored with orientations 1, 3, 6 and 8. The
    hash of each file must be the hash of its pixels turned upright as the tag says (Pillow's own
    `exif_transpose`, full resolution), and far from the hash of its pixels as stored (tags 3, 6, 8)."""
    folder = MODES_DIR.parents[1] / "reg-test-input" / "exif-rotn"
    files = sorted(folder.glob("*.jpg"))
    assert [p.stem for p in files] == ["exif-rotn-1", "exif-rotn-3", "exif-rotn-6", "exif-rotn-8"]
    for path in files:
        data = path.read_bytes()
        ours = hash_image(data)
        with Image.open(io.BytesIO(data)) as img:
            stored = hash_rgb(img.convert("RGB"))
            upright = hash_rgb(ImageOps.exif_transpose(img).convert("RGB"))
        assert hamming_distance(ours.hex, upright.hex) <= NEAR, path.name
        if not path.stem.endswith("-1"):
            assert hamming_distance(ours.hex, stored.hex) > 64, path.name


def test_animated_gif_first_frame_and_all_frames(original: Image.Image) -> None:
    small = original.resize((320, 200))
    frames = [small, small.transpose(Image.Transpose.ROTATE_180), Image.effect_noise((320, 200), 60)]
    data = _encode(frames[0], "GIF", save_all=True, append_images=frames[1:], duration=100)
    first = hash_image(data)
    assert hamming_distance(first.hex, hash_image(_encode(small, "GIF")).hex) <= 2
    every = hash_image_frames(data)
    assert len(every) == 3
    assert every[0] == first
    assert hamming_distance(every[1].hex, first.hex) > 64


def test_animated_webp_first_frame(original: Image.Image) -> None:
    small = original.resize((320, 200))
    data = _encode(
        small, "WEBP", save_all=True, append_images=[Image.effect_noise((320, 200), 60)], quality=90
    )
    assert hamming_distance(hash_image(data).hex, hash_image(_encode(small, "WEBP", quality=90)).hex) <= NEAR
    assert len(hash_image_frames(data)) == 2


def test_fast_mode_decodes_large_jpeg_small(original: Image.Image) -> None:
    big = _encode(original.resize((4000, 3000)), "JPEG", quality=90)
    fast = decode_rgb(big)
    assert fast.size == (FAST_SIDE, FAST_SIDE)
    assert decode_rgb(big, mode="full").size == (4000, 3000)  # type: ignore[arg-type]
    assert hamming_distance(hash_image(big).hex, hash_image(big, mode="full").hex) <= NEAR


def test_low_quality_flagged() -> None:
    flat = hash_image(_encode(Image.new("RGB", (100, 100), (120, 120, 120)), "PNG"))
    assert flat.low_quality
    assert not hash_image(BRIDGE.read_bytes()).low_quality


def test_decompression_bomb_refused() -> None:
    data = _encode(Image.new("L", (3000, 3000)), "PNG")
    with pytest.raises(HashError, match=r"bomb\.png.*decompression bomb"):
        hash_image(data, name="bomb.png", max_pixels=1_000_000)


def test_pillow_bomb_limit_is_the_default() -> None:
    # A PNG whose header declares 2^15 x 2^15 pixels: refused from the header, never decoded.
    data = _encode(Image.new("1", (32768, 32768)), "PNG")
    with pytest.raises(HashError, match="decompression bomb"):
        hash_image(data, name="huge.png")


def test_truncated_jpeg(original: Image.Image) -> None:
    data = _encode(original, "JPEG")
    with pytest.raises(HashError, match=r"cut\.jpg: truncated or corrupt"):
        hash_image(data[: len(data) // 2], name="cut.jpg")


def test_zero_bytes_and_text() -> None:
    with pytest.raises(HashError, match=r"empty\.jpg: empty file"):
        hash_image(b"", name="empty.jpg")
    with pytest.raises(HashError, match=r"notes\.txt: not an image"):
        hash_image(b"just some text, not an image\n" * 10, name="notes.txt")


MODES = ["1", "L", "P", "PA", "LA", "RGB", "RGBA", "CMYK", "YCbCr", "LAB", "HSV", "I", "I;16", "F", "RGBX"]
FORMATS = {"PNG", "TIFF", "WEBP", "JPEG", "GIF", "BMP"}


@settings(max_examples=60, deadline=None)
@given(
    width=st.integers(1, 40),
    height=st.integers(1, 40),
    mode=st.sampled_from(MODES),
    fmt=st.sampled_from(sorted(FORMATS)),
    seed=st.integers(0, 2**16),
    cut=st.integers(0, 3),
)
def test_random_small_images_never_crash(
    width: int, height: int, mode: str, fmt: str, seed: int, cut: int
) -> None:
    pixels = np.random.default_rng(seed).integers(0, 256, (height, width, 3), dtype=np.uint8)
    image = (
        Image.fromarray(pixels).convert(mode)
        if mode not in {"I;16"}
        else Image.fromarray(pixels[..., 0] * 200)
    )
    try:
        data = _encode(image, fmt)
    except (OSError, ValueError, KeyError):
        return  # this format cannot store this mode
    if cut:
        data = data[: len(data) * cut // 4]
    try:
        result = hash_image(data, name="random")
    except HashError as exc:
        assert "random" in str(exc)
    else:
        assert len(result.hex) == 64
        assert 0 <= result.quality <= 100
