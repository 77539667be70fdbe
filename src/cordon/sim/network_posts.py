"""What the planted network posts: media posts with link-outs flooding hashtags, a reply swarm of amplifier
bots under each within seconds to minutes, boosts, and tag-stuffed flood posts.

Media: altered copies of bank items (popular items re-posted often) and novel images in no bank, a few of
them re-posted across the network. Hashtags: coded tokens only the network uses, adult tags, and innocent
tags that ordinary users use every day.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from cordon.sim.accounts import DAY_MS, HOUR_MS, MINUTE_MS
from cordon.sim.background import HOURLY_P
from cordon.sim.frame import NET_FLOOD, NET_ORIGINAL, NET_REBLOG, NET_SWARM, REBLOG, REPLY, PostFrame, Ragged
from cordon.sim.network_accounts import Infrastructure, NetworkAccounts
from cordon.sim.params import SimParams
from cordon.sim.vocab import EMOJI, Vocabulary, zipf_weights

_SWARM_MAX_DELAY = 14 * MINUTE_MS
_PRICES = ("$15", "$25", "20 usd", "$40", "35 usd", "€30")


@dataclass(frozen=True, slots=True)
class FloodTags:
    """Global tag ids the network floods, by kind."""

    coded: np.ndarray
    adult: np.ndarray
    innocent: np.ndarray

    @property
    def all(self) -> np.ndarray:
        return np.concatenate([self.coded, self.adult, self.innocent])

    @property
    def weights(self) -> np.ndarray:
        w = np.concatenate([np.full(len(self.coded), 0.45 / len(self.coded)),
                            np.full(len(self.adult), 0.25 / len(self.adult)),
                            np.full(len(self.innocent), 0.30 / len(self.innocent))])  # fmt: skip
        p: np.ndarray = w / w.sum()
        return p


@dataclass(frozen=True, slots=True)
class NetworkMedia:
    copies: list[list[int]]  # used bank item -> global media ids of its altered copies
    novel: np.ndarray  # global media ids of novel images


def _texts(rng: np.random.Generator, vocab: Vocabulary, infra: Infrastructure, n: int) -> list[str]:
    """Link-out lines: a Telegram or Discord invite, a site, a wallet or messenger handle, a price."""
    out = []
    for _ in range(n):
        parts = [infra.telegram[int(rng.integers(0, len(infra.telegram)))]]
        r = rng.random(4)
        if r[0] < 0.4:
            parts.append(
                f"https://{infra.domains[int(rng.integers(0, len(infra.domains)))]}/{vocab.words[int(rng.integers(0, 300))]}"
            )
        if r[1] < 0.2:
            parts.append(infra.discord[int(rng.integers(0, len(infra.discord)))])
        if r[2] < 0.25:
            parts.append(f"btc: {infra.wallets[int(rng.integers(0, len(infra.wallets)))]}")
        elif r[2] < 0.45:
            parts.append(infra.handles[int(rng.integers(0, len(infra.handles)))])
        if r[3] < 0.3:
            parts.append(_PRICES[int(rng.integers(0, len(_PRICES)))])
        emoji = EMOJI[int(rng.integers(0, len(EMOJI)))]
        out.append(f"{emoji} " + " ".join(parts) + f" {emoji}")
    return out


def _daily_cycle(rng: np.random.Generator, low: np.ndarray, high: np.ndarray) -> np.ndarray:
    """Times in [low, high): a uniform day, then an hour drawn from the same daily cycle as everyone's."""
    t = low + (rng.random(len(low)) * (high - low)).astype(np.int64)
    hour = rng.choice(24, size=len(low), p=HOURLY_P)
    cycled = t - t % DAY_MS + hour * HOUR_MS + rng.integers(0, HOUR_MS, size=len(low))
    inside: np.ndarray = np.where((cycled >= low) & (cycled < high), cycled, t)
    return inside


def _alive(accounts: np.ndarray, net: NetworkAccounts, t: int) -> np.ndarray:
    alive: np.ndarray = accounts[
        (net.active_from[accounts] <= t) & (net.active_to[accounts] > t + _SWARM_MAX_DELAY)
    ]
    return alive


def network_frame(
    rng: np.random.Generator, vocab: Vocabulary, p: SimParams, net: NetworkAccounts, infra: Infrastructure,
    media: NetworkMedia, flood: FloodTags, *, end_ms: int,
) -> PostFrame:  # fmt: skip
    posters = net.posters
    span = np.maximum(0, net.active_to[posters] - net.active_from[posters] - 30 * MINUTE_MS).astype(
        np.float64
    )
    weight = span * rng.lognormal(0, 0.5, size=len(posters))
    n_orig = p.network_originals
    # every poster with time to post posts at least once (a hacked account taken over late in a small world
    # would otherwise be a member whose takeover nothing in the export shows); the rest by weight
    sure = posters[span > 0][:n_orig]
    drawn = posters[rng.choice(len(posters), size=n_orig - len(sure), p=weight / weight.sum())]
    author = np.concatenate([sure, drawn])
    room = np.maximum(0, net.active_to[author] - net.active_from[author] - 30 * MINUTE_MS)
    ts = _daily_cycle(rng, net.active_from[author], net.active_from[author] + room)
    order = np.argsort(ts, kind="stable")
    ts, author = ts[order], author[order]

    # media: 1-4 images each; bank copies of popular items often, novel images some of them re-posted
    n_media = rng.choice([1, 2, 3, 4], size=n_orig, p=[0.4, 0.3, 0.2, 0.1])
    total = int(n_media.sum())
    is_copy = rng.random(total) < 0.6
    item = rng.choice(len(media.copies), size=total, p=zipf_weights(len(media.copies), 0.7))
    copy_ids = np.array([c[int(rng.integers(0, len(c)))] for c in (media.copies[i] for i in item)], np.int32)
    novel_ids = media.novel[rng.choice(len(media.novel), size=total, p=zipf_weights(len(media.novel), 1.0))]
    media_vals = np.where(is_copy, copy_ids, novel_ids).astype(np.int32)
    # every bank copy and novel image is posted at least once (the truth lists exactly what was posted)
    every = np.concatenate(
        [np.array([c for cs in media.copies for c in cs], np.int32), media.novel.astype(np.int32)]
    )
    slots = rng.permutation(total)[: len(every)]
    media_vals[slots] = every[: len(slots)]

    # hashtags: 3-7 from the flood set; every flooded tag appears
    n_tags = rng.integers(3, 8, size=n_orig)
    tag_vals = rng.choice(flood.all, size=int(n_tags.sum()), p=flood.weights)
    tag_vals[: len(flood.all)] = flood.all[: int(n_tags.sum())]
    tag_rows = np.repeat(np.arange(n_orig), n_tags)

    texts = _texts(rng, vocab, infra, n_orig)
    rows_ts = [ts]
    rows_author = [author]
    rows_kind = [np.zeros(n_orig, np.int8)]
    rows_target = [np.full(n_orig, -1, np.int64)]
    rows_source = [np.full(n_orig, NET_ORIGINAL, np.int8)]
    rows_extra = [np.arange(n_orig, dtype=np.int64)]
    tag_parts_rows, tag_parts_vals = [tag_rows], [tag_vals]
    row_count = n_orig

    # reply swarms and boosts by the amplifiers alive at the time
    amp_templates = _texts(rng, vocab, infra, 12) + [EMOJI[i] * 2 for i in range(len(EMOJI))]
    template_base = len(texts)
    texts.extend(amp_templates)
    for i in range(n_orig):
        alive = _alive(net.amplifiers, net, int(ts[i]))
        if len(alive) == 0:
            continue
        size = min(len(alive), max(6, int(rng.poisson(p.swarm_mean))))
        who = rng.choice(alive, size=size, replace=False)
        lag = np.clip(rng.lognormal(np.log(75_000), 0.9, size=size), 3_000, _SWARM_MAX_DELAY).astype(np.int64)
        boosters = rng.choice(alive, size=min(len(alive), int(rng.poisson(p.swarm_mean / 4))), replace=False)
        boost_lag = rng.integers(MINUTE_MS, 30 * MINUTE_MS, size=len(boosters))
        rows_ts += [ts[i] + lag, ts[i] + boost_lag]
        rows_author += [who, boosters]
        rows_kind += [np.full(size, REPLY, np.int8), np.full(len(boosters), REBLOG, np.int8)]
        rows_target += [np.full(size, i, np.int64), np.full(len(boosters), i, np.int64)]
        rows_source += [np.full(size, NET_SWARM, np.int8), np.full(len(boosters), NET_REBLOG, np.int8)]
        rows_extra += [
            template_base + rng.integers(0, len(amp_templates), size=size),
            np.full(len(boosters), -1),
        ]
        tagged = np.nonzero(rng.random(size) < 0.3)[0]
        k = rng.integers(1, 4, size=len(tagged))
        tag_parts_rows.append(row_count + np.repeat(tagged, k))
        tag_parts_vals.append(rng.choice(flood.all, size=int(k.sum()), p=flood.weights))
        row_count += size + len(boosters)

    # flood posts: tag-stuffed link-outs by amplifiers and posters at any time they are active
    n_flood = round(p.flood_intensity * n_orig)
    everyone = np.concatenate([net.amplifiers, net.posters])
    f_author = everyone[rng.integers(0, len(everyone), size=n_flood)]
    f_span = np.maximum(0, net.active_to[f_author] - net.active_from[f_author] - MINUTE_MS)
    f_ts = _daily_cycle(rng, net.active_from[f_author], net.active_from[f_author] + f_span)
    f_texts = _texts(rng, vocab, infra, n_flood)
    f_base = len(texts)
    texts.extend(f_texts)
    k = rng.integers(4, 9, size=n_flood)
    rows_ts.append(f_ts)
    rows_author.append(f_author)
    rows_kind.append(np.zeros(n_flood, np.int8))
    rows_target.append(np.full(n_flood, -1, np.int64))
    rows_source.append(np.full(n_flood, NET_FLOOD, np.int8))
    rows_extra.append(f_base + np.arange(n_flood))
    tag_parts_rows.append(row_count + np.repeat(np.arange(n_flood), k))
    tag_parts_vals.append(rng.choice(flood.all, size=int(k.sum()), p=flood.weights))
    row_count += n_flood

    all_ts = np.minimum(np.concatenate(rows_ts), end_ms - 1_000)
    all_kind = np.concatenate(rows_kind)
    all_source = np.concatenate(rows_source)
    all_author = np.concatenate(rows_author)
    phrases = rng.integers(0, len(vocab.phrases), size=(row_count, 3)).astype(np.int32)
    phrases[:, 1:] = -1
    phrases[all_kind == REBLOG] = -1
    phrases[all_source == NET_SWARM] = -1
    media_lengths = np.concatenate([n_media, np.zeros(row_count - n_orig, np.int64)])
    return PostFrame.build(
        ts=all_ts, author=all_author, source=all_source, kind=all_kind, target=np.concatenate(rows_target),
        phrases=phrases, extra=np.concatenate(rows_extra), lang=net.lang[all_author],
        sensitive=(all_source == NET_ORIGINAL) & (rng.random(row_count) < 0.7),
        tags=Ragged.from_pairs(np.concatenate(tag_parts_rows), np.concatenate(tag_parts_vals), row_count),
        media=Ragged.from_lengths(media_lengths, media_vals), texts=texts,
    )  # fmt: skip
