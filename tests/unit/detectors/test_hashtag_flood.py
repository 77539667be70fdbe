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
