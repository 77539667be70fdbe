"""MastodonExportWriter -> MastodonConnector: generated records come back as they went in.

Text goes through HTML on the way (Mastodon's <p>/<br>/<a> markup) and must come back the same, apart from
leading and trailing whitespace, which HTML paragraphs do not keep.
"""

from __future__ import annotations

import tempfile
from dataclasses import replace
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st

from cordon.connectors.mastodon import MastodonConnector
from cordon.connectors.mastodon.writer import MastodonExportWriter
from cordon.model import (
    Account,
    Edge,
    EdgeKind,
    MediaKind,
    MediaRef,
    ModerationAction,
    ModerationEvent,
    Platform,
    Post,
    ProfileField,
    RecordBatch,
)

M = Platform.MASTODON
_no_surrogates = st.characters(exclude_categories=("Cs",))
# text with what HTML must escape, newlines (paragraphs and line breaks), unicode; no ':' so that no word
# turns into a URL by accident (URLs are inserted on purpose, see _post_text)
_text_chars = st.sampled_from(list("ab \n\n&<>\"'#@é€😀\u200b\t")) | st.characters(
    exclude_categories=("Cs",), exclude_characters=":"
)
_text = st.text(alphabet=_text_chars, max_size=40)
_ident = st.text(alphabet="abcdefghijklmnopqrstuvwxyz0123456789_", min_size=1, max_size=12)
_tag = st.text(alphabet=st.characters(categories=("L", "Nd")) | st.just("_"), min_size=1, max_size=12)
_zones = st.sampled_from([UTC, timezone(timedelta(hours=5, minutes=30)), timezone(-timedelta(hours=8))])
_moment = st.datetimes(min_value=datetime(2000, 1, 1), max_value=datetime(2099, 12, 31), timezones=_zones)
# literal text that looks like markup or entities: it must come back literally, not as markup
_markup_lookalike = st.sampled_from(["&amp;", "&lt;b&gt;", "<p>", "<br>", "</p><p>", "<b>x</b>", "&#39;"])
_count = st.none() | st.integers(0, 2**63 - 1)


@st.composite
def accounts(draw: st.DrawFn, n: int) -> list[Account]:
    ids = draw(st.lists(st.integers(1, 10**18).map(str), min_size=n, max_size=n, unique=True))
    out = []
    for account_id in ids:
        handle = draw(_ident)
        out.append(
            Account(
                platform=M,
                id=account_id,
                handle=handle,
                acct=f"{handle}@{draw(_ident)}.example",
                display_name=draw(st.text(alphabet=_no_surrogates, max_size=20)),
                bio=draw(_text),
                fields=tuple(
                    ProfileField(name, value)
                    for name, value in draw(
                        st.lists(st.tuples(st.text(alphabet=_text_chars, max_size=10), _text), max_size=4)
                    )
                ),
                created_at=draw(st.none() | _moment),
                url=f"https://s.example/@{handle}",
                avatar_url=draw(st.sampled_from(["", f"https://s.example/avatars/{account_id}.png"])),
                bot=draw(st.booleans()),
                locked=draw(st.booleans()),
                followers_count=draw(_count),
                following_count=draw(_count),
                statuses_count=draw(_count),
            )
        )
    return out


@st.composite
def _post_text(draw: st.DrawFn) -> tuple[str, tuple[str, ...]]:
    """Text with links in it, and the links (in order of first appearance) that the reader must find."""
    link = st.integers(0, 3).map(lambda i: f"https://ex{i}.example/p?q={i}&r=1")
    parts = draw(st.lists(_text | link | _markup_lookalike, max_size=5))
    text = " ".join(parts)
    urls = tuple(dict.fromkeys(p for p in parts if p.startswith("https://")))
    return text, urls


@st.composite
def posts(draw: st.DrawFn, authors: list[Account]) -> list[Post]:
    """Originals, then replies, quotes and reblogs of earlier posts (the writer needs targets first)."""
    out: list[Post] = []
    ids = iter(draw(st.lists(st.integers(1, 10**18).map(str), min_size=12, max_size=12, unique=True)))
    for _ in range(draw(st.integers(1, 12))):
        author = draw(st.sampled_from(authors))
        text, urls = draw(_post_text())
        target = draw(st.none() | st.sampled_from(out)) if out else None
        role = draw(st.sampled_from(["reply", "quote", "reblog"])) if target is not None else None
        originals = target is not None and target.reblog_of_post_id is None
        card_url = draw(st.sampled_from(["", "https://card.example/a"]))
        post = Post(
            platform=M,
            id=next(ids),
            account_id=author.id,
            created_at=draw(_moment),
            text=text,
            lang=draw(st.sampled_from(["", "en", "ja"])),
            url=f"https://s.example/@{author.handle}/{len(out)}",
            hashtags=tuple(draw(st.lists(_tag, max_size=3))),
            mention_account_ids=tuple(draw(st.lists(st.sampled_from([a.id for a in authors]), max_size=3))),
            urls=urls,
            reply_to_post_id=target.id if role == "reply" and target else None,
            reply_to_account_id=target.account_id if role == "reply" and target else None,
            quote_of_post_id=target.id if role == "quote" and target and originals else None,
            media=tuple(
                MediaRef(M, media_id, kind, url, preview, "", description)
                for media_id, kind, url, preview, description in draw(
                    st.lists(
                        st.tuples(
                            _ident,
                            st.sampled_from(list(MediaKind)),
                            st.sampled_from(["", "https://s.example/m/1.png"]),
                            st.sampled_from(["", "https://s.example/m/s/1.png"]),
                            st.text(alphabet=_no_surrogates, max_size=10),
                        ),
                        max_size=3,
                    )
                )
            ),
            card_url=card_url,
            card_title=draw(st.text(alphabet=_no_surrogates, max_size=10)) if card_url else "",
            card_description=draw(st.text(alphabet=_no_surrogates, max_size=10)) if card_url else "",
            sensitive=draw(st.booleans()),
            visibility=draw(st.sampled_from(["public", "unlisted", "private", "direct"])),
        )
        if role == "reblog" and target is not None and originals:  # a reblog carries no text of its own
            post = replace(post, text="", urls=(), hashtags=(), mention_account_ids=(), media=(), card_url="")
            post = replace(post, card_title="", card_description="", reblog_of_post_id=target.id)
        out.append(post)
    return out


@st.composite
def worlds(draw: st.DrawFn) -> tuple[list[Account], list[Post], list[Edge], list[ModerationEvent]]:
    people = draw(accounts(draw(st.integers(1, 5))))
    written = draw(posts(people))
    ids = [a.id for a in people]
    follows = [
        Edge(M, EdgeKind.FOLLOW, src, dst, None, when)
        for src, dst, when in draw(
            st.lists(st.tuples(st.sampled_from(ids), st.sampled_from(ids), st.none() | _moment), max_size=5)
        )
    ]
    moderation = [
        ModerationEvent(M, account_id, action, when, reason)
        for account_id, action, when, reason in draw(
            st.lists(
                st.tuples(st.sampled_from(ids), st.sampled_from(list(ModerationAction)), _moment, _text),
                max_size=3,
            )
        )
    ]
    return people, written, follows, moderation


def _read_back(out: Path) -> RecordBatch:
    batches = list(MastodonConnector(progress=False).read(out, batch_size=4))
    return RecordBatch(
        source=str(out),
        accounts=tuple(a for b in batches for a in b.accounts),
        posts=tuple(p for b in batches for p in b.posts),
        edges=tuple(e for b in batches for e in b.edges),
        moderation=tuple(m for b in batches for m in b.moderation),
        quarantined=tuple(q for b in batches for q in b.quarantined),
    )


def _as_read(a: Account) -> Account:
    """What the reader gives back: HTML paragraphs do not keep the bio's outer whitespace."""
    return replace(a, bio=a.bio.strip())


@settings(max_examples=80, deadline=None)
@given(world=worlds())
def test_writer_then_reader_round_trip(
    world: tuple[list[Account], list[Post], list[Edge], list[ModerationEvent]],
) -> None:
    people, written, follows, moderation = world
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "export"
        with MastodonExportWriter(out) as writer:
            writer.write_accounts(people)
            writer.write_posts(written)
            writer.write_follows(follows)
            writer.write_moderation(moderation)
        got = _read_back(out)

    assert got.quarantined == ()
    assert {a.id: a for a in got.accounts} == {a.id: _as_read(a) for a in people}
    by_id: dict[str, Post] = {}
    for p in got.posts:  # a reblog or quote embeds its target again: the same record each time
        assert by_id.setdefault(p.id, p) == p
    assert set(by_id) == {p.id for p in written}
    for p in written:
        assert by_id[p.id] == replace(p, text=p.text.strip()), p.id
    assert [e for e in got.edges if e.kind is EdgeKind.FOLLOW] == follows
    assert list(got.moderation) == moderation
    # edges derived from posts name the right accounts
    derived = {(e.kind, e.src_account_id, e.dst_account_id, e.post_id) for e in got.edges}
    author = {p.id: p.account_id for p in written}
    for p in written:
        if p.reply_to_account_id:
            assert (EdgeKind.REPLY, p.account_id, p.reply_to_account_id, p.id) in derived
        if p.reblog_of_post_id:
            assert (EdgeKind.REBLOG, p.account_id, author[p.reblog_of_post_id], p.id) in derived
        if p.quote_of_post_id:
            assert (EdgeKind.QUOTE, p.account_id, author[p.quote_of_post_id], p.id) in derived
        for m in p.mention_account_ids:
            assert (EdgeKind.MENTION, p.account_id, m, p.id) in derived
