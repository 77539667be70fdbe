"""Reply swarms: coordinated (young, repeat) swarms are found; an organic fan swarm of old accounts is not."""

from __future__ import annotations

from datetime import timedelta

from tests.factories import EPOCH, make_account, make_post
from tests.unit.detectors.world import corpus

from cordon.detectors import reply_swarm
from cordon.model import Platform


def _swarm_world() -> tuple[list, list, list[str], list[str]]:
    poster = make_account(created_at=EPOCH - timedelta(days=3))
    star = make_account(created_at=EPOCH - timedelta(days=2000))
    bots = [make_account(created_at=EPOCH - timedelta(days=2)) for _ in range(20)]
    fans = [make_account(created_at=EPOCH - timedelta(days=900 + i)) for i in range(20)]
    posts = []
    network_posts = [make_post(account_id=poster.id, created_at=EPOCH + timedelta(hours=h)) for h in (0, 5)]
    posts += network_posts
    for target in network_posts:
        for i, bot in enumerate(bots):
            posts.append(
                make_post(
                    account_id=bot.id,
                    reply_to_post_id=target.id,
                    reply_to_account_id=poster.id,
                    created_at=target.created_at + timedelta(seconds=10 + 20 * i),
                )
            )
    popular = make_post(account_id=star.id, created_at=EPOCH + timedelta(hours=10))
    posts.append(popular)
    for i, fan in enumerate(fans):
        posts.append(
            make_post(
                account_id=fan.id,
                reply_to_post_id=popular.id,
                reply_to_account_id=star.id,
                created_at=popular.created_at + timedelta(seconds=30 * i),
            )
        )
    # a late reply, outside the 15-minute window, does not count
    posts.append(
        make_post(
            account_id=make_account().id,
            reply_to_post_id=popular.id,
            created_at=popular.created_at + timedelta(hours=2),
        )
    )
    accounts = [poster, star, *bots, *fans]
    return accounts, posts, [p.id for p in network_posts], [popular.id]


def test_coordinated_swarm_found_and_fan_swarm_scored_low() -> None:
    accounts, posts, network_ids, organic_ids = _swarm_world()
    with corpus(accounts, posts) as con:
        swarms = {s.post_id: s for s in reply_swarm.find_swarms(con, Platform.MASTODON)}
        findings = list(reply_swarm.detect(con, Platform.MASTODON))
    assert set(swarms) == {*network_ids, *organic_ids}
    for pid in network_ids:
        assert swarms[pid].n_repliers == 20
        assert swarms[pid].young_share == 1.0
        assert swarms[pid].repeat_share == 1.0
    fan = swarms[organic_ids[0]]
    assert fan.n_repliers == 20  # the late reply is outside the window
    assert fan.young_share == 0.0 and fan.repeat_share == 0.0
    assert {f.subjects[0].id for f in findings} == set(network_ids)
    assert all(len(f.subjects) == 22 for f in findings)  # post, author, 20 repliers


def test_small_swarm_below_threshold_is_ignored() -> None:
    accounts, posts, _, _ = _swarm_world()
    with corpus(accounts, posts) as con:
        assert reply_swarm.find_swarms(con, Platform.MASTODON, reply_swarm.SwarmConfig(min_repliers=21)) == ()
