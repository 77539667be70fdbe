"""Ban evasion: a replacement account that shares the avatar of a suspended one is linked to it."""

from __future__ import annotations

from datetime import timedelta

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
