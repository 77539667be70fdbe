"""Takeover: an old account whose posts switch to link-outs in new hashtags is found; a steady one is not."""

from __future__ import annotations

from datetime import timedelta

import pyarrow as pa
from tests.factories import EPOCH, make_account, make_post

from cordon.corpus import DuckDBCorpus
from cordon.detectors import takeover
from cordon.model import Platform, RecordBatch

M = Platform.MASTODON


def test_hacked_account_found_and_consistent_linker_not() -> None:
    hacked = make_account(created_at=EPOCH - timedelta(days=800))
    steady = make_account(created_at=EPOCH - timedelta(days=800))  # always posted its invite, same tags
    young = make_account(created_at=EPOCH - timedelta(days=5))
    posts = [make_post(account_id=hacked.id, hashtags=("gardening",), created_at=EPOCH - timedelta(days=60 - 5 * i))
             for i in range(8)]  # fmt: skip
    after = [make_post(account_id=hacked.id, hashtags=("cdtag1",), created_at=EPOCH + timedelta(days=1, hours=i))
             for i in range(4)]  # fmt: skip
    steady_posts = [make_post(account_id=steady.id, hashtags=("music",), created_at=EPOCH - timedelta(days=60 - 5 * i))
                    for i in range(12)]  # fmt: skip
    young_posts = [
        make_post(account_id=young.id, hashtags=("x",), created_at=EPOCH + timedelta(hours=i))
        for i in range(6)
    ]
    marked = [*after, *steady_posts, *young_posts[3:]]
    with DuckDBCorpus(":memory:") as store:
        store.upsert(RecordBatch("t", accounts=(hacked, steady, young),
                                 posts=(*posts, *after, *steady_posts, *young_posts)))  # fmt: skip
        store.upsert_signals(
            "post_entities",
            pa.table({
                "platform": ["mastodon"] * len(marked), "post_id": [p.id for p in marked],
                "account_id": [p.account_id for p in marked], "kind": ["telegram"] * len(marked),
                "value": ["tg+:synthetic"] * len(marked), "raw": [""] * len(marked),
            }),
        )  # fmt: skip
        found = takeover.find_takeovers(store.connection, M)
        scoped = takeover.find_takeovers(store.connection, M, accounts=[steady.id])
    assert [t.account_id for t in found] == [hacked.id]
    t = found[0]
    assert t.changed_at == after[0].created_at and t.posts_before == 8 and t.posts_after == 4
    assert t.marked_after == 4
    assert t.tag_overlap == 0.0 and t.age_days >= 800
    assert scoped == ()


def test_one_invite_among_ordinary_posts_is_not_a_takeover() -> None:
    """An old account that shares an invite once, in a new hashtag, and then goes on posting as before: most
    of its posts from the change on carry no marker, so it was not put to network use."""
    once = make_account(created_at=EPOCH - timedelta(days=800))
    before = [make_post(account_id=once.id, hashtags=(f"daily{i}",), created_at=EPOCH - timedelta(days=60 - 5 * i))
              for i in range(8)]  # fmt: skip
    after = [make_post(account_id=once.id, hashtags=(f"later{i}",), created_at=EPOCH + timedelta(days=1, hours=i))
             for i in range(5)]  # fmt: skip
    with DuckDBCorpus(":memory:") as store:
        store.upsert(RecordBatch("t", accounts=(once,), posts=(*before, *after)))
        store.upsert_signals(
            "post_entities",
            pa.table({
                "platform": ["mastodon"], "post_id": [after[0].id], "account_id": [once.id],
                "kind": ["discord"], "value": ["discord:synthetic"], "raw": [""],
            }),
        )  # fmt: skip
        assert takeover.find_takeovers(store.connection, M) == ()
        loose = takeover.TakeoverConfig(min_marked_share=0.2)
        assert [t.account_id for t in takeover.find_takeovers(store.connection, M, config=loose)] == [once.id]
