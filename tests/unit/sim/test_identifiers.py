"""Synthetic identifiers have real formats: published test vectors, and cordon's validators accept them."""

from __future__ import annotations

import numpy as np
import pytest

from cordon.signals.entities import extract_entities, validate_wallet
from cordon.sim import identifiers as ids


def test_bech32_matches_the_bip173_vector() -> None:
    # BIP-173: P2WPKH of the program below is bc1qw508d6qejxtdg4y5r3zarvary0c5xw7kv8f3t4
    program = bytes.fromhex("751e76e8199196d454941c45d1b3a323f1433bd6")
    assert ids.bech32_segwit_v0("bc", program) == "bc1qw508d6qejxtdg4y5r3zarvary0c5xw7kv8f3t4"


def test_base58check_matches_the_bitcoin_wiki_vector() -> None:
    # the Bitcoin wiki's "Technical background of version 1 Bitcoin addresses" example
    h160 = bytes.fromhex("f54a5851e9372b87810a8e60cdd2e7cfd80b6e31")
    assert ids.base58check(0x00, h160) == "1PMycacnJaSqwwJqjawXBErnLsZ7RkXUAs"


def test_eip55_matches_the_eip_vector() -> None:
    address = "0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed"  # from EIP-55's own examples
    assert ids.eip55(bytes.fromhex(address[2:])) == address


@pytest.mark.parametrize("make", [ids.btc_p2pkh, ids.btc_bech32, ids.eth_address])
def test_generated_wallets_pass_cordon_checksum_validation(make: object) -> None:
    rng = np.random.default_rng(3)
    wallets = [make(rng) for _ in range(50)]  # type: ignore[operator]
    assert len(set(wallets)) == 50
    assert all(validate_wallet(w) is not None for w in wallets)
    # a single changed character breaks the checksum, so validation is not a shape check
    broken = [w[:-1] + ("q" if w[-1] != "q" else "p") for w in wallets]
    assert sum(validate_wallet(w) is not None for w in broken) <= 1


def test_invites_and_session_ids_are_extracted_as_entities() -> None:
    rng = np.random.default_rng(5)
    texts = [
        f"join {ids.telegram_invite(rng)} now",
        f"server {ids.discord_invite(rng)}",
        f"session: {ids.session_id(rng)}",
    ]
    found = extract_entities(texts)
    kinds = sorted(set(zip(found.row.to_pylist(), found.kind.to_pylist(), strict=True)))
    assert (0, "telegram") in kinds
    assert (1, "discord") in kinds
    assert (2, "messenger") in kinds


def test_snowflake_ids_are_unique_within_a_millisecond_and_sort_by_time() -> None:
    ms = np.array([1_700_000_000_000] * 5 + [1_700_000_000_001], dtype=np.int64)
    out = ids.snowflake_ids(ms, np.arange(6))
    assert len(set(out.tolist())) == 6
    assert (np.diff(out) > 0).all()
    assert int(out[0]) >> 16 == 1_700_000_000_000
