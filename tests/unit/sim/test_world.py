"""A small simulated world, read back with cordon's own readers: determinism, well-formed export, bank and
media facts, and the invariants of the truth file."""

from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import dataclass, replace
from datetime import timedelta
from pathlib import Path

import msgspec
import numpy as np
import pytest

from cordon.connectors.mastodon.reader import MastodonConnector
from cordon.connectors.mastodon.schema import StatusS
from cordon.connectors.media_fetch import local_file_name
from cordon.model import Account, BankCategory, ModerationEvent, Post
from cordon.signals.entities import extract_entities, validate_wallet
from cordon.signals.media.bank_formats import read_csv
from cordon.signals.media.exact import exact_hashes
from cordon.signals.media.pdq import hamming_distance, hash_image
from cordon.sim.export import simulate
from cordon.sim.params import derive_params
from cordon.sim.truth import Truth, read_truth

POSTS = 4_000
decode_status = msgspec.json.Decoder(StatusS).decode
FILES = ("statuses.jsonl", "accounts.jsonl", "follows.jsonl", "moderation.jsonl", "bank.csv", "truth.json")


@dataclass(frozen=True)
class ReadBack:
    path: Path
    truth: Truth
    accounts: dict[str, Account]  # last version of each
    posts: list[Post]
    moderation: list[ModerationEvent]
    quarantined: int


def _read(path: Path) -> ReadBack:
    accounts: dict[str, Account] = {}
    posts: list[Post] = []
    moderation: list[ModerationEvent] = []
    quarantined = 0
    for batch in MastodonConnector(progress=False).read(path):
        for a in batch.accounts:
            accounts[a.id] = a
        posts.extend(batch.posts)
        moderation.extend(batch.moderation)
        quarantined += len(batch.quarantined)
    return ReadBack(path, read_truth(path / "truth.json"), accounts, posts, moderation, quarantined)


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> ReadBack:
    out = tmp_path_factory.mktemp("sim") / "world"
    simulate(out, derive_params(seed=11, posts=POSTS), progress=False)
    return _read(out)


def _statuses(w: ReadBack) -> list[Post]:
    """Statuses as written (a reblog's embedded original is read back as a post of its own too)."""
    seen: dict[str, Post] = {}
    for p in w.posts:
        seen.setdefault(p.id, p)
    return list(seen.values())


def test_same_seed_same_bytes_other_seed_other_world(world: ReadBack, tmp_path: Path) -> None:
    again = tmp_path / "again"
    simulate(again, derive_params(seed=11, posts=POSTS), progress=False)
    for name in FILES:
        assert (again / name).read_bytes() == (world.path / name).read_bytes(), name
    assert sorted(p.name for p in (again / "media").iterdir()) == sorted(
        p.name for p in (world.path / "media").iterdir()
    )
    other = tmp_path / "other"
    simulate(other, derive_params(seed=12, posts=POSTS), progress=False)
    assert (other / "statuses.jsonl").read_bytes() != (world.path / "statuses.jsonl").read_bytes()
    assert read_truth(other / "truth.json").network_accounts != world.truth.network_accounts


def test_export_reads_back_without_quarantine_and_is_well_formed(world: ReadBack) -> None:
    assert world.quarantined == 0
    statuses = _statuses(world)
    assert len(statuses) == world.truth.posts
    assert abs(world.truth.posts - POSTS) < 0.05 * POSTS
    assert len(world.accounts) == world.truth.accounts
    by_id = {p.id: p for p in statuses}
    times = [p.created_at for p in statuses]
    assert times == sorted(times)  # written in time order
    for p in statuses:
        assert p.account_id in world.accounts
        created = world.accounts[p.account_id].created_at
        assert created is not None and created < p.created_at, p.id
        target = p.reply_to_post_id or p.reblog_of_post_id
        if target is not None:
            assert target in by_id and by_id[target].created_at <= p.created_at, p.id
        if p.reply_to_post_id is not None:
            assert p.reply_to_account_id == by_id[p.reply_to_post_id].account_id
    media_dir = world.path / "media"
    urls = [m.url for p in statuses for m in p.media] + [
        a.avatar_url for a in world.accounts.values() if a.avatar_url
    ]
    assert all((media_dir / local_file_name(u)).is_file() for u in urls)
    assert len(list(media_dir.iterdir())) < len(urls)  # a bounded pool, shared by many posts


def test_bank_loads_and_lists_exactly_the_bank_items(world: ReadBack) -> None:
    entries = read_csv(world.path / "bank.csv", category=BankCategory.CHILD_SAFETY).entries("sim")
    by_algo: dict[str, set[str]] = defaultdict(set)
    for e in entries:
        by_algo[e.algo.value].add(e.value)
        assert e.category is BankCategory.CHILD_SAFETY
    assert by_algo["sha256"] == set(world.truth.bank_media)
    assert len(by_algo["pdq"]) == len(by_algo["md5"]) == len(world.truth.bank_media)


def _bank_pdq(world: ReadBack) -> dict[str, str]:
    """sha256 of each bank item -> its PDQ, from bank.csv rows."""
    entries = read_csv(world.path / "bank.csv", category=BankCategory.CHILD_SAFETY).entries("sim")
    by_id: dict[str, dict[str, str]] = defaultdict(dict)
    for e in entries:
        by_id[e.entry_id][e.algo.value] = e.value
    return {row["sha256"]: row["pdq"] for row in by_id.values()}


def _files_by_sha(world: ReadBack) -> dict[str, bytes]:
    out = {}
    for f in (world.path / "media").iterdir():
        data = f.read_bytes()
        out[exact_hashes(data).sha256] = data
    return out


def test_network_copies_match_their_bank_item_by_pdq_only_and_novel_media_match_nothing(
    world: ReadBack,
) -> None:
    bank = _bank_pdq(world)
    files = _files_by_sha(world)
    t = world.truth
    assert t.network_media_matching and t.novel_network_media
    for sha in t.network_media_matching:
        assert sha not in bank  # exact hashes differ
        source = t.media_sources[sha]
        assert hamming_distance(hash_image(files[sha]).hex, bank[source]) <= 31, sha
    for sha in t.novel_network_media:
        pdq = hash_image(files[sha]).hex
        assert min(hamming_distance(pdq, b) for b in bank.values()) > 31, sha
    # a sample of everything else posted: no accidental bank matches among benign media
    network = set(t.network_media_matching) | set(t.novel_network_media)
    for sha in sorted(set(files) - network)[:60]:
        assert min(hamming_distance(hash_image(files[sha]).hex, b) for b in bank.values()) > 31


def test_truth_invariants(world: ReadBack) -> None:
    t = world.truth
    network = set(t.network_accounts)
    decoys = {a for ids in t.decoy_accounts.values() for a in ids}
    assert network and decoys and not network & decoys
    assert set(t.network_roles) == network
    assert set(t.decoy_accounts) == {"marketing", "crypto_spam", "fan_swarm", "organic_burst", "honest_bots"}
    suspended = {m.account_id for m in world.moderation if m.action.value == "suspend"}
    assert suspended == set(t.suspended_accounts)
    assert t.evasions
    for e in t.evasions:
        assert e.new in network and t.network_roles[e.new] == "evader"
        assert e.replaces in suspended and e.replaces in network
    assert {a for a, r in t.network_roles.items() if r == "hacked-poster"} == set(t.hacked_accounts)
    statuses = _statuses(world)
    network_tags = {h.casefold() for p in statuses if p.account_id in network for h in p.hashtags}
    benign_tags = {h.casefold() for p in statuses if p.account_id not in network for h in p.hashtags}
    for flooded in t.flooded_hashtags:
        assert flooded.tag.casefold() in network_tags, flooded
        if flooded.kind == "innocent":
            assert flooded.tag.casefold() in benign_tags, flooded
        if flooded.kind == "coded":
            assert flooded.tag.casefold() not in benign_tags, flooded
    assert t.organic_burst_tags[0] not in network_tags
    assert all(
        k in t.params
        for k in ("network_size", "swarm_mean", "hacked_share", "evader_delay_days", "flood_intensity")
    )


def test_hacked_accounts_are_old_with_a_benign_history_then_change(world: ReadBack) -> None:
    t = world.truth
    start = min(p.created_at for p in world.posts)
    assert t.hacked_accounts
    statuses = _statuses(world)
    for account_id in t.hacked_accounts:
        account = world.accounts[account_id]
        assert account.created_at is not None and account.created_at < start - timedelta(days=365)
        # the takeover point as the export shows it: where the author embedded in the statuses changes bio
        notes = [
            (s.id, s.account.note)
            for s in map(decode_status, (world.path / "statuses.jsonl").read_bytes().splitlines())
            if s.account.id == account_id and s.reblog is None
        ]
        old_note, new_note = notes[0][1], notes[-1][1]
        assert old_note != new_note and "t.me/" in new_note and "t.me/" not in old_note
        by_id = {p.id: p for p in statuses}
        before = [by_id[i] for i, note in notes if note == old_note]
        after = [by_id[i] for i, note in notes if note == new_note]
        assert len(before) >= 5 and after
        assert max(p.created_at for p in before) < min(p.created_at for p in after)
        assert not {p.lang for p in after} & {p.lang for p in before}
        coded = {f.tag for f in t.flooded_hashtags if f.kind == "coded"}
        assert not any(coded & set(p.hashtags) for p in before)
        assert any(coded & set(p.hashtags) for p in after)
        assert "t.me/" in account.bio  # the profile read last is the taken-over one


def _evader_ties(world: ReadBack) -> set[frozenset[str]]:
    """Asserts that every evader shares a tie with the account it replaces that says which account it was;
    returns the kinds of tie seen."""

    def links(a: Account) -> set[str]:
        words = " ".join([a.bio, *(f.value for f in a.fields)]).split()
        return {w for w in words if "." in w or len(w) > 25}

    t = world.truth
    # an avatar ties the two only if no one else wears it: the platform's default (thousands of accounts) and
    # a wave's shared avatar (every bot of the wave) do not say which account came back
    carriers = Counter(local_file_name(a.avatar_url) for a in world.accounts.values() if a.avatar_url)
    kinds = set()
    for e in t.evasions:
        new, old = world.accounts[e.new], world.accounts[e.replaces]
        assert new.created_at is not None and old.created_at is not None and new.created_at > old.created_at
        shared = {
            "avatar": bool(new.avatar_url)
            and local_file_name(new.avatar_url) == local_file_name(old.avatar_url)
            and carriers[local_file_name(new.avatar_url)] == 2,
            # a bot's links are the network's, which its posts advertise everywhere: only a poster's count
            "links": t.network_roles.get(e.replaces) != "amplifier" and bool(links(new) & links(old)),
            "handle": new.handle.startswith(old.handle),
        }
        assert any(shared.values()), e
        kinds.add(frozenset(k for k, v in shared.items() if v))
    return kinds


def test_every_evader_shares_something_with_the_account_it_replaces(world: ReadBack) -> None:
    assert len(_evader_ties(world)) > 1  # not every evader shares the same signals


def test_evaders_tie_by_what_names_them_even_when_many_come_back(tmp_path: Path) -> None:
    """A world where a third of the network are evaders: a bot whose wave wears the default avatar or a shared
    one, or that shares only the network's Telegram link, still comes back with its own avatar or its handle."""
    out = tmp_path / "evaders"
    simulate(out, replace(derive_params(seed=5, posts=POSTS), evader_share=0.35), progress=False)
    world = _read(out)
    assert len(world.truth.evasions) >= 10
    _evader_ties(world)


def test_network_posts_get_fast_reply_swarms_of_young_amplifiers(world: ReadBack) -> None:
    t = world.truth
    statuses = _statuses(world)
    amplifiers = {a for a, r in t.network_roles.items() if r in ("amplifier", "evader")}
    originals = [p for p in statuses if p.account_id in set(t.network_accounts) and p.media]
    assert originals
    replies: dict[str, list[Post]] = defaultdict(list)
    for p in statuses:
        if p.reply_to_post_id:
            replies[p.reply_to_post_id].append(p)
    sizes = []
    for o in originals:
        fast = {r.account_id for r in replies[o.id] if r.created_at - o.created_at <= timedelta(minutes=15)}
        assert fast <= amplifiers | {o.account_id}
        sizes.append(len(fast))
    assert np.median(sizes) >= 10


def test_wallets_in_posts_and_bios_pass_checksum_validation(world: ReadBack) -> None:
    texts = [p.text for p in _statuses(world)] + [a.bio for a in world.accounts.values()]
    found = extract_entities(texts)
    wallets = {
        v for k, v in zip(found.kind.to_pylist(), found.value.to_pylist(), strict=True) if k == "wallet"
    }
    assert f"eth:{world.truth.crypto_wallet.lower()}" in wallets
    assert any(v.startswith("btc:1") for v in wallets) and any(v.startswith("btc:bc1") for v in wallets)
    raw = {
        w
        for text in texts
        for w in text.split()
        if w.startswith(("bc1", "0x")) or (w[:1] == "1" and len(w) > 25)
    }
    assert raw and all(validate_wallet(w) is not None for w in raw)


def test_vary_draws_network_behaviour_per_seed() -> None:
    a, b = derive_params(seed=1, posts=50_000, vary=True), derive_params(seed=2, posts=50_000, vary=True)
    plain = derive_params(seed=1, posts=50_000)
    knobs = ("network_size", "swarm_mean", "hacked_share", "evader_delay_days", "flood_intensity")
    assert all(getattr(a, k) != getattr(b, k) for k in knobs)
    assert derive_params(seed=1, posts=50_000, vary=True) == a
    assert replace(a, vary=0) != plain and plain.vary == 0


def test_decoys_show_the_surface_signals_they_stand_in_for(world: ReadBack) -> None:
    t = world.truth
    statuses = _statuses(world)
    decoys = {k: set(v) for k, v in t.decoy_accounts.items()}
    burst = [p for p in statuses if t.organic_burst_tags[0] in p.hashtags]
    assert {p.account_id for p in burst} <= decoys["organic_burst"]
    busiest_day = max(
        {p.created_at.date() for p in burst}, key=lambda d: sum(p.created_at.date() == d for p in burst)
    )
    assert sum(p.created_at.date() == busiest_day for p in burst) > 0.6 * len(burst)
    shop = [p for p in statuses if t.marketing_domain in p.text]
    assert {p.account_id for p in shop} == decoys["marketing"]
    spam = [p for p in statuses if t.crypto_wallet in p.text]
    assert {p.account_id for p in spam} <= decoys["crypto_spam"] and len({p.account_id for p in spam}) > 5
    celebrity_posts = {
        p.id: p for p in statuses if p.account_id == t.celebrity and p.reply_to_post_id is None
    }
    fan_replies = [
        p for p in statuses if p.reply_to_post_id in celebrity_posts and p.account_id in decoys["fan_swarm"]
    ]
    assert len(fan_replies) >= 3 * len(celebrity_posts)
    lags = [
        (p.created_at - celebrity_posts[p.reply_to_post_id or ""].created_at).total_seconds()
        for p in fan_replies
    ]
    assert np.median(lags) < 600
    bots = [world.accounts[a] for a in decoys["honest_bots"]]
    assert bots and all(b.bot for b in bots)
    assert not any(a.bot for a in world.accounts.values() if a.id not in decoys["honest_bots"])


def test_handles_and_ids_are_unique(world: ReadBack) -> None:
    handles = [a.handle for a in world.accounts.values()]
    assert len(set(handles)) == len(handles)
    statuses = _statuses(world)
    attachments = [m.id for p in statuses for m in p.media]
    assert len(set(attachments)) == len(attachments)
