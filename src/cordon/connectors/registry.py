"""Which connectors exist, and which one reads a given file or directory.

Connectors are imported lazily: a connector whose module is not installed is simply not offered.
"""

from __future__ import annotations

import importlib
from collections.abc import Sequence
from pathlib import Path
from typing import cast

from cordon.connectors.base import Connector
from cordon.errors import ConfigError, UnknownFormatError

# format name -> (module, class). Order matters for `detect`: the first connector that sniffs a path wins.
KNOWN: dict[str, tuple[str, str]] = {
    "mastodon": ("cordon.connectors.mastodon", "MastodonConnector"),
    "x": ("cordon.connectors.x", "XConnector"),
    "bluesky": ("cordon.connectors.bluesky", "JetstreamConnector"),
}


def _load(name: str) -> Connector | None:
    module_name, class_name = KNOWN[name]
    try:
        module = importlib.import_module(module_name)
    except ModuleNotFoundError as exc:
        if exc.name is not None and module_name.startswith(exc.name):
            return None  # that connector is not part of this installation
        raise
    factory = getattr(module, class_name, None)
    return cast(Connector, factory()) if factory is not None else None


def available() -> tuple[Connector, ...]:
    """Every connector that can be loaded, in detection order."""
    loaded = (_load(name) for name in KNOWN)
    return tuple(c for c in loaded if c is not None)


def by_name(name: str) -> Connector:
    """The connector for format `name` (mastodon, x, bluesky)."""
    if name not in KNOWN:
        raise ConfigError(f"unknown format {name!r}: choose one of auto, {', '.join(KNOWN)}")
    connector = _load(name)
    if connector is None:
        raise ConfigError(f"the {name} connector is not installed in this environment; reinstall cordon")
    return connector


def detect(path: Path, *, candidates: Sequence[Connector] | None = None) -> Connector:
    """The first connector that reads `path`; UnknownFormatError naming the path when none does."""
    if not path.exists():
        raise UnknownFormatError(f"{path}: no such file or directory; pass an export file or directory")
    options = available() if candidates is None else tuple(candidates)
    for connector in options:
        if connector.sniff(path):
            return connector
    names = ", ".join(c.name for c in options) or "none installed"
    raise UnknownFormatError(
        f"{path}: no connector reads this (tried {names}); pass --format to choose one, or check that it is "
        "a Mastodon export directory or API JSON, an X API v2 (twarc2) file or Bluesky Jetstream events"
    )
