"""Conformance with every hash that a reference PDQ implementation's own tests assert (expected.csv).

Each row is hashed with the preprocessing that the asserting implementation uses and must be within that
test's tolerance. `full` rows (python-threatexchange, Java) are bit-exact, quality included.
"""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from cordon.signals.media.decode import decode_rgb
from cordon.signals.media.pdq import PdqResult, hamming_distance, hash_image, hash_rgb

PDQ_DIR = Path(__file__).resolve().parents[4].parent / "shared" / "vectors" / "pdq"
ROWS = list(csv.DictReader((PDQ_DIR / "expected.csv").open(encoding="utf-8")))
REFERENCE_SIDE = 512

# The C++ reference (CImg nearest-neighbour resize to 512x512) lands 12 bits from its README's values on these
# two files with every decoder tried here (Pillow, FFmpeg); its README tolerance is 10. Kept visible, not hidden.
CPP_OVER_TOLERANCE = {"reg-test-input/dih/bridge-2-rotate-90.jpg", "reg-test-input/dih/bridge-6-flipy.jpg"}


def _pytx_pixels(path: Path) -> np.ndarray:
    """python-threatexchange 1.2.17's own conversion (pdq_hasher.py): LA and I;16 through Pillow's convert
    (drops alpha, clips 16-bit values at 255), 2-D arrays stacked to three channels."""
    image = Image.open(path)
    if image.mode in {"LA", "I;16"}:
        image = image.convert("RGB")
    pixels = np.asarray(image)
    if pixels.ndim == 2:
        pixels = np.stack([pixels] * 3, axis=2)
    return pixels


def _cimg_nearest_512(image: Image.Image) -> np.ndarray:
    """The C++ reference: CImg's default (nearest-neighbour) resize to 512x512 when a side exceeds 512."""
    pixels = np.asarray(image)
    rows, cols = pixels.shape[:2]
    if rows <= REFERENCE_SIDE and cols <= REFERENCE_SIDE:
        return pixels
    steps = np.arange(REFERENCE_SIDE)
    return pixels[(steps * rows) // REFERENCE_SIDE][:, (steps * cols) // REFERENCE_SIDE]


def _hash_as_reference(row: dict[str, str]) -> PdqResult:
    path = PDQ_DIR / row["file"]
    data = path.read_bytes()
    preprocessing = row["reference_preprocessing"]
    if preprocessing == "full" and "python-threatexchange" in row["asserted_by"]:
        return hash_rgb(_pytx_pixels(path))
    if preprocessing == "full":
        return hash_image(data, name=row["file"], mode="full")
    if preprocessing == "thumbnail512":
        image = decode_rgb(data, name=row["file"], mode="full")
        image.thumbnail((REFERENCE_SIDE, REFERENCE_SIDE))
        return hash_rgb(image)
    if preprocessing == "resize512x512":
        return hash_rgb(_cimg_nearest_512(decode_rgb(data, name=row["file"], mode="full")))
    return hash_image(data, name=row["file"])  # "unknown": cordon's own fixed preprocessing


def _row_id(row: dict[str, str]) -> str:
    return f"{row['reference_preprocessing']}:{row['file']}:{row['asserted_by'].split('/')[0]}"


def _params() -> list[object]:
    params: list[object] = []
    for row in ROWS:
        marks = []
        if row["reference_preprocessing"] == "resize512x512" and row["file"] in CPP_OVER_TOLERANCE:
            marks.append(pytest.mark.xfail(strict=True, reason="12 bits from the C++ README vs tolerance 10"))
        params.append(pytest.param(row, id=_row_id(row), marks=marks))
    return params


@pytest.mark.parametrize("row", _params())
def test_reference_row_within_tolerance(row: dict[str, str]) -> None:
    result = _hash_as_reference(row)
    distance = hamming_distance(result.hex, row["pdq_hex"])
    assert distance <= int(row["reference_tolerance_bits"]), (row["file"], result.hex, distance)
    if row["quality"]:
        assert result.quality == int(row["quality"])


@pytest.mark.parametrize("row", [r for r in ROWS if r["reference_preprocessing"] == "full"], ids=_row_id)
def test_full_rows_bit_exact(row: dict[str, str]) -> None:
    result = _hash_as_reference(row)
    assert result.hex == row["pdq_hex"]
    if row["quality"]:
        assert result.quality == int(row["quality"])


def test_full_mode_of_plain_rgb_is_bit_exact_with_pytx_and_java() -> None:
    for row in ROWS:
        if row["reference_preprocessing"] == "full" and Image.open(PDQ_DIR / row["file"]).mode == "RGB":
            result = hash_image((PDQ_DIR / row["file"]).read_bytes(), mode="full")
            assert result.hex == row["pdq_hex"], row["file"]


def test_cordon_fixes_pytx_sixteen_bit_clipping() -> None:
    # python-threatexchange clips a full-range 16-bit PNG at 255 (quality 36, nearly white); cordon scales it.
    row = next(r for r in ROWS if r["file"].endswith("I16.png"))
    ours = hash_image((PDQ_DIR / row["file"]).read_bytes(), mode="full")
    assert int(row["quality"]) < 50 <= ours.quality
    scaled = (np.asarray(Image.open(PDQ_DIR / row["file"])).astype(np.float64) / 257).round().astype(np.uint8)
    assert ours == hash_rgb(np.stack([scaled] * 3, axis=2))
