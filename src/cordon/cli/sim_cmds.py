"""`cordon simulate OUT/`: a synthetic world (Mastodon export, bank.csv, truth.json) for demos, tests and
evaluation."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Annotated

import typer

from cordon.errors import CordonError
from cordon.sim.export import simulate
from cordon.sim.params import POSTS_PER_SCALE, derive_params

EXIT_ERROR = 2


def register(app: typer.Typer) -> None:
    """Register `cordon simulate` on `app`."""
    app.command("simulate")(simulate_command)


def simulate_command(
    out: Annotated[
        Path,
        typer.Argument(
            help="Folder to write the world into (created; must not hold a world already): statuses.jsonl, "
            "accounts.jsonl, follows.jsonl, moderation.jsonl, media/, bank.csv, truth.json."
        ),
    ],
    seed: Annotated[
        int,
        typer.Option("--seed", min=0, help="Random seed: the same seed and options give identical files."),
    ] = 7,
    scale: Annotated[
        float,
        typer.Option(
            "--scale", min=0.0, help=f"World size: 1.0 = {POSTS_PER_SCALE:,} posts (0.1 = 10k, 10 = 1M)."
        ),
    ] = 0.1,
    posts: Annotated[
        int | None, typer.Option("--posts", min=2_000, help="Number of posts; overrides --scale.")
    ] = None,
    network_size: Annotated[
        int | None,
        typer.Option(
            "--network-size",
            min=20,
            help="Accounts in the planted network (posters, hacked accounts, amplifier bots, evaders). "
            "Default: 1.5% of the accounts, at least 40.",
        ),
    ] = None,
    days: Annotated[
        int, typer.Option("--days", min=3, max=365, help="Length of the simulated window in days.")
    ] = 30,
    accounts: Annotated[
        int | None,
        typer.Option(
            "--accounts", min=200, help="Benign accounts (default: one per 12 posts, at least 300)."
        ),
    ] = None,
    vary: Annotated[
        bool,
        typer.Option(
            "--vary",
            help="Draw the network's behaviour per seed (size, reply-swarm size, share of hacked accounts, "
            "evader delay, flood intensity) so evaluations run on worlds nobody tuned on. Recorded in "
            "truth.json params.",
        ),
    ] = False,
    progress: Annotated[
        bool | None,
        typer.Option(
            "--progress/--no-progress", help="Show progress bars (default: when stderr is a terminal)."
        ),
    ] = None,
) -> None:
    """Write a synthetic world: benign background, benign decoys and a planted distribution network.

    Every image is procedural noise and shapes, every tag, name, link and domain synthetic; the bank holds
    hashes of synthetic stand-ins. truth.json lists what was planted, for scoring `cordon analyze`.
    """
    started = time.perf_counter()
    try:
        params = derive_params(seed=seed, scale=scale, posts=posts, days=days, network_size=network_size,
                               vary=vary, accounts=accounts)  # fmt: skip
        result = simulate(out, params, progress=progress)
    except CordonError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(EXIT_ERROR) from exc
    elapsed = time.perf_counter() - started
    t = result.truth
    typer.echo(
        f"simulated {result.posts:,} posts by {result.accounts:,} accounts ({result.follows:,} follows, "
        f"{result.media_files:,} media files) in {elapsed:.1f} s ({result.posts / elapsed:,.0f} posts/s)\n"
        f"planted network: {len(t.network_accounts)} accounts ({len(t.hacked_accounts)} hacked, "
        f"{len(t.evasions)} evaders), {t.network_posts:,} posts, {len(t.flooded_hashtags)} flooded tags, "
        f"{len(t.network_media_matching)} bank copies, {len(t.novel_network_media)} novel images\n"
        f"wrote {out}/ (Mastodon export), {out / 'bank.csv'}, {out / 'truth.json'}"
    )
