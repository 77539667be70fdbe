"""Every knob of a simulated world, derived from the command line (`derive_params`) and recorded in truth.json.

`--scale 1.0` is 100,000 posts; `--posts` overrides. Sizes that follow the world's size (accounts, media
pools, network activity) are derived here, in one place, so that truth.params lists exactly what was used.
`--vary` draws the network's behaviour (size, swarm size, hacked share, evader delay, flood intensity) from
ranges, per seed, so that an evaluation can run on worlds the detectors were not tuned on.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, fields, replace
from datetime import UTC, datetime

import numpy as np

from cordon.errors import ConfigError

POSTS_PER_SCALE = 100_000
DEFAULT_END = datetime(2024, 6, 1, tzinfo=UTC)
VARY_STREAM = 0x7A51  # the random stream `--vary` draws from (independent of the world's own stream)


@dataclass(frozen=True, slots=True)
class SimParams:
    """The parameters of one world. All counts are totals for the whole world."""

    seed: int
    scale: float
    posts: int  # target number of posts (the world writes this many, give or take a few)
    days: int  # length of the simulated window
    end: str  # RFC 3339 end of the window
    accounts: int  # benign accounts (background, bots and decoys), network excluded
    network_size: int  # accounts of the planted network, evaders included
    vary: int  # 1 when the network's behaviour was drawn per seed
    # benign background
    reply_share: float = 0.25
    reblog_share: float = 0.15
    media_share: float = 0.12  # share of original posts with an image
    tagged_share: float = 0.45  # share of original posts with hashtags
    link_share: float = 0.06  # share of original posts with a link
    avatar_share: float = 0.55  # share of accounts with an avatar (many of them a shared default)
    default_avatar_share: float = 0.35  # among accounts with an avatar, those with one of the defaults
    follows_per_account: float = 9.0
    honest_bots: int = 0
    memes: int = 0
    background_media: int = 0  # distinct background image files
    avatar_pool: int = 0  # distinct personal avatar files
    tag_vocabulary: int = 0
    # decoys
    burst_accounts: int = 0
    marketing_accounts: int = 12
    crypto_accounts: int = 20
    fans: int = 40
    celebrity_posts: int = 6
    # the planted network
    network_originals: int = 0  # network posts with media that get a reply swarm
    swarm_mean: float = 24.0  # mean amplifier replies per network post
    hacked_share: float = 0.3  # share of posters that are hacked established accounts
    poster_share: float = 0.16  # share of the network that posts (new and hacked posters)
    evader_share: float = 0.12  # share of the network that are evaders (each replaces a suspended account)
    evader_delay_days: float = 2.0  # mean days between a suspension and the evader's creation
    flood_intensity: float = 1.0  # tag-stuffed flood posts per network original
    amplifier_wave: int = 14  # mean accounts per amplifier creation wave
    coded_tags: int = 4
    adult_tags: int = 3
    innocent_tags: int = 3
    bank_items: int = 0  # entries of bank.csv (some never appear in the world)
    bank_used: int = 0  # bank items posted (as altered copies) by the network
    novel_media: int = 0  # new procedural images posted by the network, in no bank

    def record(self) -> dict[str, float | int | str]:
        """Every knob, for truth.params."""
        return {k: v for k, v in asdict(self).items() if isinstance(v, int | float | str)}


def _clamp(value: float, low: int, high: int) -> int:
    return int(min(high, max(low, round(value))))


def derive_params(
    *,
    seed: int,
    scale: float = 0.1,
    posts: int | None = None,
    days: int = 30,
    network_size: int | None = None,
    vary: bool = False,
    accounts: int | None = None,
) -> SimParams:
    """The full parameter set for a world of `posts` (or `scale` x 100,000) posts."""
    if seed < 0:
        raise ConfigError(f"--seed {seed}: must be 0 or more")
    if posts is None:
        if scale <= 0:
            raise ConfigError(f"--scale {scale}: must be more than 0 (1.0 = {POSTS_PER_SCALE:,} posts)")
        posts = round(scale * POSTS_PER_SCALE)
    if posts < 2_000:
        raise ConfigError(f"--posts {posts}: a world needs at least 2,000 posts to hold its planted network")
    if not 3 <= days <= 365:
        raise ConfigError(f"--days {days}: must be between 3 and 365")
    n_accounts = accounts if accounts is not None else max(300, posts // 12)
    if n_accounts < 200:
        raise ConfigError(f"--accounts {n_accounts}: must be at least 200")
    base_network = max(40, round(0.015 * n_accounts))
    p = SimParams(
        seed=seed,
        scale=round(posts / POSTS_PER_SCALE, 6),
        posts=posts,
        days=days,
        end=DEFAULT_END.isoformat().replace("+00:00", "Z"),
        accounts=n_accounts,
        network_size=network_size if network_size is not None else base_network,
        vary=int(vary),
        honest_bots=_clamp(n_accounts / 400, 3, 400),
        memes=_clamp(posts / 4_000, 4, 400),
        background_media=_clamp(posts / 100, 150, 3_000),
        avatar_pool=_clamp(n_accounts * 0.35, 50, 4_000),
        tag_vocabulary=_clamp(600 + posts / 100, 600, 20_000),
        burst_accounts=_clamp(n_accounts * 0.03, 40, 5_000),
        fans=_clamp(n_accounts * 0.01, 30, 400),
        network_originals=_clamp(posts / 1_000, 30, 20_000),
    )
    if vary:
        draw = np.random.default_rng([seed, VARY_STREAM])
        p = replace(
            p,
            network_size=network_size
            if network_size is not None
            else max(30, round(base_network * float(draw.uniform(0.6, 1.6)))),
            swarm_mean=round(float(draw.uniform(12, 40)), 2),
            hacked_share=round(float(draw.uniform(0.1, 0.5)), 3),
            evader_delay_days=round(float(draw.uniform(0.5, 7.0)), 2),
            flood_intensity=round(float(draw.uniform(0.4, 2.0)), 3),
        )
    if p.network_size < 20:
        raise ConfigError(
            f"--network-size {p.network_size}: must be at least 20 (posters, amplifiers, evaders)"
        )
    if p.network_size > n_accounts // 4:
        raise ConfigError(
            f"--network-size {p.network_size}: at most a quarter of the {n_accounts} benign accounts"
        )
    bank_used = _clamp(p.network_originals * 0.3, 12, 1_500)
    return replace(
        p,
        bank_used=bank_used,
        bank_items=bank_used + _clamp(bank_used * 0.5, 8, 1_000),
        novel_media=_clamp(p.network_originals * 0.3, 8, 1_000),
    )


def param_names() -> tuple[str, ...]:
    """The names of every knob, in declaration order (for docs and tests)."""
    return tuple(f.name for f in fields(SimParams))
