"""The world's media files: a bounded pool of images written once to the export's media/ folder.

Posts and avatars refer to these files by name (an attachment URL's last segment), so a world of ten million
posts still holds only a few thousand files. The bank's originals are never written to media/: only their
hashes go to bank.csv. The network posts altered copies of bank items (each checked to stay within the PDQ
match threshold of its original, exact hashes all different) and novel images (each checked to be farther
than the threshold from every bank item).
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import TypeVar

import numpy as np

from cordon.model import BankCategory, BankEntry, HashAlgo
from cordon.signals.media.bank_formats import EntryColumns, write_csv
from cordon.signals.media.exact import exact_hashes
from cordon.signals.media.pdq import hamming_distance, hash_image
from cordon.sim.images import (
    AVATAR_SIDE,
    BANK_SIDE,
    PHOTO_SIDE,
    altered_copy,
    encode,
    procedural_image,
    random_alteration,
)

PDQ_THRESHOLD = 31
BANK_NAME = "sim-known"
_MAX_ALTER_TRIES = 6
_DEFAULT_AVATARS = 6
_MEDIA_STREAM = 2
T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class MediaFile:
    """One file in media/: its name there and the SHA-256 of its bytes."""

    name: str
    sha256: str


@dataclass(slots=True)
class MediaLibrary:
    """Every file of a world, by use. Lists are indexed by the generators (pool index -> file)."""

    background: list[MediaFile] = field(default_factory=list)
    memes: list[list[MediaFile]] = field(default_factory=list)  # meme -> its variants (re-encodes)
    default_avatars: list[MediaFile] = field(default_factory=list)
    avatars: list[MediaFile] = field(default_factory=list)
    bank_copies: list[list[MediaFile]] = field(default_factory=list)  # used bank item -> altered copies
    bank_copy_source: list[str] = field(default_factory=list)  # used bank item -> sha256 of the original
    novel: list[MediaFile] = field(default_factory=list)
    bank_entries: list[BankEntry] = field(default_factory=list)
    bank_sha256: list[str] = field(default_factory=list)
    bank_pdq: list[str] = field(default_factory=list)


class MediaWriter:
    """Writes files into media/ named by a SHA-256 prefix (stable and unique), once each."""

    def __init__(self, media_dir: Path) -> None:
        self.media_dir = media_dir
        media_dir.mkdir(parents=True, exist_ok=True)
        self._written: dict[str, MediaFile] = {}

    def write(self, data: bytes, ext: str) -> MediaFile:
        sha = hashlib.sha256(data).hexdigest()
        hit = self._written.get(sha)
        if hit is not None:
            return hit
        item = MediaFile(name=f"{sha[:24]}.{ext}", sha256=sha)
        (self.media_dir / item.name).write_bytes(data)
        self._written[sha] = item
        return item

    @property
    def count(self) -> int:
        return len(self._written)


def _pdq_bits(hexes: list[str]) -> np.ndarray:
    """PDQ hashes as an (n, 32) uint8 array for vectorised Hamming distances."""
    if not hexes:
        return np.zeros((0, 32), dtype=np.uint8)
    return np.frombuffer(bytes.fromhex("".join(hexes)), dtype=np.uint8).reshape(len(hexes), 32)


def min_distance(pdq_hex: str, bank: np.ndarray) -> int:
    """The smallest Hamming distance between one PDQ hash and an (n, 32) array of them."""
    if len(bank) == 0:
        return 256
    probe = np.frombuffer(bytes.fromhex(pdq_hex), dtype=np.uint8)
    return int(np.unpackbits(np.bitwise_xor(bank, probe), axis=1).sum(axis=1).min())


def _item_rng(seed: int, kind: int, index: int) -> np.random.Generator:
    """Each image has its own random stream, so images can be made in any order (in threads) and still be
    identical for a seed."""
    return np.random.default_rng([seed, _MEDIA_STREAM, kind, index])


def _photo(seed: int, i: int) -> tuple[bytes, str]:
    rng = _item_rng(seed, 0, i)
    fmt = "PNG" if i % 11 == 0 else "JPEG"  # some screenshots among the photos
    img = procedural_image(rng, PHOTO_SIDE if i % 3 else 320, grain=fmt == "JPEG")
    return encode(img, fmt, int(rng.integers(70, 93))), "png" if fmt == "PNG" else "jpg"


def _meme(seed: int, i: int) -> list[bytes]:
    rng = _item_rng(seed, 1, i)
    img = procedural_image(rng, 320, caption=True)
    return [encode(img, "JPEG", q) for q in (85, 72, 64)[: int(rng.integers(1, 4))]]


def _avatar(seed: int, i: int) -> bytes:
    rng = _item_rng(seed, 2, i)
    return encode(procedural_image(rng, AVATAR_SIDE), "JPEG", int(rng.integers(75, 93)))


def _default_avatar(seed: int, i: int) -> bytes:
    return encode(procedural_image(_item_rng(seed, 3, i), AVATAR_SIDE, grain=False), "PNG")


@dataclass(frozen=True, slots=True)
class _BankItem:
    original: bytes
    pdq: str
    copies: tuple[bytes, ...]  # altered copies, each within the PDQ threshold of the original


def _bank_item(seed: int, i: int, used: bool) -> _BankItem:
    rng = _item_rng(seed, 4, i)
    img = procedural_image(rng, BANK_SIDE)
    original = encode(img, "JPEG", 95)
    pdq = hash_image(original, name=f"bank item {i}").hex
    copies: list[bytes] = []
    for _ in range(int(rng.integers(1, 4)) if used else 0):
        change = random_alteration(rng)
        for _ in range(_MAX_ALTER_TRIES):
            data = altered_copy(img, change)
            if hamming_distance(hash_image(data).hex, pdq) <= PDQ_THRESHOLD:
                copies.append(data)
                break
            change = change.milder()
    return _BankItem(original, pdq, tuple(copies))


def _novel(seed: int, i: int) -> tuple[bytes, str]:
    rng = _item_rng(seed, 5, i)
    data = encode(procedural_image(rng, PHOTO_SIDE), "JPEG", int(rng.integers(70, 93)))
    return data, hash_image(data).hex


def _in_order(
    pool: ThreadPoolExecutor, make: Callable[[int], T], n: int, tick: Callable[[int], None]
) -> Iterator[T]:
    for item in pool.map(make, range(n)):
        tick(1)
        yield item


def build_media(
    writer: MediaWriter, seed: int, lib: MediaLibrary, *, background: int, memes: int, avatars: int,
    bank_items: int, bank_used: int, novel: int, tick: Callable[[int], None], workers: int = 2,
) -> None:  # fmt: skip
    """Every image of the world: background photos, memes (1-3 re-encoded variants each), default and
    personal avatars, the bank's originals (hashes only) with altered copies of the first `bank_used`, and
    novel images (each farther than the PDQ threshold from every bank item). Images are made in threads
    (Pillow and pdqhash release the GIL) from per-image random streams, so the result does not depend on
    scheduling."""
    with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="cordon-sim-media") as pool:
        for data, ext in _in_order(pool, lambda i: _photo(seed, i), background, tick):
            lib.background.append(writer.write(data, ext))
        for variants in _in_order(pool, lambda i: _meme(seed, i), memes, tick):
            lib.memes.append([writer.write(v, "jpg") for v in variants])
        for i in range(_DEFAULT_AVATARS):
            lib.default_avatars.append(writer.write(_default_avatar(seed, i), "png"))
        for data in _in_order(pool, lambda i: _avatar(seed, i), avatars, tick):
            lib.avatars.append(writer.write(data, "jpg"))
        for i, item in enumerate(
            _in_order(pool, lambda i: _bank_item(seed, i, i < bank_used), bank_items, tick)
        ):
            media = exact_hashes(item.original)
            lib.bank_sha256.append(media.sha256)
            lib.bank_pdq.append(item.pdq)
            for algo, value in (
                (HashAlgo.PDQ, item.pdq),
                (HashAlgo.MD5, media.md5),
                (HashAlgo.SHA1, media.sha1),
                (HashAlgo.SHA256, media.sha256),
            ):
                lib.bank_entries.append(
                    BankEntry(
                        BANK_NAME,
                        f"sim-{i:05d}",
                        algo,
                        value,
                        BankCategory.CHILD_SAFETY,
                        "synthetic stand-in",
                    )
                )
            if item.copies:
                lib.bank_copies.append([writer.write(c, "jpg") for c in item.copies])
                lib.bank_copy_source.append(media.sha256)
        bank_bits = _pdq_bits(lib.bank_pdq)
        candidates = _in_order(pool, lambda i: _novel(seed, i), novel * 2 + 8, lambda _n: None)
        for data, pdq in candidates:
            if len(lib.novel) == novel:
                break
            if min_distance(pdq, bank_bits) > PDQ_THRESHOLD:
                lib.novel.append(writer.write(data, "jpg"))
                tick(1)


def write_bank_csv(path: Path, lib: MediaLibrary) -> int:
    """bank.csv in cordon's bank CSV format (one row per item: pdq, md5, sha1, sha256, id, category, note)."""
    return write_csv(EntryColumns.from_entries(lib.bank_entries), path)
