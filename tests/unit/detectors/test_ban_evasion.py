"""Ban evasion: a replacement account that shares the avatar of a suspended one is linked to it."""

from __future__ import annotations

from datetime import timedelta

import duckdb
from tests.factories import EPOCH, make_account, make_moderation
from tests.unit.detectors.world import corpus

from cordon.detectors import ban_evasion
from cordon.model import MediaLink, ModerationAction, Platform

M = Platform.MASTODON


def _avatar(account_id: str, sha: str) -> MediaLink:
    return MediaLink(M, f"avatar:{account_id}", sha, source="test")


def test_replacement_with_same_avatar_and_similar_handle_is_linked() -> None:
    old = make_account(
        handle="sunnyfolder7", bio="new drops daily, join the group", created_at=EPOCH - timedelta(days=60)
    )
    new = make_account(
        handle="sunnyfolder8", bio="new drops daily, join the group now", created_at=EPOCH + timedelta(days=3)
    )
    bystander = make_account(handle="gardenfan", bio="roses", created_at=EPOCH + timedelta(days=4))
    too_late = make_account(handle="sunnyfolder9", created_at=EPOCH + timedelta(days=200))
    ban = make_moderation(account_id=old.id, action=ModerationAction.SUSPEND, created_at=EPOCH)
    links = [_avatar(old.id, "a" * 64), _avatar(new.id, "a" * 64), _avatar(bystander.id, "b" * 64),
             _avatar(too_late.id, "a" * 64)]  # fmt: skip
    with corpus([old, new, bystander, too_late], moderation=[ban], media_links=links) as con:
        pairs = ban_evasion.find_pairs(con, M)
        findings = list(ban_evasion.detect(con, M))
    assert [(p.new_account_id, p.old_account_id) for p in pairs] == [(new.id, old.id)]
    pair = pairs[0]
    assert pair.shared_avatar and 2.9 < pair.gap_days < 3.1
    assert pair.handle_similarity > 0.9 and pair.bio_similarity > 0.5
    assert findings[0].subjects[0].id == new.id and "same avatar" in findings[0].evidence[0].detail


def test_similar_handle_alone_is_not_enough() -> None:
    old = make_account(handle="sunnyfolder7", bio="", created_at=EPOCH - timedelta(days=60))
    new = make_account(handle="sunnyfolder8", bio="", created_at=EPOCH + timedelta(days=3))
    ban = make_moderation(account_id=old.id, created_at=EPOCH)
    with corpus([old, new], moderation=[ban]) as con:
        assert ban_evasion.find_pairs(con, M) == ()


def _coaction_pairs(con: duckdb.DuckDBPyConnection, pairs: list[tuple[str, str]]) -> None:
    con.execute(
        "CREATE TEMP TABLE IF NOT EXISTS coaction_pairs (platform VARCHAR, a VARCHAR, b VARCHAR, kind VARCHAR, "
        "weight DOUBLE, n_keys BIGINT, pivots VARCHAR[])"
    )
    for a, b in pairs:
        con.execute(
            "INSERT INTO coaction_pairs VALUES ('mastodon', ?, ?, 'reply', 3.0, 2, ['k'])",
            [min(a, b), max(a, b)],
        )


def test_a_replacement_that_acts_with_the_same_accounts_is_linked() -> None:
    """Nothing in the profile is shared, but the new account replies in the same swarms as the suspended one:
    its co-action neighbours are the old account's (the design's "co-action neighbours" evidence)."""
    old = make_account(handle="qwerty11", bio="", created_at=EPOCH - timedelta(days=20))
    new = make_account(handle="zxcvbn42", bio="", created_at=EPOCH + timedelta(days=2))
    stranger = make_account(handle="lmnop77", bio="", created_at=EPOCH + timedelta(days=2))
    crew = [make_account(handle=f"crew{i}", created_at=EPOCH - timedelta(days=30)) for i in range(5)]
    others = [make_account(handle=f"other{i}", created_at=EPOCH - timedelta(days=30)) for i in range(5)]
    ban = make_moderation(account_id=old.id, created_at=EPOCH)
    with corpus([old, new, stranger, *crew, *others], moderation=[ban]) as con:
        _coaction_pairs(con, [(x, c.id) for x in (old.id, new.id) for c in crew])
        # the stranger shares one neighbour with the old account: below min_shared_neighbours, not compared
        _coaction_pairs(con, [(stranger.id, crew[0].id)] + [(stranger.id, o.id) for o in others])
        pairs = ban_evasion.find_pairs(con, M)
    assert [(p.new_account_id, p.old_account_id) for p in pairs] == [(new.id, old.id)]
    assert pairs[0].neighbour_similarity == 1.0 and not pairs[0].shared_avatar
    assert "co-action neighbours" in ban_evasion.describe(pairs[0])


def test_a_wave_after_a_suspension_yields_one_link_not_one_per_bot() -> None:
    """Five look-alike bots with the suspended account's (wave) avatar: the one that extends its handle and
    came back first is its replacement; the others are not all claimed to replace it."""
    old = make_account(handle="mossyhill42", bio="", created_at=EPOCH - timedelta(days=30))
    ban = make_moderation(account_id=old.id, created_at=EPOCH)
    heir = make_account(handle="mossyhill42_v2", bio="", created_at=EPOCH + timedelta(days=1))
    wave = [make_account(handle=f"pebble{i}", bio="", created_at=EPOCH + timedelta(days=2)) for i in range(5)]
    links = [_avatar(a.id, "c" * 64) for a in (old, heir, *wave)]
    with corpus([old, heir, *wave], moderation=[ban], media_links=links) as con:
        pairs = ban_evasion.find_pairs(con, M, ban_evasion.EvasionConfig(min_score=0.3))
    assert [(p.new_account_id, p.old_account_id) for p in pairs] == [(heir.id, old.id)]


def test_a_default_avatar_links_no_one_and_a_wave_avatar_names_its_only_suspended_carrier() -> None:
    """The platform's default avatar (carried by more than `common_avatar_accounts`) is no evidence; a wave's
    avatar carried by a dozen bots names the returning one when only one of its carriers was suspended."""
    crowd = [make_account(handle=f"plain{i}", created_at=EPOCH - timedelta(days=90)) for i in range(8)]
    wave = [make_account(handle=f"wavebot{i}", created_at=EPOCH - timedelta(days=20)) for i in range(8)]
    shy = make_account(handle="quietfox11", bio="", created_at=EPOCH - timedelta(days=20))
    back_wave = make_account(handle="newname55", bio="", created_at=EPOCH + timedelta(days=1))
    back_default = make_account(handle="othername77", bio="", created_at=EPOCH + timedelta(days=1))
    bans = [make_moderation(account_id=a.id, created_at=EPOCH) for a in (wave[0], shy)]
    links = [_avatar(a.id, "d" * 64) for a in (*crowd, shy, back_default)]
    links += [_avatar(a.id, "e" * 64) for a in (*wave, back_wave)]
    accounts = [*crowd, *wave, shy, back_wave, back_default]
    config = ban_evasion.EvasionConfig(min_score=0.5, common_avatar_accounts=9)
    with corpus(accounts, moderation=bans, media_links=links) as con:
        pairs = ban_evasion.find_pairs(con, M, config)
    assert [(p.new_account_id, p.old_account_id) for p in pairs] == [(back_wave.id, wave[0].id)]
    assert pairs[0].shared_avatar


def test_the_old_handle_with_a_short_suffix_outweighs_a_look_alike_of_the_same_wave() -> None:
    """Two candidates for one suspended bot: a wave-mate sharing its (wave) avatar and swarm neighbours, and
    the bot's own handle with "_2". The handle wins, and the wave-mate is not linked instead."""
    old = make_account(handle="mossyhill42", bio="", created_at=EPOCH - timedelta(days=30))
    ban = make_moderation(account_id=old.id, created_at=EPOCH)
    heir = make_account(handle="mossyhill42_2", bio="", created_at=EPOCH + timedelta(days=6))
    mates = [
        make_account(handle=f"pebble{i}", bio="", created_at=EPOCH - timedelta(days=30)) for i in range(6)
    ]
    lookalike = make_account(handle="gravel99", bio="", created_at=EPOCH + timedelta(hours=2))
    links = [_avatar(a.id, "c" * 64) for a in (old, *mates, lookalike)]
    with corpus([old, heir, *mates, lookalike], moderation=[ban], media_links=links) as con:
        pairs = ban_evasion.find_pairs(con, M)
    assert [(p.new_account_id, p.old_account_id) for p in pairs] == [(heir.id, old.id)]


def test_a_wave_avatar_names_the_one_carrier_suspended_before_the_new_account_appeared() -> None:
    """Three bots of one wave are suspended, but only one before the new account with the wave's avatar was
    created: the later two cannot be the ones it replaces, so the avatar names the first."""
    wave = [
        make_account(handle=f"wavebot{i}", bio="", created_at=EPOCH - timedelta(days=20)) for i in range(8)
    ]
    back = make_account(handle="newname55", bio="", created_at=EPOCH + timedelta(days=1))
    bans = [
        make_moderation(account_id=a.id, created_at=EPOCH + timedelta(days=d))
        for a, d in ((wave[0], 0), (wave[1], 3), (wave[2], 5))
    ]
    links = [_avatar(a.id, "e" * 64) for a in (*wave, back)]
    with corpus([*wave, back], moderation=bans, media_links=links) as con:
        pairs = ban_evasion.find_pairs(con, M)
    assert [(p.new_account_id, p.old_account_id) for p in pairs] == [(back.id, wave[0].id)]
    assert pairs[0].avatar_actioned == 1


def test_a_wave_avatar_names_the_suspended_carrier_no_other_account_replaced() -> None:
    """Two bots of one wave suspended; one comes back with its handle and "_2" (linked on that). Another new
    account with only the wave's avatar then names the other suspended bot: an analyst's elimination. Without
    the first return it stays unlinked (the avatar says "one of two")."""
    wave = [
        make_account(handle=f"wavebot{i}", bio="", created_at=EPOCH - timedelta(days=20)) for i in range(8)
    ]
    heir = make_account(handle="wavebot0_2", bio="", created_at=EPOCH + timedelta(days=2))
    back = make_account(handle="newname55", bio="", created_at=EPOCH + timedelta(days=1))
    bans = [
        make_moderation(account_id=a.id, created_at=EPOCH + timedelta(hours=h))
        for a, h in ((wave[0], 0), (wave[1], 2))
    ]
    links = [_avatar(a.id, "e" * 64) for a in (*wave, back)]
    with corpus([*wave, heir, back], moderation=bans, media_links=links) as con:
        pairs = ban_evasion.find_pairs(con, M)
    assert [(p.new_account_id, p.old_account_id) for p in pairs] == sorted(
        [(heir.id, wave[0].id), (back.id, wave[1].id)]
    )
    linked = next(p for p in pairs if p.new_account_id == back.id)
    assert (linked.avatar_actioned, linked.avatar_suspects) == (2, 1)
    assert "1 of them replaced by other accounts" in ban_evasion.describe(linked)
    with corpus([*wave, back], moderation=bans, media_links=links) as con:
        assert ban_evasion.find_pairs(con, M) == ()


def _entities(
    con: duckdb.DuckDBPyConnection, bio: dict[str, list[str]], posted: dict[str, list[str]]
) -> None:
    """Profile link-outs (`bio`) and links in posts (`posted`), as entity extraction would store them: a
    Telegram link yields a URL and an invite from one raw link."""
    for table, rows in (("account_entities", bio), ("post_entities", posted)):
        for account_id, raws in rows.items():
            for raw in raws:
                values = [("url", raw)] + (
                    [("telegram", "tg:" + raw.rsplit("/", 1)[1])] if "t.me/" in raw else []
                )
                for kind, value in values:
                    if table == "account_entities":
                        con.execute(
                            "INSERT INTO account_entities VALUES ('mastodon', ?, 'bio', ?, ?, ?)",
                            [account_id, kind, value, raw],
                        )
                    else:
                        con.execute(
                            "INSERT INTO post_entities VALUES ('mastodon', ?, ?, ?, ?, ?)",
                            [f"p-{account_id}-{raw}", account_id, kind, value, raw],
                        )


def test_the_same_link_outs_in_both_profiles_link_even_when_the_network_posts_them_everywhere() -> None:
    """The suspended poster's profile advertises a Telegram channel and a site that a dozen network accounts
    also post (so neither is a rare entity). A new profile with both is its replacement; a new profile with
    only the Telegram link (one network-wide link: "a member of the network") is not."""
    old = make_account(handle="qwerty_ab11", bio="", created_at=EPOCH - timedelta(days=20))
    heir = make_account(handle="zxcvb_cd42", bio="", created_at=EPOCH + timedelta(days=2))
    member = make_account(handle="lmnop_ef77", bio="", created_at=EPOCH + timedelta(days=1))
    crowd = [make_account(handle=f"crowd{i}", created_at=EPOCH - timedelta(days=30)) for i in range(12)]
    tg, site = "https://t.me/somechannel1", "https://shady-site.example/"
    ban = make_moderation(account_id=old.id, created_at=EPOCH)
    with corpus([old, heir, member, *crowd], moderation=[ban]) as con:
        _entities(
            con, {old.id: [tg, site], heir.id: [site, tg], member.id: [tg]}, {c.id: [tg, site] for c in crowd}
        )
        pairs = ban_evasion.find_pairs(con, M)
    assert [(p.new_account_id, p.old_account_id) for p in pairs] == [(heir.id, old.id)]
    assert pairs[0].profile_links == 2 and pairs[0].shared_entities == ()
    assert "the same 2 link-outs in both profiles" in ban_evasion.describe(pairs[0])
