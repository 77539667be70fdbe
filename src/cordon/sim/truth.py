"""The ground truth of a simulated world (`truth.json`): everything an evaluation needs to score cordon's cases.

Schema id ``cordon.sim.truth/1``. Written once by `cordon simulate` next to the export; read back with
`read_truth`. Account ids are the platform ids in the export's accounts.jsonl; media are named by the SHA-256
of the files in media/ (the bank's entries by the SHA-256 of the bank items' original bytes, which never
appear in the export).
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

import msgspec

from cordon.errors import ConfigError

SCHEMA = "cordon.sim.truth/1"

NetworkRole = Literal["poster", "hacked-poster", "amplifier", "evader"]
FloodKind = Literal["coded", "adult", "innocent"]
DECOY_KINDS = ("marketing", "crypto_spam", "fan_swarm", "organic_burst", "honest_bots")


class Evasion(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """An evading account (`new`) and the suspended account it replaces."""

    new: str
    replaces: str


class FloodedTag(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """A hashtag the network floods; `kind` says whether it is a coded token, an adult tag or an innocent
    tag that ordinary users also use."""

    tag: str
    kind: FloodKind


class Truth(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """What was planted in a simulated world (see the module docstring and docs/simulator.md)."""

    schema: str
    seed: int
    scale: float
    params: dict[str, float | int | str]
    platform: Literal["mastodon"]
    posts: int
    accounts: int
    network_accounts: list[str]
    network_roles: dict[str, NetworkRole]
    hacked_accounts: list[str]
    evasions: list[Evasion]
    suspended_accounts: list[str]
    flooded_hashtags: list[FloodedTag]
    decoy_accounts: dict[str, list[str]]
    organic_burst_tags: list[str]
    marketing_domain: str
    crypto_wallet: str
    bank_media: list[str]
    network_media_matching: list[str]
    novel_network_media: list[str]
    # where each network media file came from: sha256 -> sha256 of its bank original ("" for novel media)
    media_sources: dict[str, str] = {}
    network_posts: int = 0  # posts written by network accounts (originals, swarm replies, reblogs, floods)
    celebrity: str = ""  # the account whose posts draw the organic fan swarms
    window_start: str = ""  # RFC 3339, the first instant of simulated activity
    window_end: str = ""


_ENCODER = msgspec.json.Encoder(order="deterministic")
_DECODER = msgspec.json.Decoder(Truth)


def write_truth(path: Path, truth: Truth) -> None:
    """Write `truth` as indented JSON with sorted keys (identical bytes for identical worlds)."""
    path.write_bytes(msgspec.json.format(_ENCODER.encode(truth), indent=1) + b"\n")


def read_truth(path: Path) -> Truth:
    """Read and validate a truth.json; a wrong schema id or a bad field is a `ConfigError` naming it."""
    try:
        truth = _DECODER.decode(path.read_bytes())
    except FileNotFoundError:
        raise ConfigError(f"{path}: no such truth file (cordon simulate writes truth.json)") from None
    except msgspec.ValidationError as exc:
        raise ConfigError(f"{path}: not a cordon simulator truth file: {exc}") from exc
    except msgspec.DecodeError as exc:
        raise ConfigError(f"{path}: not valid JSON: {exc}") from exc
    if truth.schema != SCHEMA:
        raise ConfigError(f"{path}: schema {truth.schema!r} is not {SCHEMA!r}; regenerate the world")
    return truth
