"""Build a world: media, accounts, follows and every post as columns, in time order, ready to export.

Each part draws from its own random stream (seed, part), so a world is identical for a seed and changing one
part's code leaves the others' draws alone.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import numpy as np

from cordon.sim import accounts as acc
from cordon.sim.accounts import DAY_MS, AccountTable
from cordon.sim.background import background_frame, bot_frame, history_frame, meme_frame
from cordon.sim.decoys import DecoyPlan, add_decoy_accounts, choose_participants, decoy_frame
from cordon.sim.frame import BACKGROUND, BOT, BURST, CELEBRITY, FAN, MEME, NET_ORIGINAL, REBLOG, PostFrame
from cordon.sim.images import AVATAR_SIDE, encode, procedural_image
from cordon.sim.media import MediaLibrary, MediaWriter, build_media
from cordon.sim.network_accounts import NetworkAccounts, build_infrastructure, build_network_accounts
from cordon.sim.network_posts import FloodTags, NetworkMedia, network_frame
from cordon.sim.params import SimParams
from cordon.sim.targets import assign_targets
from cordon.sim.vocab import Vocabulary, build_vocabulary

REBLOG_WINDOW = 100_000  # the writer's reblog cache (posts); reblog targets stay well inside it
_STREAMS = {
    "vocab": 1,
    "media": 2,
    "accounts": 3,
    "decoys": 4,
    "network": 5,
    "posts": 6,
    "targets": 7,
    "follows": 8,
}
_BENIGN_SOURCES = (BACKGROUND, BOT, MEME, BURST, CELEBRITY, FAN)


def stream(seed: int, part: str) -> np.random.Generator:
    return np.random.default_rng([seed, _STREAMS[part]])


@dataclass(frozen=True, slots=True)
class World:
    """Everything the exporter writes and the truth describes."""

    params: SimParams
    start_ms: int
    end_ms: int
    vocab: Vocabulary
    tags: list[str]
    flood: FloodTags
    lib: MediaLibrary
    media_names: list[str]
    media_sha: list[str]
    copy_source: dict[int, str]  # global media id of a bank copy -> sha256 of its bank original
    novel_ids: frozenset[int]
    table: AccountTable
    net: NetworkAccounts
    decoys: DecoyPlan
    honest_bots: np.ndarray
    crypto_suspended: np.ndarray
    crypto_suspended_ms: int
    follows: tuple[np.ndarray, np.ndarray, np.ndarray]
    posts: PostFrame  # sorted by time, every target set


def _follows(
    rng: np.random.Generator, table: AccountTable, net: NetworkAccounts, plan: DecoyPlan, popularity: np.ndarray,
    p: SimParams, end_ms: int,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:  # fmt: skip
    created = table.created_ms
    group = table.group
    benign = np.nonzero(~np.isin(group, acc.NETWORK_GROUPS))[0]
    src, dst, ts = acc.follow_graph(rng, created, popularity, benign, p.follows_per_account, end_ms)
    extra_src: list[np.ndarray] = []
    extra_dst: list[np.ndarray] = []
    for amp in net.amplifiers:  # amplifiers follow most posters, posters follow each other
        chosen = net.posters[rng.random(len(net.posters)) < 0.6]
        extra_src.append(np.full(len(chosen), amp))
        extra_dst.append(chosen)
    for poster in net.posters:
        chosen = net.posters[rng.random(len(net.posters)) < 0.3]
        extra_src.append(np.full(len(chosen), poster))
        extra_dst.append(chosen)
    extra_src.append(plan.fans)
    extra_dst.append(np.full(len(plan.fans), plan.celebrity))
    for m in plan.marketing:
        extra_src.append(np.full(len(plan.marketing), m))
        extra_dst.append(plan.marketing)
    es, ed = np.concatenate(extra_src).astype(np.int64), np.concatenate(extra_dst).astype(np.int64)
    keep = es != ed
    es, ed = es[keep], ed[keep]
    ets = np.maximum(created[es], created[ed]) + rng.exponential(DAY_MS, size=len(es)).astype(np.int64)
    all_src = np.concatenate([src, es])
    all_dst = np.concatenate([dst, ed])
    all_ts = np.minimum(np.concatenate([ts, ets]), end_ms - 60_000)
    _, first = np.unique(all_src << 32 | all_dst, return_index=True)
    return all_src[first], all_dst[first], all_ts[first]


def build_world(out: Path, p: SimParams, tick: Callable[[str, int], None]) -> World:
    """Generate the world of `p`, writing its media files under `out`/media."""
    end_ms = acc.ms(datetime.fromisoformat(p.end))
    start_ms = end_ms - p.days * DAY_MS
    vocab = build_vocabulary(stream(p.seed, "vocab"), tag_count=p.tag_vocabulary, coded=p.coded_tags,
                             adult=p.adult_tags, innocent=p.innocent_tags)  # fmt: skip
    v = len(vocab.tags)
    tags = [*vocab.tags, *vocab.coded_tags, vocab.burst_tag, *vocab.bot_tags]
    flood = FloodTags(
        coded=np.arange(v, v + len(vocab.coded_tags)),
        adult=np.array(vocab.adult_tag_ids),
        innocent=np.array(vocab.innocent_tag_ids),
    )
    burst_tag = v + len(vocab.coded_tags)
    bot_tag_ids = np.arange(burst_tag + 1, len(tags))

    writer = MediaWriter(out / "media")
    lib = MediaLibrary()
    build_media(
        writer, p.seed, lib, background=p.background_media, memes=p.memes, avatars=p.avatar_pool,
        bank_items=p.bank_items, bank_used=p.bank_used, novel=p.novel_media, tick=lambda k: tick("media", k),
    )  # fmt: skip
    mrng = stream(p.seed, "media")
    logo = writer.write(encode(procedural_image(mrng, AVATAR_SIDE, grain=False), "PNG"), "png").name
    coin = writer.write(encode(procedural_image(mrng, AVATAR_SIDE, grain=False), "PNG"), "png").name
    files = [*lib.background, *(f for m in lib.memes for f in m)]
    meme_ids: list[list[int]] = []
    at = len(lib.background)
    for m in lib.memes:
        meme_ids.append(list(range(at, at + len(m))))
        at += len(m)
    copy_ids: list[list[int]] = []
    copy_source: dict[int, str] = {}
    for copies, source in zip(lib.bank_copies, lib.bank_copy_source, strict=True):
        copy_ids.append(list(range(len(files), len(files) + len(copies))))
        copy_source.update({len(files) + k: source for k in range(len(copies))})
        files.extend(copies)
    novel_ids = np.arange(len(files), len(files) + len(lib.novel))
    files.extend(lib.novel)

    arng = stream(p.seed, "accounts")
    table = AccountTable()
    n_bg = p.accounts - p.honest_bots - p.marketing_accounts - p.crypto_accounts
    background = acc.add_background(table, arng, vocab, lib, n=n_bg, start_ms=start_ms, end_ms=end_ms,
                                    avatar_share=p.avatar_share, default_avatar_share=p.default_avatar_share)  # fmt: skip
    bots = acc.add_honest_bots(table, arng, vocab, lib, n=p.honest_bots, start_ms=start_ms)
    drng = stream(p.seed, "decoys")
    marketing, crypto, domain, wallet = add_decoy_accounts(
        table,
        drng,
        vocab,
        marketing=p.marketing_accounts,
        crypto=p.crypto_accounts,
        start_ms=start_ms,
        logo=logo,
        coin=coin,
    )
    created = table.created_ms
    activity = np.concatenate(table.activity_parts)
    popularity = np.concatenate(table.popularity_parts)
    burst, fans, celebrity, burst_ms = choose_participants(
        drng,
        created=created,
        popularity=popularity,
        candidates=background,
        burst=p.burst_accounts,
        fans=p.fans,
        start_ms=start_ms,
        days=p.days,
    )
    plan = DecoyPlan(burst, fans, celebrity, marketing, crypto, domain, wallet, burst_ms)
    taken = np.concatenate([burst, fans, [celebrity]])
    hack_pool = background[
        (created[background] < start_ms - 365 * DAY_MS)
        & (activity[background] >= np.median(activity[background]))
    ]
    hack_pool = np.setdiff1d(hack_pool, taken)

    nrng = stream(p.seed, "network")
    infra = build_infrastructure(nrng, vocab, p.network_size)
    net = build_network_accounts(table, nrng, vocab, lib, writer, p, hack_candidates=hack_pool,
                                 start_ms=start_ms, end_ms=end_ms, infra=infra)  # fmt: skip
    table.make_handles_unique()
    created = table.created_ms
    n_accounts = len(table)
    popularity = np.concatenate(table.popularity_parts)
    popularity[np.isin(table.group, acc.NETWORK_GROUPS)] = 0.0
    follows = _follows(stream(p.seed, "follows"), table, net, plan, popularity, p, end_ms)

    prng = stream(p.seed, "posts")
    frames = [
        network_frame(nrng, vocab, p, net, infra, NetworkMedia(copy_ids, novel_ids), flood, end_ms=end_ms)
    ]
    frames.append(decoy_frame(drng, vocab, plan, burst_tag=burst_tag, start_ms=start_ms, days=p.days,
                              celebrity_posts=p.celebrity_posts, media_ids=np.arange(len(lib.background)),
                              crypto_posts=int(0.012 * p.posts)))  # fmt: skip
    frames.append(bot_frame(prng, vocab, bots=bots, bot_tag_ids=bot_tag_ids, start_ms=start_ms, days=p.days,
                            budget=int(0.06 * p.posts)))  # fmt: skip
    posters = background[~np.isin(background, net.hacked)]
    frames.append(meme_frame(prng, vocab, posts=int(0.025 * p.posts), memes=meme_ids, start_ms=start_ms,
                             days=p.days, created=created, authors=posters))  # fmt: skip
    favourites = prng.choice(len(vocab.tags), size=(n_accounts, 6), p=vocab.tag_p)
    frames.append(history_frame(prng, vocab, accounts=net.hacked, until_ms=net.hack_ms, start_ms=start_ms,
                                favourites=favourites, media_ids=np.arange(len(lib.background))))  # fmt: skip
    remaining = max(1_000, p.posts - sum(len(f) for f in frames))
    frames.append(background_frame(
        prng, vocab, n=remaining, start_ms=start_ms, days=p.days, created=created, activity=activity,
        authors=background, favourites=favourites,
        media_ids=np.arange(len(lib.background)), reply_share=p.reply_share, reblog_share=p.reblog_share,
        media_share=p.media_share, tagged_share=p.tagged_share, link_share=p.link_share,
    ))  # fmt: skip
    tick("posts-planned", 1)

    crypto_suspended = np.sort(drng.choice(crypto, size=2, replace=False))
    crypto_suspended_ms = end_ms - 3 * DAY_MS
    frame = _valid_rows(PostFrame.concat(frames), table, net, crypto_suspended, crypto_suspended_ms, end_ms)
    frame = frame.sorted_by_time()
    offsets, targets = acc.neighbours(follows[0], follows[1], n_accounts)
    frame = assign_targets(stream(p.seed, "targets"), frame, follow_offsets=offsets, follow_targets=targets,
                           popularity=np.concatenate(table.popularity_parts), reblog_window=REBLOG_WINDOW)  # fmt: skip
    far = (frame.kind == REBLOG) & (np.arange(len(frame)) - frame.target >= REBLOG_WINDOW)
    if far.any():
        frame = frame.keep(~far)
    return World(
        params=p, start_ms=start_ms, end_ms=end_ms, vocab=vocab, tags=tags, flood=flood, lib=lib,
        media_names=[f.name for f in files], media_sha=[f.sha256 for f in files], copy_source=copy_source,
        novel_ids=frozenset(int(i) for i in novel_ids), table=table, net=net, decoys=plan,
        honest_bots=bots, crypto_suspended=crypto_suspended, crypto_suspended_ms=crypto_suspended_ms,
        follows=follows, posts=frame,
    )  # fmt: skip


def _valid_rows(
    frame: PostFrame, table: AccountTable, net: NetworkAccounts, crypto_suspended: np.ndarray,
    crypto_suspended_ms: int, end_ms: int,
) -> PostFrame:  # fmt: skip
    """Drop rows an account could not have posted: before its creation, after its suspension, benign posts
    of a hacked account after the takeover, network posts outside the account's active time."""
    created = table.created_ms
    n = len(created)
    suspended_at = np.full(n, np.iinfo(np.int64).max, np.int64)
    suspended_at[net.suspended] = net.suspended_ms
    suspended_at[crypto_suspended] = crypto_suspended_ms
    hacked_at = np.full(n, np.iinfo(np.int64).max, np.int64)
    hacked_at[net.hacked] = net.hack_ms
    a = frame.author
    benign_source = np.isin(frame.source, _BENIGN_SOURCES)
    network_source = frame.source >= NET_ORIGINAL
    bad = (
        (frame.ts < created[a] + 30_000)
        | (frame.ts >= suspended_at[a])
        | (benign_source & (frame.ts >= hacked_at[a]))
        | (network_source & ((frame.ts < net.active_from[a]) | (frame.ts >= net.active_to[a])))
        | (frame.ts >= end_ms)
    )
    return frame if not bad.any() else frame.keep(~bad)
