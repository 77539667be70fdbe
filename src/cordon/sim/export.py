"""`simulate(out, params)`: build a world and write it as a Mastodon export, bank.csv and truth.json.

Posts are rendered and written in chunks (flat memory) in time order; a hacked account's profile is written
again at the moment of its takeover, so the statuses before it embed the old profile and those after it the
new one.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from itertools import pairwise
from pathlib import Path

import numpy as np
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from cordon.connectors.mastodon.writer import MastodonExportWriter
from cordon.errors import ConfigError
from cordon.model import Account, Edge, EdgeKind, ModerationAction, ModerationEvent, Platform
from cordon.sim.frame import NET_ORIGINAL
from cordon.sim.identifiers import snowflake_ids
from cordon.sim.media import write_bank_csv
from cordon.sim.params import SimParams
from cordon.sim.render import RenderContext, at, render_account, render_posts
from cordon.sim.truth import SCHEMA, Evasion, FloodedTag, Truth, write_truth
from cordon.sim.world import REBLOG_WINDOW, World, build_world

INSTANCE = "sim.example"
CHUNK = 20_000
_OUTPUTS = ("statuses.jsonl", "accounts.jsonl", "follows.jsonl", "moderation.jsonl", "bank.csv", "truth.json")


@dataclass(frozen=True, slots=True)
class SimResult:
    """What `simulate` wrote."""

    out: Path
    posts: int
    accounts: int
    follows: int
    media_files: int
    truth: Truth


@contextmanager
def _progress(show: bool, media_total: int) -> Iterator[tuple[Callable[[str, int], None], Progress | None]]:
    if not show:
        yield (lambda _task, _n: None), None
        return
    progress = Progress(
        TextColumn("{task.description:<8}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
        console=Console(stderr=True),
    )  # fmt: skip
    tasks = {"media": progress.add_task("media", total=media_total)}
    with progress:
        yield (lambda task, n: progress.advance(tasks[task], n) if task in tasks else None), progress


def simulate(out: Path, p: SimParams, *, progress: bool | None = None) -> SimResult:
    """Generate the world of `p` into `out` (which must not hold a world already)."""
    if out.exists() and any((out / name).exists() for name in _OUTPUTS):
        raise ConfigError(f"{out}: already holds a simulated world; choose a new folder or delete it first")
    out.mkdir(parents=True, exist_ok=True)
    show = sys.stderr.isatty() if progress is None else progress
    media_total = p.background_media + p.memes + p.avatar_pool + p.bank_items + p.novel_media
    with _progress(show, media_total) as (tick, bar):
        world = build_world(out, p, tick)
        post_task = bar.add_task("posts", total=len(world.posts)) if bar is not None else None

        def advance(n: int) -> None:
            if bar is not None and post_task is not None:
                bar.advance(post_task, n)

        ids = _write_export(out, world, advance)
    write_bank_csv(out / "bank.csv", world.lib)
    truth = make_truth(world, ids)
    write_truth(out / "truth.json", truth)  # last: a folder with truth.json holds a complete world
    media_files = sum(1 for _ in (out / "media").iterdir())
    return SimResult(out, len(world.posts), len(world.table), len(world.follows[0]), media_files, truth)


@dataclass(frozen=True, slots=True)
class _Ids:
    accounts: list[str]


def _account_ids(created: np.ndarray) -> list[str]:
    order = np.argsort(created, kind="stable")
    rank = np.empty(len(created), np.int64)
    rank[order] = np.arange(len(created))
    return [str(v) for v in snowflake_ids(created, rank).tolist()]


def _write_export(out: Path, world: World, advance: Callable[[int], None]) -> _Ids:
    table, frame, net = world.table, world.posts, world.net
    created = table.created_ms
    account_ids = _account_ids(created)
    n = len(table)
    src, dst, follow_ms = world.follows
    statuses = np.bincount(frame.author, minlength=n)
    followers = np.bincount(dst, minlength=n)
    following = np.bincount(src, minlength=n)
    ctx = RenderContext(
        instance=INSTANCE,
        account_ids=account_ids,
        handles=table.handle,
        account_lang=np.concatenate(table.lang_parts),
        tags=world.tags,
        media_names=world.media_names,
        phrases=world.vocab.phrases,
        post_ids=snowflake_ids(frame.ts, np.arange(len(frame))),
    )

    def account(i: int, bio: str | None = None) -> Account:
        counts = (int(followers[i]), int(following[i]), int(statuses[i]))
        return render_account(table, i, ctx, created_ms=int(created[i]), counts=counts, bio=bio)

    hacks = sorted(zip(net.hack_ms.tolist(), net.hacked.tolist(), net.hacked_bio, strict=True))
    hack_pos = np.searchsorted(frame.ts, np.array([h[0] for h in hacks], np.int64), side="left").tolist()
    bounds = sorted({0, len(frame), *range(0, len(frame), CHUNK), *hack_pos})
    with MastodonExportWriter(out, instance=INSTANCE, reblog_cache=REBLOG_WINDOW) as writer:
        writer.write_accounts(account(i) for i in range(n))
        h = 0
        for start, stop in pairwise(bounds):
            while h < len(hacks) and hack_pos[h] <= start:
                # the takeover: the profile changes here, so later statuses embed the new one
                writer.write_accounts([account(hacks[h][1], hacks[h][2])])
                h += 1
            writer.write_posts(render_posts(frame, start, stop, ctx))
            advance(stop - start)
        writer.write_follows(
            Edge(Platform.MASTODON, EdgeKind.FOLLOW, account_ids[s], account_ids[d], None, at(t))
            for s, d, t in zip(src.tolist(), dst.tolist(), follow_ms.tolist(), strict=True)
        )
        suspended = [(int(t), int(a)) for a, t in zip(net.suspended, net.suspended_ms, strict=True)]
        suspended += [(world.crypto_suspended_ms, int(a)) for a in world.crypto_suspended]
        writer.write_moderation(
            ModerationEvent(Platform.MASTODON, account_ids[a], ModerationAction.SUSPEND, at(t))
            for t, a in sorted(suspended)
        )
    return _Ids(account_ids)


def make_truth(world: World, ids: _Ids) -> Truth:
    """The ground truth of `world`, with the ids the export used."""
    p, net, plan, table = world.params, world.net, world.decoys, world.table
    aid = ids.accounts
    frame = world.posts
    network_rows = frame.source >= NET_ORIGINAL
    counts = frame.media.lengths
    used = set(frame.media.values[np.repeat(network_rows, counts)].tolist())
    matching = sorted({world.media_sha[m] for m in used if m in world.copy_source})
    novel = sorted({world.media_sha[m] for m in used if m in world.novel_ids})
    sources = {world.media_sha[m]: world.copy_source.get(m, "") for m in used}
    suspended = sorted({aid[int(a)] for a in np.concatenate([net.suspended, world.crypto_suspended])})
    tags = world.tags
    flooded = (
        [FloodedTag(tags[int(t)], "coded") for t in world.flood.coded]
        + [FloodedTag(tags[int(t)], "adult") for t in world.flood.adult]
        + [FloodedTag(tags[int(t)], "innocent") for t in world.flood.innocent]
    )
    return Truth(
        schema=SCHEMA,
        seed=p.seed,
        scale=p.scale,
        params=p.record(),
        platform="mastodon",
        posts=len(frame),
        accounts=len(table),
        network_accounts=sorted(aid[int(i)] for i in net.members),
        network_roles={aid[i]: role for i, role in sorted(net.roles.items())},  # type: ignore[misc]
        hacked_accounts=sorted(aid[int(i)] for i in net.hacked),
        evasions=sorted(
            (
                Evasion(new=aid[int(e)], replaces=aid[int(r)])
                for e, r in zip(net.evaders, net.replaces, strict=True)
            ),
            key=lambda e: (e.new, e.replaces),
        ),
        suspended_accounts=suspended,
        flooded_hashtags=flooded,
        decoy_accounts={
            "marketing": sorted(aid[int(i)] for i in plan.marketing),
            "crypto_spam": sorted(aid[int(i)] for i in plan.crypto),
            "fan_swarm": sorted(aid[int(i)] for i in np.append(plan.fans, plan.celebrity)),
            "organic_burst": sorted(aid[int(i)] for i in plan.burst),
            "honest_bots": sorted(aid[int(i)] for i in world.honest_bots),
        },
        organic_burst_tags=[world.vocab.burst_tag],
        marketing_domain=plan.brand_domain,
        crypto_wallet=plan.wallet,
        bank_media=sorted(world.lib.bank_sha256),
        network_media_matching=matching,
        novel_network_media=novel,
        media_sources=dict(sorted(sources.items())),
        network_posts=int(network_rows.sum()),
        celebrity=aid[plan.celebrity],
        window_start=at(world.start_ms).isoformat().replace("+00:00", "Z"),
        window_end=at(world.end_ms).isoformat().replace("+00:00", "Z"),
    )
