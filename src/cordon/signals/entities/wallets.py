"""Crypto wallet validation by checksum: a candidate that fails its checksum is not an entity.

Why checksums and not just shapes: a 34-character base58 run or a 40-hex string appears by chance in
ids, hashes and URLs; the 4-byte checksums make a chance hit about one in four billion, so every wallet
that reaches the co-action graph is a real address someone typed or pasted.

Normalised values carry the chain as a prefix (``btc:``, ``ltc:``, ``eth:``, ``xmr:``) because the model's
``EntityKind.WALLET`` has no chain field. Case is kept where the encoding is case-sensitive (base58) and
folded where it is not (bech32, hex).

Ambiguity: base58check version byte 0x05 (addresses starting ``3``) is P2SH on both Bitcoin and Litecoin
(Litecoin's legacy P2SH); such addresses are reported as ``btc:``.
"""

from __future__ import annotations

import hashlib

from Crypto.Hash import keccak

_B58_ALPHABET = "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz"
_B58_INDEX = {c: i for i, c in enumerate(_B58_ALPHABET)}

# base58check version byte -> chain prefix (P2PKH and P2SH, mainnet).
_B58_VERSIONS: dict[int, str] = {0x00: "btc", 0x05: "btc", 0x30: "ltc", 0x32: "ltc"}

_BECH32_CHARSET = "qpzry9x8gf2tvdw0s3jn54khce6mua7l"
_BECH32_INDEX = {c: i for i, c in enumerate(_BECH32_CHARSET)}
_BECH32_CONST = 1
_BECH32M_CONST = 0x2BC830A3
_BECH32_HRPS: dict[str, str] = {"bc": "btc", "ltc": "ltc"}

# Monero standard (4...) and subaddress (8...) network bytes, mainnet.
_XMR_NETBYTES = frozenset({0x12, 0x2A})
_XMR_BLOCK_CHARS = (0, 2, 3, 5, 6, 7, 9, 10, 11)  # encoded length of a block of n bytes, n = 0..8


def keccak256(data: bytes) -> bytes:
    """Keccak-256 as Ethereum and Monero use it (the pre-standard padding, not SHA3-256)."""
    return keccak.new(data=data, digest_bits=256).digest()


def b58decode(text: str) -> bytes | None:
    """Bitcoin base58 to bytes (leading '1's become zero bytes); None on a character outside the alphabet."""
    num = 0
    for ch in text:
        digit = _B58_INDEX.get(ch)
        if digit is None:
            return None
        num = num * 58 + digit
    body = num.to_bytes((num.bit_length() + 7) // 8, "big") if num else b""
    pad = len(text) - len(text.lstrip("1"))
    return b"\x00" * pad + body


def validate_base58check(text: str) -> str | None:
    """``btc:``/``ltc:`` value for a valid P2PKH/P2SH address, None otherwise."""
    raw = b58decode(text)
    if raw is None or len(raw) != 25:
        return None
    payload, check = raw[:-4], raw[-4:]
    if hashlib.sha256(hashlib.sha256(payload).digest()).digest()[:4] != check:
        return None
    chain = _B58_VERSIONS.get(payload[0])
    return f"{chain}:{text}" if chain else None


def _bech32_polymod(values: list[int]) -> int:
    gen = (0x3B6A57B2, 0x26508E6D, 0x1EA119FA, 0x3D4233DD, 0x2A1462B3)
    chk = 1
    for v in values:
        top = chk >> 25
        chk = (chk & 0x1FFFFFF) << 5 ^ v
        for i in range(5):
            chk ^= gen[i] if (top >> i) & 1 else 0
    return chk


def _convert_5_to_8(data: list[int]) -> bytes | None:
    """Regroup 5-bit words into bytes; the padding must be under 5 bits and all zero (BIP-173)."""
    acc = bits = 0
    out = bytearray()
    for value in data:
        acc = (acc << 5) | value
        bits += 5
        if bits >= 8:
            bits -= 8
            out.append((acc >> bits) & 0xFF)
    if bits >= 5 or (acc << (8 - bits)) & 0xFF:
        return None
    return bytes(out)


def validate_segwit(text: str) -> str | None:
    """``btc:``/``ltc:`` value for a valid segwit address (v0 bech32, v1+ bech32m), None otherwise."""
    if text.lower() != text and text.upper() != text:
        return None  # mixed case is invalid in bech32
    addr = text.lower()
    sep = addr.rfind("1")
    if sep < 1 or len(addr) - sep - 1 < 7 or len(addr) > 90:
        return None
    hrp, data_part = addr[:sep], addr[sep + 1 :]
    chain = _BECH32_HRPS.get(hrp)
    if chain is None:
        return None
    data: list[int] = []
    for ch in data_part:
        d = _BECH32_INDEX.get(ch)
        if d is None:
            return None
        data.append(d)
    expanded = [ord(c) >> 5 for c in hrp] + [0] + [ord(c) & 31 for c in hrp]
    const = _bech32_polymod(expanded + data)
    version = data[0]
    if version > 16 or const != (_BECH32_CONST if version == 0 else _BECH32M_CONST):
        return None
    program = _convert_5_to_8(data[1:-6])
    if program is None or not 2 <= len(program) <= 40:
        return None
    if version == 0 and len(program) not in (20, 32):
        return None
    return f"{chain}:{addr}"


def validate_ethereum(text: str) -> str | None:
    """``eth:0x...`` (lower case) for a 0x-prefixed 40-hex address; mixed case must pass EIP-55."""
    body = text[2:]
    if len(body) != 40 or text[:2] not in ("0x", "0X"):
        return None
    try:
        int(body, 16)
    except ValueError:
        return None
    lower = body.lower()
    if body not in (lower, body.upper()):
        digest = keccak256(lower.encode("ascii")).hex()
        for ch, nibble in zip(body, digest[:40], strict=True):
            if ch.isalpha() and ch.isupper() != (int(nibble, 16) >= 8):
                return None
    return f"eth:0x{lower}"


def _xmr_decode(text: str) -> bytes | None:
    """Monero base58: 11-character blocks each encoding 8 bytes big-endian, a shorter final block."""
    out = bytearray()
    for start in range(0, len(text), 11):
        block = text[start : start + 11]
        try:
            nbytes = _XMR_BLOCK_CHARS.index(len(block))
        except ValueError:
            return None
        num = 0
        for ch in block:
            digit = _B58_INDEX.get(ch)
            if digit is None:
                return None
            num = num * 58 + digit
        if num >> (8 * nbytes):
            return None
        out += num.to_bytes(nbytes, "big")
    return bytes(out)


def validate_monero(text: str) -> str | None:
    """``xmr:`` value for a valid 95-character standard or subaddress, None otherwise."""
    if len(text) != 95 or text[0] not in "48":
        return None
    raw = _xmr_decode(text)
    if raw is None or len(raw) != 69 or raw[0] not in _XMR_NETBYTES:
        return None
    if keccak256(raw[:65])[:4] != raw[65:]:
        return None
    return f"xmr:{text}"


def validate_wallet(text: str) -> str | None:
    """Dispatch a wallet candidate to the validator its shape calls for."""
    if text[:2] in ("0x", "0X"):
        return validate_ethereum(text)
    low = text[:4].lower()
    if low.startswith(("bc1", "ltc1")):
        return validate_segwit(text)
    if len(text) == 95:
        return validate_monero(text)
    return validate_base58check(text)
