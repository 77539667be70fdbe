"""X API v2: response pages and flattened tweets and users, as saved by twarc2."""

from cordon.connectors.x.reader import XConnector

__all__ = ["XConnector"]
