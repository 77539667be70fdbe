"""`hash_many` and `hash_media`: order, exact hashes, one error per bad file, and a crashing decoder."""

from __future__ import annotations

import hashlib
import io
import multiprocessing
import os
from pathlib import Path

import numpy as np
import pdqhash
import pytest
from PIL import Image

from cordon.errors import HashError
from cordon.model import HashAlgo, MediaKind
from cordon.signals.media import hashing
from cordon.signals.media.hashing import HashedMedia, hash_many, hash_media, sniff_kind


def _png(seed: int, side: int = 200) -> bytes:
    rng = np.random.default_rng(seed)
    image = Image.fromarray(rng.integers(0, 256, (8, 8, 3), dtype=np.uint8)).resize((side, side))
    out = io.BytesIO()
    image.save(out, "PNG")
    return out.getvalue()


def _reference_pdq(data: bytes) -> str:
    bits, _ = pdqhash.compute(np.asarray(Image.open(io.BytesIO(data)).convert("RGB")))
    return np.packbits(np.asarray(bits, np.uint8)).tobytes().hex()


def test_hash_media_gives_exact_hashes_and_the_reference_pdq() -> None:
    data = _png(1)
    hashed = hash_media(data, name="one.png")
    assert (hashed.source, hashed.kind) == ("one.png", MediaKind.IMAGE)
    assert hashed.media.sha256 == hashlib.sha256(data).hexdigest()
    assert hashed.media.md5 == hashlib.md5(data).hexdigest()
    assert hashed.media.sha1 == hashlib.sha1(data).hexdigest()
    assert hashed.media.size == len(data)
    (pdq,) = hashed.perceptual
    assert (pdq.algo, pdq.value, pdq.sha256) == (HashAlgo.PDQ, _reference_pdq(data), hashed.media.sha256)


def test_sniff_kind_tells_videos_from_images() -> None:
    assert sniff_kind(_png(2)) is MediaKind.IMAGE
    assert sniff_kind(b"\x00\x00\x00\x18ftypisom" + b"\x00" * 8) is MediaKind.VIDEO
    assert sniff_kind(b"\x00\x00\x00\x18ftypavif" + b"\x00" * 8) is MediaKind.IMAGE  # AVIF is HEIF: an image
    assert sniff_kind(b"\x1a\x45\xdf\xa3" + b"\x00" * 20) is MediaKind.VIDEO  # Matroska / WebM


@pytest.mark.parametrize("workers", [1, 2])
def test_results_keep_input_order_and_bad_items_do_not_stop_the_batch(tmp_path: Path, workers: int) -> None:
    good = [_png(seed) for seed in range(4)]
    (tmp_path / "g0.png").write_bytes(good[0])
    sources: list[bytes | Path] = [
        tmp_path / "g0.png",
        b"",
        good[1],
        b"GIF89a" + b"\x00" * 10,
        good[2],
        tmp_path / "absent.png",
        good[3],
    ]
    results = hash_many(sources, workers=workers, progress=False, chunksize=1)
    kinds = [type(r) for r in results]
    assert kinds == [HashedMedia, HashError, HashedMedia, HashError, HashedMedia, HashError, HashedMedia]
    values = [r.perceptual[0].value for r in results if isinstance(r, HashedMedia)]
    assert values == [_reference_pdq(d) for d in good]
    assert "absent.png: cannot read the file" in str(results[5])


def test_an_unexpected_library_error_becomes_that_files_error(monkeypatch: pytest.MonkeyPatch) -> None:
    real = hashing.hash_media

    def flaky(source: object, **kwargs: object) -> HashedMedia:
        if source == b"boom":
            raise ZeroDivisionError("inside a decoder")
        return real(source, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(hashing, "hash_media", flaky)
    ok, bad = hash_many([_png(5), b"boom"], workers=1, progress=False)
    assert isinstance(ok, HashedMedia)
    assert isinstance(bad, HashError)
    assert str(bad) == "<bytes>: unexpected ZeroDivisionError while hashing (inside a decoder)"


@pytest.mark.skipif(multiprocessing.get_start_method() != "fork", reason="the patch reaches workers by fork")
def test_a_decoder_that_kills_its_process_fails_only_its_own_file(monkeypatch: pytest.MonkeyPatch) -> None:
    real = hashing.hash_media

    def crashing(source: object, **kwargs: object) -> HashedMedia:
        if source == b"crash":
            os._exit(1)  # what a segfaulting native decoder does to the worker
        return real(source, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(hashing, "hash_media", crashing)
    sources = [_png(6), b"crash", _png(7), _png(8)]
    results = hash_many(sources, workers=2, progress=False, chunksize=1)
    assert [type(r) for r in results] == [HashedMedia, HashError, HashedMedia, HashedMedia]
    assert "decoder crashed" in str(results[1])
    assert results[3].perceptual[0].value == _reference_pdq(sources[3])  # type: ignore[union-attr]
