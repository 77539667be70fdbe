"""The world's synthetic language: words, phrases, hashtags, handles and domains made of random syllables.

Nothing here is a real search term: every word is drawn from consonant-vowel syllables per seed, so a tag
means nothing outside the world it was made for. Hashtag popularity follows a Zipf law by rank.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

_ONSETS = ("b", "d", "f", "g", "k", "l", "m", "n", "p", "r", "s", "t", "v", "z", "br", "st", "tr", "pl", "kr")
_VOWELS = ("a", "e", "i", "o", "u", "ai", "ou", "ei")
_CODAS = ("", "", "", "n", "r", "s", "l", "x", "m")
BENIGN_TLDS = ("com", "net", "org", "de", "io", "blog", "shop", "co.uk", "fr", "nl")
SHADY_TLDS = ("xyz", "top", "click", "site", "online", "icu")
LANGS = ("en", "de", "es", "fr", "ja", "pt")
LANG_WEIGHTS = (0.58, 0.12, 0.1, 0.09, 0.06, 0.05)
EMOJI = ("🔥", "💯", "👀", "✨", "😍", "🙏", "👇", "💥", "❤️", "⭐")


def _syllables(rng: np.random.Generator, n: int, low: int, high: int) -> list[str]:
    counts = rng.integers(low, high + 1, size=n)
    onsets = rng.integers(0, len(_ONSETS), size=(n, high))
    vowels = rng.integers(0, len(_VOWELS), size=(n, high))
    codas = rng.integers(0, len(_CODAS), size=n)
    out = []
    for i in range(n):
        k = int(counts[i])
        word = "".join(_ONSETS[onsets[i, j]] + _VOWELS[vowels[i, j]] for j in range(k))
        out.append(word + _CODAS[codas[i]])
    return out


def unique_words(
    rng: np.random.Generator, n: int, low: int = 2, high: int = 3, avoid: frozenset[str] = frozenset()
) -> list[str]:
    """`n` distinct synthetic words of `low`..`high` syllables, none of them in `avoid`."""
    seen: set[str] = set(avoid)
    out: list[str] = []
    while len(out) < n:
        for word in _syllables(rng, (n - len(out)) * 2 + 8, low, high):
            # no reduplicated baby-talk words ("mama"): every word should be plainly made up
            if word not in seen and len(word) >= 4 and word[:2] != word[2:4]:
                seen.add(word)
                out.append(word)
                if len(out) == n:
                    break
    return out


def zipf_weights(n: int, exponent: float = 1.05) -> np.ndarray:
    """Probabilities of ranks 1..n under a Zipf law."""
    w = 1.0 / np.arange(1, n + 1, dtype=np.float64) ** exponent
    p: np.ndarray = w / w.sum()
    return p


@dataclass(frozen=True, slots=True)
class Vocabulary:
    """Words, phrases and hashtags of one world. `tags` are ranked by popularity (`tag_p`)."""

    words: tuple[str, ...]
    phrases: tuple[str, ...]
    tags: tuple[str, ...]
    tag_p: np.ndarray
    adult_tag_ids: tuple[int, ...]  # benign-vocabulary tags the network floods as "adult" tags
    innocent_tag_ids: tuple[int, ...]  # common benign tags the network also floods
    coded_tags: tuple[str, ...]  # tokens only the network uses
    burst_tag: str  # the new tag of the organic burst event
    bot_tags: tuple[str, ...]  # the tags the honest bots post under

    def phrase_count(self) -> int:
        return len(self.phrases)


def build_vocabulary(
    rng: np.random.Generator, *, tag_count: int, coded: int, adult: int, innocent: int, phrases: int = 4_000
) -> Vocabulary:
    """A world's vocabulary: 6,000 words, `phrases` phrases of 3-8 words, `tag_count` ranked hashtags."""
    words = unique_words(rng, 6_000, 1, 3)
    word_p = zipf_weights(len(words), 0.9)
    lengths = rng.integers(3, 9, size=phrases)
    picks = rng.choice(len(words), size=int(lengths.sum()), p=word_p)
    out_phrases = []
    start = 0
    for n in lengths:
        out_phrases.append(" ".join(words[i] for i in picks[start : start + n]))
        start += int(n)
    tag_words = unique_words(rng, tag_count + coded + 1 + 4, 2, 3, avoid=frozenset(words))
    tags = tag_words[:tag_count]
    extra = tag_words[tag_count:]
    digits = rng.integers(10, 100, size=coded)
    coded_tags = tuple(f"q{w[:5]}{d}" for w, d in zip(extra[:coded], digits, strict=True))
    burst_tag = extra[coded] + "2024"
    bot_tags = tuple(extra[coded + 1 : coded + 4])
    # innocent tags are among the most used benign tags; adult tags are mid-ranked benign tags
    innocent_ids = tuple(int(i) for i in sorted(rng.choice(np.arange(2, 30), size=innocent, replace=False)))
    adult_ids = tuple(int(i) for i in sorted(rng.choice(np.arange(60, 240), size=adult, replace=False)))
    return Vocabulary(
        words=tuple(words),
        phrases=tuple(out_phrases),
        tags=tuple(tags),
        tag_p=zipf_weights(tag_count),
        adult_tag_ids=adult_ids,
        innocent_tag_ids=innocent_ids,
        coded_tags=coded_tags,
        burst_tag=burst_tag,
        bot_tags=bot_tags,
    )


def benign_handles(rng: np.random.Generator, words: tuple[str, ...], n: int) -> list[str]:
    """Varied benign handle shapes: word, word_word, wordword, word + year, initials + word."""
    shapes = rng.integers(0, 6, size=n)
    a = rng.integers(0, len(words), size=n)
    b = rng.integers(0, len(words), size=n)
    num = rng.integers(1, 100, size=n)
    year = rng.integers(1965, 2006, size=n)
    out: list[str] = []
    seen: set[str] = set()
    for i in range(n):
        w1, w2 = words[a[i]], words[b[i]]
        shape = int(shapes[i])
        handle = (
            w1
            if shape == 0
            else f"{w1}_{w2}"
            if shape == 1
            else f"{w1}{w2}"
            if shape == 2
            else f"{w1}{year[i]}"
            if shape == 3
            else f"{w1[0]}{w2[0]}{w1}"
            if shape == 4
            else f"{w1}.{w2}"[:30].replace(".", "_")
        )[:30]
        while handle in seen:
            handle = f"{handle[:27]}{int(num[i]) % 10}{len(seen) % 10}"
        seen.add(handle)
        out.append(handle)
    return out


def display_name(handle: str) -> str:
    """A display name from a handle: its word parts, capitalised."""
    parts = [p for p in handle.replace(".", "_").split("_") if p and not p.isdigit()]
    return " ".join(p.capitalize() for p in parts[:2]) or handle
