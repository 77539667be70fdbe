"""Synthetic identifiers with real formats: Mastodon snowflake ids, checksum-valid wallets, invite codes.

Every value is drawn from the world's random generator, so it is deterministic per seed and points at
nothing: wallets come from random bytes (no key exists for them), invite codes and handles are random.
Checksums are the real ones (base58check double SHA-256, BIP-173 bech32, EIP-55), so cordon's entity
extractor accepts them exactly as it would accept a real address.
"""

from __future__ import annotations

import hashlib

import numpy as np
from Crypto.Hash import keccak

_B58 = "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz"
_BECH32 = "qpzry9x8gf2tvdw0s3jn54khce6mua7l"
_BECH32_GEN = (0x3B6A57B2, 0x26508E6D, 0x1EA119FA, 0x3D4233DD, 0x2A1462B3)
_URLSAFE = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
_ALNUM = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"
_SNOWFLAKE_SEQ_BITS = 16


def snowflake_ids(ms: np.ndarray, rank: np.ndarray) -> np.ndarray:
    """Mastodon-style ids: creation time in milliseconds shifted left 16 bits, plus a 16-bit sequence.

    `rank` is the row's position in creation order, so rows that share a millisecond get consecutive
    sequence numbers and distinct ids (up to 65,536 per millisecond). Ids sort like creation times.
    """
    seq = np.asarray(rank, dtype=np.int64) & ((1 << _SNOWFLAKE_SEQ_BITS) - 1)
    return (np.asarray(ms, dtype=np.int64) << _SNOWFLAKE_SEQ_BITS) | seq


def b58encode(data: bytes) -> str:
    """Bitcoin base58 (leading zero bytes become '1')."""
    num = int.from_bytes(data, "big")
    out = []
    while num:
        num, rem = divmod(num, 58)
        out.append(_B58[rem])
    pad = len(data) - len(data.lstrip(b"\0"))
    return "1" * pad + "".join(reversed(out))


def base58check(version: int, payload: bytes) -> str:
    """base58check of `version || payload` with the 4-byte double-SHA-256 checksum."""
    body = bytes([version]) + payload
    check = hashlib.sha256(hashlib.sha256(body).digest()).digest()[:4]
    return b58encode(body + check)


def _bech32_polymod(values: list[int]) -> int:
    chk = 1
    for v in values:
        top = chk >> 25
        chk = (chk & 0x1FFFFFF) << 5 ^ v
        for i in range(5):
            chk ^= _BECH32_GEN[i] if (top >> i) & 1 else 0
    return chk


def _to_5bit(data: bytes) -> list[int]:
    acc = bits = 0
    out: list[int] = []
    for byte in data:
        acc = (acc << 8) | byte
        bits += 8
        while bits >= 5:
            bits -= 5
            out.append((acc >> bits) & 31)
    if bits:
        out.append((acc << (5 - bits)) & 31)
    return out


def bech32_segwit_v0(hrp: str, program: bytes) -> str:
    """A BIP-173 segwit version-0 address (bech32 checksum) for a 20- or 32-byte witness program."""
    data = [0, *_to_5bit(program)]
    expanded = [ord(c) >> 5 for c in hrp] + [0] + [ord(c) & 31 for c in hrp]
    polymod = _bech32_polymod([*expanded, *data, 0, 0, 0, 0, 0, 0]) ^ 1
    checksum = [(polymod >> 5 * (5 - i)) & 31 for i in range(6)]
    return hrp + "1" + "".join(_BECH32[d] for d in data + checksum)


def eip55(address20: bytes) -> str:
    """An Ethereum address in EIP-55 mixed-case checksum form."""
    lower = address20.hex()
    digest = keccak.new(data=lower.encode("ascii"), digest_bits=256).hexdigest()
    return "0x" + "".join(
        c.upper() if c.isalpha() and int(d, 16) >= 8 else c for c, d in zip(lower, digest[:40], strict=True)
    )


def _bytes(rng: np.random.Generator, n: int) -> bytes:
    return rng.integers(0, 256, size=n, dtype=np.uint8).tobytes()


def btc_p2pkh(rng: np.random.Generator) -> str:
    """A legacy Bitcoin address (starts with '1') from a random 20-byte hash."""
    return base58check(0x00, _bytes(rng, 20))


def btc_bech32(rng: np.random.Generator) -> str:
    """A native segwit Bitcoin address (bc1q...) from a random 20-byte program."""
    return bech32_segwit_v0("bc", _bytes(rng, 20))


def eth_address(rng: np.random.Generator) -> str:
    """An EIP-55 checksummed Ethereum address from 20 random bytes."""
    return eip55(_bytes(rng, 20))


def _chars(rng: np.random.Generator, alphabet: str, n: int) -> str:
    return "".join(alphabet[i] for i in rng.integers(0, len(alphabet), size=n))


def telegram_invite(rng: np.random.Generator) -> str:
    """A private Telegram invite link, ``https://t.me/+<16 url-safe chars>``."""
    return "https://t.me/+" + _chars(rng, _URLSAFE, 16)


def discord_invite(rng: np.random.Generator) -> str:
    """A Discord invite, ``https://discord.gg/<8-10 alphanumerics>``."""
    return "https://discord.gg/" + _chars(rng, _ALNUM, int(rng.integers(8, 11)))


def session_id(rng: np.random.Generator) -> str:
    """A Session messenger id: '05' and 64 hex digits (an X25519 public key)."""
    return "05" + _bytes(rng, 32).hex()
