"""The benign background: ordinary posts, replies and reblogs, viral memes, and honest labelled bots.

All drawn as arrays. Times follow a daily cycle (busiest around 20:00 UTC, quietest before dawn) with a
weekend lift; authors are drawn by activity among accounts that exist at that moment; hashtags come half
from the author's favourite topics and half from the world's Zipf-ranked vocabulary. Reply and reblog
targets are chosen after all posts are sorted (see `cordon.sim.targets`).
"""

from __future__ import annotations

import numpy as np

from cordon.sim.accounts import DAY_MS, HOUR_MS, MINUTE_MS
from cordon.sim.frame import (
    BACKGROUND,
    BOT,
    FOLLOWEE,
    MEME,
    ORIGINAL,
    POPULAR,
    REBLOG,
    REPLY,
    PostFrame,
    Ragged,
)
from cordon.sim.identifiers import discord_invite
from cordon.sim.vocab import BENIGN_TLDS, Vocabulary

_HOURLY = 1.0 + 0.65 * np.cos(2 * np.pi * (np.arange(24) - 20) / 24)
HOURLY_P = _HOURLY / _HOURLY.sum()
FAVOURITES = 6


def diurnal_times(rng: np.random.Generator, n: int, start_ms: int, days: int) -> np.ndarray:
    """`n` epoch-ms times over `days` days from `start_ms` with a daily cycle and busier weekends."""
    day_index = np.arange(days)
    weekday = (start_ms // DAY_MS + day_index + 3) % 7  # 1970-01-01 was a Thursday: 0 = Monday
    day_w = (1.0 + 0.004 * day_index) * np.where(weekday >= 5, 1.15, 1.0)
    day = rng.choice(days, size=n, p=day_w / day_w.sum())
    hour = rng.choice(24, size=n, p=HOURLY_P)
    within = rng.integers(0, HOUR_MS, size=n)
    return start_ms + day * DAY_MS + hour * HOUR_MS + within


def draw_authors(
    rng: np.random.Generator, ts: np.ndarray, created: np.ndarray, weight: np.ndarray, candidates: np.ndarray
) -> np.ndarray:
    """For each time, an account among `candidates` created before it, drawn in proportion to `weight`."""
    order = candidates[np.argsort(created[candidates], kind="stable")]
    cum = np.cumsum(weight[order])
    alive = np.searchsorted(created[order], ts, side="right")
    if np.any(alive == 0):
        raise ValueError("a post precedes every candidate author's creation")
    u = rng.random(len(ts)) * cum[alive - 1]
    chosen: np.ndarray = order[np.minimum(np.searchsorted(cum, u, side="right"), alive - 1)]
    return chosen


def link_pool(rng: np.random.Generator, vocab: Vocabulary, n: int = 400) -> list[str]:
    """Links benign users share: articles on news sites and blogs (synthetic domains), and some Telegram
    channels and Discord invites (link-outs are not the network's alone)."""
    sites = [f"{vocab.words[int(w)]}.{BENIGN_TLDS[int(t)]}" for w, t in zip(
        rng.integers(0, len(vocab.words), 60), rng.integers(0, len(BENIGN_TLDS), 60), strict=True)]  # fmt: skip
    out = []
    for _ in range(n):
        site = sites[int(rng.integers(0, len(sites)))]
        a, b = (vocab.words[int(i)] for i in rng.integers(0, len(vocab.words), 2))
        kind = rng.random()
        if kind < 0.06:
            out.append(f"https://t.me/{a}{b}")
        elif kind < 0.12:
            out.append(discord_invite(rng))
        else:
            out.append(f"https://{site}/{a}-{b}-{int(rng.integers(100, 99999))}")
    return out


def background_frame(
    rng: np.random.Generator, vocab: Vocabulary, *, n: int, start_ms: int, days: int, created: np.ndarray,
    activity: np.ndarray, authors: np.ndarray, favourites: np.ndarray, media_ids: np.ndarray,
    reply_share: float, reblog_share: float, media_share: float, tagged_share: float, link_share: float,
) -> PostFrame:  # fmt: skip
    """`n` ordinary posts by `authors` (whose activity weights drive who posts)."""
    ts = diurnal_times(rng, n, start_ms, days)
    author = draw_authors(rng, ts, created, activity, authors)
    kind = rng.choice(3, size=n, p=[1 - reply_share - reblog_share, reply_share, reblog_share]).astype(
        np.int8
    )
    original = kind == ORIGINAL
    mode = np.where(rng.random(n) < 0.7, FOLLOWEE, POPULAR).astype(np.int8)
    phrases = rng.integers(0, len(vocab.phrases), size=(n, 3)).astype(np.int32)
    phrases[~original, 2] = -1
    phrases[(kind == REPLY) & (rng.random(n) < 0.5), 1] = -1
    phrases[kind == REBLOG] = -1
    # hashtags: originals often, replies rarely, reblogs never (they show the original's)
    count = rng.choice(5, size=n, p=[0.0, 0.45, 0.3, 0.15, 0.1])
    tagged = np.where(original, rng.random(n) < tagged_share, (kind == REPLY) & (rng.random(n) < 0.08))
    count = np.where(tagged, np.where(original, count, 1), 0)
    rows = np.repeat(np.arange(n), count)
    favourite = favourites[author[rows], rng.integers(0, FAVOURITES, size=len(rows))]
    popular = rng.choice(len(vocab.tags), size=len(rows), p=vocab.tag_p)
    tag_ids = np.where(rng.random(len(rows)) < 0.5, favourite, popular)
    # media: one image (sometimes two) from the background pool
    with_media = original & (rng.random(n) < media_share)
    media_count = np.where(with_media, np.where(rng.random(n) < 0.12, 2, 1), 0)
    media = Ragged.from_lengths(
        media_count, media_ids[rng.integers(0, len(media_ids), size=int(media_count.sum()))]
    )
    links = link_pool(rng, vocab)
    extra = np.where(original & (rng.random(n) < link_share), rng.integers(0, len(links), size=n), -1)
    return PostFrame.build(
        ts=ts, author=author, source=BACKGROUND, kind=kind, target_mode=mode, phrases=phrases,
        extra=extra, tags=Ragged.from_pairs(rows, tag_ids, n), media=media, texts=links,
    )  # fmt: skip


def meme_frame(
    rng: np.random.Generator, vocab: Vocabulary, *, posts: int, memes: list[list[int]], start_ms: int,
    days: int, created: np.ndarray, authors: np.ndarray,
) -> PostFrame:  # fmt: skip
    """Viral memes: each one re-posted (not reblogged) by many accounts over a day or two, same bytes."""
    share = 1.0 / np.arange(1, len(memes) + 1) ** 0.8
    per_meme = np.maximum(3, np.round(posts * share / share.sum())).astype(np.int64)
    meme = np.repeat(np.arange(len(memes)), per_meme)
    n = len(meme)
    start = start_ms + rng.integers(0, max(1, days - 1) * DAY_MS, size=len(memes))
    ts = start[meme] + rng.exponential(10 * HOUR_MS, size=n).astype(np.int64)
    ts = np.minimum(ts, start_ms + days * DAY_MS - MINUTE_MS)
    author = draw_authors(rng, ts, created, np.ones(len(created)), authors)
    variant = np.array([m[int(rng.integers(0, len(m)))] for m in (memes[i] for i in meme)], dtype=np.int32)
    phrases = np.full((n, 3), -1, np.int32)
    phrases[:, 0] = rng.integers(0, len(vocab.phrases), size=n)
    tagged = rng.random(n) < 0.5
    rows = np.nonzero(tagged)[0]
    tags = rng.choice(min(40, len(vocab.tags)), size=len(rows))
    return PostFrame.build(
        ts=ts, author=author, source=MEME, phrases=phrases, tags=Ragged.from_pairs(rows, tags, n),
        media=Ragged.from_lengths(np.ones(n, np.int64), variant),
    )  # fmt: skip


def bot_frame(
    rng: np.random.Generator, vocab: Vocabulary, *, bots: np.ndarray, bot_tag_ids: np.ndarray, start_ms: int,
    days: int, budget: int,
) -> PostFrame:  # fmt: skip
    """Honest bots post on a fixed schedule (every 1-24 h at a fixed minute, a few seconds of jitter)."""
    periods_h = rng.choice(np.array([1, 2, 3, 4, 6, 12, 24]), size=len(bots))
    per_bot = days * 24 // periods_h
    while per_bot.sum() > budget and periods_h.max() < 24 * days:
        periods_h = np.where(per_bot == per_bot.max(), periods_h * 2, periods_h)
        per_bot = days * 24 // periods_h
    bot = np.repeat(np.arange(len(bots)), per_bot)
    k = np.arange(len(bot)) - np.repeat(np.cumsum(per_bot) - per_bot, per_bot)
    offset = rng.integers(0, 60, size=len(bots)) * MINUTE_MS
    ts = start_ms + offset[bot] + k * periods_h[bot] * HOUR_MS + rng.integers(0, 20_000, size=len(bot))
    n = len(bot)
    phrases = np.full((n, 3), -1, np.int32)
    phrases[:, 0] = rng.integers(0, 50, size=len(bots))[bot]  # each bot repeats a template phrase ...
    phrases[:, 1] = rng.integers(0, len(vocab.phrases), size=n)  # ... with the new content
    tag = bot_tag_ids[np.arange(len(bots)) % len(bot_tag_ids)][bot]
    return PostFrame.build(
        ts=ts, author=bots[bot], source=BOT, phrases=phrases,
        tags=Ragged.from_lengths(np.ones(n, np.int64), tag),
    )  # fmt: skip


def history_frame(
    rng: np.random.Generator, vocab: Vocabulary, *, accounts: np.ndarray, until_ms: np.ndarray, start_ms: int,
    favourites: np.ndarray, media_ids: np.ndarray,
) -> PostFrame:  # fmt: skip
    """A steady benign history (6-20 posts) for each of `accounts` between `start_ms` and its `until_ms`:
    the established accounts that a network later takes over had an ordinary life before."""
    per = rng.integers(6, 21, size=len(accounts))
    who = np.repeat(np.arange(len(accounts)), per)
    span = np.maximum(HOUR_MS, until_ms[who] - start_ms - HOUR_MS)
    ts = start_ms + (rng.random(len(who)) * span).astype(np.int64)
    n = len(who)
    phrases = rng.integers(0, len(vocab.phrases), size=(n, 3)).astype(np.int32)
    tagged = rng.random(n) < 0.6
    rows = np.nonzero(tagged)[0]
    tags = favourites[accounts[who[rows]], rng.integers(0, FAVOURITES, size=len(rows))]
    with_media = rng.random(n) < 0.15
    media = Ragged.from_lengths(
        with_media.astype(np.int64), media_ids[rng.integers(0, len(media_ids), size=int(with_media.sum()))]
    )
    return PostFrame.build(
        ts=ts, author=accounts[who], source=BACKGROUND, phrases=phrases, tags=Ragged.from_pairs(rows, tags, n),
        media=media,
    )  # fmt: skip
