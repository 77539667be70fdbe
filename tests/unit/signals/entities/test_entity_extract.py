"""Batch extraction: each kind found and normalised, look-alike noise rejected, columns line up with rows."""

from __future__ import annotations

import duckdb
import pyarrow as pa
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from cordon.model import EntityKind
from cordon.signals.entities import extract_entities


def found(text: str) -> set[tuple[str, str]]:
    cols = extract_entities([text])
    return set(zip(cols.kind.to_pylist(), cols.value.to_pylist(), strict=True))


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            "see https://Example.com/a/?utm_source=tw ok",
            {("url", "https://example.com/a"), ("domain", "example.com")},
        ),
        (
            "bare shop.example.co.uk/item",
            {("url", "https://shop.example.co.uk/item"), ("domain", "example.co.uk")},
        ),
        ("join t.me/+InViTe123", {("telegram", "tg+:InViTe123")}),
        ("chan telegram.me/SomeChannel", {("telegram", "tg:somechannel")}),
        ("open tg://resolve?domain=Some_Chan", {("telegram", "tg:some_chan")}),
        ("discord.com/invite/AbCd12", {("discord", "discord:AbCd12")}),
        ("Kik: Some.Person", {("messenger", "kik:some.person")}),
        ("snap @someone_1", {("messenger", "snap:someone_1")}),
        ("WhatsApp: +1 555 010 9999", {("messenger", "whatsapp:+15550109999")}),
        ("session " + "05" + "ab" * 32, {("messenger", "session:05" + "ab" * 32)}),
        ("mail Some.One@Example.ORG please", {("email", "some.one@example.org")}),
        ("call +44 (20) 7946-0958", {("phone", "+442079460958")}),
        ("call 0044 20 7946 0958", {("phone", "+442079460958")}),
        ("only $25", {("price", "USD:25.00")}),
        ("25 USD", {("price", "USD:25.00")}),
        ("€10 each", {("price", "EUR:10.00")}),
        ("1,250.5 eur", {("price", "EUR:1250.50")}),
        ("0.001 BTC", {("price", "BTC:0.001")}),
        ("#Hello #wоrld", {("hashtag", "hello"), ("hashtag", "world")}),
    ],
)
def test_kinds(text: str, expected: set[tuple[str, str]]) -> None:
    assert expected <= found(text)


@pytest.mark.parametrize(
    "text",
    [
        "meeting on 2024-01-02 at 10:30",
        "order 1234567890123 shipped",
        "call me 555-1234",
        "version 1.2.3 released",
        "@someone@mastodon.social hello",  # a fediverse handle is a mention, not an e-mail
        "issue #123 fixed",  # digits only: not a hashtag
        "html &#39;quote&#39;",
        "visit example.notatld now",
        "0x" + "g" * 40,
        "it.Me too",  # missing space after a full stop
    ],
)
def test_noise_is_not_an_entity(text: str) -> None:
    assert found(text) == set()


def test_price_is_not_a_phone() -> None:
    kinds = {k for k, _ in found("only $2500000000 or +25")}
    assert kinds == {"price"}


def test_rows_line_up_and_duplicates_collapse() -> None:
    texts = ["nothing here", None, "a #Tag and #tag and #TAG", "x https://a.example.com/ y", ""]
    cols = extract_entities(pa.array(texts, pa.string()))
    rows = cols.row.to_pylist()
    assert sorted(set(rows)) == [2, 3]
    assert rows.count(2) == 1  # three spellings, one key
    assert len(cols) == 3  # hashtag, url, domain


def test_hashtags_can_be_skipped() -> None:
    assert extract_entities(["#tag https://example.com/"], hashtags=False).kind.to_pylist() == [
        "url",
        "domain",
    ]


def test_to_table_gathers_keys_and_bulk_loads_into_duckdb() -> None:
    texts = ["pay 1A1zP1eP5QGefi2DMPTfTL5SLmv7DivfNa", "plain", "t.me/somechannel"]
    cols = extract_entities(texts)
    table = cols.to_table(
        platform="mastodon", post_id=["p0", "p1", "p2"], account_id=pa.array(["a0", "a1", "a2"])
    )
    con = duckdb.connect()
    con.register("t", table)
    rows = con.execute(
        "select post_id, account_id, kind, value from t where kind <> 'url' order by 1, 3"
    ).fetchall()
    assert rows == [
        ("p0", "a0", "wallet", "btc:1A1zP1eP5QGefi2DMPTfTL5SLmv7DivfNa"),
        ("p2", "a2", "domain", "t.me"),
        ("p2", "a2", "telegram", "tg:somechannel"),
    ]
    assert set(table.column("platform").to_pylist()) == {"mastodon"}


def test_records_view() -> None:
    [(row, entity)] = extract_entities(["x", "a@example.com"]).entities()
    assert row == 1
    assert entity.kind is EntityKind.EMAIL
    assert (entity.value, entity.raw) == ("a@example.com", "a@example.com")


INTERESTING = st.lists(
    st.sampled_from([*"ab1 #@:/.+$€-_?&=0x5\u200b\u0430\x00\n", "https://", "t.me/", "05", "kik:", ".com"]),
    max_size=30,
).map("".join)


@settings(max_examples=300, deadline=None)
@given(st.lists(st.one_of(st.none(), st.text(max_size=60), INTERESTING), max_size=6))
def test_never_raises_and_raw_comes_from_its_row(texts: list[str | None]) -> None:
    cols = extract_entities(texts)
    for row, raw in zip(cols.row.to_pylist(), cols.raw.to_pylist(), strict=True):
        assert 0 <= row < len(texts)
        text = texts[row]
        assert text is not None
        assert raw in text.replace("\x00", " ")
