"""Exact hashes of media bytes: SHA-256 (the media id), MD5 and SHA-1 (for NCMEC), in one pass."""

from __future__ import annotations

import hashlib

from cordon.model import Media

_CHUNK = 1 << 20


def exact_hashes(data: bytes, *, mime: str = "") -> Media:
    """SHA-256, MD5, SHA-1 and size of `data`, reading it once in cache-sized chunks."""
    sha256, md5, sha1 = (
        hashlib.sha256(),
        hashlib.md5(usedforsecurity=False),
        hashlib.sha1(usedforsecurity=False),
    )
    view = memoryview(data)
    for start in range(0, len(view), _CHUNK):
        chunk = view[start : start + _CHUNK]
        sha256.update(chunk)
        md5.update(chunk)
        sha1.update(chunk)
    return Media(
        sha256=sha256.hexdigest(), md5=md5.hexdigest(), sha1=sha1.hexdigest(), size=len(data), mime=mime
    )
