"""Benign look-alikes of a network: an organic hashtag burst, a marketing campaign, a crypto-spam swarm and an
organic fan reply swarm. Each shares some surface signal with the planted network (bursts of one tag, a
shared link and avatar, a creation wave with patterned names, dozens of replies within minutes) and none of
its anchoring evidence. Their accounts are listed in truth.decoy_accounts.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from cordon.sim.accounts import DAY_MS, G_CRYPTO, G_MARKETING, HOUR_MS, MINUTE_MS, AccountTable
from cordon.sim.frame import (
    BURST,
    CELEBRITY,
    CRYPTO,
    FAN,
    MARKETING,
    POPULAR,
    REBLOG,
    REPLY,
    PostFrame,
    Ragged,
)
from cordon.sim.identifiers import eth_address
from cordon.sim.vocab import EMOJI, Vocabulary, unique_words


@dataclass(frozen=True, slots=True)
class DecoyPlan:
    """Who takes part in which decoy, chosen before any post is drawn."""

    burst: np.ndarray
    fans: np.ndarray
    celebrity: int
    marketing: np.ndarray
    crypto: np.ndarray
    brand_domain: str
    wallet: str
    burst_ms: int


def add_decoy_accounts(
    table: AccountTable, rng: np.random.Generator, vocab: Vocabulary, *, marketing: int, crypto: int,
    start_ms: int, logo: str, coin: str,
) -> tuple[np.ndarray, np.ndarray, str, str]:  # fmt: skip
    """The marketing team (some old accounts, some set up together for the campaign) and the crypto bots
    (one creation wave, word+digits handles, one shared avatar). Returns their indexes, domain, wallet."""
    brand = unique_words(rng, 1, 2, 2, avoid=frozenset(vocab.words))[0]
    domain = f"{brand}.shop"
    roles = rng.choice(len(vocab.words), size=marketing, replace=False)
    handles = [f"{brand}_{vocab.words[r]}" for r in roles]
    old = rng.uniform(start_ms - 700 * DAY_MS, start_ms - 200 * DAY_MS, size=marketing // 2)
    setup = start_ms - 21 * DAY_MS + rng.integers(0, 6 * HOUR_MS, size=marketing - marketing // 2)
    m_idx = table.add(
        created=np.concatenate([old, setup]).astype(np.int64),
        group=G_MARKETING,
        handles=handles,
        displays=[f"{brand.capitalize()} {vocab.words[r].capitalize()}" for r in roles],
        bios=[f"Team {brand.capitalize()} - new arrivals every week at https://{domain}/" for _ in handles],
        avatars=[logo] * marketing,
        lang=np.zeros(marketing, np.int8),
    )
    wallet = eth_address(rng)
    wave = start_ms + int(rng.integers(2, 6)) * DAY_MS + 14 * HOUR_MS
    words = rng.choice(len(vocab.words), size=crypto, replace=False)
    c_idx = table.add(
        created=(wave + np.sort(rng.integers(0, 50 * MINUTE_MS, size=crypto))).astype(np.int64),
        group=G_CRYPTO,
        handles=[
            f"{vocab.words[w]}{int(d)}" for w, d in zip(words, rng.integers(1000, 9999, crypto), strict=True)
        ],
        bios=[
            f"Crypto giveaway {EMOJI[i % len(EMOJI)]} send to {wallet} and get 2x back" for i in range(crypto)
        ],
        avatars=[coin] * crypto,
        lang=np.zeros(crypto, np.int8),
    )
    return m_idx, c_idx, domain, wallet


def choose_participants(
    rng: np.random.Generator, *, created: np.ndarray, popularity: np.ndarray, candidates: np.ndarray,
    burst: int, fans: int, start_ms: int, days: int,
) -> tuple[np.ndarray, np.ndarray, int, int]:  # fmt: skip
    """Celebrity (the most followed established account), fans (established) and burst participants."""
    established = candidates[created[candidates] < start_ms - 180 * DAY_MS]
    celebrity = int(established[np.argmax(popularity[established])])
    pool = established[established != celebrity]
    fan_idx = rng.choice(pool, size=min(fans, len(pool) // 3), replace=False)
    burst_ms = start_ms + int(rng.uniform(0.3, 0.8) * days) * DAY_MS + 15 * HOUR_MS
    eligible = np.setdiff1d(
        candidates[created[candidates] < burst_ms - DAY_MS], np.append(fan_idx, celebrity)
    )
    burst_idx = rng.choice(eligible, size=min(burst, len(eligible) // 3), replace=False)
    return np.sort(burst_idx), np.sort(fan_idx), celebrity, burst_ms


def decoy_frame(
    rng: np.random.Generator, vocab: Vocabulary, plan: DecoyPlan, *, burst_tag: int, start_ms: int, days: int,
    celebrity_posts: int, media_ids: np.ndarray, crypto_posts: int,
) -> PostFrame:  # fmt: skip
    """Every decoy's posts in one frame (so that fan and crypto replies can point at the celebrity's posts)."""
    end_ms = start_ms + days * DAY_MS - MINUTE_MS
    ts: list[np.ndarray] = []
    author: list[np.ndarray] = []
    source: list[np.ndarray] = []
    kind: list[np.ndarray] = []
    target: list[np.ndarray] = []
    mode: list[np.ndarray] = []
    extra: list[np.ndarray] = []
    tag_rows: list[list[int]] = []
    media_rows: list[list[int]] = []
    texts: list[str] = []

    def emit(t: np.ndarray, a: np.ndarray, src: int, *, k: int = 0, tgt: np.ndarray | None = None,
             md: int = 0, ex: np.ndarray | None = None, tags: list[list[int]] | None = None,
             media: list[list[int]] | None = None) -> np.ndarray:  # fmt: skip
        first = sum(len(x) for x in ts)
        n = len(t)
        ts.append(np.minimum(t.astype(np.int64), end_ms))
        author.append(np.asarray(a, np.int64))
        source.append(np.full(n, src, np.int8))
        kind.append(np.full(n, k, np.int8))
        target.append(np.full(n, -1, np.int64) if tgt is None else tgt.astype(np.int64))
        mode.append(np.full(n, md, np.int8))
        extra.append(np.full(n, -1, np.int64) if ex is None else ex)
        tag_rows.extend(tags if tags is not None else [[] for _ in range(n)])
        media_rows.extend(media if media is not None else [[] for _ in range(n)])
        return np.arange(first, first + n)

    # organic burst: many unrelated accounts, one new tag, one day (and a thin tail after it)
    per = rng.choice([1, 1, 1, 2, 3], size=len(plan.burst))
    who = np.repeat(plan.burst, per)
    delay = rng.gamma(2.0, 2.5 * HOUR_MS, size=len(who))
    delay = np.where(rng.random(len(who)) < 0.1, rng.exponential(3 * DAY_MS, size=len(who)), delay)
    common = rng.choice(len(vocab.tags), size=len(who), p=vocab.tag_p)
    emit(plan.burst_ms + delay, who, BURST,
         tags=[[burst_tag, int(c)] if rng.random() < 0.4 else [burst_tag] for c in common],
         media=[[int(rng.choice(media_ids))] if rng.random() < 0.2 else [] for _ in who])  # fmt: skip

    # the celebrity posts; established fans answer within minutes; some crypto bots pile in
    celeb_ts = start_ms + np.sort(rng.choice(days, size=min(celebrity_posts, days), replace=False)) * DAY_MS
    celeb_ts = celeb_ts + 17 * HOUR_MS + rng.integers(0, 3 * HOUR_MS, size=len(celeb_ts))
    celeb_rows = emit(celeb_ts, np.full(len(celeb_ts), plan.celebrity), CELEBRITY,
                      media=[[int(rng.choice(media_ids))] for _ in celeb_ts])  # fmt: skip
    for row, t in zip(celeb_rows, celeb_ts, strict=True):
        fans = plan.fans[rng.random(len(plan.fans)) < rng.uniform(0.55, 0.9)]
        lag = np.clip(rng.lognormal(np.log(3 * MINUTE_MS), 0.8, size=len(fans)), 5_000, 25 * MINUTE_MS)
        emit(t + lag, fans, FAN, k=REPLY, tgt=np.full(len(fans), row))
        spam = plan.crypto[
            rng.random(len(plan.crypto)) < 0.3
        ]  # rows before a bot's creation are dropped later
        emit(t + rng.uniform(20_000, 4 * MINUTE_MS, size=len(spam)), spam, CRYPTO, k=REPLY,
             tgt=np.full(len(spam), row), ex=np.zeros(len(spam), np.int64))  # fmt: skip

    # marketing: two drops a day for a week; the lead posts, the team follows within minutes and boosts
    texts.append(f"send any amount to {plan.wallet} and get double back")  # crypto text, index 0
    campaign = start_ms + int(rng.integers(1, max(2, days - 8))) * DAY_MS
    templates = [
        f"New arrivals just landed! https://{plan.brand_domain}/new?utm_source=mastodon&utm_campaign=drop{{}}",
        f"Only today: 20% off everything https://{plan.brand_domain}/sale?utm_source=mastodon&utm_campaign=drop{{}}",
        f"Our bestsellers are back https://{plan.brand_domain}/best?utm_source=mastodon&utm_campaign=drop{{}}",
    ]
    brand_tag = int(rng.integers(40, 200))
    for d in range(min(7, days - 2)):
        for hour in (10, 18):
            drop = campaign + d * DAY_MS + hour * HOUR_MS
            texts.append(templates[(d * 2 + hour) % len(templates)].format(d * 2 + hour // 18))
            text_id = len(texts) - 1
            lead = emit(np.array([drop]), plan.marketing[:1], MARKETING, ex=np.array([text_id]),
                        tags=[[brand_tag]], media=[[int(rng.choice(media_ids))]])  # fmt: skip
            team = plan.marketing[1:]
            lag = rng.uniform(30_000, 10 * MINUTE_MS, size=len(team))
            emit(drop + lag, team, MARKETING, ex=np.full(len(team), text_id), tags=[[brand_tag]] * len(team))
            boost = team[rng.random(len(team)) < 0.4]
            emit(drop + rng.uniform(60_000, 15 * MINUTE_MS, size=len(boost)), boost, MARKETING, k=REBLOG,
                 tgt=np.full(len(boost), lead[0]))  # fmt: skip

    # crypto spam: each bot posts its giveaway (rows before its wave are dropped later) and replies to popular
    # posts; `crypto_posts` in all
    per_bot = max(3, crypto_posts // max(1, len(plan.crypto)))
    for bot in plan.crypto:
        n = int(rng.integers(per_bot // 2, per_bot + 1))
        t = start_ms + rng.integers(0, days * DAY_MS, size=n)
        emit(t, np.full(n, bot), CRYPTO, ex=np.zeros(n, np.int64), tags=[[int(rng.integers(0, 30))]] * n)
        r = int(rng.integers(1, per_bot // 2 + 2))
        emit(start_ms + rng.integers(0, days * DAY_MS, size=r), np.full(r, bot), CRYPTO, k=REPLY, md=POPULAR,
             ex=np.zeros(r, np.int64))  # fmt: skip

    n_rows = sum(len(x) for x in ts)
    phrases = rng.integers(0, len(vocab.phrases), size=(n_rows, 3)).astype(np.int32)
    phrases[:, 2] = -1
    all_kind = np.concatenate(kind)
    all_source = np.concatenate(source)
    phrases[all_kind == REBLOG] = -1
    phrases[(all_source == MARKETING) | (all_source == CRYPTO), 1:] = -1
    return PostFrame.build(
        ts=np.concatenate(ts), author=np.concatenate(author), source=all_source, kind=all_kind,
        target=np.concatenate(target), target_mode=np.concatenate(mode), phrases=phrases,
        extra=np.concatenate(extra), tags=Ragged.from_lists(tag_rows), media=Ragged.from_lists(media_rows),
        texts=texts,
    )  # fmt: skip
