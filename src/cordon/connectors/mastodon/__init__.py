"""Mastodon: REST API JSON (Status, Account, follow lists) and the Mastodon export directory."""

from cordon.connectors.mastodon.reader import MastodonConnector

__all__ = ["MastodonConnector"]
