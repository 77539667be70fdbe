"""Bluesky: Jetstream events (posts, reposts, likes, follows, profiles, account statuses)."""

from cordon.connectors.bluesky.reader import JetstreamConnector

__all__ = ["JetstreamConnector"]
