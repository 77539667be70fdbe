"""Wallet validation: published vectors, addresses built by independent encoders, one-character mutations.

The encoders below are written from the specifications (base58check, BIP-173/350 reference code, Monero's
block base58, EIP-55), not imported from cordon, so a shared bug cannot make both sides agree.
"""

from __future__ import annotations

import hashlib

import pytest
from Crypto.Hash import keccak
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from cordon.signals.entities import extract_entities, validate_wallet

ALPHABET = "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz"
BECH32 = "qpzry9x8gf2tvdw0s3jn54khce6mua7l"


def _keccak(data: bytes) -> bytes:
    return keccak.new(data=data, digest_bits=256).digest()


def b58encode(raw: bytes) -> str:
    num = int.from_bytes(raw, "big")
    out = ""
    while num:
        num, rem = divmod(num, 58)
        out = ALPHABET[rem] + out
    return "1" * (len(raw) - len(raw.lstrip(b"\0"))) + out


def base58check(version: int, payload: bytes) -> str:
    body = bytes([version]) + payload
    return b58encode(body + hashlib.sha256(hashlib.sha256(body).digest()).digest()[:4])


def _polymod(values: list[int]) -> int:
    gen = [0x3B6A57B2, 0x26508E6D, 0x1EA119FA, 0x3D4233DD, 0x2A1462B3]
    chk = 1
    for v in values:
        b = chk >> 25
        chk = (chk & 0x1FFFFFF) << 5 ^ v
        for i in range(5):
            chk ^= gen[i] if ((b >> i) & 1) else 0
    return chk


def segwit_encode(hrp: str, version: int, program: bytes) -> str:
    acc, bits, data = 0, 0, [version]
    for byte in program:  # convertbits(8 -> 5, pad=True)
        acc = (acc << 8) | byte
        bits += 8
        while bits >= 5:
            bits -= 5
            data.append((acc >> bits) & 31)
    if bits:
        data.append((acc << (5 - bits)) & 31)
    const = 1 if version == 0 else 0x2BC830A3
    hrp_exp = [ord(x) >> 5 for x in hrp] + [0] + [ord(x) & 31 for x in hrp]
    pm = _polymod([*hrp_exp, *data, 0, 0, 0, 0, 0, 0]) ^ const
    checksum = [(pm >> 5 * (5 - i)) & 31 for i in range(6)]
    return hrp + "1" + "".join(BECH32[d] for d in data + checksum)


def monero_encode(netbyte: int, keys: bytes) -> str:
    raw = bytes([netbyte]) + keys
    raw += _keccak(raw)[:4]
    sizes = {8: 11, 5: 7}
    out = ""
    for i in range(0, len(raw), 8):
        block = raw[i : i + 8]
        num = int.from_bytes(block, "big")
        chars = ""
        for _ in range(sizes[len(block)]):
            num, rem = divmod(num, 58)
            chars = ALPHABET[rem] + chars
        out += chars
    return out


def eip55(addr20: bytes) -> str:
    lower = addr20.hex()
    digest = _keccak(lower.encode()).hex()
    return "0x" + "".join(c.upper() if int(d, 16) >= 8 else c for c, d in zip(lower, digest, strict=False))


# --- published vectors -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("address", "expected"),
    [
        ("1A1zP1eP5QGefi2DMPTfTL5SLmv7DivfNa", "btc:1A1zP1eP5QGefi2DMPTfTL5SLmv7DivfNa"),  # genesis block
        (
            "BC1QW508D6QEJXTDG4Y5R3ZARVARY0C5XW7KV8F3T4",
            "btc:bc1qw508d6qejxtdg4y5r3zarvary0c5xw7kv8f3t4",
        ),  # BIP-173
        (
            "bc1p0xlxvlhemja6c4dqv22uapctqupfhlxm9h8z3k2e72q4k9hcz7vqzk5jj0",  # BIP-350 taproot
            "btc:bc1p0xlxvlhemja6c4dqv22uapctqupfhlxm9h8z3k2e72q4k9hcz7vqzk5jj0",
        ),
        (
            "0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed",
            "eth:0x5aaeb6053f3e94c9b9a09f33669435e7ef1beaed",
        ),  # EIP-55
        ("0xfB6916095ca1df60bB79Ce92cE3Ea74c37c5d359", "eth:0xfb6916095ca1df60bb79ce92ce3ea74c37c5d359"),
        ("0xD1220A0cf47c7B9Be7A2E6BA89F429762e7b9aDb", "eth:0xd1220a0cf47c7b9be7a2e6ba89f429762e7b9adb"),
        ("0x52908400098527886E0F7030069857D2E4169EE7", "eth:0x52908400098527886e0f7030069857d2e4169ee7"),
    ],
)
def test_published_valid_vectors(address: str, expected: str) -> None:
    assert validate_wallet(address) == expected


@pytest.mark.parametrize(
    "address",
    [
        "bc1qw508d6qejxtdg4y5r3zarvary0c5xw7kemeawh",  # BIP-350: v0 with a bech32m checksum
        "bc1p0xlxvlhemja6c4dqv22uapctqupfhlxm9h8z3k2e72q4k9hcz7vqh2y7hd",  # BIP-350: v1 with a bech32 checksum
        "BC1QR508D6QEJXTDG4Y5R3ZARVARYV98GJ9P",  # BIP-173: invalid program length for v0
        "bc1zw508d6qejxtdg4y5r3zarvaryvqyzf3du",  # BIP-173: bad padding
        "bc1QW508D6QEJXTDG4Y5R3ZARVARY0C5XW7KV8F3T4",  # mixed case
        "0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAeD",  # EIP-55 case broken in the last letter
        "1A1zP1eP5QGefi2DMPTfTL5SLmv7DivfNb",  # genesis with the last character changed
    ],
)
def test_published_invalid_vectors(address: str) -> None:
    assert validate_wallet(address) is None


def test_all_lower_and_all_upper_ethereum_need_no_checksum() -> None:
    body = "de709f2102306220921060314715629080e2fb77"
    assert validate_wallet("0x" + body) == "eth:0x" + body
    assert validate_wallet("0x" + body.upper()) == "eth:0x" + body


# --- generated addresses -----------------------------------------------------------------------------------

hash160 = st.binary(min_size=20, max_size=20)
wallet_cases = st.one_of(
    st.tuples(st.sampled_from([(0x00, "btc"), (0x05, "btc"), (0x30, "ltc"), (0x32, "ltc")]), hash160).map(
        lambda t: (base58check(t[0][0], t[1]), f"{t[0][1]}:{base58check(t[0][0], t[1])}")
    ),
    st.tuples(
        st.sampled_from([("bc", "btc"), ("ltc", "ltc")]),
        st.one_of(
            st.tuples(st.just(0), st.binary(min_size=20, max_size=20) | st.binary(min_size=32, max_size=32)),
            st.tuples(st.integers(1, 16), st.binary(min_size=2, max_size=40)),
        ),
    ).map(lambda t: (segwit_encode(t[0][0], *t[1]), f"{t[0][1]}:{segwit_encode(t[0][0], *t[1])}")),
    st.tuples(st.sampled_from([0x12, 0x2A]), st.binary(min_size=64, max_size=64)).map(
        lambda t: (monero_encode(*t), f"xmr:{monero_encode(*t)}")
    ),
    hash160.map(lambda b: (eip55(b), f"eth:0x{b.hex()}")),
)
filler = st.lists(
    st.sampled_from(["send", "to", "pay", "wallet:", "thanks", "(", "->", "BTC", "\n"]), max_size=4
)


@settings(max_examples=300, deadline=None)
@given(case=wallet_cases, before=filler, after=filler)
def test_generated_addresses_are_found_in_text(
    case: tuple[str, str], before: list[str], after: list[str]
) -> None:
    address, expected = case
    assert validate_wallet(address) == expected
    text = " ".join([*before, address, *after])
    cols = extract_entities([text])
    assert expected in cols.value.to_pylist()


@settings(max_examples=300, deadline=None)
@given(case=wallet_cases, data=st.data())
def test_one_character_mutations_are_rejected(case: tuple[str, str], data: st.DataObject) -> None:
    address, _ = case
    start = 2 if address.startswith("0x") else address.index("1") + 1 if address[:2] in ("bc", "lt") else 1
    pos = data.draw(st.integers(start, len(address) - 1))
    if address.startswith("0x"):
        # Without a checksum an all-lower hex address is any 40 hex digits; EIP-55 protects only the case.
        assume(address[pos].isalpha())
        mutated = address[:pos] + address[pos].swapcase() + address[pos + 1 :]
        assume(mutated[2:] not in (mutated[2:].lower(), mutated[2:].upper()))
    else:
        alphabet = BECH32 if address[:2] in ("bc", "lt") else ALPHABET
        new = data.draw(st.sampled_from(alphabet).filter(lambda c: c != address[pos]))
        mutated = address[:pos] + new + address[pos + 1 :]
    assert validate_wallet(mutated) is None
    assert not [v for v in extract_entities([f"pay {mutated} now"]).value.to_pylist() if v.endswith(mutated)]
