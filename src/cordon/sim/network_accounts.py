"""The planted network's accounts and infrastructure, after the public reports (X 2023-24, Stanford's
Mastodon study): posters (new accounts, and established accounts taken over), amplifier bots created in
waves (word+digits names, one avatar per wave), suspensions, and evaders that come back within days with
some of what their audience needs to find them again (avatar, links, wallet, a handle like the old one).
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass

import numpy as np

from cordon.sim.accounts import DAY_MS, G_AMPLIFIER, G_EVADER, G_POSTER, HOUR_MS, MINUTE_MS, AccountTable
from cordon.sim.identifiers import btc_bech32, btc_p2pkh, discord_invite, session_id, telegram_invite
from cordon.sim.images import AVATAR_SIDE, encode, procedural_image
from cordon.sim.media import MediaLibrary, MediaWriter
from cordon.sim.params import SimParams
from cordon.sim.vocab import EMOJI, SHADY_TLDS, Vocabulary

NETWORK_LANGS = (0, 2, 5)  # en, es, pt (indexes into vocab.LANGS)


@dataclass(frozen=True, slots=True)
class Infrastructure:
    """The network's link-outs, shared among its accounts."""

    telegram: tuple[str, ...]
    discord: tuple[str, ...]
    domains: tuple[str, ...]
    wallets: tuple[str, ...]
    handles: tuple[str, ...]  # "kik: name", "snap: name", "session: 05..."


@dataclass(frozen=True, slots=True)
class NetworkAccounts:
    """Indexes into the account table, and when each account acts."""

    posters: np.ndarray  # new posters, hacked posters and poster evaders
    amplifiers: np.ndarray  # amplifier bots, amplifier evaders included
    hacked: np.ndarray
    hack_ms: np.ndarray
    hacked_bio: tuple[str, ...]
    hacked_lang: np.ndarray
    evaders: np.ndarray
    replaces: np.ndarray  # evaders[i] replaces replaces[i]
    suspended: np.ndarray
    suspended_ms: np.ndarray
    active_from: np.ndarray  # per account of the table (only network rows meaningful), ms
    active_to: np.ndarray
    lang: np.ndarray  # per account: the language it posts network content in
    links: tuple[tuple[str, ...], ...]  # per network account (table index order of `members`)
    members: np.ndarray  # every network account
    roles: dict[int, str]


def build_infrastructure(rng: np.random.Generator, vocab: Vocabulary, size: int) -> Infrastructure:
    k = max(3, size // 15)
    words = [vocab.words[int(i)] for i in rng.integers(0, len(vocab.words), size=4 * k)]
    tg_names = [f"https://t.me/{w}{int(d)}" for w, d in zip(words[:k], rng.integers(10, 999, k), strict=True)]
    return Infrastructure(
        telegram=tuple([telegram_invite(rng) for _ in range(k)] + tg_names[: max(1, k // 2)]),
        discord=tuple(discord_invite(rng) for _ in range(max(2, k // 3))),
        domains=tuple(
            f"{a}-{b}.{SHADY_TLDS[int(t)]}"
            for a, b, t in zip(
                words[k : 2 * k], words[2 * k : 3 * k], rng.integers(0, len(SHADY_TLDS), k), strict=True
            )
        ),
        wallets=tuple(btc_p2pkh(rng) if i % 2 else btc_bech32(rng) for i in range(max(2, k // 2))),
        handles=tuple(
            f"kik: {w}{int(d)}"
            if i % 3 == 0
            else f"snap: {w}_{int(d)}"
            if i % 3 == 1
            else f"session: {session_id(rng)}"
            for i, (w, d) in enumerate(zip(words[3 * k :], rng.integers(10, 99, k), strict=True))
        ),
    )


def _pick(rng: np.random.Generator, items: tuple[str, ...]) -> str:
    return items[int(rng.integers(0, len(items)))]


def account_links(rng: np.random.Generator, infra: Infrastructure) -> tuple[str, ...]:
    """The link-outs one account advertises: always a Telegram link, often a site, a wallet or a handle."""
    links = [_pick(rng, infra.telegram)]
    if rng.random() < 0.5:
        links.append(f"https://{_pick(rng, infra.domains)}/")
    if rng.random() < 0.3:
        links.append(_pick(rng, infra.discord))
    if rng.random() < 0.4:
        links.append(f"btc {_pick(rng, infra.wallets)}")
    if rng.random() < 0.4:
        links.append(_pick(rng, infra.handles))
    return tuple(links)


def network_bio(rng: np.random.Generator, vocab: Vocabulary, links: tuple[str, ...]) -> str:
    e1, e2 = (EMOJI[int(i)] for i in rng.integers(0, len(EMOJI), 2))
    head = " ".join(vocab.words[int(i)] for i in rng.integers(0, 200, 3))
    return f"{e1} {head} {e2}" + ("\n" + " | ".join(links) if links else "")


def _handles(rng: np.random.Generator, vocab: Vocabulary, n: int, style: str) -> list[str]:
    words = rng.integers(0, len(vocab.words), size=(n, 2))
    digits = rng.integers(100, 99999, size=n)
    if style == "amplifier":
        return [f"{vocab.words[a]}{d}" for (a, _), d in zip(words, digits, strict=True)]
    return [
        f"{vocab.words[a]}_{vocab.words[b][:4]}{d % 100}" for (a, b), d in zip(words, digits, strict=True)
    ]


def _evader_handle(rng: np.random.Generator, old: str) -> str:
    return old + ("_", "2", "_v2", str(int(rng.integers(0, 10))), "x")[int(rng.integers(0, 5))]


def build_network_accounts(
    table: AccountTable, rng: np.random.Generator, vocab: Vocabulary, lib: MediaLibrary, writer: MediaWriter,
    p: SimParams, *, hack_candidates: np.ndarray, start_ms: int, end_ms: int, infra: Infrastructure,
) -> NetworkAccounts:  # fmt: skip
    days = p.days
    n_posters = max(4, round(p.poster_share * p.network_size))
    n_hacked = min(len(hack_candidates), max(1, round(p.hacked_share * n_posters)))
    n_new = n_posters - n_hacked
    n_evaders = max(2, round(p.evader_share * p.network_size))
    n_amp = p.network_size - n_posters - n_evaders
    if n_amp < 8:
        raise ValueError(f"network of {p.network_size} leaves {n_amp} amplifiers; raise --network-size")
    links: dict[int, tuple[str, ...]] = {}
    lang: dict[int, int] = {}

    # new posters: created shortly before or during the window, one avatar each
    created = rng.uniform(start_ms - 40 * DAY_MS, start_ms + 0.5 * days * DAY_MS, size=n_new).astype(np.int64)
    poster_links = [account_links(rng, infra) for _ in range(n_new)]
    avatars = [
        writer.write(encode(procedural_image(rng, AVATAR_SIDE), "JPEG", 85), "jpg").name
        if rng.random() < 0.85
        else ""
        for _ in range(n_new)
    ]
    # some posters put their Telegram link in a profile field rather than in the bio
    in_field = rng.random(n_new) < 0.4
    new_posters = table.add(
        created=created, group=G_POSTER, handles=_handles(rng, vocab, n_new, "poster"),
        bios=[network_bio(rng, vocab, lk[1:] if f else lk) for lk, f in zip(poster_links, in_field, strict=True)],
        fields=[(("Telegram", lk[0]),) if f else () for lk, f in zip(poster_links, in_field, strict=True)],
        avatars=avatars, lang=rng.choice(NETWORK_LANGS, size=n_new),
    )  # fmt: skip
    for i, lk in zip(new_posters, poster_links, strict=True):
        links[int(i)] = lk

    # amplifier waves: bursts of creations minutes apart, one shared avatar per wave (or the default)
    n_waves = max(2, round(n_amp / p.amplifier_wave))
    wave_at = np.sort(rng.uniform(start_ms - 30 * DAY_MS, end_ms - 4 * DAY_MS, size=n_waves)).astype(np.int64)
    wave_of = np.sort(np.concatenate([np.arange(n_waves), rng.integers(0, n_waves, size=n_amp - n_waves)]))
    wave_avatar = [
        writer.write(encode(procedural_image(rng, AVATAR_SIDE, grain=False), "PNG"), "png").name
        if rng.random() < 0.75
        else lib.default_avatars[0].name
        for _ in range(n_waves)
    ]
    amp_created = wave_at[wave_of] + rng.integers(0, 40 * MINUTE_MS, size=n_amp)
    amp_bio_links = [(_pick(rng, infra.telegram),) if rng.random() < 0.35 else () for _ in range(n_amp)]
    amplifiers = table.add(
        created=amp_created, group=G_AMPLIFIER, handles=_handles(rng, vocab, n_amp, "amplifier"),
        bios=[network_bio(rng, vocab, lk) if lk else "" for lk in amp_bio_links],
        avatars=[wave_avatar[w] for w in wave_of], lang=rng.choice(NETWORK_LANGS, size=n_amp),
    )  # fmt: skip
    for i, lk in zip(amplifiers, amp_bio_links, strict=True):
        links[int(i)] = lk

    # hacked posters: established accounts with a history, taken over during the window
    hacked = np.sort(rng.choice(hack_candidates, size=n_hacked, replace=False))
    hack_ms = (start_ms + rng.uniform(0.3, 0.65, size=n_hacked) * days * DAY_MS).astype(np.int64)
    old_lang = np.concatenate(table.lang_parts)[hacked]
    hacked_lang = np.array([rng.choice([x for x in NETWORK_LANGS if x != o]) for o in old_lang], np.int8)
    hacked_links = [account_links(rng, infra) for _ in range(n_hacked)]
    for i, lk in zip(hacked, hacked_links, strict=True):
        links[int(i)] = lk

    n_total = len(table) + n_evaders
    active_from = np.zeros(n_total, np.int64)
    active_to = np.full(n_total, end_ms, np.int64)
    all_created = table.created_ms
    active_from[new_posters] = np.maximum(all_created[new_posters] + 2 * HOUR_MS, start_ms)
    active_from[amplifiers] = np.maximum(all_created[amplifiers] + 20 * MINUTE_MS, start_ms)
    active_from[hacked] = hack_ms

    table.make_handles_unique()  # before evaders take handles after the accounts they replace

    # suspensions: posters and amplifiers that were active at least a day; each comes back as an evader
    pool = np.concatenate([new_posters, amplifiers])
    # (in short windows everything is scaled down so that suspensions and evaders still happen)
    day = min(DAY_MS, days * DAY_MS // 10)
    latest = end_ms - min(5 * DAY_MS, days * DAY_MS // 4)
    can = pool[active_from[pool] + day < latest]
    susp = np.sort(rng.choice(can, size=min(n_evaders, len(can)), replace=False))
    susp_ms = (active_from[susp] + day + rng.random(len(susp)) * (latest - active_from[susp] - day)).astype(
        np.int64
    )
    active_to[susp] = susp_ms
    delay = np.maximum(HOUR_MS, rng.exponential(p.evader_delay_days * DAY_MS, size=len(susp))).astype(
        np.int64
    )
    ev_created = np.minimum(susp_ms + delay, end_ms - 2 * day)
    share_avatar = rng.random(len(susp)) < 0.7
    share_links = rng.random(len(susp)) < 0.75
    share_handle = rng.random(len(susp)) < 0.55
    has_links = np.array([bool(links[int(s)]) for s in susp], dtype=bool)
    old_avatars = [table.avatar[int(s)] for s in susp]
    # an avatar is the account's own only if no other account carries it: the platform's default is carried
    # by thousands, a wave's avatar by every bot of the wave, and neither says which account came back
    carriers = Counter(table.avatar)
    own_avatar = np.array([bool(a) and carriers[a] == 1 for a in old_avatars], dtype=bool)
    is_poster = np.isin(susp, new_posters)
    # every evader keeps at least one tie that says which account it was: a poster its links (what its
    # audience follows), else its own avatar, else its handle. A shared avatar is no tie (see above), and
    # neither are an amplifier's links: a bot's bio carries one of the network's
    # Telegram links, which its posts advertise everywhere; a bot that keeps nothing of its own is just
    # another new bot of a later wave, not the replacement of a particular one.
    links_tie = is_poster & has_links
    none = ~((share_avatar & own_avatar) | (share_links & links_tie) | share_handle)
    share_links |= none & links_tie
    share_avatar |= none & ~links_tie & own_avatar
    share_handle |= none & ~links_tie & ~own_avatar
    ev_links = [
        links[int(s)] if share_links[i] or not links[int(s)] else account_links(rng, infra)
        for i, s in enumerate(susp)
    ]
    fresh_handles = _handles(rng, vocab, len(susp), "poster")
    fresh_amp = _handles(rng, vocab, len(susp), "amplifier")
    evaders = table.add(
        created=ev_created, group=G_EVADER,
        handles=[_evader_handle(rng, table.handle[int(s)]) if share_handle[i] else (fresh_handles[i] if is_poster[i] else fresh_amp[i]) for i, s in enumerate(susp)],
        bios=[network_bio(rng, vocab, lk) if lk else "" for lk in ev_links],
        avatars=[old_avatars[i] if share_avatar[i] else writer.write(encode(procedural_image(rng, AVATAR_SIDE), "JPEG", 85), "jpg").name for i in range(len(susp))],
        lang=np.concatenate(table.lang_parts)[susp],
    )  # fmt: skip
    for i, lk in zip(evaders, ev_links, strict=True):
        links[int(i)] = lk
    active_from[evaders] = ev_created + HOUR_MS
    langs = np.concatenate(table.lang_parts).astype(np.int8)
    langs[hacked] = hacked_lang
    for i in np.concatenate([new_posters, amplifiers, evaders, hacked]):
        lang[int(i)] = int(langs[i])
    roles = {int(i): "poster" for i in new_posters}
    roles.update({int(i): "amplifier" for i in amplifiers})
    roles.update({int(i): "hacked-poster" for i in hacked})
    roles.update({int(i): "evader" for i in evaders})
    members = np.array(sorted(roles), dtype=np.int64)
    return NetworkAccounts(
        posters=np.sort(np.concatenate([new_posters, hacked, evaders[is_poster]])),
        amplifiers=np.sort(np.concatenate([amplifiers, evaders[~is_poster]])),
        hacked=hacked,
        hack_ms=hack_ms,
        hacked_bio=tuple(network_bio(rng, vocab, lk) for lk in hacked_links),
        hacked_lang=hacked_lang,
        evaders=evaders,
        replaces=susp,
        suspended=susp,
        suspended_ms=susp_ms,
        active_from=active_from,
        active_to=active_to,
        lang=langs,
        links=tuple(links.get(int(i), ()) for i in members),
        members=members,
        roles=roles,
    )
