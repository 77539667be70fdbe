"""Hashtag normalisation: one key for every spelling a flooding campaign uses for the same tag.

Evasion spellings seen in practice: case (``#Tag``), compatibility forms (full-width ``＃ｔａｇ``, math
bold), zero-width joiners inside the word, and Cyrillic/Greek look-alikes (``#tаg`` with Cyrillic ``а``).
The key is NFKC + case-fold, zero-width characters removed, and Cyrillic/Greek confusables mapped to their
Latin skeleton.

The confusable table is generated, not typed by hand: it is the subset of Unicode's confusables data (as
packaged by ``confusable_homoglyphs``, which ships ``confusables.txt`` as JSON and is pure data, no
network) whose source character is a Cyrillic or Greek letter and whose prototype is a single Latin letter.
The mapping is applied only when it cannot mangle a genuine Cyrillic or Greek word: when the tag already
mixes in Latin letters, or when every letter in it has a Latin look-alike (a word spelt entirely in
look-alikes is the evasion case). ``#привет`` stays ``привет``; ``#рrivet`` becomes ``privet``.
"""

from __future__ import annotations

import json
import unicodedata
from functools import cache, lru_cache
from importlib import resources

# Zero-width and invisible format characters used to split a word without changing how it looks.
_INVISIBLE = dict.fromkeys(
    [
        *(0x00AD, 0x034F, 0x061C, 0x115F, 0x1160, 0x17B4, 0x17B5, 0x180E, 0x3164, 0xFEFF, 0xFFA0),
        *range(0x200B, 0x2010),  # zero-width space, non-joiner, joiner, direction marks
        *range(0x202A, 0x202F),  # bidi embeddings and overrides
        *range(0x2060, 0x2070),  # word joiner and invisible operators
        *range(0xFE00, 0xFE10),  # variation selectors
    ]
)


@cache
def confusable_table() -> dict[int, str]:
    """Cyrillic/Greek letter code point -> lower-case Latin letter it is confusable with."""
    data = json.loads(
        resources.files("confusable_homoglyphs").joinpath("confusables.json").read_text("utf-8")
    )
    table: dict[int, str] = {}
    for char, glyphs in data.items():
        if len(char) != 1 or not char.isalpha():
            continue
        name = unicodedata.name(char, "")
        if not name.startswith(("CYRILLIC ", "GREEK ")):
            continue
        latin = [g["c"] for g in glyphs if len(g["c"]) == 1 and g["c"].isascii() and g["c"].isalpha()]
        if latin:
            table[ord(char)] = latin[0].lower()
    return table


def _map_confusables(text: str) -> str:
    """Map look-alikes to Latin when the tag mixes scripts or is spelt entirely in look-alikes."""
    table = confusable_table()
    letters = [ch for ch in text if ch.isalpha()]
    has_latin = any(ch.isascii() for ch in letters)
    mappable = [ord(ch) in table for ch in letters if not ch.isascii()]
    if mappable and (has_latin or all(mappable)):
        return text.translate(table)
    return text


def _skeleton_step(tag: str) -> str:
    # Map before case-folding too: a capital look-alike (Greek Eta for H) folds to a letter that
    # looks like something else (eta looks like n).
    text = _map_confusables(unicodedata.normalize("NFKC", tag.translate(_INVISIBLE)).translate(_INVISIBLE))
    text = unicodedata.normalize("NFKC", text.casefold()).translate(_INVISIBLE)
    return _map_confusables(text)


@lru_cache(maxsize=1 << 16)
def normalise_hashtag(tag: str) -> str:
    """The hashtag key, without the leading ``#``: idempotent, case- and confusable-invariant.

    Cached: tag frequencies are heavy-tailed, so most calls in a batch are for a tag already seen.
    """
    text = tag.lstrip("#＃﹟")
    for _ in range(4):  # a fixed point is reached in one or two steps; the bound only guards the loop
        nxt = _skeleton_step(text)
        if nxt == text:
            break
        text = nxt
    return text


def normalise_hashtags(tags: list[str]) -> list[str]:
    """Keys of many tags (e.g. the platform's own hashtag list of a post), in order."""
    return [normalise_hashtag(t) for t in tags]
