"""Records -> X API v2 response page (and twarc's flatten of it) -> XConnector: the records come back.

The page is built by inverting what X does (see x_payloads): escaped text, t.co links with URL entities,
media keys with Media objects in `includes`, referenced tweets in `includes.tweets`.
"""

from __future__ import annotations

import json
import tempfile
from datetime import UTC, datetime
from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st
from tests.unit.connectors.x.x_payloads import XPageBuilder, flattened, page, post_url, profile_url

from cordon.connectors.x import XConnector
from cordon.model import Account, EdgeKind, MediaKind, MediaRef, Platform, Post, ProfileField, RecordBatch

X = Platform.X
_no_surrogates = st.characters(codec="utf-8")
# what X escapes, entity look-alikes, unicode; no ':' so that no word turns into a URL by accident
_text = st.text(
    alphabet=st.sampled_from(list("ab \n&<>\"'#@é€😀"))
    | st.characters(codec="utf-8", exclude_characters=":"),
    max_size=30,
)
_lookalike = st.sampled_from(["&amp;", "&lt;b&gt;", "&amp;amp;", "<p>", "a&b", "&gt;&lt;"])
_ident = st.text(alphabet="abcdefghijklmnopqrstuvwxyz0123456789_", min_size=1, max_size=12)
_tag = st.text(alphabet=st.characters(categories=("L", "Nd")) | st.just("_"), min_size=1, max_size=12)
# X timestamps are UTC with milliseconds
_moment = st.datetimes(min_value=datetime(2007, 1, 1), max_value=datetime(2099, 12, 31)).map(
    lambda d: d.replace(microsecond=d.microsecond // 1000 * 1000, tzinfo=UTC)
)
_count = st.none() | st.integers(0, 2**63 - 1)
_ids = st.integers(1, 10**19).map(str)


@st.composite
def users(draw: st.DrawFn, n: int) -> list[tuple[Account, str, str, str]]:
    """Accounts with the website, location and verified type their User objects carry."""
    out = []
    handles = draw(st.lists(_ident, min_size=n, max_size=n, unique=True))  # usernames are unique on X
    for uid, handle in zip(draw(st.lists(_ids, min_size=n, max_size=n, unique=True)), handles, strict=True):
        website = draw(st.sampled_from(["", f"https://site.example/{handle}"]))
        location = draw(st.sampled_from(["", "Nowhere", "Zürich"]))
        verified = draw(st.sampled_from(["", "blue", "business"]))
        fields = [("website", website), ("location", location), ("verified", verified)]
        counts = draw(st.tuples(_count, _count, _count) | st.just((None, None, None)))
        if None in counts:
            counts = (None, None, None)  # public_metrics comes whole or not at all
        account = Account(
            platform=X,
            id=uid,
            handle=handle,
            display_name=draw(st.text(alphabet=_no_surrogates, max_size=20)),
            bio=draw(_text),
            fields=tuple(ProfileField(k, v) for k, v in fields if v),
            created_at=draw(st.none() | _moment),
            url=profile_url(handle),
            avatar_url=draw(
                st.sampled_from(["", f"https://pbs.twimg.example/profile_images/{uid}/a_normal.jpg"])
            ),
            locked=draw(st.booleans()),
            followers_count=counts[0],
            following_count=counts[1],
            statuses_count=counts[2],
        )
        out.append((account, website, location, verified))
    return out


@st.composite
def _post_text(draw: st.DrawFn) -> tuple[str, tuple[str, ...]]:
    link = st.integers(0, 3).map(lambda i: f"https://ex{i}.example/p?q={i}&r=<1>")
    parts = draw(st.lists(_text | link | _lookalike, max_size=5))
    return " ".join(parts), tuple(dict.fromkeys(p for p in parts if p.startswith("https://")))


def _media(draw: st.DrawFn, post_id: str) -> tuple[MediaRef, ...]:
    """Media keys are unique on X: one upload, one key (derived here from the post id)."""
    refs = []
    for key in [f"3_{post_id}{i}" for i in range(draw(st.integers(0, 3)))]:
        kind = draw(st.sampled_from([MediaKind.IMAGE, MediaKind.VIDEO, MediaKind.GIFV, MediaKind.UNKNOWN]))
        if kind is MediaKind.UNKNOWN:  # a media key whose Media object is missing from includes
            refs.append(MediaRef(X, key, kind))
            continue
        url = f"https://media.example/{key}.{'jpg' if kind is MediaKind.IMAGE else 'mp4'}"
        preview = "" if kind is MediaKind.IMAGE else f"https://media.example/{key}-thumb.jpg"
        refs.append(
            MediaRef(X, key, kind, url, preview, "", draw(st.text(alphabet=_no_surrogates, max_size=10)))
        )
    return tuple(refs)


@st.composite
def posts(draw: st.DrawFn, authors: list[Account]) -> list[Post]:
    """Originals, then replies, quotes and retweets of earlier originals."""
    out: list[Post] = []
    ids = iter(draw(st.lists(_ids, min_size=10, max_size=10, unique=True)))
    for _ in range(draw(st.integers(1, 10))):
        author = draw(st.sampled_from(authors))
        originals = [p for p in out if p.reblog_of_post_id is None]
        target = draw(st.none() | st.sampled_from(originals)) if originals else None
        role = draw(st.sampled_from(["reply", "quote", "retweet"])) if target is not None else None
        post_id = next(ids)
        created = draw(_moment)
        if role == "retweet" and target is not None:
            out.append(
                Post(X, post_id, author.id, created, url=post_url(post_id), reblog_of_post_id=target.id)
            )
            continue
        text, urls = draw(_post_text())
        card = draw(st.sampled_from(["", *urls]))
        out.append(
            Post(
                platform=X,
                id=post_id,
                account_id=author.id,
                created_at=created,
                text=text,
                lang=draw(st.sampled_from(["", "en", "ja"])),
                url=post_url(post_id),
                hashtags=tuple(dict.fromkeys(draw(st.lists(_tag, max_size=3)))),
                mention_account_ids=tuple(
                    dict.fromkeys(draw(st.lists(st.sampled_from([a.id for a in authors]), max_size=3)))
                ),
                urls=urls,
                reply_to_post_id=target.id if role == "reply" and target else None,
                reply_to_account_id=target.account_id if role == "reply" and target else None,
                quote_of_post_id=target.id if role == "quote" and target else None,
                media=_media(draw, post_id),
                card_url=card,
                card_title=draw(st.text(alphabet=_no_surrogates, min_size=1, max_size=10)) if card else "",
                card_description=draw(st.text(alphabet=_no_surrogates, max_size=10)) if card else "",
                sensitive=draw(st.booleans()),
            )
        )
    return out


def _read(path: Path) -> RecordBatch:
    batches = list(XConnector(progress=False).read(path, batch_size=3))
    return RecordBatch(
        source=str(path),
        accounts=tuple(a for b in batches for a in b.accounts),
        posts=tuple(p for b in batches for p in b.posts),
        edges=tuple(e for b in batches for e in b.edges),
        quarantined=tuple(q for b in batches for q in b.quarantined),
    )


@settings(max_examples=80, deadline=None)
@given(data=st.data())
def test_records_round_trip_through_a_page_and_its_flattened_form(data: st.DataObject) -> None:
    people = data.draw(users(data.draw(st.integers(1, 4))))
    accounts = [a for a, *_ in people]
    written = data.draw(posts(accounts))
    builder = XPageBuilder()
    user_objects = [builder.user(a, website=w, location=loc, verified=v) for a, w, loc, v in people]
    by_id = {p.id: p for p in written}
    tweets, media = [], []
    for p in written:
        tweet, attached = builder.tweet(p, retweet_of=by_id.get(p.reblog_of_post_id or ""))
        tweets.append(tweet)
        media += attached
    one_page = page(tweets, users=user_objects, tweets=tweets, media=media)
    with tempfile.TemporaryDirectory() as tmp:
        paged, flat = Path(tmp) / "page.jsonl", Path(tmp) / "flat.jsonl"
        paged.write_text(json.dumps(one_page) + "\n", encoding="utf-8")
        flat.write_text("".join(json.dumps(t) + "\n" for t in flattened(one_page)), encoding="utf-8")
        from_page, from_flat = _read(paged), _read(flat)

    for got in (from_page, from_flat):
        assert got.quarantined == ()
        back: dict[str, Post] = {}
        for p in got.posts:  # referenced tweets come back again, embedded: always the same record
            assert back.setdefault(p.id, p) == p
        assert back == by_id
        authors = {a.id: a for a in got.accounts}
        for a in accounts:
            if a.id in authors or got is from_page:  # a flattened file only holds users its tweets embed
                assert authors[a.id] == a
        derived = {(e.kind, e.src_account_id, e.dst_account_id, e.post_id) for e in got.edges}
        expected = set()
        for p in written:
            if p.reblog_of_post_id:
                expected.add((EdgeKind.REBLOG, p.account_id, by_id[p.reblog_of_post_id].account_id, p.id))
                continue
            if p.reply_to_account_id:
                expected.add((EdgeKind.REPLY, p.account_id, p.reply_to_account_id, p.id))
            if p.quote_of_post_id:
                expected.add((EdgeKind.QUOTE, p.account_id, by_id[p.quote_of_post_id].account_id, p.id))
            expected |= {(EdgeKind.MENTION, p.account_id, m, p.id) for m in p.mention_account_ids}
        assert derived == expected


def test_text_keeps_what_looks_like_an_entity() -> None:
    """`&amp;lt;` in X's text is a literal `&lt;` typed by the user: it must not become `<`."""
    from cordon.connectors.x.mapping import unescape  # noqa: PLC0415

    assert unescape("a &amp;lt; b &lt;3 &amp;&amp; c") == "a &lt; b <3 && c"
