"""Hashtag flooding: a cluster's coded and hijacked innocent tags are found; an organic burst is not."""

from __future__ import annotations

from datetime import timedelta

from tests.factories import EPOCH, make_account, make_post
from tests.unit.detectors.world import corpus

from cordon.detectors import hashtag_flood
from cordon.model import Platform

M = Platform.MASTODON


def test_flooded_and_hijacked_tags_found_organic_burst_not() -> None:
    town = [make_account() for _ in range(60)]
    net = [make_account() for _ in range(8)]
    posts = []
    for day in range(20):  # "family" is an established tag with steady traffic, plus common chatter
        for i, a in enumerate(town[:20]):
            tags = ("family",) if i % 10 == 0 else ("weather",)
            posts.append(
                make_post(account_id=a.id, hashtags=tags, created_at=EPOCH + timedelta(days=day, minutes=i))
            )
    for day in range(15, 18):  # the network floods a coded tag and hijacks "family"
        for i, a in enumerate(net):
            for k in range(3):
                posts.append(make_post(account_id=a.id, hashtags=("cdtag7", "family"),
                                       created_at=EPOCH + timedelta(days=day, hours=k, minutes=i)))  # fmt: skip
    for i, a in enumerate(town[20:]):  # an organic burst: many unrelated accounts, one event tag, one day
        posts.append(
            make_post(
                account_id=a.id, hashtags=("eventtag",), created_at=EPOCH + timedelta(days=16, minutes=i)
            )
        )
    with corpus([*town, *net], posts) as con:
        tags = {t.tag: t for t in hashtag_flood.find_flooded(con, M, [a.id for a in net])}
        findings = list(hashtag_flood.detect(con, M, [a.id for a in net]))
    assert set(tags) == {"cdtag7", "family"}
    assert not tags["cdtag7"].hijacked and tags["family"].hijacked
    assert tags["cdtag7"].cluster_posts == 72 and tags["cdtag7"].cluster_authors == 8
    assert tags["cdtag7"].burst == float("inf")
    assert {f.kind for f in findings} == {"flooded", "hijacked"}
    assert "eventtag" not in tags and "weather" not in tags


def test_empty_cluster_floods_nothing() -> None:
    with corpus([make_account()], [make_post()]) as con:
        assert hashtag_flood.find_flooded(con, M, []) == ()


def test_hot_innocent_tag_used_by_most_of_the_network_is_found_by_author_mass() -> None:
    """A hot tag's own traffic drowns the network's posts day by day (no burst, small day share), but most of
    the network's accounts use it far above its base rate: the aggregator is found by author mass."""
    town = [make_account() for _ in range(400)]
    net = [make_account() for _ in range(10)]
    posts = []
    for day in range(10):  # "mom": 40 posts a day from the town, every day
        for i, a in enumerate(town):
            tags = ("mom",) if i % 10 == 0 else ("news",)
            posts.append(
                make_post(account_id=a.id, hashtags=tags, created_at=EPOCH + timedelta(days=day, minutes=i))
            )
    for day in range(5, 10):  # 8 of the 10 network accounts add "mom": 8 of its 48 posts on those days
        for i, a in enumerate(net):
            tags = ("mom", "cd9x") if i < 8 else ("cd9x",)
            posts.append(
                make_post(account_id=a.id, hashtags=tags, created_at=EPOCH + timedelta(days=day, hours=5))
            )
    with corpus([*town, *net], posts) as con:
        strict = hashtag_flood.FloodConfig(min_author_share=1.1)  # author mass off: burst and day share only
        without = {t.tag for t in hashtag_flood.find_flooded(con, M, [a.id for a in net], strict)}
        found = {t.tag: t for t in hashtag_flood.find_flooded(con, M, [a.id for a in net])}
    assert "mom" not in without and "cd9x" in without
    mom = found["mom"]
    assert mom.hijacked and mom.author_share == 0.8 and mom.day_share < 0.2 and mom.burst < 2
    assert "news" not in found
