"""Statuses mapped column by column: the columns read as the records a status stands for, links are found as an
HTML parser finds them, and a status that cannot be mapped adds nothing."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from html.parser import HTMLParser
from typing import Any

import msgspec
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from cordon.connectors.mastodon.mapping import StatusColumns, _AccountCache, _links, _links_many
from cordon.connectors.mastodon.schema import StatusIn
from cordon.model import Edge, EdgeKind, MediaKind, MediaRef, Platform, Post

M = Platform.MASTODON
T0 = datetime(2024, 5, 1, 12, 0, tzinfo=UTC)


def _status(**fields: Any) -> StatusIn:
    return msgspec.json.decode(json.dumps(fields), type=StatusIn)


def _account(n: int, **more: Any) -> dict[str, Any]:
    return {"id": f"a{n}", "username": f"user{n}", "acct": f"user{n}@x.example", **more}


# -- links, against the standard library's HTML parser ----------------------------------------------------
class _LinkOracle(HTMLParser):
    """Hrefs of <a> tags whose class does not mention "mention", first attribute of a name wins."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.links: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag != "a":
            return
        first: dict[str, str | None] = {}
        for name, value in attrs:
            first.setdefault(name, value)
        if "mention" in (first.get("class") or ""):
            return
        href = first.get("href")
        if href and href not in self.links:
            self.links.append(href)


def _oracle(markup: str) -> tuple[str, ...]:
    parser = _LinkOracle()
    parser.feed(markup)
    parser.close()
    return tuple(parser.links)


_url = st.sampled_from(
    ["https://a.example/x", "https://b.example/p?q=1&amp;r=2", "https://a.example/x", "https://c.example/"]
)
_klass = st.sampled_from(["mention hashtag", "u-url mention", "status-link", "", "MENTION"])


@st.composite
def _anchor(draw: st.DrawFn) -> str:
    attrs = [f'href="{draw(_url)}"', 'rel="nofollow noopener"', 'target="_blank"']
    if draw(st.booleans()):
        attrs.append(f'class="{draw(_klass)}"')
    attrs = draw(st.permutations(attrs))
    tag = draw(st.sampled_from(["a", "A"]))
    text = draw(st.sampled_from(["#tag", "@user", "link", ""]))
    return f"<{tag} {' '.join(attrs)}>{text}</{tag}>"


_content = st.lists(
    st.one_of(
        _anchor(), st.sampled_from(["<p>", "</p>", " words ", "<br>", '<span class="h-card">', "</span>"])
    ),
    max_size=8,
).map("".join)


@settings(max_examples=300, deadline=None)
@given(contents=st.lists(_content, max_size=10))
def test_links_of_a_column_are_those_a_parser_finds(contents: list[str]) -> None:
    got = _links_many(contents)
    assert len(got.offsets) == len(contents) + 1
    for i, content in enumerate(contents):
        assert got.row(i) == _oracle(content) == _links(content), content


def test_links_examples() -> None:
    contents = [
        '<p><a href="https://t.example/tags/x" class="mention hashtag" rel="tag">#x</a> see '
        '<a href="https://l.example/a?b=1&amp;c=2" rel="nofollow">l.example</a></p>',
        "no anchors at all",
        '<a rel="x" class="u-url mention" href="https://s.example/@u">@u</a>',  # href not first, a mention
        '<a class="link" href="https://l.example/">one</a><a href="https://l.example/">again</a>',
        'nul\x00inside <a href="https://n.example/">n</a>',
    ]
    got = _links_many(contents)
    assert [got.row(i) for i in range(len(contents))] == [
        ("https://l.example/a?b=1&c=2",),
        (),
        (),
        ("https://l.example/",),
        ("https://n.example/",),
    ]


# -- columns read as records ------------------------------------------------------------------------------
def _full_status() -> StatusIn:
    original = {
        "id": "10",
        "created_at": "2024-04-30T10:00:00Z",
        "account": _account(2, note="<p>bio &amp; more</p>"),
        "content": '<p>orig <a href="https://o.example/">o</a></p>',
        "media_attachments": [
            {"id": "m1", "type": "image", "url": "https://s.example/m1.png", "description": "alt"},
            {"id": "m2", "type": "weird", "remote_url": "https://r.example/m2"},
        ],
        "tags": [{"name": "tagx1"}, {"name": "tagx2"}],
    }
    quoted = {
        "id": "20",
        "created_at": "2024-04-29T09:00:00+02:00",
        "account": _account(3),
        "content": "",
        "text": "deleted source",
        "spoiler_text": "cw",
    }
    return _status(
        id="30",
        created_at="2024-05-01T12:00:00Z",
        account=_account(1),
        content="",
        reblog=original,
        quote={"state": "accepted", "quoted_status": quoted},
        in_reply_to_id="5",
        in_reply_to_account_id="a9",
        mentions=[{"id": "a7"}, {"id": "a8"}],
        card={"url": "https://card.example/", "title": "T", "description": "D"},
        sensitive=True,
        visibility="public",
        language="en",
        uri="https://x.example/statuses/30",
    )


def test_a_status_with_what_it_embeds_reads_as_its_records() -> None:
    columns = StatusColumns()
    columns.add(_full_status())
    columns.add(_status(id="40", created_at="2024-05-02T00:00:00Z", account=_account(1, display_name="new")))
    accounts, posts, edges = columns.drain()
    assert len(columns) == 0  # drained: starts afresh

    assert [a.id for a in accounts] == ["a1", "a3", "a2"]  # one per author, in order of first appearance
    assert accounts[0].display_name == "new"  # the last form seen wins
    assert accounts[2].bio == "bio & more"
    assert len(posts) == 4
    assert [p.id for p in posts] == ["30", "20", "10", "40"]  # a status, then what it embeds (quote first)
    assert posts[0] == Post(
        M,
        "30",
        "a1",
        datetime(2024, 5, 1, 12, 0, tzinfo=UTC),
        text="",
        lang="en",
        url="https://x.example/statuses/30",
        mention_account_ids=("a7", "a8"),
        reply_to_post_id="5",
        reply_to_account_id="a9",
        reblog_of_post_id="10",
        quote_of_post_id="20",
        card_url="https://card.example/",
        card_title="T",
        card_description="D",
        sensitive=True,
        visibility="public",
    )
    assert posts[1].text == "cw\n\ndeleted source"  # spoiler, then the plain-text source of a deleted status
    assert posts[1].created_at == datetime(2024, 4, 29, 7, 0, tzinfo=UTC)
    assert posts[2].hashtags == ("tagx1", "tagx2")
    assert posts[2].urls == ("https://o.example/",)
    assert posts[2].media == (
        MediaRef(M, "m1", MediaKind.IMAGE, url="https://s.example/m1.png", description="alt"),
        MediaRef(M, "m2", MediaKind.UNKNOWN, remote_url="https://r.example/m2"),
    )
    assert posts[-1] == posts[3] and posts[1:3] == (posts[1], posts[2])
    assert list(posts) == [posts[i] for i in range(4)]
    with pytest.raises(IndexError):
        posts[4]

    at = datetime(2024, 5, 1, 12, 0, tzinfo=UTC)
    assert list(edges) == [
        Edge(M, EdgeKind.REPLY, "a1", "a9", "30", at),
        Edge(M, EdgeKind.REBLOG, "a1", "a2", "30", at),
        Edge(M, EdgeKind.QUOTE, "a1", "a3", "30", at),
        Edge(M, EdgeKind.MENTION, "a1", "a7", "30", at),
        Edge(M, EdgeKind.MENTION, "a1", "a8", "30", at),
    ]


@pytest.mark.parametrize(
    ("where", "field"),
    [
        (["account"], "$.account.followers_count"),
        (["reblog", "account"], "$.reblog.account.followers_count"),
        (["quote", "quoted_status", "account"], "$.quote.quoted_status.account.followers_count"),
    ],
)
def test_a_bad_embedded_account_names_its_path_and_adds_nothing(where: list[str], field: str) -> None:
    raw: dict[str, Any] = {
        "id": "1",
        "created_at": "2024-05-01T12:00:00Z",
        "account": _account(1),
        "reblog": {"id": "2", "created_at": "2024-05-01T11:00:00Z", "account": _account(2)},
        "quote": {"quoted_status": {"id": "3", "created_at": "2024-05-01T10:00:00Z", "account": _account(3)}},
    }
    target = raw
    for key in where:
        target = target[key]
    target["followers_count"] = 2**70
    columns = StatusColumns()
    with pytest.raises(msgspec.ValidationError) as info:
        columns.add(msgspec.json.decode(json.dumps(raw), type=StatusIn))
    assert str(info.value).endswith(f"- at `{field}`")
    assert len(columns) == 0
    accounts, posts, edges = columns.drain()
    assert (accounts, len(posts), len(edges)) == ((), 0, 0)


def test_an_author_is_drained_again_only_when_its_form_changed() -> None:
    """Statuses embed their author in every batch: an author drained before in the same form is left out of
    later drains (storing it again would change nothing), a changed form is drained, and so is the first
    form again after it (the last form seen must win in the store)."""
    columns = StatusColumns()
    forms = [{}, {}, {"display_name": "renamed"}, {"display_name": "renamed"}, {}]
    drained = []
    for i, form in enumerate(forms):
        columns.add(_status(id=f"s{i}", created_at="2024-05-01T00:00:00Z", account=_account(1, **form)))
        columns.add(_status(id=f"t{i}", created_at="2024-05-01T00:00:00Z", account=_account(2)))
        accounts, posts, _ = columns.drain()
        assert [p.id for p in posts] == [f"s{i}", f"t{i}"]  # posts are drained every time
        drained.append([(a.id, a.display_name) for a in accounts])
    assert drained == [[("a1", ""), ("a2", "")], [], [("a1", "renamed")], [], [("a1", "")]]
    # a reader that forgets (remember=0) drains every batch's authors, as before
    forgetful = StatusColumns(remember=0)
    for i in range(2):
        forgetful.add(_status(id=f"u{i}", created_at="2024-05-01T00:00:00Z", account=_account(1)))
        assert [a.id for a in forgetful.drain()[0]] == ["a1"]


def test_the_author_cache_keeps_accounts_that_come_again_among_many_others() -> None:
    """With room for two forms per generation, an author that comes back between every other account stays
    cached (the same mapped Account, not mapped anew) while six others pass through; a changed form is mapped
    anew, and an error names the embedded account's path."""
    cache = _AccountCache(limit=2)

    def raw(n: int, **more: Any) -> msgspec.Raw:
        return msgspec.Raw(json.dumps(_account(n, **more)).encode())

    hot = cache(raw(1), "$.account")
    for n in range(2, 8):
        assert cache(raw(n), "$.account").id == f"a{n}"
        assert cache(raw(1), "$.account") is hot
    renamed = cache(raw(1, display_name="renamed"), "$.account")
    assert renamed is not hot and renamed.display_name == "renamed"
    with pytest.raises(msgspec.ValidationError, match=r"\$\.reblog\.account"):
        cache(msgspec.Raw(b'{"id": 5}'), "$.reblog.account")
