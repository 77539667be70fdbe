"""Entities from post text, link cards, bios and profile fields: normalised, validated, column-wise.

``extract_entities(texts)`` is the batch entry point; the normalisers are exported for callers that hold
single values (a link card's URL, the platform's own hashtag list).
"""

from cordon.signals.entities.extract import EntityColumns, clear_caches, extract_entities
from cordon.signals.entities.hashtags import normalise_hashtag, normalise_hashtags
from cordon.signals.entities.urls import normalise_url, registrable_domain
from cordon.signals.entities.wallets import validate_wallet

__all__ = [
    "EntityColumns",
    "clear_caches",
    "extract_entities",
    "normalise_hashtag",
    "normalise_hashtags",
    "normalise_url",
    "registrable_domain",
    "validate_wallet",
]
