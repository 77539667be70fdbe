"""Exact hashes: compared with hashlib computed independently, over sizes around the chunk boundary."""

from __future__ import annotations

import hashlib

from hypothesis import given, settings
from hypothesis import strategies as st

from cordon.signals.media.exact import exact_hashes


@given(st.binary(max_size=4096))
def test_matches_hashlib(data: bytes) -> None:
    media = exact_hashes(data, mime="image/png")
    assert media.sha256 == hashlib.sha256(data).hexdigest()
    assert media.md5 == hashlib.md5(data).hexdigest()
    assert media.sha1 == hashlib.sha1(data).hexdigest()
    assert media.size == len(data)
    assert media.mime == "image/png"


@settings(max_examples=5)
@given(st.integers(min_value=(1 << 20) - 2, max_value=(1 << 20) * 2 + 3))
def test_multi_chunk(size: int) -> None:
    data = bytes(range(256)) * (size // 256) + b"x" * (size % 256)
    assert exact_hashes(data).sha256 == hashlib.sha256(data).hexdigest()


def test_known_vector() -> None:
    # FIPS 180-2 test vector for "abc"
    assert exact_hashes(b"abc").sha256 == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
