"""Accounts as columns (`AccountTable`), the benign population, and the follow graph.

Benign accounts were created over years (a surge in late 2022, as on the real fediverse), post at very
different rates (log-normal activity), are followed by preferential attachment (a heavy-tailed fitness), write
in a few languages, and often carry a shared default avatar. Their bios link their own blogs and shops.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime

import numpy as np

from cordon.sim.identifiers import btc_bech32, discord_invite
from cordon.sim.media import MediaLibrary
from cordon.sim.vocab import BENIGN_TLDS, LANG_WEIGHTS, Vocabulary, benign_handles, display_name

DAY_MS = 86_400_000
HOUR_MS = 3_600_000
MINUTE_MS = 60_000

# account groups
G_BACKGROUND, G_BOT, G_MARKETING, G_CRYPTO, G_POSTER, G_AMPLIFIER, G_EVADER = 0, 1, 2, 3, 4, 5, 6
NETWORK_GROUPS = (G_POSTER, G_AMPLIFIER, G_EVADER)

_FEDIVERSE_START = datetime(2017, 4, 1, tzinfo=UTC)
_EXODUS = datetime(2022, 10, 27, tzinfo=UTC)
_AFTER_EXODUS = datetime(2023, 1, 15, tzinfo=UTC)


def ms(dt: datetime) -> int:
    return int(dt.timestamp() * 1000)


@dataclass(slots=True)
class AccountTable:
    """Every account of the world; index i is the account's row everywhere (posts' `author`, follows)."""

    created: list[np.ndarray] = field(default_factory=list)  # int64 ms, per appended block
    group_parts: list[np.ndarray] = field(default_factory=list)
    activity_parts: list[np.ndarray] = field(default_factory=list)
    popularity_parts: list[np.ndarray] = field(default_factory=list)
    lang_parts: list[np.ndarray] = field(default_factory=list)
    handle: list[str] = field(default_factory=list)
    display: list[str] = field(default_factory=list)
    bio: list[str] = field(default_factory=list)
    fields: list[tuple[tuple[str, str], ...]] = field(default_factory=list)
    avatar: list[str] = field(default_factory=list)  # media file name, "" for none
    bot: list[bool] = field(default_factory=list)

    def add(
        self, *, created: np.ndarray, group: int, handles: list[str], bios: list[str], avatars: list[str],
        lang: np.ndarray, activity: np.ndarray | None = None, popularity: np.ndarray | None = None,
        fields: list[tuple[tuple[str, str], ...]] | None = None, bot: bool = False,
        displays: list[str] | None = None,
    ) -> np.ndarray:  # fmt: skip
        """Append a block of accounts; returns their indexes."""
        n = len(handles)
        start = len(self.handle)
        self.created.append(np.asarray(created, dtype=np.int64))
        self.group_parts.append(np.full(n, group, dtype=np.int8))
        self.activity_parts.append(np.zeros(n) if activity is None else np.asarray(activity, np.float64))
        self.popularity_parts.append(np.ones(n) if popularity is None else np.asarray(popularity, np.float64))
        self.lang_parts.append(np.asarray(lang, dtype=np.int8))
        self.handle.extend(handles)
        self.display.extend(displays if displays is not None else [display_name(h) for h in handles])
        self.bio.extend(bios)
        self.fields.extend(fields if fields is not None else [()] * n)
        self.avatar.extend(avatars)
        self.bot.extend([bot] * n)
        return np.arange(start, start + n, dtype=np.int64)

    def __len__(self) -> int:
        return len(self.handle)

    def make_handles_unique(self) -> None:
        """Handles are unique on an instance: a later account whose handle is taken gets a number added."""
        seen: set[str] = set()
        for i, handle in enumerate(self.handle):
            unique = handle
            k = 2
            while unique in seen:
                unique = f"{handle}{k}"
                k += 1
            self.handle[i] = unique
            seen.add(unique)

    def column(self, name: str) -> np.ndarray:
        parts: list[np.ndarray] = getattr(self, name)
        return np.concatenate(parts) if parts else np.zeros(0)

    @property
    def created_ms(self) -> np.ndarray:
        return self.column("created")

    @property
    def group(self) -> np.ndarray:
        return self.column("group_parts")


def background_created(rng: np.random.Generator, n: int, start_ms: int, end_ms: int) -> np.ndarray:
    """Creation times: early adopters, the late-2022 surge, steady growth since, and new accounts."""
    mix = rng.choice(4, size=n, p=[0.18, 0.3, 0.42, 0.1])
    early = rng.uniform(ms(_FEDIVERSE_START), ms(_EXODUS), size=n)
    surge = ms(_EXODUS) + np.minimum(rng.exponential(25 * DAY_MS, size=n), start_ms - ms(_EXODUS) - DAY_MS)
    steady = rng.uniform(ms(_AFTER_EXODUS), start_ms, size=n)
    fresh = rng.uniform(start_ms, end_ms - DAY_MS, size=n)
    return np.choose(mix, [early, surge, steady, fresh]).astype(np.int64)


def _bios(
    rng: np.random.Generator, vocab: Vocabulary, handles: list[str]
) -> tuple[list[str], list[tuple[tuple[str, str], ...]]]:
    """Benign bios (a phrase, often a link to the owner's blog or shop) and profile fields."""
    n = len(handles)
    has_bio = rng.random(n) < 0.7
    link_kind = rng.choice(3, size=n, p=[0.55, 0.3, 0.15])  # none, blog, shop
    in_fields = rng.random(n) < 0.5
    tlds = rng.integers(0, len(BENIGN_TLDS), size=n)
    phrase = rng.integers(0, len(vocab.phrases), size=n)
    # ordinary people advertise link-outs too: tip wallets, Discord servers, Snapchat, Telegram channels
    contact = rng.choice(5, size=n, p=[0.95, 0.015, 0.015, 0.01, 0.01])
    word = rng.integers(0, len(vocab.words), size=n)
    bios: list[str] = []
    fields: list[tuple[tuple[str, str], ...]] = []
    for i, handle in enumerate(handles):
        base = handle.split("_")[0].replace(".", "")
        link = (
            ""
            if link_kind[i] == 0
            else f"https://{base}.{BENIGN_TLDS[tlds[i]]}/"
            if link_kind[i] == 1
            else f"https://shop.{base}.{BENIGN_TLDS[tlds[i]]}/"
        )
        text = vocab.phrases[phrase[i]].capitalize() if has_bio[i] else ""
        if contact[i]:
            text = f"{text} {_benign_contact(rng, int(contact[i]), vocab.words[int(word[i])])}".strip()
        if link and in_fields[i]:
            bios.append(text)
            fields.append((("Website", link),))
        else:
            bios.append(f"{text} {link}".strip())
            fields.append(())
    return bios, fields


def _benign_contact(rng: np.random.Generator, kind: int, word: str) -> str:
    if kind == 1:
        return f"tips: {btc_bech32(rng)}"
    if kind == 2:
        return f"our server: {discord_invite(rng)}"
    if kind == 3:
        return f"snap: {word}{int(rng.integers(1, 99))}"
    return f"channel: https://t.me/{word}news"


def _avatars(
    rng: np.random.Generator, lib: MediaLibrary, n: int, share: float, default_share: float
) -> list[str]:
    has = rng.random(n) < share
    default = rng.random(n) < default_share
    which_default = rng.integers(0, len(lib.default_avatars), size=n)
    personal_count = int((has & ~default).sum())
    pool = len(lib.avatars)
    # personal avatars are distinct while the pool lasts, then shared (the file count stays bounded)
    personal = np.concatenate(
        [rng.permutation(pool), rng.integers(0, pool, size=max(0, personal_count - pool))]
    )
    out: list[str] = []
    k = 0
    for i in range(n):
        if not has[i]:
            out.append("")
        elif default[i]:
            out.append(lib.default_avatars[which_default[i]].name)
        else:
            out.append(lib.avatars[personal[k]].name)
            k += 1
    return out


def add_background(
    table: AccountTable, rng: np.random.Generator, vocab: Vocabulary, lib: MediaLibrary, *, n: int,
    start_ms: int, end_ms: int, avatar_share: float, default_avatar_share: float,
) -> np.ndarray:  # fmt: skip
    """Ordinary users: the bulk of the world."""
    handles = benign_handles(rng, vocab.words, n)
    bios, fields = _bios(rng, vocab, handles)
    return table.add(
        created=background_created(rng, n, start_ms, end_ms),
        group=G_BACKGROUND,
        handles=handles,
        bios=bios,
        fields=fields,
        avatars=_avatars(rng, lib, n, avatar_share, default_avatar_share),
        lang=rng.choice(len(LANG_WEIGHTS), size=n, p=LANG_WEIGHTS),
        activity=rng.lognormal(0.0, 1.3, size=n),
        popularity=rng.pareto(1.3, size=n) + 1.0,
    )


def add_honest_bots(
    table: AccountTable, rng: np.random.Generator, vocab: Vocabulary, lib: MediaLibrary, *, n: int,
    start_ms: int,
) -> np.ndarray:  # fmt: skip
    """Labelled bots (`bot: true`) that post on a fixed schedule: feeds, reminders, status pages."""
    words = rng.choice(len(vocab.words), size=n, replace=False)
    handles = [f"{vocab.words[w]}_bot" if i % 2 else f"{vocab.words[w]}feed" for i, w in enumerate(words)]
    owners = rng.integers(0, max(1, len(table)), size=n)
    bios = [
        f"Automated account. Posts {vocab.words[w]} updates on a schedule. Run by @{table.handle[o]}"
        if len(table)
        else "Automated account."
        for w, o in zip(words, owners, strict=True)
    ]
    return table.add(
        created=rng.uniform(ms(_FEDIVERSE_START), start_ms - 30 * DAY_MS, size=n).astype(np.int64),
        group=G_BOT,
        handles=handles,
        bios=bios,
        avatars=[lib.avatars[int(i)].name for i in rng.integers(0, len(lib.avatars), size=n)],
        lang=np.zeros(n, dtype=np.int8),
        popularity=rng.pareto(1.3, size=n) + 1.0,
        bot=True,
    )


def follow_graph(
    rng: np.random.Generator, created: np.ndarray, popularity: np.ndarray, sources: np.ndarray,
    per_account: float, end_ms: int,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:  # fmt: skip
    """Follows (src, dst, created ms) by preferential attachment on fitness: an account's chance to be
    followed grows with its heavy-tailed popularity. Duplicates and self-follows are dropped."""
    out_degree = np.minimum(rng.negative_binomial(1.2, 1.2 / (1.2 + per_account), size=len(sources)), 500)
    src = np.repeat(sources, out_degree)
    weights = popularity / popularity.sum()
    dst = rng.choice(len(popularity), size=len(src), p=weights)
    keep = src != dst
    src, dst = src[keep], dst[keep]
    pair = np.unique(src.astype(np.int64) << 32 | dst.astype(np.int64))
    src, dst = (pair >> 32).astype(np.int64), (pair & 0xFFFFFFFF).astype(np.int64)
    since = np.maximum(created[src], created[dst])
    at = since + rng.exponential(20 * DAY_MS, size=len(src)).astype(np.int64)
    return src, dst, np.minimum(at, end_ms - MINUTE_MS)


def neighbours(src: np.ndarray, dst: np.ndarray, n: int) -> tuple[np.ndarray, np.ndarray]:
    """CSR of the follow graph: the accounts `a` follows are targets[offsets[a]:offsets[a+1]]."""
    order = np.argsort(src, kind="stable")
    offsets = np.zeros(n + 1, dtype=np.int64)
    np.cumsum(np.bincount(src, minlength=n), out=offsets[1:])
    return offsets, dst[order]
